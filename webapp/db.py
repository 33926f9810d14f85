"""The engine per app and a unit of work per request, rolled back unless a service commits."""

from __future__ import annotations

from flask import Flask, current_app, g

from engine.platform import Platform
from engine.uow import UnitOfWork


def get_platform() -> Platform:
    """The app's engine platform."""
    return current_app.extensions["gongjian"]


def get_uow() -> UnitOfWork:
    """The request's unit of work, opened on first use and closed at teardown."""
    if "uow" not in g:
        g.uow = get_platform().uow().__enter__()
    return g.uow


def write_uow() -> UnitOfWork:
    """The request's unit of work with its reads ended, so a service's write starts afresh.

    On SQLite a service takes the write lock when its transaction begins; a read
    transaction left open would make it upgrade later and fail under load.
    """
    uow = get_uow()
    uow.rollback()
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
