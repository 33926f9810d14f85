"""PostgreSQL's data volume full (issue 21): the database's tables live on a small tmpfs (a
tablespace of a throw-away server; its write-ahead log stays on the large disk, as on a
server whose data volume fills up). A write that needs a new page is refused with 503 and
"the disk is full", nothing is half written, nothing committed is lost, and the same
requests go through once space returns."""

from __future__ import annotations

import os
import pwd
import subprocess

import pytest
from sqlalchemy import func, select, text

from engine.core.audit import verify_audit
from engine.core.db import upgrade_database
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.ops.platform import Platform

from ..api.conftest import (  # noqa: F401  (fixtures)
    _deploy_files, _deployed_template, accounts, app, app_config, client, make_token,
    specialist, start_approval,
)
from .test_database_faults import _fill, _mount_small_tmpfs, snapshot
from .test_faults import DATA, _open_task

BIG = "满盘" * 4_000  # start data that soon needs new pages of the tables' files


@pytest.fixture
def small_disk(postgres):
    """A 24 MB tmpfs in the server's own folder (the server's account must reach it)."""
    return postgres.folder / "small-disk"


@pytest.fixture
def database_url(postgres, small_disk):
    """A database of the throw-away server whose tables live on the small disk."""
    folder = small_disk
    _mount_small_tmpfs(folder, "24m")
    try:
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(folder, account.pw_uid, account.pw_gid)
        server = Platform(postgres.url)
        with server.db.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text(f"CREATE TABLESPACE small LOCATION '{folder}'"))
            connection.execute(text("CREATE DATABASE gongjian TABLESPACE small"))
        server.close()
        url = postgres.url.rsplit("/", 1)[0] + "/gongjian"
        upgrade_database(url)
        yield url
    finally:
        postgres.stop("immediate")  # before the tmpfs goes, so nothing holds its files
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=20)


def test_a_full_data_volume_on_postgresql_is_a_503_and_loses_nothing_committed(
        app, platform, client, specialist, database_url, small_disk):
    instances = [start_approval(platform, f"XM-{n:03}") for n in range(2)]
    tasks = [_open_task(platform, i.id) for i in instances]
    first = client.post(f"/api/v1/tasks/{tasks[0]}/complete", headers=specialist,
                        json={"data": DATA})
    assert first.status_code == 200, first.get_json()

    filler = _fill(small_disk)
    # Writes may still find room in pages the tables already have; they fill up soon.
    started = []
    for n in range(300):
        before = snapshot(platform)
        refused = client.post("/api/v1/instances", headers=specialist, json={
            "process_key": "approval", "business_key": f"XM-FULL-{n}",
            "data": {"project_name": BIG}})
        if refused.status_code != 201:
            break
        started.append(refused.get_json()["id"])
    assert refused.status_code == 503, refused.get_json()
    assert "disk is full; nothing was saved" in refused.get_json()["detail"]
    assert snapshot(platform) == before  # nothing half written
    with platform.uow() as uow:  # nothing committed is lost
        assert uow.session.get(HumanTask, tasks[0]).state == "completed"
        assert all(uow.session.get(ProcessInstance, i) is not None for i in started)
        assert verify_audit(uow.session).ok

    filler.unlink()  # space returns: the same requests go through, the app needs no restart
    again = client.post("/api/v1/instances", headers=specialist, json={
        "process_key": "approval", "business_key": "XM-AFTER", "data": {"project_name": BIG}})
    assert again.status_code == 201, again.get_json()
    second = client.post(f"/api/v1/tasks/{tasks[1]}/complete", headers=specialist,
                         json={"data": DATA})
    assert second.status_code == 200, second.get_json()
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed")) == 2
        assert verify_audit(uow.session).ok
