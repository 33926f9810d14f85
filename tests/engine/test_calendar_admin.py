"""The administrator's calendar overrides: stored, audited, and used by BPMN expressions."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.bpm import expression_helpers
from engine.core.audit import history, verify_audit
from engine.core.calendar_admin import (
    bind_calendar, current_calendar, install_calendar, list_overrides, load_calendar,
    mark_year_published, published_years, refresh_calendar, remove_override, set_override,
)
from engine.core.errors import NotFoundError, TaskDataError
from engine.core.workcalendar import WorkingCalendar

from ..conftest import SHANGHAI


def test_an_override_turns_a_working_day_off_for_expressions_and_is_audited(platform):
    friday = date(2026, 12, 4)
    assert expression_helpers.is_working_day(friday)
    with platform.uow() as uow:
        saved = set_override(uow, friday, False, "admin", "防汛停工（测试）")
    assert (saved.day, saved.is_working, saved.set_by) == (friday, False, "admin")
    assert not expression_helpers.is_working_day(friday)
    start = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
    assert expression_helpers.add_working_days(start, 1).date() == date(2026, 12, 7)
    with platform.uow() as uow:
        assert [o.day for o in list_overrides(uow.session, 2026)] == [friday]
        assert not load_calendar(uow.session).is_working_day(friday)
        events = history(uow.session, subject="calendar:2026-12-04")
        assert [(e.actor, e.action) for e in events] == [("admin", "calendar_override_set")]


def test_removing_an_override_gives_the_day_back_to_the_package(platform):
    saturday = date(2026, 12, 5)
    with platform.uow() as uow:
        set_override(uow, saturday, True, "admin", "调休上班（测试）")
    assert expression_helpers.is_working_day(saturday)
    with platform.uow() as uow:
        remove_override(uow, saturday, "admin")
    assert not expression_helpers.is_working_day(saturday)
    with platform.uow() as uow, pytest.raises(NotFoundError):
        remove_override(uow, saturday, "admin")
    with platform.uow() as uow:
        assert list_overrides(uow.session) == []
        assert verify_audit(uow.session).ok


def test_an_override_on_a_datetime_is_refused(platform):
    with platform.uow() as uow, pytest.raises(TaskDataError):
        set_override(uow, datetime(2026, 12, 5, tzinfo=SHANGHAI), True, "admin")


def test_publishing_a_year_makes_its_days_final(platform):
    with platform.uow() as uow:
        assert load_calendar(uow.session).is_provisional(date(2027, 3, 1))
    with platform.uow() as uow:
        mark_year_published(uow, 2027, "admin")
    with platform.uow() as uow:
        assert published_years(uow.session) == [2027]
        assert not load_calendar(uow.session).is_provisional(date(2027, 3, 1))
        assert not current_calendar().is_provisional(date(2027, 3, 1))
        assert [e.action for e in history(uow.session, subject="calendar:2027")] == \
            ["calendar_year_published"]


def test_another_process_counts_with_an_override_once_it_refreshes_its_calendar(platform):
    friday = date(2026, 12, 4)
    with platform.uow() as uow:
        set_override(uow, friday, False, "admin", "防汛停工（测试）")
    install_calendar(WorkingCalendar())  # as a process that started before the write
    assert expression_helpers.is_working_day(friday)
    with platform.uow() as uow:
        refresh_calendar(uow.session)
    assert not expression_helpers.is_working_day(friday)


def test_a_calendar_bound_to_a_call_wins_over_the_installed_one_until_the_call_ends():
    saturday = date(2026, 12, 5)
    with bind_calendar(WorkingCalendar({saturday: True})) as bound:
        assert current_calendar() is bound
        assert expression_helpers.is_working_day(saturday)
    assert not expression_helpers.is_working_day(saturday)
