"""Firing due timers: the worker reads only due timer rows and restores only their instances.

Each due timer fires in its own transaction, oldest due first, so a worker that was down
catches up in due order and a failure touches one instance only. On PostgreSQL the row and
its instance are taken with `FOR UPDATE SKIP LOCKED`, so several workers on several hosts
share the work without firing one timer twice or waiting on each other; on SQLite the write
lock taken at the start of each transaction orders the (single, documented) worker against
the web process. A worker killed mid-batch leaves each timer wholly fired or still waiting.

A timer cycle (`R/PT1H`) whose later ticks have passed too fires once for all of them: a
weekend without the worker does not make a burst of reminders (`skip_missed_ticks`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from ..core.calendar_admin import refresh_calendar
from ..core.clock import FrozenClock, as_utc, bind_clock
from ..core.errors import GongjianError
from ..core.identity import TIMER
from ..core.models import ProcessInstance, TimerJob
from .changes import all_tasks
from .projection import waiting_timers
from .budget import service_budget
from .runtime import load_instance, run_engine, save_instance
from ..core.uow import UnitOfWork

MAX_ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)  # doubled after each failure: 30 s, 1, 2, 4 min, then incident


@dataclass
class FireReport:
    """What one worker pass did."""

    fired: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    restored_instances: int = 0


def _next_due(uow: UnitOfWork, now: datetime, skip: set[str]) -> TimerJob | None:
    """The oldest due timer whose row and instance no other transaction holds, both locked.

    Locking the instance with the row, and passing by timers of an instance another worker
    holds, keeps two workers apart: otherwise one takes a later timer of the instance the
    other is firing, and when either firing moves or deletes the other's timer row (a
    cycle moving on, an escalation cancelling reminders) each waits for the other.
    """
    query = (select(TimerJob).join(ProcessInstance, ProcessInstance.id == TimerJob.instance_id)
             .where(TimerJob.incident.is_(False), TimerJob.next_run_at <= now,
                    ProcessInstance.status != "suspended")
             .order_by(TimerJob.due_at, TimerJob.id).limit(1))
    if skip:
        query = query.where(TimerJob.id.not_in(skip))
    query = query.with_for_update(skip_locked=True, of=(TimerJob, ProcessInstance))
    return uow.session.execute(query).scalar_one_or_none()


@contextlib.contextmanager
def _later_timers_wait(workflow):
    """Skip the timer check that ends `do_engine_steps`: later due timers get their own turn."""
    workflow.refresh_timers = lambda: None
    try:
        yield
    finally:
        del workflow.refresh_timers


def fire_one(uow: UnitOfWork, job: TimerJob) -> list[str]:
    """Restore the job's instance, fire its due timer, run on, and save; the ids that fired."""
    # FOR UPDATE OF the instance only: PostgreSQL refuses to lock the outer-joined deployment.
    row = uow.session.get(ProcessInstance, job.instance_id, with_for_update={"of": ProcessInstance})
    pending = {j.id: j for j in uow.session.execute(
        select(TimerJob).where(TimerJob.instance_id == row.id)).scalars()}
    due_before = {job_id: j.due_at for job_id, j in pending.items()}
    live = load_instance(uow.session, row)
    workflow = live.workflow
    # The process runs on as at the job's due time, so a worker catching up after a pause
    # fires an instance's missed timers one by one, in due order, each in its own transaction,
    # and timers started on the way count from when they should have started (SpiffWorkflow
    # fires a timer strictly after its time, hence the microsecond). The projection (task
    # creation times, due dates) is written at the real time: people get the task now.
    with service_budget(), bind_clock(FrozenClock(job.due_at + timedelta(microseconds=1))):
        workflow.refresh_timers()
        with _later_timers_wait(workflow):
            run_engine(workflow)
        skip_missed_ticks(workflow, uow.clock.now())
        with bind_clock(uow.clock):
            save_instance(uow, live, TIMER)
    waiting = waiting_timers(workflow)
    fired = sorted((job_id for job_id, due in due_before.items()
                    if job_id not in waiting or waiting[job_id][1] != due),
                   key=lambda job_id: (due_before[job_id], job_id))
    for job_id in fired:
        uow.audit.record(TIMER.username, "timer_fired", subject=f"instance:{row.id}",
                         instance_id=row.id, task_id=job_id, element=pending[job_id].element_id,
                         due_at=due_before[job_id].isoformat())
    return fired


def _record_failure(make_uow: Callable[[], UnitOfWork], job_id: str, error: Exception,
                    report: FireReport) -> None:
    with make_uow() as uow:
        uow.begin_write()
        # Locked, so that a row another worker deleted meanwhile (it fired the timer along
        # with a later one of the instance) reads as gone instead of failing the update.
        job = uow.session.get(TimerJob, job_id, with_for_update=True)
        if job is None:
            return
        job.attempts += 1
        job.last_error = f"{type(error).__name__}: {error}"[:2000]
        if job.attempts >= MAX_ATTEMPTS:
            job.incident = True
            report.incidents.append(job_id)
            action = "timer_incident"
        else:
            job.next_run_at = uow.clock.now() + BACKOFF * (2 ** (job.attempts - 1))
            action = "timer_failed"
        uow.audit.record(TIMER.username, action, subject=f"instance:{job.instance_id}",
                         instance_id=job.instance_id, task_id=job.id, element=job.element_id,
                         attempts=job.attempts, error=job.last_error)
        uow.commit()


def skip_missed_ticks(workflow, now: datetime) -> int:
    """Move each waiting cycle whose next tick has passed on past `now`; how many ticks went.

    The skipped ticks count against the cycle's repetitions, so `R5/P1D` still ends after
    five days.
    """
    skipped = 0
    for task in all_tasks(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task.internal_data.get("event_value")
        if (task.state != TaskState.WAITING or not isinstance(definition, CycleTimerEventDefinition)
                or not isinstance(value, dict) or value.get("cycles", 0) == 0):
            continue
        following, step = as_utc(value["next"]), float(value.get("duration") or 0)
        if following > now or step <= 0:
            continue
        missed = int((now - following).total_seconds() // step) + 1
        if value["cycles"] > 0:
            missed = min(missed, value["cycles"])
            value["cycles"] -= missed
        skipped += missed
        if value["cycles"] == 0:  # its last repetition passed: the cycle is over
            task.internal_data.pop("event_value")
            task.internal_data["event_fired"] = True
        else:
            value["next"] = (following + timedelta(seconds=step * missed)).isoformat()
    return skipped


def fire_due_timers(make_uow: Callable[[], UnitOfWork], *, limit: int = 500) -> FireReport:
    """Fire every timer due by the clock's now (up to `limit`), each in its own transaction."""
    report = FireReport()
    with make_uow() as uow:
        refresh_calendar(uow.session)  # overrides another process may have changed
    skip: set[str] = set()
    while len(report.fired) + len(report.failed) < limit:
        with make_uow() as uow:
            uow.begin_write()
            job = _next_due(uow, uow.clock.now(), skip)
            if job is None:
                break
            job_id, due_at = job.id, job.due_at
            try:
                fired = fire_one(uow, job)
                uow.commit()
                report.fired.extend(fired)
                report.restored_instances += 1
                # A cycle moves on to its next due time (fired again if that passed too);
                # a timer that did not move would loop, so it waits for the next pass.
                left = uow.session.execute(select(TimerJob.due_at)
                                           .where(TimerJob.id == job_id)).scalar()
                if left is not None and as_utc(left) == due_at:
                    skip.add(job_id)
                continue
            except (GongjianError, SpiffWorkflowException) as exc:
                error: Exception = exc
            except Exception as exc:  # a broken timer must not stop the worker
                error = exc
        skip.add(job_id)
        report.failed.append(job_id)
        _record_failure(make_uow, job_id, error, report)
    return report


def next_due_time(make_uow: Callable[[], UnitOfWork]) -> datetime | None:
    """When the next timer is due, so the worker can sleep until then."""
    with make_uow() as uow:
        return uow.session.execute(
            select(func.min(TimerJob.next_run_at))
            .join(ProcessInstance, ProcessInstance.id == TimerJob.instance_id)
            .where(TimerJob.incident.is_(False), ProcessInstance.status != "suspended")).scalar()

