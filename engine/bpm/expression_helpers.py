"""The functions BPMN and DMN expressions may call, registered in one place.

Designers write, for example, a due date of `add_working_days(now(), 5)` ("five working
days from when the task starts") or a timer date of `working_days_later(3)`. The working-day
helpers count with the calendar in force (`engine.core.calendar_admin.current_calendar`).
`approved_count` and `approved_share` read the results of a multi-instance approval (会签,
或签, 比例签; engine/bpm/countersign.py), e.g. on the gateway after it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from ..core.calendar_admin import current_calendar
from ..core.clock import current_time
from ..core.workcalendar import SHANGHAI as CALENDAR_TZ
from ..core.workcalendar import Deadline
from .sandbox import HelperRegistry

_recorded: contextvars.ContextVar[list[tuple[datetime, int, Deadline]] | None] = \
    contextvars.ContextVar("gongjian_deadlines", default=None)


@contextlib.contextmanager
def record_deadlines() -> Iterator[list[tuple[datetime, int, Deadline]]]:
    """Collect (start, n, deadline) of every add_working_days call inside the block."""
    calls: list[tuple[datetime, int, Deadline]] = []
    token = _recorded.set(calls)
    try:
        yield calls
    finally:
        _recorded.reset(token)


def now() -> datetime:
    """The current time of the engine's clock (UTC)."""
    return current_time()


def add_working_days(start: datetime | date | str, n: int) -> datetime:
    """The end of the n-th working day after `start` (Asia/Shanghai working days)."""
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    deadline = current_calendar().add_working_days(start, n)
    calls = _recorded.get()
    if calls is not None and isinstance(start, datetime):
        calls.append((start, n, deadline))
    return deadline.due


def working_days_later(n: int) -> str:
    """The end of the n-th working day from now, as an ISO string (for timer dates)."""
    return add_working_days(current_time(), n).isoformat()


def working_days_between(start: datetime | str, end: datetime | str) -> int:
    """Working days after `start`'s day up to and including `end`'s day."""
    start = datetime.fromisoformat(start) if isinstance(start, str) else start
    end = datetime.fromisoformat(end) if isinstance(end, str) else end
    return current_calendar().working_days_between(start, end)


def is_working_day(day: date | datetime | str) -> bool:
    """Whether offices work on that (Asia/Shanghai) day."""
    if isinstance(day, str):
        day = datetime.fromisoformat(day)
    if isinstance(day, datetime):
        day = day.astimezone(CALENDAR_TZ).date()
    return current_calendar().is_working_day(day)


# A signer's decision (task_actions.DECISIONS): 同意, and the two that do not approve.
APPROVE = "approve"
NOT_APPROVED = ("reject", "return")


def is_approval(entry: Any) -> bool:
    """Whether one signer's result is 同意: decision "approve", approved true, or True."""
    if isinstance(entry, dict):
        return entry.get("decision") == APPROVE or entry.get("approved") is True
    return entry is True or entry == APPROVE


def is_refusal(entry: Any) -> bool:
    """Whether one signer's result is 不同意 or 退回."""
    if isinstance(entry, dict):
        return entry.get("decision") in NOT_APPROVED or entry.get("approved") is False
    return entry is False or entry in NOT_APPROVED


def approved_count(results: list) -> int:
    """How many signers approved, over a multi-instance task's results (`sign_results`)."""
    return sum(1 for entry in results or () if is_approval(entry))


def approved_share(results: list) -> float:
    """The share of all signers who approved (0 with none), e.g. after a 比例签.

    `approved_share(sign_results) >= 2/3`: each signer has an entry, None until they complete.
    """
    results = list(results or ())
    return approved_count(results) / len(results) if results else 0.0


HELPERS = HelperRegistry({
    "now": now,
    "add_working_days": add_working_days,
    "working_days_later": working_days_later,
    "working_days_between": working_days_between,
    "is_working_day": is_working_day,
    "approved_count": approved_count,
    "approved_share": approved_share,
})


def registered_helper_names() -> frozenset[str]:
    """The names expressions may call."""
    return frozenset(HELPERS)
