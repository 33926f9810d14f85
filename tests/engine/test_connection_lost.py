"""A PostgreSQL connection lost under a call is discarded, not reset in the pool.

psycopg raises "connection socket closed" (an error with no SQLSTATE: it did not come from
the server) when the server goes away mid-call, without always marking the connection
broken; SQLAlchemy then handed it back to the pool, which tried to reset it and logged the
failure with a traceback (seen in the PostgreSQL restart test). `connection_lost` tells
SQLAlchemy it is a disconnect; errors the server sent keep their connection."""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest
from psycopg import errors

from engine.core.db import connection_lost, make_engine


def _told(error: Exception) -> bool:
    context = SimpleNamespace(original_exception=error, is_disconnect=False)
    connection_lost(context)
    return context.is_disconnect


def test_an_error_that_did_not_come_from_the_server_is_a_lost_connection():
    assert _told(psycopg.OperationalError("connection socket closed"))


@pytest.mark.parametrize("error", [errors.SerializationFailure("could not serialize access"),
                                   errors.QueryCanceled("canceling statement due to timeout"),
                                   errors.LockNotAvailable("could not obtain lock"),
                                   psycopg.IntegrityError("duplicate key")])
def test_an_error_the_server_sent_keeps_its_connection(error):
    if isinstance(error, psycopg.OperationalError):
        assert error.sqlstate  # from the server: the connection is fine
    assert not _told(error)


def test_postgresql_engines_listen_and_sqlite_engines_need_not(tmp_path):
    from sqlalchemy import event
    postgres = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert event.contains(postgres, "handle_error", connection_lost)
    assert not event.contains(make_engine(f"sqlite:///{tmp_path}/x.db"), "handle_error",
                              connection_lost)
