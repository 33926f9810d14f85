"""The demo loader's hint (issue 17): the address it prints is where the app is served, and
its account list holds someone for every open step of the demo's permit requests."""

from __future__ import annotations

from sqlalchemy import select

from engine.bpm import inbox
from engine.core.models import HumanTask, ProcessInstance
from engine.core.organisation import actor_for
from engine.ops.cli import main
from engine.ops.demo import GUIDE_ACCOUNTS
from engine.ops.platform import Platform

from .county import NOW
from engine.core.clock import FrozenClock


def test_every_open_permit_step_of_the_demo_is_held_by_a_listed_account(demo_url):
    platform = Platform(demo_url, FrozenClock(NOW))
    with platform.uow() as uow:
        session = uow.session
        open_steps = {t.id: t.name for t in session.execute(
            select(HumanTask).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(ProcessInstance.process_key.in_(("permit_approval", "permit_item")),
                   HumanTask.state.in_(("open", "claimed")))).scalars()}
        reached = set()
        for username, _what in GUIDE_ACCOUNTS:
            reached |= {t.id for t in inbox.list_tasks(uow, actor_for(session, username))}
    platform.close()
    assert open_steps, "the demo has open permit steps"
    assert {name for task_id, name in open_steps.items() if task_id not in reached} == set()


def test_the_demo_loader_prints_the_address_it_is_told(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PORT", "8123")
    assert main(["db", "upgrade"]) == 0
    assert main(["demo", "load", "--history-days", "0"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out and ":5000" not in out
    for username in ("unit_data", "approver_drc", "approver_xzsp"):
        assert username in out
