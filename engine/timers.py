"""Firing due timers: the worker reads only due timer rows and restores only their instances.

Each due timer fires in its own transaction, oldest due first, so a worker that was down
catches up in due order and a failure touches one instance only. On PostgreSQL the row is
taken with `FOR UPDATE SKIP LOCKED`, so several workers on several hosts share the work
without firing one timer twice; on SQLite the write lock taken at the start of each
transaction orders the (single, documented) worker against the web process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select

from .clock import bind_clock
from .errors import GongjianError
from .identity import TIMER
from .models import ProcessInstance, TimerJob
from .runtime import restore, save_instance
from .uow import UnitOfWork

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
    query = (select(TimerJob).where(TimerJob.incident.is_(False), TimerJob.next_run_at <= now)
             .order_by(TimerJob.due_at, TimerJob.id).limit(1))
    if skip:
        query = query.where(TimerJob.id.not_in(skip))
    return uow.session.execute(query.with_for_update(skip_locked=True)).scalar_one_or_none()


def fire_one(uow: UnitOfWork, job: TimerJob) -> None:
    """Restore the job's instance, let its due timers fire, run on, and save."""
    row = uow.session.get(ProcessInstance, job.instance_id, with_for_update=True)
    workflow = restore(uow.session, row)
    with bind_clock(uow.clock):
        workflow.refresh_timers()
        workflow.do_engine_steps()
        save_instance(uow, row, workflow, TIMER)
    uow.audit.record(TIMER.username, "timer_fired", subject=f"instance:{row.id}",
                     instance_id=row.id, task_id=job.id, element=job.element_id,
                     due_at=job.due_at.isoformat())


def _record_failure(make_uow: Callable[[], UnitOfWork], job_id: str, error: Exception,
                    report: FireReport) -> None:
    with make_uow() as uow:
        uow.begin_write()
        job = uow.session.get(TimerJob, job_id)
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


def fire_due_timers(make_uow: Callable[[], UnitOfWork], *, limit: int = 500) -> FireReport:
    """Fire every timer due by the clock's now (up to `limit`), each in its own transaction."""
    report = FireReport()
    skip: set[str] = set()
    while len(report.fired) + len(report.failed) < limit:
        with make_uow() as uow:
            uow.begin_write()
            job = _next_due(uow, uow.clock.now(), skip)
            if job is None:
                break
            job_id = job.id
            skip.add(job_id)
            try:
                fire_one(uow, job)
                uow.commit()
                report.fired.append(job_id)
                report.restored_instances += 1
                continue
            except (GongjianError, SpiffWorkflowException) as exc:
                error: Exception = exc
            except Exception as exc:  # a broken timer must not stop the worker
                error = exc
        report.failed.append(job_id)
        _record_failure(make_uow, job_id, error, report)
    return report


def next_due_time(make_uow: Callable[[], UnitOfWork]) -> datetime | None:
    """When the next timer is due, so the worker can sleep until then."""
    with make_uow() as uow:
        return uow.session.execute(select(func.min(TimerJob.next_run_at))
                                   .where(TimerJob.incident.is_(False))).scalar()
