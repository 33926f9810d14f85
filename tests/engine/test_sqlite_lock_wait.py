"""A writer waiting for SQLite's write lock tries again in short pauses
(engine/core/db.py SQLITE_RETRY_PAUSES), not in SQLite's own 1…100 ms steps, and still gives
up after the busy timeout with SQLAlchemy's "database is locked"."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.core import db
from engine.core.db import WRITE_INTENT, make_engine


@pytest.fixture
def file_engine(tmp_path):
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, path
    engine.dispose()


def _holder(path):
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_the_writer_tries_again_in_short_doubling_pauses_until_the_lock_is_free(
        file_engine, monkeypatch):
    engine, path = file_engine
    holder = _holder(path)
    pauses = []

    def pause(seconds):  # the holder lets go during the writer's fifth pause
        pauses.append(seconds)
        if len(pauses) == 5:
            holder.rollback()
    monkeypatch.setattr(db.time, "sleep", pause)
    with engine.connect().execution_options(**{WRITE_INTENT: True}) as connection:
        with connection.begin():
            connection.execute(text("INSERT INTO t VALUES (1)"))
    assert pauses == [0.0005, 0.001, 0.002, 0.004, 0.004]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [1]
        # the connection's own busy timeout is back for its other statements
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == int(
            db.SQLITE_BUSY_SECONDS * 1000)
    holder.close()


def test_a_lock_held_past_the_busy_timeout_is_sqlalchemys_database_is_locked(
        tmp_path, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 0.05)
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    holder = _holder(path)
    with pytest.raises(OperationalError, match="locked"):
        with engine.connect().execution_options(**{WRITE_INTENT: True}) as connection:
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES (1)"))
    holder.rollback()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    holder.close()
    engine.dispose()
