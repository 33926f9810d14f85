"""API fixtures: the app on the test database, accounts, deployed processes and API tokens."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import marshmallow
import pytest

from engine.bpm import definitions, runtime
from engine.ops import tokens
from engine.core.clock import FrozenClock
from engine.core.identity import Actor
from engine.county.projects import add_project
from engine.ops.platform import Platform
from webapp import create_app
from webapp.api import dumping

from ..conftest import FIXTURES, SHANGHAI, add_accounts

ROOT = Path(__file__).parents[2]
PASSWORD = "mima-2026"
ADMIN = Actor.of("admin1", "admin")
SPECIALIST = Actor.of("zhuanyuan1", "specialist", "unit:fgj", "specialist@fgj")
USERS = {
    # username: (display name, unit, roles)
    "zhuanyuan1": ("项目专员一", "fgj", ["specialist"]),
    "zhuanyuan2": ("项目专员二", "fgj", ["specialist"]),
    "shenpi1": ("审批人（发改局）", "fgj", ["approver"]),
    "ducha1": ("督办人员", "duban", ["supervisor"]),
    "admin1": ("系统管理员", "fgj", ["admin"]),
    "sheji1": ("流程设计员", "fgj", ["designer"]),
    "zhen1": ("马家庄乡", "t_magedang", ["township_head"]),
}


@pytest.fixture
def accounts(platform, clock):
    """Units and accounts of the tests, and the project the test issues are about (an issue
    is registered for a project that exists: its start form picks it from a list)."""
    users = add_accounts(platform, clock.now(), [
        ("fgj", "县发改局", "department"), ("duban", "督办监督组", "working_group"),
        ("t_magedang", "马家庄乡", "township"), ("sc_culture", "文旅康养分指挥部", "sub_command")],
        USERS, PASSWORD)
    with platform.uow() as uow:
        add_project(uow.session, ISSUE["project_code"], "马家庄光伏", sub_command="sc_culture",
                    stage="construction", township="t_magedang", lead_department="fgj",
                    project_unit="fgj", specialist=None)
        uow.session.commit()
    return users


@pytest.fixture(scope="session")
def _deploy_files() -> list[tuple[str, bytes]]:
    paths = [FIXTURES / "engine" / "approval.bpmn", ROOT / "bpmn" / "issue_lifecycle.bpmn",
             *sorted((ROOT / "rules").glob("issue_*.dmn"))]
    return [(p.name, p.read_bytes()) for p in paths]


@pytest.fixture(scope="session")
def _deployed_template(_sqlite_template, tmp_path_factory, _deploy_files) -> Path:
    """The migrated SQLite template with the test processes deployed once (deploying is slow)."""
    path = tmp_path_factory.mktemp("api_template") / "api.db"
    shutil.copy(_sqlite_template, path)
    platform = Platform(f"sqlite:///{path}", FrozenClock(datetime(2026, 12, 1, 9, 0,
                                                                  tzinfo=SHANGHAI)))
    with platform.uow() as uow:
        definitions.deploy_files(uow, _deploy_files, "designer")
    with platform.db.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    platform.close()
    return path


@pytest.fixture
def database_url(database_url, _deployed_template):
    """The test database, with the test processes already deployed when it is SQLite."""
    if database_url.startswith("sqlite:///"):
        shutil.copy(_deployed_template, database_url.removeprefix("sqlite:///"))
    return database_url


@pytest.fixture(autouse=True)
def _dumped_as_marshmallow_would(monkeypatch):
    """Every answer of the API tests is dumped twice — by the plan (webapp/api/dumping.py)
    and by marshmallow itself — and the two must be equal."""
    fast = dumping.Schema.dump

    def both(self, obj, *, many=None):
        mine = fast(self, obj, many=many)
        assert mine == marshmallow.Schema.dump(self, obj, many=many), type(self).__name__
        return mine
    monkeypatch.setattr(dumping.Schema, "dump", both)


@pytest.fixture
def app_config() -> dict:
    """Settings a test module adds to the app's (e.g. the webhook allow-list)."""
    return {"WEBHOOK_ALLOW_HOSTS": ""}


@pytest.fixture
def app(platform, database_url, clock, accounts, _deploy_files, app_config):
    """The app with the approval fixture and the issue lifecycle deployed."""
    if not database_url.startswith("sqlite"):
        with platform.uow() as uow:
            definitions.deploy_files(uow, _deploy_files, "designer")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                      "CLOCK": clock, **app_config})
    yield app
    app.extensions["gongjian"].close()


@pytest.fixture
def client(app):
    """A client without cookies of its own."""
    return app.test_client()


@pytest.fixture
def make_token(platform, accounts):
    """Issue a token (as the administrator) and return its Authorization header."""
    def make(roles=("specialist",), unit="fgj", name=None) -> dict[str, str]:
        with platform.uow() as uow:
            issued = tokens.create_token(uow, ADMIN, name or f"t-{'-'.join(roles)}-{unit}",
                                             list(roles), unit_code=unit)
        return {"Authorization": f"Bearer {issued.secret}"}
    return make


@pytest.fixture
def specialist(make_token):
    """A system acting as a specialist of the development and reform bureau."""
    return make_token(("specialist",), "fgj")


@pytest.fixture
def approver(make_token):
    """A system acting as an approver of the development and reform bureau."""
    return make_token(("approver",), "fgj")


@pytest.fixture
def supervisor(make_token):
    """A supervision system."""
    return make_token(("supervisor",), "duban")


@pytest.fixture
def admin(make_token):
    """An administration token."""
    return make_token(("admin",), None, name="ops")


@pytest.fixture
def township(make_token):
    """The township's system (the responsible unit of the test issues)."""
    return make_token(("township_head",), "t_magedang")


def start_approval(platform, business_key="XM-001"):
    """Start the approval fixture as a (person) specialist."""
    with platform.uow() as uow:
        return runtime.start_instance(uow, "approval", SPECIALIST, business_key=business_key,
                                      data={"project_name": "光伏电站"})


ISSUE = {"title": "进场道路征地补偿未落实", "project_code": "XM-2026-006", "scope": "unit",
         "severity": "normal", "responsible_unit": "t_magedang", "sub_command": "sc_culture"}
