"""The engine per app and a unit of work per request, rolled back unless a service commits."""

from __future__ import annotations

from flask import Flask, current_app, g

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


def init_app(app: Flask) -> None:
    """Register the teardown."""
    app.teardown_appcontext(close_uow)
