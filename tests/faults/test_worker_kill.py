"""Faults: a timer worker killed in the middle of a batch loses no timer and fires none twice.

The worker runs in a child process that SIGKILLs itself at its k-th timer: after the engine
steps but before anything is written, after everything is written but before the commit,
or just after the commit. A second pass then fires the rest. On PostgreSQL a second worker
runs at the same time as the one that is killed, and two workers meeting on one instance's
timers pass each other by instead of waiting on each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine.bpm import runtime, timers
from engine.core.audit import verify_audit
from engine.core.models import AuditEvent, HumanTask, ProcessInstance, TimerJob
from engine.bpm.timers import fire_due_timers

from ..conftest import FIXTURES
from ..engine.test_timers import deploy, start, timer_fired_counts

ROOT = Path(__file__).parents[2]
INSTANCES = 30
KILL_AT = 7  # the timer (counted from 1) at which the killed worker dies

# argv: database URL, the clock's now (ISO), kill point, k. Waits for a line on stdin, so
# that two workers can be started together; prints the fired timer ids if it survives.
WORKER = textwrap.dedent("""
    import json, os, signal, sys, time
    from datetime import datetime
    from engine.bpm import timers
    from engine.core.clock import FrozenClock
    from engine.ops.platform import Platform
    from engine.core.uow import UnitOfWork

    url, now, point, k = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    count = {"steps": 0, "commits": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_save, real_commit = timers.save_instance, UnitOfWork.commit

    def save_instance(uow, live, actor):
        count["steps"] += 1
        if point == "engine_stepped" and count["steps"] == k:
            die()  # the timer fired in memory; nothing written
        real_save(uow, live, actor)

    def commit(self):
        count["commits"] += 1
        if point == "written_not_committed" and count["commits"] == k:
            self.audit.flush(self.clock.now())
            self.session.flush()
            die()  # state, timer rows, tasks and audit written in the transaction; no commit
        real_commit(self)
        if point == "committed" and count["commits"] == k:
            die()
        if point == "paced":
            time.sleep(0.1)  # the survivor leaves the other worker time to reach its kill

    timers.save_instance, UnitOfWork.commit = save_instance, commit
    platform = Platform(url, FrozenClock(now))
    sys.stdin.readline()
    report = timers.fire_due_timers(platform.uow)
    print(json.dumps({"fired": report.fired, "failed": report.failed}))
""")


def needs_postgresql(database_url: str) -> None:
    """Skip on SQLite, where one worker is the documented setup."""
    if not database_url.startswith("postgresql"):
        pytest.skip("workers sharing timers need PostgreSQL (FOR UPDATE SKIP LOCKED); "
                    "on SQLite one worker is the documented setup")


def worker(platform, point: str, k: int = KILL_AT) -> subprocess.Popen:
    """A worker process on the platform's database and time, waiting for 'go' on stdin."""
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, platform.database_url, platform.clock.now().isoformat(),
         point, str(k)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def due_timers(platform, clock, count: int) -> list[str]:
    """Start `count` instances that wait one day, move the clock past it; the timer ids."""
    deploy(platform, FIXTURES / "supervision" / "wait_timer.bpmn")
    for _ in range(count):
        start(platform, "wait_timer", amount=4)
    clock.advance(days=1, seconds=1)
    with platform.uow() as uow:
        return list(uow.session.execute(select(TimerJob.id)).scalars())


def assert_each_instance_before_or_after_its_timer(platform) -> int:
    """No instance is half-fired: either its timer still waits, or it fired and moved on."""
    fired = timer_fired_counts(platform)
    with platform.uow() as uow:
        for row in uow.session.execute(select(ProcessInstance)).scalars():
            job = uow.session.execute(
                select(TimerJob.id).where(TimerJob.instance_id == row.id)).scalar()
            tasks = list(uow.session.execute(
                select(HumanTask.element_id).where(HumanTask.instance_id == row.id)).scalars())
            state = runtime.restore(uow.session, row)
            waiting = [t.task_spec.bpmn_id for t in state.get_tasks(state=TaskState.WAITING)]
            if job is not None:
                assert (fired[job], tasks, waiting) == (0, [], ["wait"]), row.id
            else:
                assert tasks == ["handle"] and "wait" not in waiting, row.id
    return sum(fired.values())


def assert_every_timer_fired_exactly_once(platform, timer_ids: list[str]) -> None:
    """Each timer fired once, none waits, each instance moved on once, the chain is whole."""
    assert timer_fired_counts(platform) == Counter({job: 1 for job in timer_ids})
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(TimerJob)) == 0
        tasks = Counter(uow.session.execute(
            select(HumanTask.instance_id, HumanTask.element_id, HumanTask.state)).all())
        assert len(tasks) == len(timer_ids) and set(tasks.values()) == {1}
        assert {(element, state) for _, element, state in tasks} == {("handle", "open")}
        created = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_created"))
        assert created == len(timer_ids)
        report = verify_audit(uow.session)
        assert report.ok, report.problems


@pytest.mark.parametrize("point", ["engine_stepped", "written_not_committed", "committed"])
def test_a_worker_killed_mid_batch_loses_no_timer_and_fires_none_twice(platform, clock, point):
    timer_ids = due_timers(platform, clock, INSTANCES)

    child = worker(platform, point)
    out, err = child.communicate("go\n", timeout=120)
    assert child.returncode == -9, err or out
    fired_before = KILL_AT if point == "committed" else KILL_AT - 1
    assert assert_each_instance_before_or_after_its_timer(platform) == fired_before

    report = fire_due_timers(platform.uow)
    assert len(report.fired) == INSTANCES - fired_before and report.failed == []
    assert_every_timer_fired_exactly_once(platform, timer_ids)


@pytest.mark.parametrize("point", ["written_not_committed", "committed"])
def test_two_workers_on_postgresql_one_killed_mid_batch_fire_each_timer_once(
        platform, clock, database_url, point):
    needs_postgresql(database_url)
    timer_ids = due_timers(platform, clock, INSTANCES)

    # The survivor is paced (0.1 s a timer), so the other worker reaches its kill at its 7th
    # timer before the survivor has taken them all, however the CPUs are shared.
    killed, survivor = worker(platform, point), worker(platform, "paced")
    for child in (killed, survivor):
        child.stdin.write("go\n")
        child.stdin.flush()
    killed_out, killed_err = killed.communicate(timeout=120)
    survivor_out, survivor_err = survivor.communicate(timeout=120)
    assert killed.returncode == -9, killed_err or killed_out
    assert survivor.returncode == 0, survivor_err
    survived = json.loads(survivor_out)
    assert survived["failed"] == []
    fired_by_both = assert_each_instance_before_or_after_its_timer(platform)
    assert fired_by_both - len(survived["fired"]) == (KILL_AT if point == "committed"
                                                      else KILL_AT - 1)

    rest = fire_due_timers(platform.uow)
    assert rest.failed == [] and not set(survived["fired"]) & set(rest.fired)
    assert_every_timer_fired_exactly_once(platform, timer_ids)


def test_two_workers_on_postgresql_pass_by_an_instance_whose_timer_the_other_is_firing(
        platform, clock, database_url, monkeypatch):
    needs_postgresql(database_url)
    # Two reminders (a cycle) and the escalation that cancels them are all due: firing the
    # first reminder moves the cycle's row (its second tick, passed too, is missed and fires
    # with it — a worker catching up reminds once), firing the escalation deletes the row. A second worker
    # that took the escalation while the first held the reminder used to lock the instance,
    # wait for the reminder's row, and deadlock with the first waiting for the instance;
    # PostgreSQL failed one of them, and recording that failure then crashed its pass.
    deploy(platform, FIXTURES / "supervision" / "escalation.bpmn")
    start(platform, "escalation")
    clock.advance(days=5)
    real_fire_one = timers.fire_one
    holding, passed_by = threading.Event(), threading.Event()

    def first_worker_holds_its_timer(uow, job):
        if threading.current_thread().name == "first":
            holding.set()
            passed_by.wait(timeout=10)  # bounded only so that a deadlock ends the test
        return real_fire_one(uow, job)

    monkeypatch.setattr(timers, "fire_one", first_worker_holds_its_timer)
    reports: dict[str, object] = {}

    def work(name):
        try:
            reports[name] = fire_due_timers(platform.uow)
        except Exception as exc:  # surfaced by the assertions below
            reports[name] = exc

    first = threading.Thread(target=work, args=("first",), name="first")
    first.start()
    assert holding.wait(timeout=60)
    work("second")  # while the first worker holds the instance's first reminder
    passed_by.set()
    first.join(timeout=60)

    assert isinstance(reports["second"], timers.FireReport), reports["second"]
    assert (reports["second"].fired, reports["second"].failed) == ([], [])
    assert isinstance(reports["first"], timers.FireReport), reports["first"]
    assert (len(reports["first"].fired), reports["first"].failed) == (2, []), reports["first"].fired
    with platform.uow() as uow:
        actions = Counter(uow.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("timer_%"))).scalars())
        assert actions == {"timer_fired": 2}
        assert uow.session.scalar(select(func.count()).select_from(TimerJob)) == 0
