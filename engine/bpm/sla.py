"""Service levels of human tasks: on time, due soon, overdue by N working days.

The state of one task is computed in Python (`sla_state`); lists filter in SQL on the
indexed `human_task.due_at`, with boundary times computed once from the calendar
(`sla_condition`), so no row is looked at in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, select

from ..core.calendar_admin import load_calendar
from ..core.clock import as_utc
from ..core.identity import SYSTEM
from ..core.models import HumanTask
from .projection import OPEN_STATES
from ..core.uow import UnitOfWork
from ..core.workcalendar import END_OF_DAY, SHANGHAI, WorkingCalendar

ON_TIME, DUE_SOON, OVERDUE = "on_time", "due_soon", "overdue"
SLA_STATES = (ON_TIME, DUE_SOON, OVERDUE)


@dataclass(frozen=True)
class SlaState:
    """Where a due time stands: on_time, due_soon (within one working day) or overdue."""

    state: str
    overdue_days: int = 0  # whole working days past the due day; 1 on the due day itself


def due_soon_until(now: datetime, calendar: WorkingCalendar) -> datetime:
    """The end of the next working day: a task due by then is due soon."""
    return as_utc(calendar.add_working_days(now, 1).due)


def sla_state(due_at: datetime | None, now: datetime, calendar: WorkingCalendar) -> SlaState | None:
    """The SLA state of a due time at `now`; None when there is no due time."""
    if due_at is None:
        return None
    due_at, now = as_utc(due_at), as_utc(now)
    if now > due_at:
        # Late on the due day itself counts as one day overdue.
        return SlaState(OVERDUE, max(1, calendar.working_days_between(due_at, now)))
    if due_at <= due_soon_until(now, calendar):
        return SlaState(DUE_SOON)
    return SlaState(ON_TIME)


def overdue_before(now: datetime, days: int, calendar: WorkingCalendar) -> datetime:
    """The latest due time that is overdue by at least `days` working days at `now`."""
    if days <= 1:
        return as_utc(now)
    # Walk back from today until `days` working days lie after the day reached.
    day: date = as_utc(now).astimezone(SHANGHAI).date()
    counted = 0
    while True:
        counted += calendar.is_working_day(day)
        day -= timedelta(days=1)
        if counted >= days:
            break
    return as_utc(datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI))


def sla_condition(state: str, now: datetime, calendar: WorkingCalendar, *,
                  min_overdue_days: int = 1, column=HumanTask.due_at) -> ColumnElement[bool]:
    """A SQL condition on a due-time column (default `human_task.due_at`) for one SLA state."""
    now = as_utc(now)
    if state == OVERDUE:
        limit = overdue_before(now, min_overdue_days, calendar)
        return column <= limit if min_overdue_days > 1 else column < now
    soon = due_soon_until(now, calendar)
    if state == DUE_SOON:
        return and_(column >= now, column <= soon)
    if state == ON_TIME:
        return column > soon
    raise ValueError(f"unknown SLA state {state!r}; one of {SLA_STATES}")


def open_tasks_by_sla(state: str, now: datetime, calendar: WorkingCalendar, *,
                      min_overdue_days: int = 1):
    """A select() of open human tasks in one SLA state, soonest due first (add more filters)."""
    return (select(HumanTask)
            .where(HumanTask.state.in_(OPEN_STATES),
                   sla_condition(state, now, calendar, min_overdue_days=min_overdue_days))
            .order_by(HumanTask.due_at, HumanTask.id))


def recompute_provisional_deadlines(uow: UnitOfWork,
                                    calendar: WorkingCalendar | None = None) -> int:
    """Count provisional due dates of open tasks again; returns how many changed.

    The calendar defaults to the one in the tables (overrides and published years).
    A due date counted with `add_working_days` is recounted from its stored start and day count;
    any other due date keeps its time and only loses the mark once its year is published.
    """
    uow.begin_write()
    calendar = calendar or load_calendar(uow.session)
    rows = uow.session.execute(select(HumanTask).where(
        HumanTask.due_provisional.is_(True), HumanTask.state.in_(OPEN_STATES))).scalars()
    changed = 0
    for task in rows:
        before = (task.due_at, task.due_provisional)
        if task.due_basis_at is not None and task.due_working_days is not None:
            deadline = calendar.add_working_days(task.due_basis_at, task.due_working_days)
            task.due_at = as_utc(deadline.due)
            task.due_provisional = deadline.provisional or calendar.is_provisional(task.due_at)
        elif task.due_at is not None:
            task.due_provisional = calendar.is_provisional(task.due_at)
        if (task.due_at, task.due_provisional) == before:
            continue
        changed += 1
        uow.audit.record(SYSTEM, "task_due_recomputed", subject=f"instance:{task.instance_id}",
                         instance_id=task.instance_id, task_id=task.id,
                         before=before[0].isoformat() if before[0] else None,
                         after=task.due_at.isoformat() if task.due_at else None,
                         provisional=task.due_provisional)
    uow.commit()
    return changed
