"""Save hooks: what a service call changed, as the domain built on the engine sees it.

The BPM engine knows nothing of the county. The platform is built with an ordered list of
save hooks (the county declares its own in `engine.county.hooks`); at every save the
runtime calls each, in order, with a `SaveSummary` of the call: the instance, the marked
steps that finished in it, the human tasks it opened, and the instance's data. A hook never
sees the live workflow, so it cannot change it or depend on how SpiffWorkflow keeps it.

"Marked" steps are elements that carry `camunda:properties` (the designer's convention for
telling the domain what an element means, e.g. `action=escalate`); steps without
properties mean nothing to a hook and are not summarised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # for the signatures only: the unit of work and the actor live in core
    from ..core.identity import Actor
    from ..core.uow import UnitOfWork
    from .projection import TaskRecord


@dataclass(frozen=True)
class InstanceFacts:
    """The instance a save is about, as its row stands after the save."""

    id: int
    process_key: str
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    row_version: int


@dataclass(frozen=True)
class FinishedStep:
    """A marked element that completed in this service call."""

    element_id: str
    name: str | None
    properties: Mapping[str, Any]
    data: Mapping[str, Any]
    # The data of the steps before it on its path, nearest first: what a variable was before.
    earlier: tuple[Mapping[str, Any], ...]
    # The BPMN message caught in this call on the way to this step (a person's request,
    # e.g. `escalate_issue`), or None when the process got here by itself (a timer).
    message: str | None

    def earlier_value(self, variable: str, differing_from: Any = None) -> Any:
        """The nearest earlier value of `variable` that is set and not `differing_from`."""
        for data in self.earlier:
            value = data.get(variable)
            if value is not None and value != differing_from:
                return value
        return None


@dataclass(frozen=True)
class SaveSummary:
    """What one service call changed in one instance."""

    instance: InstanceFacts
    finished: tuple[FinishedStep, ...]
    opened: tuple[TaskRecord, ...]
    process_data: Mapping[str, Any]
    now: datetime
    _facts: Callable[[], dict[str, Any]] = field(repr=False, compare=False)

    @cached_property
    def facts(self) -> dict[str, Any]:
        """The instance's data as its latest tasks see it (read on first use only)."""
        return self._facts()


class SaveHook(Protocol):
    """A domain's reaction to a save, inside the same transaction."""

    def __call__(self, uow: UnitOfWork, summary: SaveSummary, actor: Actor) -> None:
        """Act on what the call changed; raise a domain error to undo the whole call."""
