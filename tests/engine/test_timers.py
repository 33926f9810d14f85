"""The timer worker at scale: only due instances restored, catch-up in due order, incidents,
and two workers on PostgreSQL never firing one timer twice."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import event, func, insert, select

from engine.bpm import definitions, inbox, runtime, timers
from engine.core.audit import verify_audit
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance, TimerJob
from engine.bpm.timers import BACKOFF, MAX_ATTEMPTS, fire_due_timers

from ..conftest import FIXTURES

STARTER = Actor.of("zhuanyuan1", "specialist")
APPROVER = Actor.of("shenpi1", "approver")


def deploy(platform, path):
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(path.name, path.read_bytes())], "designer")


def start(platform, key, **data):
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, STARTER, data=data).id


def clone_waiting(platform, template_id: int, count: int, due) -> list[int]:
    """Bulk-insert `count` copies of an instance, each with one timer row due at `due`."""
    with platform.uow() as uow:
        row = uow.session.get(ProcessInstance, template_id)
        base = dict(process_key=row.process_key, deployment_id=row.deployment_id,
                    bundle=row.bundle, status="running", state=row.state,
                    started_by=row.started_by, started_at=row.started_at, row_version=1)
        ids = list(uow.session.scalars(insert(ProcessInstance).returning(ProcessInstance.id),
                                       [dict(base, business_key=f"CL-{i}") for i in range(count)]))
        uow.session.execute(insert(TimerJob), [
            dict(id=str(uuid4()), instance_id=i, element_id="wait", due_at=due, next_run_at=due,
                 attempts=0, incident=False) for i in ids])
        uow.session.commit()
    return ids


class Counting:
    """Counts restores (by patching the worker's `load_instance`) and SQL statements."""

    def __init__(self, platform, monkeypatch):
        self.restores = 0
        self.statements = 0
        real = timers.load_instance

        def counting_load(session, row):
            self.restores += 1
            return real(session, row)

        monkeypatch.setattr(timers, "load_instance", counting_load)
        event.listen(platform.db, "before_cursor_execute", self._count)
        self._engine = platform.db

    def _count(self, *args):
        self.statements += 1

    def reset(self):
        self.restores = self.statements = 0

    def close(self):
        event.remove(self._engine, "before_cursor_execute", self._count)


def timed_pass(platform, counting):
    counting.reset()
    began = time.perf_counter()
    report = fire_due_timers(platform.uow)
    return report, time.perf_counter() - began


def test_ten_thousand_waiting_and_ten_due_restores_only_the_ten(platform, clock, monkeypatch):
    deploy(platform, FIXTURES / "supervision" / "wait_timer.bpmn")
    far = clock.now() + timedelta(days=30)
    counting = Counting(platform, monkeypatch)
    try:
        # 100 waiting and 10 due.
        due_ids = [start(platform, "wait_timer", amount=4) for _ in range(10)]
        clone_waiting(platform, due_ids[0], 100, far)
        clock.advance(days=1, seconds=1)
        small, small_seconds = timed_pass(platform, counting)
        small_statements = counting.statements
        assert len(small.fired) == 10 and small.restored_instances == 10
        assert counting.restores == 10

        # 10,000 waiting and 10 due.
        due_ids = [start(platform, "wait_timer", amount=4) for _ in range(10)]
        clone_waiting(platform, due_ids[0], 9_900, far)
        with platform.uow() as uow:
            assert uow.session.execute(select(func.count()).select_from(TimerJob)).scalar() \
                == 10_010
        clock.advance(days=1, seconds=1)
        large, large_seconds = timed_pass(platform, counting)
        assert len(large.fired) == 10 and large.restored_instances == 10
        assert counting.restores == 10
        # The work of a pass does not grow with the number of waiting instances.
        assert counting.statements <= small_statements
    finally:
        counting.close()
    print(f"\nworker pass: 100 waiting + 10 due {small_seconds * 1000:.1f} ms, "
          f"10,000 waiting + 10 due {large_seconds * 1000:.1f} ms, "
          f"ratio {large_seconds / small_seconds:.2f}; statements {small_statements} vs "
          f"{counting.statements}")
    with platform.uow() as uow:
        assert len(inbox.list_tasks(uow, APPROVER)) == 20


def timer_fired_counts(platform) -> Counter:
    with platform.uow() as uow:
        return Counter(uow.session.execute(
            select(AuditEvent.task_id).where(AuditEvent.action == "timer_fired")).scalars())


def test_a_worker_back_after_three_days_fires_each_missed_timer_once_in_due_order(platform, clock):
    deploy(platform, FIXTURES / "engine" / "timers.bpmn")
    first = start(platform, "timers")
    clock.advance(hours=1)
    second = start(platform, "timers")
    with platform.uow() as uow:
        expected = list(uow.session.execute(
            select(TimerJob.id).order_by(TimerJob.due_at)).scalars())
        instance_of = {j: i for j, i in uow.session.execute(select(TimerJob.id, TimerJob.instance_id))}
    assert len(expected) == 4
    clock.advance(days=3)

    report = fire_due_timers(platform.uow)
    assert report.fired == expected
    assert [instance_of[j] for j in report.fired] == [first, second, first, second]
    assert set(timer_fired_counts(platform).values()) == {1}
    assert fire_due_timers(platform.uow).fired == []
    with platform.uow() as uow:
        # Each instance reminded (non-interrupting, fired first) and then escalated.
        states = Counter(tuple(r) for r in uow.session.execute(select(HumanTask.element_id, HumanTask.state)))
        assert states == {("approve", "cancelled"): 2, ("remind", "open"): 2,
                          ("escalate", "open"): 2}
        assert verify_audit(uow.session).ok


def test_a_missed_timer_cycle_fires_once_for_the_ticks_it_missed(platform, clock):
    from engine.county.supervision import escalation_history, reminder_counts

    deploy(platform, FIXTURES / "supervision" / "escalation.bpmn")
    instance = start(platform, "escalation")
    clock.advance(days=5)  # the daily reminder (R2/P1D) missed both its days
    report = fire_due_timers(platform.uow)
    assert len(report.fired) == 2  # one reminder for the missed days, then the escalation
    with platform.uow() as uow:
        fix = uow.session.execute(select(HumanTask.id).where(HumanTask.element_id == "fix")).scalar()
        assert reminder_counts(uow.session, "task", fix, "2026-12") == 1
        assert [e.to_rung for e in escalation_history(uow.session, instance_id=instance)] == ["2"]


@pytest.mark.parametrize("breakage", ["script_raises", "state_corrupted"])
def test_a_failing_timer_is_retried_with_back_off_then_becomes_an_incident(platform, clock,
                                                                          breakage):
    deploy(platform, FIXTURES / "supervision" / "wait_timer.bpmn")
    healthy = start(platform, "wait_timer", amount=5)
    broken = start(platform, "wait_timer", amount=0 if breakage == "script_raises" else 5)
    with platform.uow() as uow:
        if breakage == "state_corrupted":
            uow.session.get(ProcessInstance, broken).state = b"{not json"
            uow.session.commit()
        before = uow.session.get(ProcessInstance, broken)
        state, version = before.state, before.row_version
    clock.advance(days=1, seconds=1)

    report = fire_due_timers(platform.uow)
    assert len(report.fired) == 1 and len(report.failed) == 1
    for attempt in range(2, MAX_ATTEMPTS + 1):
        assert fire_due_timers(platform.uow).failed == []  # backing off
        clock.advance(BACKOFF * 2 ** (attempt - 2))
        report = fire_due_timers(platform.uow)
        assert len(report.failed) == 1
    assert len(report.incidents) == 1
    clock.advance(days=1)
    assert fire_due_timers(platform.uow).failed == []
    with platform.uow() as uow:
        job = uow.session.execute(select(TimerJob).where(TimerJob.instance_id == broken)).scalar_one()
        assert (job.incident, job.attempts) == (True, MAX_ATTEMPTS)
        assert job.last_error
        row = uow.session.get(ProcessInstance, broken)
        assert (row.state, row.row_version, row.status) == (state, version, "running")
        assert uow.session.execute(select(HumanTask).where(HumanTask.instance_id == broken)) \
            .first() is None
        actions = Counter(uow.session.execute(select(AuditEvent.action).where(
            AuditEvent.instance_id == broken)).scalars())
        assert (actions["timer_failed"], actions["timer_incident"]) == (MAX_ATTEMPTS - 1, 1)
        assert uow.session.execute(select(HumanTask).where(
            HumanTask.instance_id == healthy)).scalar_one().element_id == "handle"
        assert verify_audit(uow.session).ok


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="two workers sharing timers need PostgreSQL (set TEST_DATABASE_URL); "
                           "on SQLite one worker is the documented setup")
def test_two_workers_on_postgresql_never_fire_the_same_timer_twice(platform, clock):
    deploy(platform, FIXTURES / "supervision" / "timer_to_end.bpmn")
    template = start(platform, "timer_to_end")
    with platform.uow() as uow:
        due = uow.session.execute(select(TimerJob.due_at)).scalar_one()
    clone_waiting(platform, template, 199, due)
    clock.advance(days=1, seconds=1)
    reports, errors = [], []

    def work():
        try:
            reports.append(fire_due_timers(platform.uow))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    fired = [job for report in reports for job in report.fired]
    assert len(fired) == 200 and len(set(fired)) == 200
    assert all(report.failed == [] for report in reports)
    counts = timer_fired_counts(platform)
    assert len(counts) == 200 and set(counts.values()) == {1}
    print(f"\ntwo workers fired {[len(r.fired) for r in reports]}")
