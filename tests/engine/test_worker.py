"""The background worker loop fires due timers and keeps going after a failing pass."""

from __future__ import annotations

import threading
import time

from engine.bpm import definitions, inbox, runtime
from engine.ops import worker
from engine.core.identity import Actor

from ..conftest import FIXTURES

APPROVER = Actor.of("shenpi1", "approver")


def test_the_worker_fires_due_timers_until_stopped(platform, clock):
    with platform.uow() as uow:
        definitions.deploy_path(uow, FIXTURES / "engine" / "timers.bpmn", "designer")
    with platform.uow() as uow:
        runtime.start_instance(uow, "timers", APPROVER)
    clock.advance(days=3)
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(platform.uow, clock),
                              kwargs={"poll": 0.05, "stop": stop, "log": lines.append})
    thread.start()
    deadline = time.monotonic() + 30
    while not any("timers fired" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert any(line.startswith("timers fired 2") for line in lines), lines
    with platform.uow() as uow:
        assert [t.element_id for t in inbox.list_tasks(uow, Actor.of("s", "sub_commander"))] \
            == ["escalate"]


def test_a_failing_pass_is_logged_and_the_worker_goes_on(platform, clock, monkeypatch):
    calls = []

    def broken(make_uow, **kwargs):
        calls.append(1)
        raise RuntimeError("database away")

    monkeypatch.setattr(worker, "fire_due_timers", broken)
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(platform.uow, clock),
                              kwargs={"poll": 0.02, "stop": stop, "log": lines.append})
    thread.start()
    deadline = time.monotonic() + 30
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=10)
    assert len(calls) >= 3 and lines[0] == "worker error: RuntimeError: database away"


def test_the_worker_brings_the_issue_ledger_up_to_date_when_it_starts(platform, clock):
    """The pages no longer catch the ledger up (it reads every instance): the worker does, once."""
    from engine.county.issue_ledger import IssueLedgerRow

    from ..processes.helpers import SUPERVISOR, deploy_all, start

    deploy_all(platform)
    issue = start(platform, "issue_lifecycle", {
        "title": "问题W", "project_code": "XM-2026-006", "scope": "unit", "severity": "normal",
        "responsible_unit": "t_magedang", "sub_command": "sc_culture", "township": "t_magedang"},
        business_key="W-1", actor=SUPERVISOR)
    with platform.uow() as uow:  # as if saved before the ledger's hook existed
        uow.session.execute(IssueLedgerRow.__table__.delete())
        uow.session.commit()
    lines: list[str] = []
    stop = threading.Event()
    stop.set()  # the start-up work runs, then the loop sees the stop at once
    worker.run_worker(platform.uow, clock, poll=0.02, stop=stop, log=lines.append)
    assert lines == ["issue ledger caught up with 1 instances"]
    with platform.uow() as uow:
        assert uow.session.get(IssueLedgerRow, issue.id).step == "assigned"
