"""The demo county, loaded once for the module's read-only walks."""

from __future__ import annotations

import pytest

from .county import demo_app, demo_database


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    """A SQLite file holding the demo county with 21 days of history."""
    return demo_database(tmp_path_factory)


@pytest.fixture(scope="module")
def demo(demo_url):
    """The app on the demo county (CSRF on, the demo's frozen clock)."""
    app = demo_app(demo_url)
    yield app
    app.extensions["gongjian"].close()
