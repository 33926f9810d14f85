"""Faults of the database itself on SQLite: its lock held beyond the busy timeout (a backup that
keeps writers out, another writer), and a full disk. The request is told, nothing is half
written, nothing committed is lost, and the app works again once the cause is gone."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from engine.core import db as engine_db
from engine.core.audit import verify_audit
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.ops.platform import Platform

from ..api.conftest import (  # noqa: F401  (fixtures)
    _deploy_files, _deployed_template, accounts, app, app_config, client,
    database_url, make_token, specialist, start_approval,
)
from ..webapp.conftest import AuthActions
from .test_faults import DATA, _open_task

BUSY_SECONDS = 0.5  # the app's SQLite busy timeout in these tests (30 s in service)
FORM = {"title": "光伏电站", "amount": "1200", "start_date": "2027-03-01", "key_project": "y"}


@pytest.fixture(autouse=True)
def _short_busy_timeout(monkeypatch):
    """The app waits half a second for a held lock, so the test need not wait 30."""
    monkeypatch.setattr(engine_db, "SQLITE_BUSY_SECONDS", BUSY_SECONDS)


def needs_sqlite(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        pytest.skip("SQLite's own lock and file; PostgreSQL's faults are in test_postgres_restart")
    return Path(database_url.removeprefix("sqlite:///"))


def snapshot(platform) -> tuple:
    """Everything a completion would change: instances, task rows, events, the chain's head."""
    with platform.uow() as uow:
        s = uow.session
        return (sorted(s.execute(select(ProcessInstance.id, ProcessInstance.status,
                                        ProcessInstance.row_version)).all()),
                sorted(s.execute(select(HumanTask.id, HumanTask.state)).all()),
                s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.max(AuditEvent.hash))))


class LockHolder:
    """Another connection holding SQLite's write lock, as a backup copying the file or another
    writer's long transaction does; readers go on (WAL), writers wait for it."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def __enter__(self) -> LockHolder:
        self.connection.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc) -> None:
        self.connection.rollback()
        self.connection.close()


def test_a_held_lock_beyond_the_busy_timeout_is_a_503_with_nothing_written(
        app, platform, client, specialist, database_url):
    path = needs_sqlite(database_url)
    instance = start_approval(platform)
    task_id = _open_task(platform, instance.id)
    browser = app.test_client()
    auth = AuthActions(browser)
    auth.login("zhuanyuan1", "mima-2026")
    browser.post(f"/tasks/{task_id}/claim", data={"csrf_token": _csrf(browser, task_id)})
    # the token's first use is stamped (a write); the clock stands still, so no other is
    assert client.get("/api/v1/tasks", headers=specialist).status_code == 200
    before = snapshot(platform)

    with LockHolder(path):
        api = client.post(f"/api/v1/tasks/{task_id}/complete", headers=specialist,
                          json={"data": DATA})
        page = browser.post(f"/tasks/{task_id}/complete",
                            data={**FORM, "csrf_token": _csrf(browser, task_id)})
        reading = client.get("/api/v1/tasks", headers=specialist)  # readers are not held up

    assert api.status_code == 503, api.get_json()
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["type"].endswith("unavailable") and api.headers["Retry-After"]
    assert page.status_code == 503
    assert "数据库暂时无法访问" in page.get_data(as_text=True)
    assert reading.status_code == 200
    assert snapshot(platform) == before
    # the lock is gone: the same form, sent again, goes through once
    done = browser.post(f"/tasks/{task_id}/complete",
                        data={**FORM, "csrf_token": _csrf(browser, task_id)})
    assert done.status_code == 302
    with platform.uow() as uow:
        assert uow.session.get(HumanTask, task_id).state == "completed"
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed", AuditEvent.task_id == task_id)) == 1
        assert verify_audit(uow.session).ok


def _csrf(browser, task_id: str) -> str:
    from ..webapp.conftest import csrf_token_of
    return csrf_token_of(browser.get(f"/tasks/{task_id}").get_data(as_text=True))


def test_a_lock_released_within_the_timeout_only_delays_the_write(app, platform, client,
                                                                 specialist, database_url):
    path = needs_sqlite(database_url)
    instance = start_approval(platform)
    task_id = _open_task(platform, instance.id)
    holder = LockHolder(path).__enter__()

    def release_soon():
        # time.sleep, not threading.Timer: a timed wait on a lock never returns under
        # libfaketime (the suite run with the date moved hung here)
        time.sleep(BUSY_SECONDS / 5)
        holder.__exit__()

    release = threading.Thread(target=release_soon)
    release.start()
    try:
        done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=specialist,
                           json={"data": DATA})
    finally:
        release.join()
    assert done.status_code == 200, done.get_json()


# ---------------------------------------------------------------- a full disk


def _mount_small_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                        str(folder)], check=True, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"cannot mount a small tmpfs here ({exc} {detail.decode(errors='replace')}"
                    "); the simulated full disk below still runs")


def _fill(folder: Path) -> Path:
    """Take every free byte of the file system (what a runaway log or a backup does)."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # large writes first, then the last bytes
            while True:
                try:
                    if os.write(descriptor, b"\0" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_loses_nothing_committed_and_the_app_recovers(
        app, platform, client, specialist, database_url, tmp_path):
    source = needs_sqlite(database_url)
    folder = tmp_path / "small-disk"
    _mount_small_tmpfs(folder, "24m")
    moved = None
    try:
        # the test database, moved onto the small disk, served by an app of its own
        for platform_ in (platform, app.extensions["gongjian"]):
            platform_.close()
        with sqlite3.connect(source) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = folder / "gongjian.db"
        target.write_bytes(source.read_bytes())
        url = f"sqlite:///{target}"
        moved = Platform(url, platform.clock)
        from webapp import create_app
        small = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url,
                            "CLOCK": platform.clock})
        http = small.test_client()
        instances = [start_approval(moved, f"XM-{n:03}") for n in range(3)]
        tasks = [_open_task(moved, i.id) for i in instances]
        first = http.post(f"/api/v1/tasks/{tasks[0]}/complete", headers=specialist,
                          json={"data": DATA})
        assert first.status_code == 200, first.get_json()
        browser = small.test_client()
        auth = AuthActions(browser)
        auth.login("zhuanyuan1", "mima-2026")
        auth.post(f"/tasks/{tasks[2]}/claim", page=f"/tasks/{tasks[2]}")
        committed = snapshot(moved)

        filler = _fill(folder)
        refused = [http.post(f"/api/v1/tasks/{tasks[1]}/complete", headers=specialist,
                             json={"data": DATA}),
                   http.post("/api/v1/instances", headers=specialist, json={
                       "process_key": "approval", "business_key": "XM-FULL",
                       "data": {"project_name": "满盘" * 5000}})]
        page = auth.post(f"/tasks/{tasks[2]}/complete", FORM, page=f"/tasks/{tasks[2]}")
        assert any(r.status_code == 503 for r in refused), "the disk never filled up"
        for response in refused:
            if response.status_code != 200:  # a write may still find a free page in the log
                assert response.status_code == 503, response.get_json()
                assert "disk is full; nothing was saved" in response.get_json()["detail"]
        if page.status_code != 302:
            assert page.status_code == 503
            assert "服务器磁盘已满" in page.get_data(as_text=True)
        # nothing committed is lost, and the chain is whole
        with moved.uow() as uow:
            assert uow.session.get(HumanTask, tasks[0]).state == "completed"
            assert uow.session.get(HumanTask, tasks[2]).assignee == "zhuanyuan1"
            assert verify_audit(uow.session).ok
        assert snapshot(moved)[2] >= committed[2]

        filler.unlink()  # space returns: the same requests go through
        if refused[0].status_code != 200:
            again = http.post(f"/api/v1/tasks/{tasks[1]}/complete", headers=specialist,
                              json={"data": DATA})
            assert again.status_code == 200, again.get_json()
        if page.status_code != 302:
            again = auth.post(f"/tasks/{tasks[2]}/complete", FORM, page=f"/tasks/{tasks[2]}")
            assert again.status_code == 302
        with moved.uow() as uow:
            assert all(uow.session.get(HumanTask, t).state == "completed" for t in tasks)
            assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "task_completed")) == 3
            assert verify_audit(uow.session).ok
        small.extensions["gongjian"].close()
    finally:
        if moved is not None:
            moved.close()
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=20)


def test_a_write_refused_for_want_of_space_is_a_503_with_nothing_written(
        app, platform, client, specialist, database_url, monkeypatch):
    """The same full disk, simulated where no file system can be mounted: SQLite's own
    "database or disk is full" at commit, as the driver raises it."""
    needs_sqlite(database_url)
    instance = start_approval(platform)
    task_id = _open_task(platform, instance.id)
    assert client.get("/api/v1/tasks", headers=specialist).status_code == 200  # token stamped
    before = snapshot(platform)
    engine = app.extensions["gongjian"].db

    def disk_full(connection):
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))

    event.listen(engine, "commit", disk_full)
    try:
        response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=specialist,
                               json={"data": DATA})
    finally:
        event.remove(engine, "commit", disk_full)
    assert response.status_code == 503, response.get_json()
    assert "disk is full" in response.get_json()["detail"]
    assert snapshot(platform) == before
    again = client.post(f"/api/v1/tasks/{task_id}/complete", headers=specialist,
                        json={"data": DATA})
    assert again.status_code == 200, again.get_json()


def test_a_read_with_a_token_is_not_held_up_by_a_lock_for_the_sake_of_its_use_stamp(
        app, platform, client, specialist, database_url):
    """The token's `last_used_at` is stamped only when the write lock is free: a GET while a
    backup holds it answers at once (not 503 after the busy timeout), the next one stamps."""
    from engine.ops.tokens import ApiToken

    path = needs_sqlite(database_url)
    with platform.uow() as uow:
        assert uow.session.scalar(select(ApiToken.last_used_at)) is None
    with LockHolder(path):
        response = client.get("/api/v1/tasks", headers=specialist)
        assert response.status_code == 200, response.get_json()
    with platform.uow() as uow:
        assert uow.session.scalar(select(ApiToken.last_used_at)) is None
    assert client.get("/api/v1/tasks", headers=specialist).status_code == 200
    with platform.uow() as uow:
        assert uow.session.scalar(select(ApiToken.last_used_at)) is not None


def test_a_connection_that_died_under_the_request_is_a_503_even_when_its_rollback_fails(
        app, client, specialist, caplog):
    """A database restart cuts the request's open connection: the call fails (503), and the
    error's own answer must not fail again rolling back on the dead connection (it did: the
    rollback raised inside the handler and the caller got a 500 with a traceback in the log,
    seen in the PostgreSQL restart test)."""
    from sqlalchemy import text

    from webapp.db import get_uow
    cut = {"on": True}

    @app.before_request
    def server_went_away():
        if not cut["on"]:
            return
        uow = get_uow()  # the request's unit of work holds a connection, then loses it
        uow.session.execute(text("SELECT 1"))
        uow.session.connection().connection.dbapi_connection.close()
        raise OperationalError("SELECT api_token.id FROM api_token", {},
                               Exception("server closed the connection unexpectedly"))

    caplog.set_level("ERROR")
    api = client.get("/api/v1/tasks", headers=specialist)
    browser = app.test_client()
    page = browser.get("/auth/login")
    assert api.status_code == 503, api.get_data(as_text=True)
    assert api.get_json()["type"].endswith("unavailable")
    assert page.status_code == 503 and "数据库暂时无法访问" in page.get_data(as_text=True)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    cut["on"] = False  # the database is back: the pool opens new connections
    assert client.get("/api/v1/tasks", headers=specialist).status_code == 200
    assert browser.get("/auth/login").status_code == 200
