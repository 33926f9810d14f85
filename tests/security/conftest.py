"""Security fixtures: the API tests' app (every role has an account) and a login helper."""

from __future__ import annotations

import pytest

from ..api.conftest import (  # noqa: F401  (fixtures)
    ISSUE, PASSWORD, USERS, _deploy_files, _deployed_template, accounts, admin, app, app_config,
    approver, client, database_url, make_token, specialist, start_approval, supervisor, township,
)
from ..webapp.conftest import AuthActions, csrf_token_of  # noqa: F401


@pytest.fixture
def auth(client):
    """Log in and out through the real forms."""
    return AuthActions(client)


def login_as(app, username: str):
    """A fresh browser logged in as `username`."""
    browser = app.test_client()
    response = AuthActions(browser).login(username, PASSWORD)
    assert response.status_code == 302, f"{username} could not log in"
    return browser
