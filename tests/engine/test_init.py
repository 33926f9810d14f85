"""`gongjian init` on an empty database: a county with no demo data, ready for its administrator."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from engine.core.models import AuditEvent, Deployment, ProcessInstance
from engine.core.organisation import OrgUnit, UserAccount, authenticate
from engine.county.projects import Project
from engine.ops import cli, schedule
from engine.ops.platform import Platform

ROOT = Path(__file__).resolve().parents[2]


def _counts(url) -> dict:
    platform = Platform(url)
    try:
        with platform.uow() as uow:
            return {table.__name__: uow.session.execute(
                select(func.count()).select_from(table)).scalar_one()
                for table in (Deployment, UserAccount, OrgUnit, Project, ProcessInstance,
                              schedule.ScheduleEntry, AuditEvent)}
    finally:
        platform.close()


def test_init_sets_up_an_empty_database_once(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'county.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["init"]) == 0
    out = capsys.readouterr().out
    [password] = re.findall(r"one-time password \(shown once, to be changed at first login\): "
                            r"(\S+)", out)
    assert "administrator created: admin" in out

    files = sorted(p.stem for p in (ROOT / "bpmn").glob("*.bpmn")) + sorted(
        p.stem for p in (ROOT / "rules").glob("*.dmn"))
    counts = _counts(url)
    assert counts["Deployment"] == len(files)
    # no demo data: one account, no unit, no project, nothing running
    assert (counts["UserAccount"], counts["OrgUnit"], counts["Project"],
            counts["ProcessInstance"]) == (1, 0, 0, 0)
    assert counts["ScheduleEntry"] == len(schedule.JOBS)

    platform = Platform(url)
    try:
        with platform.uow() as uow:
            admin = uow.session.get(UserAccount, "admin")
            assert admin.must_change_password and admin.display_name == "系统管理员"
            actor = authenticate(uow.session, "admin", password)
            assert actor is not None and "admin" in actor.groups
            keys = set(uow.session.execute(select(Deployment.key)).scalars())
            entries = schedule.list_entries(uow.session)
            actions = set(uow.session.execute(select(AuditEvent.action)).scalars())
    finally:
        platform.close()
    assert {"progress_report", "quarterly_awards", "plate_followup", "plate_colour"} <= keys
    assert all(e.next_run_at is not None and e.last_run_at is None for e in entries)
    assert {"deploy", "account_created", "schedule_created"} <= actions

    assert cli.main(["schedule", "list"]) == 0
    listed = capsys.readouterr().out
    assert "月度进度填报" in listed and "三色牌月度评定" in listed
    assert cli.main(["schedule", "run", "weekly_dispatch", "--user", "admin"]) == 0
    assert "没有调度报告" in capsys.readouterr().out  # no sub-command yet: nothing to report
    counts = _counts(url)

    # a second run: nothing deployed, no new administrator, no password, no new entry
    assert cli.main(["init"]) == 0
    again = capsys.readouterr().out
    assert "one-time password" not in again and password not in again
    assert "administrator exists: admin (no password shown)" in again
    assert f"definitions: 0 deployed, {len(files)} unchanged" in again
    assert "schedule: unchanged" in again
    assert _counts(url) == counts


def test_init_after_the_demo_adds_no_administrator(platform, database_url, monkeypatch, capsys):
    from engine.ops.demo import load_demo

    load_demo(platform)
    capsys.readouterr()
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = _counts(database_url)
    assert cli.main(["init"]) == 0
    out = capsys.readouterr().out
    assert "administrator exists: admin" in out and "one-time password" not in out
    assert _counts(database_url) == before  # the demo already scheduled the recurring work
