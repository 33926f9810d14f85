"""The administrator's working calendar: day overrides and published years, kept in tables.

Expressions (due dates, timer dates) count with `current_calendar()`: the calendar bound to
the running call (`bind_calendar`), else the one installed in this process (`install_calendar`),
else the package's. Each write here installs the new calendar in the writing process at once;
the worker installs it before every pass (`refresh_calendar`). Another process keeps its
calendar until it refreshes, and `recompute_provisional_deadlines` (engine/bpm/sla.py) fixes
deadlines already written.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import NotFoundError, TaskDataError
from .identity import Actor
from .models import Base, UTCDateTime
from .uow import UnitOfWork
from .workcalendar import WorkingCalendar


class CalendarOverride(Base):
    """One day the administrator set as working or not, overriding the calendar package."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarYear(Base):
    """A year whose State Council notice the overrides hold in full (its deadlines are final)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class CalendarDay:
    """An override as callers see it."""

    day: date
    is_working: bool
    note: str | None
    set_by: str
    set_at: datetime


def _view(row: CalendarOverride) -> CalendarDay:
    return CalendarDay(row.day, row.is_working, row.note, row.set_by, row.set_at)


def load_calendar(session: Session) -> WorkingCalendar:
    """The working calendar with every override and published year from the tables."""
    overrides = {row.day: row.is_working
                 for row in session.execute(select(CalendarOverride)).scalars()}
    years = [row.year for row in session.execute(
        select(CalendarYear).where(CalendarYear.published.is_(True))).scalars()]
    return WorkingCalendar(overrides, published_years=years)


# This process's calendar: the package's until `install_calendar` puts the tables' in its place.
_installed = WorkingCalendar()
_bound: contextvars.ContextVar[WorkingCalendar | None] = \
    contextvars.ContextVar("gongjian_calendar", default=None)


def install_calendar(calendar: WorkingCalendar) -> None:
    """Make `calendar` the one this process counts with wherever no call bound another."""
    global _installed
    _installed = calendar


@contextlib.contextmanager
def bind_calendar(calendar: WorkingCalendar) -> Iterator[WorkingCalendar]:
    """Count with `calendar` inside the block (one service call), whatever is installed."""
    token = _bound.set(calendar)
    try:
        yield calendar
    finally:
        _bound.reset(token)


def current_calendar() -> WorkingCalendar:
    """The calendar bound to this call, else the one installed in this process."""
    bound = _bound.get()
    return bound if bound is not None else _installed


def refresh_calendar(session: Session) -> WorkingCalendar:
    """Load the calendar from the tables and install it in this process."""
    calendar = load_calendar(session)
    install_calendar(calendar)
    return calendar


def list_overrides(session: Session, year: int | None = None) -> list[CalendarDay]:
    """The overrides, by day, optionally of one year."""
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        query = query.where(CalendarOverride.day >= date(year, 1, 1),
                            CalendarOverride.day <= date(year, 12, 31))
    return [_view(row) for row in session.execute(query).scalars()]


def published_years(session: Session) -> list[int]:
    """The years the administrator marked as published, ascending."""
    return list(session.execute(select(CalendarYear.year).where(CalendarYear.published.is_(True))
                                .order_by(CalendarYear.year)).scalars())


def _username(actor: Actor | str) -> str:
    return actor if isinstance(actor, str) else actor.username


def set_override(uow: UnitOfWork, day: date, is_working: bool, actor: Actor | str,
                 note: str | None = None) -> CalendarDay:
    """Make one day a working day or a day off, whatever the calendar package says."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TaskDataError("an override is set on a calendar date", {"day": ["a date"]})
    uow.begin_write()
    who, now = _username(actor), uow.clock.now()
    row = uow.session.get(CalendarOverride, day)
    before = None if row is None else row.is_working
    if row is None:
        row = CalendarOverride(day=day)
        uow.session.add(row)
    row.is_working, row.note, row.set_by, row.set_at = bool(is_working), note, who, now
    uow.audit.record(who, "calendar_override_set", subject=f"calendar:{day.isoformat()}",
                     before=before, after=bool(is_working), why=note)
    uow.commit()
    refresh_calendar(uow.session)
    return _view(row)


def remove_override(uow: UnitOfWork, day: date, actor: Actor | str,
                    note: str | None = None) -> None:
    """Drop a day's override, so the calendar package answers for it again."""
    uow.begin_write()
    row = uow.session.get(CalendarOverride, day)
    if row is None:
        raise NotFoundError(f"there is no calendar override on {day.isoformat()}")
    who = _username(actor)
    uow.audit.record(who, "calendar_override_removed", subject=f"calendar:{day.isoformat()}",
                     before=row.is_working, why=note)
    uow.session.delete(row)
    uow.commit()
    refresh_calendar(uow.session)


def mark_year_published(uow: UnitOfWork, year: int, actor: Actor | str,
                        published: bool = True) -> None:
    """Declare that the overrides hold the whole State Council notice of `year` (or withdraw it)."""
    uow.begin_write()
    who, now = _username(actor), uow.clock.now()
    row = uow.session.get(CalendarYear, year)
    before = None if row is None else row.published
    if row is None:
        row = CalendarYear(year=year)
        uow.session.add(row)
    row.published, row.set_by, row.set_at = bool(published), who, now
    uow.audit.record(who, "calendar_year_published" if published else "calendar_year_withdrawn",
                     subject=f"calendar:{year}", before=before, after=bool(published))
    uow.commit()
    refresh_calendar(uow.session)
