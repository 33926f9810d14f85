"""The engine per app and a unit of work per request, rolled back unless a service commits."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g

from engine.core.calendar_admin import refresh_calendar

from engine.ops.platform import Platform
from engine.core.uow import UnitOfWork


def get_platform() -> Platform:
    """The app's engine platform."""
    return current_app.extensions["gongjian"]


def get_uow() -> UnitOfWork:
    """The request's unit of work, opened on first use and closed at teardown."""
    if "uow" not in g:
        g.uow = get_platform().uow().__enter__()
    return g.uow


def write_uow() -> UnitOfWork:
    """The request's unit of work with its reads ended and its write declared.

    On SQLite the write lock is taken here, before the service's first read: a read
    transaction cannot be upgraded once another process has committed, and fails at once
    with "database is locked". Services that read before they declare their write (starting
    with a start form checks the form first) would otherwise fail under load.
    """
    uow = get_uow()
    uow.rollback()
    uow.begin_write()
    return uow


def discard_uow() -> None:
    """Roll back whatever a failed service call left in the request's unit of work."""
    uow = g.get("uow")
    if uow is not None:
        uow.rollback()


def close_uow(exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and return the connection."""
    uow = g.pop("uow", None)
    if uow is not None:
        uow.__exit__(None, None, None)


# How long a web process counts with the working calendar it loaded before it looks again:
# an administrator's override made in another process (the CLI, another web node) reaches
# this one within that time; one made here is installed at once.
CALENDAR_REFRESH = timedelta(minutes=1)


def refresh_calendar_now_and_then() -> None:
    """Load the administrator's working calendar at the first request and every minute after."""
    platform = get_platform()
    now = platform.clock.now()
    last = current_app.extensions.get("gongjian_calendar_at")
    if last is not None and timedelta(0) <= now - last < CALENDAR_REFRESH:
        return
    with platform.uow() as uow:
        refresh_calendar(uow.session)
    current_app.extensions["gongjian_calendar_at"] = now


def init_app(app: Flask) -> None:
    """Register the calendar refresh and the teardown."""
    app.before_request(refresh_calendar_now_and_then)
    app.teardown_appcontext(close_uow)
