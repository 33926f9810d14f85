"""Faults: a process killed before its commit, and the database unavailable for a moment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from engine.bpm import task_actions
from engine.core.models import AuditEvent, HumanTask, ProcessInstance

from ..api.conftest import (  # noqa: F401  (fixtures)
    SPECIALIST, _deploy_files, _deployed_template, accounts, app, app_config, client,
    database_url, make_token, specialist, start_approval,
)
from ..webapp.conftest import AuthActions

ROOT = Path(__file__).parents[2]
DATA = {"title": "光伏电站", "amount": 1200, "start_date": "2027-03-01", "key_project": True}

KILLED_BEFORE_COMMIT = textwrap.dedent("""
    import os, signal, sys
    from engine.bpm import task_actions
    from engine.ops.platform import Platform
    from engine.core.uow import UnitOfWork
    from engine.core.identity import Actor

    def die(self):
        os.kill(os.getpid(), signal.SIGKILL)   # every engine step has run; nothing committed

    UnitOfWork.commit = die
    url, task_id = sys.argv[1], sys.argv[2]
    actor = Actor.of("zhuanyuan1", "specialist", "unit:fgj", "specialist@fgj")
    with Platform(url).uow() as uow:
        task_actions.complete(uow, task_id, actor, %r)
""" % (DATA,))


def _snapshot(platform, instance_id):
    with platform.uow() as uow:
        row = uow.session.get(ProcessInstance, instance_id)
        tasks = sorted((t.id, t.state) for t in uow.session.execute(
            select(HumanTask).where(HumanTask.instance_id == instance_id)).scalars())
        events = uow.session.scalar(select(func.count()).select_from(AuditEvent))
        return row.state, row.version if hasattr(row, "version") else None, tasks, events


def _open_task(platform, instance_id) -> str:
    with platform.uow() as uow:
        return uow.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open")).scalar_one()


def test_a_process_killed_just_before_commit_leaves_everything_as_before(platform, accounts,
                                                                        database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the child opens the SQLite file itself")
    instance = start_approval(platform)
    task_id = _open_task(platform, instance.id)
    before = _snapshot(platform, instance.id)

    child = subprocess.run([sys.executable, "-c", KILLED_BEFORE_COMMIT, database_url, task_id],
                           cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})

    assert child.returncode == -9, child.stderr
    assert _snapshot(platform, instance.id) == before
    # the retry completes the task exactly once
    with platform.uow() as uow:
        task_actions.complete(uow, task_id, SPECIALIST, DATA)
    with platform.uow() as uow:
        assert uow.session.get(HumanTask, task_id).state == "completed"
        completions = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed",
            AuditEvent.subject == f"instance:{instance.id}"))
    assert completions == 1


def _break_the_database(monkeypatch, app):
    """Every new connection of the app fails, as when the database server is away."""
    engine = app.extensions["gongjian"].db
    engine.dispose()

    def refuse(*args, **kwargs):
        raise OperationalError("connect", {}, Exception("unable to open database file"))

    monkeypatch.setattr(engine.pool, "connect", refuse)


def test_the_database_away_gives_a_try_again_page_in_chinese(app, monkeypatch):
    browser = app.test_client()
    AuthActions(browser).login("zhuanyuan1", "mima-2026")
    _break_the_database(monkeypatch, app)
    response = browser.get("/tasks/")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "稍等片刻后重试" in page and "没有保存" in page
    assert response.headers["Retry-After"]


def test_the_database_away_gives_an_api_problem(app, client, specialist, monkeypatch):
    _break_the_database(monkeypatch, app)
    response = client.get("/api/v1/tasks", headers=specialist)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("unavailable")
    assert "Try again" in response.get_json()["detail"]


def test_a_write_that_fails_half_way_leaves_nothing_half_written(app, platform, client,
                                                                   specialist, monkeypatch):
    instance = start_approval(platform)
    task_id = _open_task(platform, instance.id)
    before = _snapshot(platform, instance.id)
    from engine.core.uow import UnitOfWork
    real_commit = UnitOfWork.commit

    def failing_commit(self):
        self.session.flush()  # the rows are written inside the transaction ...
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))  # ... then it fails

    monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=specialist,
                           json={"data": DATA})
    assert response.status_code == 503, response.get_json()
    monkeypatch.setattr(UnitOfWork, "commit", real_commit)
    assert _snapshot(platform, instance.id) == before
    retried = client.post(f"/api/v1/tasks/{task_id}/complete", headers=specialist,
                          json={"data": DATA})
    assert retried.status_code == 200, retried.get_json()
