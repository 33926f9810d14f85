"""Incidents: a step or a request that failed, kept for the administrator and the designer.

When a service call fails nothing of the call is written; the person is told so, with an
incident number to quote. The number is the sequence number of an audit event written in a
transaction of its own after the call was rolled back: `workflow_failed` for a script,
condition or decision that failed (a WorkflowExecutionError), `request_failed` for anything
unforeseen (a fault of the platform or the library). Each names who, when, which process,
instance, task and element, and the error. An incident stays open until someone marks it
resolved (`incident_resolved`, with a note); timer incidents (a timer failing again and
again) live on their timer row and are retried instead (definition_admin.retry_incident).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..core.errors import NotFoundError, WorkflowExecutionError
from ..core.models import AuditEvent, AuditHead, HumanTask
from ..core.uow import UnitOfWork

MAX_MESSAGE = 2000
FAILED = ("workflow_failed", "request_failed")
RESOLVED = "incident_resolved"
SHOWN = 500  # the newest open incidents listed


@dataclass(frozen=True)
class OpenIncident:
    """One failure nobody has marked resolved yet."""

    number: int
    at: datetime
    actor: str
    kind: str  # "workflow" (a step of a process) or "request" (anything unforeseen)
    process_key: str | None
    instance_id: int | None
    task_id: str | None
    element_id: str | None
    element_name: str | None
    message: str
    path: str | None


def _instance_of(uow: UnitOfWork, task_id: str | None) -> int | None:
    task = uow.session.get(HumanTask, task_id) if task_id else None
    return task.instance_id if task is not None else None


def _append(uow: UnitOfWork, actor: str, action: str, **detail) -> int:
    uow.audit.record(actor, action, **detail)
    uow.audit.flush(uow.clock.now())
    number = uow.session.execute(select(AuditHead.seq)).scalar_one()
    uow.commit()
    return number


def record_failure(uow: UnitOfWork, actor: str, error: WorkflowExecutionError, *,
                   process_key: str | None = None, task_id: str | None = None) -> int:
    """Write the failure as an audit event in `uow` (a fresh unit of work) and commit; its number."""
    uow.begin_write()
    return _append(uow, actor, "workflow_failed",
                   subject=f"deployment:{process_key}" if process_key else None,
                   instance_id=_instance_of(uow, task_id), task_id=task_id,
                   process_key=process_key, element=error.element_id,
                   element_name=error.element_name, message=str(error)[:MAX_MESSAGE])


def record_error(uow: UnitOfWork, actor: str, error: BaseException, *, path: str,
                 process_key: str | None = None, task_id: str | None = None,
                 instance_id: int | None = None) -> int:
    """Write an unforeseen failure of a request (after its call was rolled back); its number."""
    uow.begin_write()
    return _append(uow, actor, "request_failed", subject=f"path:{path}"[:200],
                   instance_id=instance_id or _instance_of(uow, task_id), task_id=task_id,
                   process_key=process_key, path=path, error=type(error).__name__,
                   message=str(error)[:MAX_MESSAGE])


def _resolved(uow: UnitOfWork) -> set[int]:
    rows = uow.session.execute(select(AuditEvent.detail).where(AuditEvent.action == RESOLVED))
    return {json.loads(d or "{}").get("incident") for (d,) in rows}


def open_incidents(uow: UnitOfWork) -> list[OpenIncident]:
    """The failures not yet resolved, newest first (at most SHOWN)."""
    done = _resolved(uow)
    found = []
    for event in uow.session.execute(select(AuditEvent).where(AuditEvent.action.in_(FAILED))
                                     .order_by(AuditEvent.seq.desc())).scalars():
        if event.seq in done:
            continue
        detail = json.loads(event.detail or "{}")
        found.append(OpenIncident(
            event.seq, event.at, event.actor,
            "workflow" if event.action == "workflow_failed" else "request",
            detail.get("process_key"), event.instance_id, event.task_id,
            detail.get("element"), detail.get("element_name"), detail.get("message") or "",
            detail.get("path")))
        if len(found) >= SHOWN:
            break
    return found


def resolve_incident(uow: UnitOfWork, number: int, actor: str, note: str) -> None:
    """Mark an incident resolved, with what was done (audited); NotFoundError if there is
    no open incident of that number."""
    uow.begin_write()
    event = uow.session.execute(select(AuditEvent).where(
        AuditEvent.seq == number, AuditEvent.action.in_(FAILED))).scalar_one_or_none()
    if event is None or number in _resolved(uow):
        raise NotFoundError(f"there is no open incident {number}")
    _append(uow, actor, RESOLVED, instance_id=event.instance_id, incident=number,
            note=note.strip()[:MAX_MESSAGE] or None)
