"""Who is acting: a user name and the groups (roles and units) the user belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """A person or system acting on the engine, with the candidate groups they are in."""

    username: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, username: str, *groups: str) -> Actor:
        """Shorthand: `Actor.of("zhang", "specialist", "unit:drc")`."""
        return cls(username, frozenset(groups))


TIMER = Actor("timer")
