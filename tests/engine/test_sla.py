"""Due dates in working days from BPMN, SLA states with the clock moved, provisional deadlines."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core.calendar_admin import load_calendar, mark_year_published, set_override
from engine.core.clock import as_utc
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.bpm.sla import (
    DUE_SOON, ON_TIME, OVERDUE, SlaState, open_tasks_by_sla, recompute_provisional_deadlines,
    sla_state,
)
from engine.core.workcalendar import WorkingCalendar

from ..conftest import FIXTURES, SHANGHAI

APPROVER = Actor.of("shenpi1", "approver")
CALENDAR = WorkingCalendar()


def end_of(day: date) -> datetime:
    return as_utc(datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI))


def start_due_date(platform):
    with platform.uow() as uow:
        definitions.deploy_files(uow, [("due_date.bpmn", (FIXTURES / "supervision" /
                                                         "due_date.bpmn").read_bytes())], "designer")
    with platform.uow() as uow:
        runtime.start_instance(uow, "due_date", APPROVER)
    with platform.uow() as uow:
        [task] = inbox.list_tasks(uow, APPROVER)
        return task


def task_row(platform, task_id) -> HumanTask:
    with platform.uow() as uow:
        row = uow.session.get(HumanTask, task_id)
        uow.session.expunge(row)
        return row


def test_a_due_date_of_five_working_days_from_bpmn_lands_on_the_task_row(platform):
    task = start_due_date(platform)
    row = task_row(platform, task.id)
    # Tuesday 2026-12-01 + 5 working days = Tuesday 2026-12-08, end of day in Lingchuan.
    assert row.due_at == end_of(date(2026, 12, 8))
    assert row.due_provisional is False
    assert row.due_working_days == 5


def test_the_sla_state_moves_with_the_clock(platform, clock):
    due = start_due_date(platform).due_at
    assert sla_state(due, clock.now(), CALENDAR) == SlaState(ON_TIME)
    clock.set(datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI))  # Monday: due tomorrow
    assert sla_state(due, clock.now(), CALENDAR) == SlaState(DUE_SOON)
    clock.set(datetime(2026, 12, 8, 23, 0, tzinfo=SHANGHAI))
    assert sla_state(due, clock.now(), CALENDAR) == SlaState(DUE_SOON)
    clock.set(datetime(2026, 12, 9, 8, 0, tzinfo=SHANGHAI))
    assert sla_state(due, clock.now(), CALENDAR) == SlaState(OVERDUE, 1)
    clock.set(datetime(2026, 12, 14, 8, 0, tzinfo=SHANGHAI))  # Wed, Thu, Fri, Mon
    assert sla_state(due, clock.now(), CALENDAR) == SlaState(OVERDUE, 4)
    assert sla_state(None, clock.now(), CALENDAR) is None


def _ids(platform, state, now, **kwargs):
    with platform.uow() as uow:
        return [t.element_id for t in uow.session.execute(
            open_tasks_by_sla(state, now, CALENDAR, **kwargs)).scalars()]


def test_open_tasks_are_filtered_by_sla_state_in_sql(platform, clock):
    start_due_date(platform)
    assert _ids(platform, ON_TIME, clock.now()) == ["handle"]
    assert _ids(platform, DUE_SOON, clock.now()) == []
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
    assert _ids(platform, DUE_SOON, monday) == ["handle"]
    assert _ids(platform, ON_TIME, monday) == []
    later = datetime(2026, 12, 14, 8, 0, tzinfo=SHANGHAI)
    assert _ids(platform, OVERDUE, later) == ["handle"]
    assert _ids(platform, OVERDUE, later, min_overdue_days=4) == ["handle"]
    assert _ids(platform, OVERDUE, later, min_overdue_days=5) == []
    with pytest.raises(ValueError):
        _ids(platform, "late", later)


@pytest.mark.parametrize("days", range(1, 8))
def test_the_sql_overdue_boundary_agrees_with_sla_state(platform, clock, days):
    due = start_due_date(platform).due_at
    now = datetime(2026, 12, 16, 8, 0, tzinfo=SHANGHAI)
    expected = sla_state(due, now, CALENDAR).overdue_days >= days
    assert (_ids(platform, OVERDUE, now, min_overdue_days=days) == ["handle"]) == expected


def test_a_deadline_into_an_unpublished_year_is_provisional_and_recomputed_later(platform, clock):
    clock.set(datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI))
    first = start_due_date(platform)
    with platform.uow() as uow:
        task_actions.complete(uow, first.id, APPROVER)
    with platform.uow() as uow:
        [review] = inbox.list_tasks(uow, APPROVER)
    row = task_row(platform, review.id)
    estimate = WorkingCalendar().add_working_days(clock.now(), 15)
    assert estimate.provisional
    assert (row.due_at, row.due_provisional) == (as_utc(estimate.due), True)

    with platform.uow() as uow:
        set_override(uow, date(2027, 1, 1), False, "admin", "元旦")
    with platform.uow() as uow:
        set_override(uow, date(2027, 1, 4), False, "admin", "地方调整（测试）")
    with platform.uow() as uow:
        mark_year_published(uow, 2027, "admin")
    with platform.uow() as uow:
        assert recompute_provisional_deadlines(uow) == 1
    row = task_row(platform, review.id)
    # Dec 21-31 give 9 working days; Jan 1 and 4 are off: Jan 5, 6, 7, 8, 11, 12.
    assert (row.due_at, row.due_provisional) == (end_of(date(2027, 1, 12)), False)
    with platform.uow() as uow:
        assert recompute_provisional_deadlines(uow) == 0
        assert load_calendar(uow.session).is_published(2027)
        actions = [e.action for e in runtime.instance_history(uow, review.instance_id)]
    assert "task_due_recomputed" in actions
