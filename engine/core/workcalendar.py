"""Working days: official time limits (官方时限) counted in Chinese working days.

A working day is a day on which offices work: Monday to Friday, except the statutory holidays,
plus the adjusted working weekends (调休) that the State Council's yearly notice
(国务院办公厅关于 N 年部分节假日安排的通知, published each November for the next year) sets.

Where the answer for a day comes from, first match wins:

1. the administrator's overrides (``{date: bool}``, True = working), stored by the caller in the
   ``calendar_override`` table;
2. ``chinese-calendar`` (the primary source), for the years it has data for;
3. for a year the administrator has marked as published (``published_years``): Monday to Friday,
   because the overrides then hold that year's whole notice (every day off and every working
   weekend day it lists);
4. otherwise an estimate: Monday to Friday minus the rule-based holidays of the ``holidays``
   package (statutory days, lunar festivals computed, a weekend statutory day moved to the next
   workday; no adjusted working weekends, no bridge days). A day answered this way is
   *provisional*, and so is every deadline or count that looked at it.

Why ``chinese-calendar`` is the primary source (checked with chinese-calendar 1.11.0 and
holidays 0.109 against the 2026 notice of 2025-11-04):

- Both packages match the 2026 notice day for day, adjusted working weekends included
  (2026-01-04, 02-14, 02-28, 05-09, 09-20, 10-10), and agree with each other on every day of
  2004-2026 except 2005-12-31 (a Saturday the 2006 notice made a working day): ``holidays`` has it
  right, ``chinese-calendar`` has it as a day off. That year no longer matters for deadlines.
- ``chinese-calendar`` holds explicit per-day data (days off and in-lieu working days) for
  2004-2026 only, and raises NotImplementedError for any other year: "no schedule published"
  is an explicit signal, which is exactly what ``is_provisional`` needs.
- ``holidays`` holds the published schedules (its ``weekend_workdays``) for 2001-2026 but answers
  every year 1950-2100 without saying which answers are published and which are its rules'
  guesses (for 2027 it returns Spring Festival 02-05..02-10 and no working weekends, silently);
  outside 1950-2100 it returns no holidays at all. Telling published from guessed would mean
  reading its internal tables. Its rule-based lunar festivals are still the best estimate for an
  unpublished year, so it is used for that, and only that.

Semantics, in whole days as official practice counts them:

- Days are Asia/Shanghai calendar days (+08:00; China has had no daylight saving time since
  1991). An aware datetime counts by its Shanghai date; a naive one is refused (its day would be
  a guess); a plain ``date`` is taken as a Shanghai date.
- ``add_working_days(start, n)``: the count starts on the first working day after start's day,
  whatever the hour of start; the deadline is the end (23:59:59) of the n-th working day. n = 0
  means the end of start's day if it is a working day, else the end of the next working day.
  Negative n is refused. The deadline is provisional when any day looked at after start's day (or
  start's day itself, for n = 0) is provisional.
- ``working_days_between(start, end)``: the working days after start's day up to and including
  end's day; 0 on the same day, and minus the reverse count when end is before start. A task due
  at ``due`` and not done at ``now > due`` is overdue by ``working_days_between(due, now)``
  working days (0 while still on the due day, e.g. in its last second).
- ``is_provisional(day)``: the day's year is neither in chinese-calendar nor in
  ``published_years``, and no override names the day (the administrator's word is final for the
  day it names). Mark a year published only once every day of its notice is in the overrides.
"""

from __future__ import annotations

import bisect
import threading
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

from .errors import GongjianError

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The last second of a working day; a deadline is met by anything done on that day.
END_OF_DAY = time(23, 59, 59)

_ONE_DAY = timedelta(days=1)


class WorkingCalendarError(GongjianError, ValueError):
    """A working-day question was asked with a value the calendar cannot answer."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A due moment and whether it rests on an estimated (unpublished) holiday schedule."""

    due: datetime
    provisional: bool


class WorkingCalendar:
    """Chinese working days: overrides first, then chinese-calendar, then an estimate."""

    def __init__(self, overrides: Mapping[date, bool] | None = None,
                 published_years: Iterable[int] = ()) -> None:
        """Take the administrator's overrides and the years whose notice they hold in full."""
        self._overrides: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            # A datetime key would never equal the plain dates looked up, so it would be ignored.
            if isinstance(day, datetime) or not isinstance(day, date):
                raise WorkingCalendarError(
                    f"calendar override key {day!r} must be a datetime.date, "
                    f"not {type(day).__name__}")
            if not isinstance(working, bool):
                raise WorkingCalendarError(
                    f"calendar override for {day.isoformat()} must be True (working day) or "
                    f"False (day off), not {working!r}")
            self._overrides[day] = working
        self._published_years = frozenset(published_years)

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on this day (a datetime counts by its Asia/Shanghai date)."""
        return self._is_working(_local_date(day))

    def is_provisional(self, day: date) -> bool:
        """Whether this day's answer is an estimate: no published schedule and no override."""
        return self._is_provisional(_local_date(day))

    def is_published(self, year: int) -> bool:
        """Whether the year's schedule is known: in chinese-calendar or marked by the admin."""
        return _package_working_days(year) is not None or year in self._published_years

    def next_working_day(self, day: date) -> date:
        """The first working day after this day."""
        candidate = _local_date(day) + _ONE_DAY
        while not self._is_working(candidate):
            candidate += _ONE_DAY
        return candidate

    def add_working_days(self, start: datetime | date, n: int) -> Deadline:
        """The end of the n-th working day after start's day (n = 0: start's day or the next)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise WorkingCalendarError(f"n must be a whole number of working days, not {n!r}")
        if n < 0:
            raise WorkingCalendarError(
                f"n must be 0 or more working days, not {n}; a time limit cannot end before it "
                "starts (use working_days_between to count backwards)")
        day = _local_date(start)
        provisional = False
        if n == 0:
            # A limit of zero days ends with the start day, if offices work on it.
            provisional = self._is_provisional(day)
            if self._is_working(day):
                return Deadline(_end_of(day), provisional)
            n = 1
        counted = 0
        while counted < n:
            day += _ONE_DAY
            # One estimated day on the way makes the whole count an estimate.
            provisional = provisional or self._is_provisional(day)
            counted += self._is_working(day)
        return Deadline(_end_of(day), provisional)

    def working_days_between(self, start: datetime | date, end: datetime | date) -> int:
        """Working days after start's day up to and including end's day; negative if end < start."""
        first, last = _local_date(start), _local_date(end)
        sign = 1
        if last < first:
            first, last, sign = last, first, -1
        # Per year, a bisect in the year's sorted working days: a task five years overdue
        # costs what one a day overdue does (the 督办台 counts this for every late line).
        count = 0
        day = first + _ONE_DAY
        while day <= last:
            year_end = date(day.year, 12, 31)
            upto = min(last, year_end)
            days = self._working_days_of(day.year)
            count += bisect.bisect_right(days, upto) - bisect.bisect_left(days, day)
            day = year_end + _ONE_DAY
        return sign * count

    def _working_days_of(self, year: int) -> list[date]:
        """The year's working days after the overrides, sorted: kept per calendar, and shared
        by the calendars of the same overrides and published years (one is built from the
        tables at every request; the 督办台 counts years back for its late lines)."""
        cache = self.__dict__.get("_years")
        if cache is None:
            signature = (frozenset(self._overrides.items()), self._published_years)
            with _YEARS_LOCK:
                cache = _YEARS.pop(signature, None) or {}
                _YEARS[signature] = cache  # the most recent last
                while len(_YEARS) > 8:
                    del _YEARS[next(iter(_YEARS))]
            self.__dict__["_years"] = cache
        days = cache.get(year)
        if days is None:
            every = (date(year, 1, 1) + timedelta(days=n) for n in range(366))
            days = cache[year] = [d for d in every if d.year == year and self._is_working(d)]
        return days

    # The loops call these two with dates already reduced to Asia/Shanghai, so they skip the
    # argument checks of the public methods.

    def _is_working(self, day: date) -> bool:
        """is_working_day for a plain date."""
        working = self._overrides.get(day)
        if working is not None:
            return working
        return day in self._base_working_days(day.year)

    def _is_provisional(self, day: date) -> bool:
        """is_provisional for a plain date."""
        return not self.is_published(day.year) and day not in self._overrides

    def _base_working_days(self, year: int) -> frozenset[date]:
        """The year's working days before overrides: package, admin-published, or estimate."""
        published = _package_working_days(year)
        if published is not None:
            return published
        if year in self._published_years:
            return _weekdays(year)
        return _estimated_working_days(year)


# The sorted working days by year of the calendars built lately, by their overrides and
# published years (what alone decides a day): a few, most recent last.
_YEARS: dict[tuple[frozenset, frozenset], dict[int, list[date]]] = {}
_YEARS_LOCK = threading.Lock()


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware datetime (the platform's today)."""
    return _local_date(moment)


def _local_date(moment: date) -> date:
    """The Asia/Shanghai calendar date of an aware datetime, or the date itself."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise WorkingCalendarError(
                f"naive datetime {moment.isoformat()} refused: its day is ambiguous; pass a "
                "timezone-aware datetime (e.g. the platform clock's now())")
        return moment.astimezone(SHANGHAI).date()
    if isinstance(moment, date):
        return moment
    raise WorkingCalendarError(f"expected a date or an aware datetime, not {type(moment).__name__}")


def _end_of(day: date) -> datetime:
    """The deadline moment of a working day: its last second, Asia/Shanghai time."""
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI)


def _days_of(year: int) -> Iterator[date]:
    """Every day of the year, in order."""
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += _ONE_DAY


# The year-level sets below hold global data only (no overrides), so they are shared by every
# WorkingCalendar; a calendar built per request from the override table stays cheap.

@functools.lru_cache(maxsize=64)
def _package_working_days(year: int) -> frozenset[date] | None:
    """The year's working days per chinese-calendar, or None when it has no schedule for it."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    return frozenset(day for day in _days_of(year) if chinese_calendar.is_workday(day))


@functools.lru_cache(maxsize=64)
def _weekdays(year: int) -> frozenset[date]:
    """The year's Mondays to Fridays."""
    return frozenset(day for day in _days_of(year) if day.weekday() < 5)


@functools.lru_cache(maxsize=64)
def _estimated_working_days(year: int) -> frozenset[date]:
    """The year's weekdays minus the holidays package's rule-based Chinese holidays."""
    estimated_days_off = holidays.China(years=year)
    return frozenset(day for day in _weekdays(year) if day not in estimated_days_off)
