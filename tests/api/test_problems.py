"""Every error under /api is a problem document: never an HTML page, never a stack trace."""

from __future__ import annotations

import pytest

from engine.bpm import inbox
from webapp import create_app

from .test_auth import assert_problem


@pytest.fixture
def production_app(app, database_url, clock):
    """The same database with TESTING off, so unexpected errors are handled, not raised."""
    production = create_app({"SECRET_KEY": "test", "DATABASE_URL": database_url,
                             "CLOCK": clock})
    yield production
    production.extensions["gongjian"].close()


def test_an_unexpected_error_is_a_500_problem_without_the_traceback(production_app, specialist,
                                                                    monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(inbox, "list_task_records", broken)
    response = production_app.test_client().get("/api/v1/tasks", headers=specialist)
    body = assert_problem(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["type"].endswith("internal-error")
    assert "secret internals" in caplog.text  # logged in full for the operators


def test_pages_keep_their_html_error_pages(production_app):
    response = production_app.test_client().get("/no/such/page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_domain_error_names_what_went_wrong(client, specialist):
    body = assert_problem(client.get("/api/v1/instances/77", headers=specialist), 404)
    assert body["detail"] == "process instance 77 does not exist or is not yours to see"
    assert body["instance"] == "/api/v1/instances/77"
