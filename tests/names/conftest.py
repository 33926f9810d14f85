"""The demo county, loaded once for the session's read-only walks, and each role's walk
made once for both the crawl and the names tests."""

from __future__ import annotations

import pytest

from .county import Walks, demo_app, demo_database


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory) -> str:
    """A SQLite file holding the demo county with 21 days of history (tests that write use
    a copy: county.copy_database)."""
    return demo_database(tmp_path_factory)


@pytest.fixture(scope="session")
def demo(demo_url):
    """The app on the demo county (CSRF on, the demo's frozen clock)."""
    app = demo_app(demo_url)
    yield app
    app.extensions["gongjian"].close()


@pytest.fixture(scope="session")
def walks(demo) -> Walks:
    """Each role's walk of the demo county, made on first use."""
    return Walks(demo)
