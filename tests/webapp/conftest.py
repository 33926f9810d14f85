"""Web fixtures, flaskr style: app → client → auth, on the engine's test database and clock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.bpm import definitions
from webapp import create_app

from ..conftest import FIXTURES, add_accounts

WEB_FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "mima-2026"
USERS = {
    # username: (display name, unit, roles)
    "zhuanyuan1": ("项目专员一", "fgj", ["specialist"]),
    "zhuanyuan2": ("项目专员二", "fgj", ["specialist"]),
    "shenpi1": ("审批人（发改局）", "fgj", ["approver"]),
    "ducha1": ("督办人员", "duban", ["supervisor"]),
    "xiangzhen1": ("礼义镇负责人", "liyi", ["township_head"]),
}


def deploy(platform, *paths: Path) -> None:
    """Deploy BPMN files as the designer."""
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(p.name, p.read_bytes()) for p in paths], "designer")


@pytest.fixture
def accounts(platform, clock):
    """Units and accounts of the tests, all with the same password."""
    return add_accounts(platform, clock.now(), [
        ("fgj", "县发改局", "department"), ("duban", "督办监督组", "working_group"),
        ("liyi", "礼义镇", "township")], USERS, PASSWORD)


@pytest.fixture
def app(platform, database_url, clock, accounts):
    """The app on the test database, the frozen clock and the deployed fixture processes."""
    deploy(platform, FIXTURES / "engine" / "approval.bpmn", FIXTURES / "engine" / "lanes_gateway.bpmn")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                      "CLOCK": clock})
    yield app
    app.extensions["gongjian"].close()


@pytest.fixture
def client(app):
    """A browser without JavaScript."""
    return app.test_client()


def csrf_token_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found[1]


class AuthActions:
    """Log in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str = "zhuanyuan1", password: str = PASSWORD):
        token = csrf_token_of(self._client.get("/auth/login").get_data(as_text=True))
        return self._client.post("/auth/login", data={"username": username, "password": password,
                                                       "csrf_token": token})

    def logout(self):
        token = csrf_token_of(self._client.get("/tasks/").get_data(as_text=True))
        return self._client.post("/auth/logout", data={"csrf_token": token})

    def post(self, url: str, data: dict | None = None, page: str = "/tasks/"):
        """POST a form with the CSRF token of a page the user has open."""
        token = csrf_token_of(self._client.get(page).get_data(as_text=True))
        return self._client.post(url, data={**(data or {}), "csrf_token": token})


@pytest.fixture
def auth(client):
    """Login helper."""
    return AuthActions(client)
