"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), a frozen clock, and the platform wired to both."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

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


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        upgrade_database(url)
    return url


@pytest.fixture
def database_url(tmp_path, _sqlite_template, _postgres_url):
    """A clean, migrated database for one test."""
    if _postgres_url:
        yield _postgres_url
        platform = Platform(_postgres_url)
        with platform.db.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                         {"h": "0" * 64})
        platform.close()
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
