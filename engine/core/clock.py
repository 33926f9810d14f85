"""Time for the engine: an injectable clock, so tests and the timer worker move time, not sleep.

SpiffWorkflow's timer events read the wall clock themselves (`datetime.now(timezone.utc)`
in `SpiffWorkflow.bpmn.specs.event_definitions.timer`). `bind_clock` routes those reads
through the engine's clock for the duration of a service call, so a timer fixed at
"P2D" and a test that moves the clock by two days agree.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current wall-clock time in UTC."""
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that stands still until moved; for tests, demos and dry runs."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        """The time this clock was set or moved to."""
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the clock forward, e.g. `advance(days=3)`; returns the new time."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, at: datetime) -> None:
        """Put the clock at a given aware datetime."""
        self._now = at.astimezone(timezone.utc)


_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("gongjian_clock", default=None)


class _ClockedDatetime(datetime):
    """`datetime` whose `now()` asks the bound engine clock first."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        clock = _current.get()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


# Installed once: SpiffWorkflow's timer module looks `datetime` up as a module global.
_spiff_timer.datetime = _ClockedDatetime


@contextlib.contextmanager
def bind_clock(clock: Clock) -> Iterator[Clock]:
    """Make SpiffWorkflow's timers read `clock` inside the block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def as_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or ISO string; naive values are taken as UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def current_time() -> datetime:
    """The bound engine clock's time inside a service call, else the wall clock (UTC)."""
    clock = _current.get()
    return clock.now() if clock is not None else datetime.now(timezone.utc)
