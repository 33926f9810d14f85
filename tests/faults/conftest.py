"""Fixtures of the fault tests: a PostgreSQL server of the test's own."""

from __future__ import annotations

import os

import pytest

from .throwaway_postgres import ThrowawayPostgres, why_unavailable


@pytest.fixture
def postgres():
    """A throw-away server on a free port of 127.0.0.1, removed afterwards."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("brings its own server: it ran in the suite's SQLite pass already")
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with ThrowawayPostgres() as server:
        yield server
