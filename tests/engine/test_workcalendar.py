"""Working days: the 2026 State Council schedule, deadlines, overdue counts, estimates."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine.core.workcalendar import Deadline, WorkingCalendar, WorkingCalendarError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, clock: str = "10:00") -> datetime:
    """An aware Asia/Shanghai datetime, e.g. at('2026-02-12', '09:30')."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


def end_of(day: str) -> datetime:
    """The deadline moment of a day: 23:59:59 Asia/Shanghai."""
    return at(day, "23:59:59")


def days(first: str, last: str) -> list[date]:
    """Every date from first to last, both included."""
    start, stop = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((stop - start).days + 1)]


# The 2026 notice (国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04), day for day.
DAYS_OFF_2026 = [
    *days("2026-01-01", "2026-01-03"),  # New Year
    *days("2026-02-15", "2026-02-23"),  # Spring Festival
    *days("2026-04-04", "2026-04-06"),  # Qingming
    *days("2026-05-01", "2026-05-05"),  # Labour Day
    *days("2026-06-19", "2026-06-21"),  # Dragon Boat
    *days("2026-09-25", "2026-09-27"),  # Mid-Autumn
    *days("2026-10-01", "2026-10-07"),  # National Day
]
WORKING_WEEKENDS_2026 = [date.fromisoformat(d) for d in (
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10")]


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# --- the 2026 schedule ---------------------------------------------------------------------

@pytest.mark.parametrize("day", DAYS_OFF_2026, ids=str)
def test_every_2026_holiday_of_the_notice_is_a_day_off(
        calendar: WorkingCalendar, day: date) -> None:
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", WORKING_WEEKENDS_2026, ids=str)
def test_every_2026_adjusted_weekend_is_a_working_day(calendar: WorkingCalendar, day: date) -> None:
    assert day.weekday() >= 5
    assert calendar.is_working_day(day)


def test_every_other_2026_day_is_a_working_day_exactly_when_it_is_a_weekday(
        calendar: WorkingCalendar) -> None:
    listed = set(DAYS_OFF_2026) | set(WORKING_WEEKENDS_2026)
    for day in days("2026-01-01", "2026-12-31"):
        if day not in listed:
            assert calendar.is_working_day(day) == (day.weekday() < 5), day


def test_2026_is_published_so_none_of_its_days_is_provisional(calendar: WorkingCalendar) -> None:
    assert calendar.is_published(2026)
    assert not any(calendar.is_provisional(day) for day in days("2026-01-01", "2026-12-31"))


def test_an_aware_datetime_counts_by_its_shanghai_date(calendar: WorkingCalendar) -> None:
    # 2026-02-13 17:00 UTC is 2026-02-14 01:00 in Shanghai: the working Saturday.
    assert calendar.is_working_day(datetime(2026, 2, 13, 17, 0, tzinfo=timezone.utc))
    # 2026-10-07 16:30 UTC is 2026-10-08 00:30 in Shanghai: the first day back at work.
    assert calendar.is_working_day(datetime(2026, 10, 7, 16, 30, tzinfo=timezone.utc))


# --- next_working_day ----------------------------------------------------------------------

def test_the_next_working_day_after_the_last_day_before_national_day_is_october_8(
        calendar: WorkingCalendar) -> None:
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_the_next_working_day_can_be_an_adjusted_saturday(calendar: WorkingCalendar) -> None:
    assert calendar.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)


# --- add_working_days ----------------------------------------------------------------------

def test_a_deadline_across_the_spring_festival_skips_the_nine_days_off(
        calendar: WorkingCalendar) -> None:
    # Start Thu 02-12. Count: Fri 02-13 (1), Sat 02-14 adjusted working (2), 02-15..02-23 off,
    # Tue 02-24 (3), Wed 02-25 (4), Thu 02-26 (5).
    assert calendar.add_working_days(at("2026-02-12"), 5) == Deadline(end_of("2026-02-26"), False)


def test_a_deadline_across_national_day_counts_the_adjusted_sunday_and_saturday(
        calendar: WorkingCalendar) -> None:
    # Start Fri 09-18. Sat 09-19 off, Sun 09-20 working (1), Mon-Thu 09-21..24 (2-5),
    # 09-25..27 Mid-Autumn off, Mon-Wed 09-28..30 (6-8), 10-01..07 off, Thu 10-08 (9),
    # Fri 10-09 (10).
    assert calendar.add_working_days(at("2026-09-18"), 10) == Deadline(end_of("2026-10-09"), False)
    # Start Wed 09-30: Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 adjusted working (3).
    assert calendar.add_working_days(at("2026-09-30"), 3) == Deadline(end_of("2026-10-10"), False)


def test_the_count_starts_the_day_after_the_start_whatever_the_hour(
        calendar: WorkingCalendar) -> None:
    # Mon 2026-03-02 at 08:00 or 23:00: day 1 is Tue 03-03 either way.
    assert calendar.add_working_days(at("2026-03-02", "08:00"), 1).due == end_of("2026-03-03")
    assert calendar.add_working_days(at("2026-03-02", "23:00"), 1).due == end_of("2026-03-03")


def test_a_utc_start_is_counted_from_its_shanghai_date(calendar: WorkingCalendar) -> None:
    # 2026-02-13 17:00 UTC is Sat 02-14 01:00 in Shanghai: day 1 is Tue 02-24, after the festival.
    deadline = calendar.add_working_days(datetime(2026, 2, 13, 17, 0, tzinfo=timezone.utc), 1)
    assert deadline.due == end_of("2026-02-24")


def test_a_plain_date_start_is_taken_as_a_shanghai_date(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 9, 30), 1).due == end_of("2026-10-08")


def test_the_deadline_is_the_end_of_the_day_in_shanghai(calendar: WorkingCalendar) -> None:
    due = calendar.add_working_days(at("2026-03-02"), 1).due
    assert due.tzinfo is not None
    assert due.utcoffset() == timedelta(hours=8)
    assert (due.hour, due.minute, due.second) == (23, 59, 59)


def test_zero_working_days_from_a_working_day_ends_that_day(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at("2026-02-14"), 0) == Deadline(end_of("2026-02-14"), False)


def test_zero_working_days_from_a_holiday_ends_the_next_working_day(
        calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at("2026-10-01"), 0) == Deadline(end_of("2026-10-08"), False)


def test_a_negative_number_of_working_days_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="n must be 0 or more working days, not -1"):
        calendar.add_working_days(at("2026-03-02"), -1)


def test_the_calendar_errors_are_domain_errors_and_value_errors(calendar: WorkingCalendar) -> None:
    with pytest.raises(WorkingCalendarError):
        calendar.add_working_days(at("2026-03-02"), -1)


def test_a_naive_datetime_is_refused_everywhere(calendar: WorkingCalendar) -> None:
    naive = datetime(2026, 3, 2, 10, 0)
    with pytest.raises(ValueError, match="naive datetime .* timezone-aware"):
        calendar.add_working_days(naive, 5)
    with pytest.raises(ValueError, match="naive datetime"):
        calendar.working_days_between(at("2026-03-02"), naive)
    with pytest.raises(ValueError, match="naive datetime"):
        calendar.is_working_day(naive)
    with pytest.raises(ValueError, match="naive datetime"):
        calendar.next_working_day(naive)


def test_a_deadline_is_immutable(calendar: WorkingCalendar) -> None:
    deadline = calendar.add_working_days(at("2026-03-02"), 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadline.provisional = True  # type: ignore[misc]


# --- working_days_between ------------------------------------------------------------------

def test_working_days_between_counts_after_the_start_day_up_to_and_including_the_end_day(
        calendar: WorkingCalendar) -> None:
    # Fri 02-13 -> Tue 02-24: Sat 02-14 (adjusted working) and Tue 02-24; the festival is skipped.
    assert calendar.working_days_between(at("2026-02-13"), at("2026-02-24")) == 2
    # Mon 03-02 -> Fri 03-06: Tue..Fri.
    assert calendar.working_days_between(date(2026, 3, 2), date(2026, 3, 6)) == 4


def test_working_days_between_the_same_day_is_zero(calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(at("2026-03-02", "08:00"), at("2026-03-02", "18:00")) == 0


def test_working_days_between_is_negative_when_the_end_is_before_the_start(
        calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(at("2026-02-24"), at("2026-02-13")) == -2


def test_overdue_by_is_counted_in_working_days_after_the_due_day(calendar: WorkingCalendar) -> None:
    # Due at the end of Wed 09-30; now is Fri 10-09: the holiday week does not count, 10-08 and
    # 10-09 do, so the task is overdue by 2 working days.
    due = calendar.add_working_days(at("2026-09-29"), 1).due
    assert due == end_of("2026-09-30")
    now = at("2026-10-09", "15:00")
    assert now > due
    assert calendar.working_days_between(due, now) == 2


def test_adding_then_counting_gives_back_the_number_of_working_days(
        calendar: WorkingCalendar) -> None:
    start = at("2026-09-18")
    for n in range(1, 40):
        assert calendar.working_days_between(start, calendar.add_working_days(start, n).due) == n


# --- years without a published schedule ----------------------------------------------------

def test_chinese_calendar_has_no_2027_schedule_yet() -> None:
    # The premise of the tests below; when a release adds 2027, move them to the next year.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_a_deadline_running_into_an_unpublished_year_is_computed_and_marked_provisional(
        calendar: WorkingCalendar) -> None:
    # Start Sun 2026-12-20. Mon-Fri 12-21..25 (1-5), Mon-Thu 12-28..31 (6-9),
    # Fri 2027-01-01 New Year (estimated off), Mon-Fri 01-04..08 (10-14), Mon 01-11 (15).
    deadline = calendar.add_working_days(at("2026-12-20"), 15)
    assert deadline == Deadline(end_of("2027-01-11"), True)


def test_a_deadline_entirely_inside_a_published_year_is_not_provisional(
        calendar: WorkingCalendar) -> None:
    # Start Tue 12-01: Wed 12-02 .. Fri 12-04 (1-3), 12-07..11 (4-8), 12-14..15 (9-10).
    assert calendar.add_working_days(at("2026-12-01"), 10) == Deadline(end_of("2026-12-15"), False)


def test_a_deadline_ending_on_new_years_eve_does_not_look_into_the_next_year(
        calendar: WorkingCalendar) -> None:
    # Start Mon 12-28: Tue 12-29 (1), Wed 12-30 (2), Thu 12-31 (3).
    assert calendar.add_working_days(at("2026-12-28"), 3) == Deadline(end_of("2026-12-31"), False)


def test_days_of_an_unpublished_year_are_provisional(calendar: WorkingCalendar) -> None:
    assert not calendar.is_published(2027)
    assert calendar.is_provisional(date(2027, 3, 1))
    assert not calendar.is_provisional(date(2026, 3, 1))


def test_an_unpublished_year_is_estimated_with_its_lunar_festivals(
        calendar: WorkingCalendar) -> None:
    # Spring Festival 2027 falls on Sat 02-06; the estimate gives the Monday after it off.
    assert not calendar.is_working_day(date(2027, 2, 8))
    assert not calendar.is_working_day(date(2027, 10, 1))
    assert calendar.is_working_day(date(2027, 3, 1))


# --- overrides -----------------------------------------------------------------------------

def test_an_override_can_make_a_working_day_a_day_off() -> None:
    calendar = WorkingCalendar({date(2026, 3, 3): False})
    assert not calendar.is_working_day(date(2026, 3, 3))
    # Mon 03-02 + 1: Tue 03-03 is now off, so Wed 03-04.
    assert calendar.add_working_days(at("2026-03-02"), 1).due == end_of("2026-03-04")


def test_an_override_can_make_a_holiday_a_working_day() -> None:
    calendar = WorkingCalendar({date(2026, 10, 7): True})
    assert calendar.is_working_day(date(2026, 10, 7))
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 7)


def test_an_overridden_day_of_an_unpublished_year_is_not_provisional() -> None:
    calendar = WorkingCalendar({date(2027, 1, 4): False})
    assert not calendar.is_provisional(date(2027, 1, 4))
    assert calendar.is_provisional(date(2027, 1, 5))


def test_a_year_marked_published_removes_the_provisional_mark() -> None:
    # The administrator enters the (hypothetical) 2027 New Year notice: 01-01..01-03 off.
    overrides = {day: False for day in days("2027-01-01", "2027-01-03")}
    calendar = WorkingCalendar(overrides, published_years={2027})
    assert calendar.is_published(2027)
    # Same count as the provisional case, now final: Mon 2027-01-11.
    assert calendar.add_working_days(at("2026-12-20"), 15) == Deadline(end_of("2027-01-11"), False)


def test_a_year_marked_published_is_plain_weekdays_apart_from_its_overrides() -> None:
    # The estimate would take Mon 2027-02-08 off for the Spring Festival; a published year
    # takes only what the administrator entered.
    calendar = WorkingCalendar({date(2027, 2, 6): True}, published_years={2027})
    assert calendar.is_working_day(date(2027, 2, 8))
    assert calendar.is_working_day(date(2027, 2, 6))
    assert not calendar.is_working_day(date(2027, 2, 7))


def test_an_override_keyed_by_a_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a datetime.date, not datetime"):
        WorkingCalendar({datetime(2026, 3, 3, tzinfo=SHANGHAI): False})


def test_an_override_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(ValueError, match="must be True .* or False"):
        WorkingCalendar({date(2026, 3, 3): "off"})  # type: ignore[dict-item]


@pytest.mark.parametrize("start, end", [
    (date(2021, 11, 3), date(2026, 12, 1)), (date(2026, 12, 31), date(2027, 1, 4)),
    (date(2026, 5, 1), date(2026, 5, 1)), (date(2028, 2, 28), date(2024, 3, 1)),
    (date(2025, 12, 31), date(2026, 12, 31))])
def test_working_days_between_years_counts_what_a_walk_day_by_day_counts(start, end) -> None:
    """Whole years are counted at once: the same count as day by day, overrides included
    (an override in an estimated year, a Sunday made a working day, a weekday off)."""
    calendar = WorkingCalendar({date(2028, 1, 3): False, date(2026, 3, 1): True,
                                date(2024, 3, 1): False}, published_years=[2028])
    first, last = sorted((start, end))
    walked = sum(calendar.is_working_day(first + timedelta(days=n))
                 for n in range(1, (last - first).days + 1))
    assert calendar.working_days_between(start, end) == (walked if start <= end else -walked)
