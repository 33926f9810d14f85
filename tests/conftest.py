"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), a frozen clock, and the platform wired to both.

`make test` runs the suite in two pytest-xdist worker processes: each has its own temporary
folders (tmp_path_factory) and session fixtures, and on PostgreSQL its own database, made
next to TEST_DATABASE_URL's and dropped at the end (`_postgres_url`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.core import organisation
from engine.core.clock import FrozenClock
from engine.core.db import upgrade_database
from engine.core.models import Base
from engine.ops.platform import Platform

FIXTURES = Path(__file__).parent / "fixtures"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session", autouse=True)
def _audit_key_outside_the_checkout(tmp_path_factory):
    """`gongjian init` in a test makes its audit key here, never in the checkout's instance/."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GONGJIAN_AUDIT_KEY", str(tmp_path_factory.mktemp("audit") / "key.pem"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _test_password_cost():
    """Passwords hashed in tests use scrypt with n=2**10 instead of 2**14 (1 MB, ~1 ms
    instead of 16 MB, ~50 ms): the same code and format, but the suite hashes and checks
    thousands of passwords (every test account, every login). Hashes name their parameters,
    so an app served in a subprocess (gunicorn) checks them as any other; the production
    cost is asserted by tests/engine/test_passwords.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(organisation._SCRYPT, "n", 2 ** 10)
        yield


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _server_url(url: str):
    """The URL (SQLAlchemy's) of TEST_DATABASE_URL with the driver the platform uses."""
    found = make_url(url)
    return found.set(drivername="postgresql+psycopg") if found.drivername == "postgresql" \
        else found


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str | None]:
    """TEST_DATABASE_URL, migrated; in a pytest-xdist worker (gw0, gw1, ...) a database of
    the worker's own on the same server, `<database>_gw0`, created for the session and
    dropped after it, so that workers never empty each other's tables."""
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        if url:
            upgrade_database(url)
        yield url
        return
    server = _server_url(url)
    name = f"{server.database}_{worker}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        own = make_url(url).set(database=name).render_as_string(hide_password=False)
        upgrade_database(own)
        yield own
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_postgres(url: str) -> None:
    """Empty every table of the schema, restart every id sequence at 1 and put back the
    audit chain's head row, as a fresh migration leaves them. DELETE, children first, not
    TRUNCATE: a test writes a few hundred rows, and TRUNCATE of every table (new files
    for each) took 0.8 s on the 2-CPU development machine, DELETE 5 to 20 ms."""
    platform = Platform(url)
    try:
        with platform.db.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                              "WHERE c.relkind = 'S' "
                              "AND c.relnamespace = current_schema()::regnamespace"))
            conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                         {"h": "0" * 64})
    finally:
        platform.close()


@pytest.fixture
def database_url(tmp_path, _sqlite_template, _postgres_url):
    """A clean, migrated database for one test."""
    if _postgres_url:
        yield _postgres_url
        empty_postgres(_postgres_url)
        return
    path = tmp_path / "gongjian.db"
    shutil.copy(_sqlite_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def clock() -> FrozenClock:
    """Tuesday 2026-12-01, 09:00 in Lingchuan (01:00 UTC)."""
    return FrozenClock(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def platform(database_url, clock):
    """The engine on the test database and the frozen clock."""
    platform = Platform(database_url, clock)
    yield platform
    platform.close()


def add_accounts(platform, now, units, users, password):
    """Create org units [(code, name, kind)] and users {name: (display, unit, roles)}."""
    from engine.core import organisation

    with platform.uow() as uow:
        for code, name, kind in units:
            organisation.add_unit(uow.session, code, name, kind)
        uow.session.flush()
        for username, (display, unit, roles) in users.items():
            organisation.add_user(uow.session, username, display, password, unit=unit,
                                  roles=roles, now=now)
        uow.session.commit()
    return users


# ---------------------------------------------------------------- pytest-xdist (make test)

# Test folders whose files share a session fixture too costly to make twice: all their files
# go to one worker (tests/names: the demo county and each role's walk of it).
SHARED_FOLDERS = ("names",)
# Folders of long files (browsers, served apps, walks of every route, sleeps): their files
# are handed out first, so that the last files of the run are short and the two workers
# finish together (a journey started last would keep one worker busy while the other idles).
LONG_FOLDERS = ("e2e", "security", "names", "faults", "perf", "designer")


def _folder(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else ""


def pytest_collection_modifyitems(config, items):
    """In an xdist worker: LONG_FOLDERS' tests first, else in collection order."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: _folder(item.nodeid) not in LONG_FOLDERS)


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` (make test), with SHARED_FOLDERS kept whole and the files handed out
    in the order above: the tests of one file run in one worker, in file order, as without
    xdist (module fixtures made once). (xdist's `loadgroup` cannot group a folder here: it
    renames items through a field pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            folder = _folder(nodeid)
            return f"tests/{folder}" if folder in SHARED_FOLDERS else path

    config.option.loadscopereorder = False  # the order above, not the files' test counts
    return FileScheduling(config, log)
