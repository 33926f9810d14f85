"""Incidents: a step that failed in a script, condition or decision, kept for the administrator.

When a service call fails with a WorkflowExecutionError nothing of the call is written; the
person is told so, with an incident number to quote. The number is the sequence number of a
`workflow_failed` audit event written in a transaction of its own after the call was rolled
back: who, when, which process, task and element, and the engine's message.
"""

from __future__ import annotations

from sqlalchemy import select

from ..core.errors import WorkflowExecutionError
from ..core.models import AuditHead
from ..core.uow import UnitOfWork

MAX_MESSAGE = 2000


def record_failure(uow: UnitOfWork, actor: str, error: WorkflowExecutionError, *,
                   process_key: str | None = None, task_id: str | None = None) -> int:
    """Write the failure as an audit event in `uow` (a fresh unit of work) and commit; its number."""
    uow.begin_write()
    uow.audit.record(actor, "workflow_failed",
                     subject=f"deployment:{process_key}" if process_key else None,
                     task_id=task_id, process_key=process_key, element=error.element_id,
                     element_name=error.element_name, message=str(error)[:MAX_MESSAGE])
    uow.audit.flush(uow.clock.now())
    number = uow.session.execute(select(AuditHead.seq)).scalar_one()
    uow.commit()
    return number
