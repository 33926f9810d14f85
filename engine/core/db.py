"""Connecting to the database: embedded SQLite (WAL) by default, PostgreSQL through a URL."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import ColumnElement, Date, Engine, create_engine, event, literal_column
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

# Execution option asking SQLite to take the write lock when the transaction begins, so
# two writers queue up instead of both reading the same row version and one failing late.
WRITE_INTENT = "gongjian_write"
# How long an SQLite writer waits for the lock another holds (a writer, a backup) before the
# request fails with "database is locked", answered 503 with nothing written.
SQLITE_BUSY_SECONDS = 30.0
# Execution option for a write that may be skipped: on SQLite the lock is taken only if it
# is free now (no wait); the caller goes on without writing when it is not.
WRITE_IF_FREE = "gongjian_write_if_free"
# A writer finding the lock taken tries again after these pauses (seconds, doubling up to the
# last), until SQLITE_BUSY_SECONDS have passed. SQLite's own busy handler sleeps 1, 2, 5, 10,
# … up to 100 ms between tries, so under load a writer slept on long after the lock was free.
SQLITE_RETRY_PAUSES = (0.0005, 0.004)


def constants(values: Iterable[str]) -> list[ColumnElement]:
    """A fixed list of words as SQL literals, for `column.in_(constants(...))` in a statement
    built once: written into the SQL when it is compiled, instead of a list parameter that
    SQLAlchemy expands again at every execution (measurable on the completion path)."""
    words = list(values)
    for word in words:
        if not re.fullmatch(r"[a-z_]+", word):
            raise ValueError(f"{word!r} is not a plain word to write into SQL")
    return [literal_column(f"'{word}'") for word in words]


def dialect_insert(session: Session):
    """The INSERT of the session's dialect (PostgreSQL or SQLite), which has
    `on_conflict_do_update`: an upsert in one statement."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An SQLAlchemy engine for `url`, with the SQLite settings the engine relies on."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, pool_pre_ping=True)
        event.listen(engine, "handle_error", connection_lost)
        return engine
    busy = SQLITE_BUSY_SECONDS
    engine = create_engine(url, echo=echo, connect_args={"timeout": busy,
                                                         "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if ":memory:" not in url and url not in ("sqlite://", "sqlite+pysqlite://"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # A bigger page cache (64 MB), temporary tables in memory and reads through mmap
        # (256 MB): the inbox and the timer worker read indexes, not whole tables.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        options = connection.get_execution_options()
        if options.get(WRITE_IF_FREE):
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy * 1000)}")
            return
        if options.get(WRITE_INTENT):
            _begin_immediate(connection, busy)
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def connection_lost(context) -> None:
    """A PostgreSQL error that did not come from the server (no SQLSTATE: "connection socket
    closed" when the server went away mid-call) means the connection is gone. psycopg does
    not always mark such a connection broken, so SQLAlchemy would hand it back to the pool,
    try to reset it there and log the failure with a traceback; told it is a disconnect,
    SQLAlchemy discards it (and the pool's older connections) instead."""
    import psycopg  # (only PostgreSQL engines listen)
    error = context.original_exception
    if isinstance(error, psycopg.OperationalError) and error.sqlstate is None:
        context.is_disconnect = True


def _begin_immediate(connection, busy: float) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in short pauses (SQLITE_RETRY_PAUSES)
    for at most `busy` seconds; then SQLite's "database is locked", raised through
    SQLAlchemy as before (a 503 with nothing written)."""
    dbapi_connection: sqlite3.Connection = connection.connection.driver_connection
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + busy
        pause, longest = SQLITE_RETRY_PAUSES
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                locked = "locked" in str(exc) or "busy" in str(exc)
                if not locked or time.monotonic() + pause > deadline:
                    # The last try (or another error) goes through SQLAlchemy, which raises
                    # its own error; a lock still held is waited out in SQLite's handler.
                    rest = max(0, int((deadline - time.monotonic()) * 1000))
                    dbapi_connection.execute(f"PRAGMA busy_timeout={rest if locked else 0}")
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    return
            time.sleep(pause)
            pause = min(pause * 2, longest)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_database(url: str, revision: str = "heads") -> None:
    """Create or migrate the schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


class local_date(FunctionElement):  # noqa: N801 — used as a SQL function, like func.*
    """SQL: the Asia/Shanghai calendar day of a UTC time column (China keeps +08:00 all
    year), so a query can group by day in the database on SQLite as on PostgreSQL."""

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element, compiler, **kw):
    return f"CAST(timezone('Asia/Shanghai', {compiler.process(element.clauses, **kw)}) AS DATE)"


class OutOfTime(Exception):
    """A read given `time_limit` ran past it; nothing it read is returned."""


@contextmanager
def time_limit(session: Session, seconds: float) -> Iterator[None]:
    """Reads inside stop with OutOfTime once `seconds` have passed, and the session goes on:
    on SQLite a progress handler looks at the time every few thousand steps of a query (a
    bound on all the reads inside); on PostgreSQL each statement inside runs under
    `statement_timeout` = `seconds`, in a savepoint rolled back when it is cancelled."""
    deadline = time.monotonic() + seconds
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw: sqlite3.Connection = connection.connection.driver_connection
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 5_000)
        try:
            yield
        except OperationalError as exc:
            if "interrupted" in str(exc.orig):
                raise OutOfTime(f"stopped after {seconds} s") from exc
            raise
        finally:
            raw.set_progress_handler(None, 0)
        return
    before = connection.exec_driver_sql("SHOW statement_timeout").scalar()
    savepoint = session.begin_nested()
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
    try:
        yield
    except OperationalError as exc:
        savepoint.rollback()
        if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
            raise OutOfTime(f"stopped after {seconds} s") from exc
        raise
    else:
        connection.exec_driver_sql("SELECT set_config('statement_timeout', %(v)s, true)",
                                   {"v": before})
        savepoint.commit()
