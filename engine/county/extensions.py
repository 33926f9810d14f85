"""延期申请: the holder of a task with a deadline asks for more working days, with a reason;
those who supervise it (the county's oversight roles, the field's sub-commanders: the rung
above a unit) approve or refuse, with an opinion.

Approved, the deadline moves by that many working days on the platform's calendar, and what
hangs on it moves with it: the task's due time (and the count it is recomputed from while the
year's holidays are provisional), the boundary timers waiting on the task (reminders and the
escalation that counts from it) by the same span, and the issue ledger's deadline. One
transaction each, audited (deadline_extension_requested / _approved / _refused), the
deciders and then the holder told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpm import task_actions
from engine.bpm.projection import OPEN_STATES
from engine.bpm.runtime import load_instance, save_instance
from engine.core.calendar_admin import current_calendar
from engine.core.clock import as_utc
from engine.core.errors import (
    ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from engine.core.identity import Actor
from engine.core.models import Base, HumanTask, ProcessInstance, UTCDateTime
from engine.core.notifications import notify
from engine.core.uow import UnitOfWork

from .issue_ledger import IssueLedgerRow
from .policy import OVERSIGHT_ROLES, may_supervise, scope_of

MAX_DAYS = 30  # working days one request may ask for
STATES = {"pending": "待审批", "approved": "已同意", "refused": "未同意"}


class DeadlineExtension(Base):
    """One request for more working days on one task."""

    __tablename__ = "deadline_extension"
    __table_args__ = (Index("ix_deadline_extension_state", "state", "requested_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # pending, approved, refused
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_before: Mapped[datetime] = mapped_column(UTCDateTime)
    due_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class ExtensionView:
    """A request as the pages show it."""

    id: int
    task_id: str
    task_name: str
    instance_id: int
    business_key: str | None
    days: int
    reason: str
    state: str
    requested_by: str
    requested_at: datetime
    due_before: datetime
    due_after: datetime | None
    decided_by: str | None
    opinion: str | None


def _view(row: DeadlineExtension, task: HumanTask) -> ExtensionView:
    return ExtensionView(row.id, row.task_id, task.name, row.instance_id, task.business_key,
                         row.days, row.reason, row.state, row.requested_by, row.requested_at,
                         row.due_before, row.due_after, row.decided_by, row.opinion)


def _field_of(session, instance_id: int) -> str | None:
    ledger = session.get(IssueLedgerRow, instance_id)
    return ledger.sub_command if ledger is not None else None


def may_decide(session, actor: Actor, instance_id: int) -> bool:
    """Whether the actor decides requests on this instance's tasks: oversight, or the field's
    sub-commanders (the rung above the unit)."""
    if not may_supervise(actor):
        return False
    scope = scope_of(actor)
    return scope.everything or _field_of(session, instance_id) in scope.sub_commands


def request_extension(uow: UnitOfWork, task_id: str, actor: Actor, days: int,
                      reason: str) -> ExtensionView:
    """Ask for `days` more working days on a task one holds; bad fields refused by name."""
    uow.begin_write()
    task = task_actions.load_task(uow, task_id, actor)
    errors: dict[str, list[str]] = {}
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = [f"请填写 1 至 {MAX_DAYS} 个工作日"]
    if not (reason or "").strip():
        errors["reason"] = ["请说明延期的理由"]
    if errors:
        raise TaskDataError("the request has errors", errors)
    if not task_actions.may("complete", task, actor):
        raise PermissionDeniedError(f"{actor.username} does not hold task '{task.name}'")
    if task.due_at is None:
        raise InvalidStateError(f"task '{task.name}' has no deadline to extend")
    pending = uow.session.execute(select(DeadlineExtension.id).where(
        DeadlineExtension.task_id == task_id, DeadlineExtension.state == "pending")).first()
    if pending is not None:
        raise ConflictError(f"task '{task.name}' already has a request waiting for a decision")
    row = DeadlineExtension(task_id=task_id, instance_id=task.instance_id, days=days,
                            reason=reason.strip()[:2000], state="pending",
                            requested_by=actor.username, requested_at=uow.clock.now(),
                            due_before=task.due_at)
    uow.session.add(row)
    uow.session.flush()
    uow.audit.record(actor.username, "deadline_extension_requested",
                     subject=f"instance:{task.instance_id}", instance_id=task.instance_id,
                     task_id=task_id, days=days, reason=row.reason)
    field = _field_of(uow.session, task.instance_id)
    notify(uow, kind="info", title=f"延期申请：{task.name}（{task.business_key or task.instance_id}）"
           f"申请延长 {days} 个工作日", body=row.reason,
           groups=[*OVERSIGHT_ROLES[:1], *([f"sub_commander@{field}"] if field else [])],
           instance_id=task.instance_id, task_id=task_id)
    uow.commit()
    return _view(row, uow.session.get(HumanTask, task_id))


def pending_for(uow: UnitOfWork, actor: Actor) -> list[ExtensionView]:
    """The requests waiting for the actor's decision, oldest first."""
    rows = uow.session.execute(select(DeadlineExtension, HumanTask).join(
        HumanTask, HumanTask.id == DeadlineExtension.task_id).where(
        DeadlineExtension.state == "pending").order_by(DeadlineExtension.requested_at)).all()
    return [_view(row, task) for row, task in rows
            if may_decide(uow.session, actor, row.instance_id)]


def requests_of_task(uow: UnitOfWork, task_id: str) -> list[ExtensionView]:
    """A task's requests, newest first (the caller has let the reader see the task)."""
    task = uow.session.get(HumanTask, task_id)
    rows = uow.session.execute(select(DeadlineExtension).where(
        DeadlineExtension.task_id == task_id).order_by(DeadlineExtension.id.desc())).scalars()
    return [_view(row, task) for row in rows]


def decide_extension(uow: UnitOfWork, request_id: int, actor: Actor, approve: bool,
                     opinion: str = "") -> ExtensionView:
    """Approve or refuse a request; approved, the deadline and what hangs on it move."""
    uow.begin_write()
    row = uow.session.get(DeadlineExtension, request_id, with_for_update=True)
    if row is None or not may_decide(uow.session, actor, row.instance_id):
        raise NotFoundError(f"deadline extension {request_id} does not exist or is not yours")
    if row.state != "pending":
        raise ConflictError(f"the request was already {row.state} by {row.decided_by}")
    opinion = (opinion or "").strip()
    if not approve and not opinion:
        raise TaskDataError("an opinion is required to refuse", {"opinion": ["请说明不同意的理由"]})
    task = uow.session.get(HumanTask, row.task_id)
    if task.state not in OPEN_STATES:
        raise InvalidStateError(f"task '{task.name}' is {task.state}; nothing to extend")
    now = uow.clock.now()
    row.state, row.decided_by, row.decided_at = ("approved" if approve else "refused"), \
        actor.username, now
    row.opinion = opinion[:2000] or None
    if approve:
        row.due_after = _extend(uow, task, row.days, actor)
    uow.audit.record(actor.username, f"deadline_extension_{row.state}",
                     subject=f"instance:{task.instance_id}", instance_id=task.instance_id,
                     task_id=task.id, days=row.days, opinion=row.opinion,
                     before=row.due_before.isoformat(),
                     after=row.due_after.isoformat() if row.due_after else None)
    verdict = f"同意延长 {row.days} 个工作日" if approve else "未同意延期"
    notify(uow, kind="info", title=f"延期申请：{task.name} — {verdict}", body=row.opinion,
           users=[row.requested_by], instance_id=task.instance_id, task_id=task.id)
    uow.commit()
    return _view(row, task)


def _extend(uow: UnitOfWork, task: HumanTask, days: int, actor: Actor) -> datetime:
    """Move the task's deadline by `days` working days and its waiting boundary timers by the
    same span; the ledger's deadline follows. Returns the new deadline."""
    calendar = current_calendar()
    before = task.due_at
    if task.due_basis_at is not None and task.due_working_days is not None:
        deadline = calendar.add_working_days(task.due_basis_at, task.due_working_days + days)
        task.due_working_days += days
    else:
        deadline = calendar.add_working_days(before, days)
    after = as_utc(deadline.due)
    span = after - before
    # FOR UPDATE OF the instance only: PostgreSQL refuses to lock the outer-joined deployment.
    row = uow.session.get(ProcessInstance, task.instance_id,
                          with_for_update={"of": ProcessInstance})
    live = load_instance(uow.session, row)
    held = next((t for t in live.workflow.get_tasks() if str(t.id) == task.spiff_task_id), None)
    if held is not None and held.parent is not None:
        for sibling in held.parent.children:
            definition = getattr(sibling.task_spec, "event_definition", None)
            value = sibling.internal_data.get("event_value")
            if (sibling is held or sibling.state != TaskState.WAITING
                    or not isinstance(definition, TimerEventDefinition) or value is None):
                continue
            if isinstance(value, dict) and value.get("next"):  # a cycle's next tick
                value["next"] = (as_utc(datetime.fromisoformat(value["next"])) + span).isoformat()
            elif isinstance(value, str) and not value.upper().startswith("P"):
                sibling.internal_data["event_value"] = (
                    as_utc(datetime.fromisoformat(value)) + span).isoformat()
    save_instance(uow, live, actor)
    task.due_at, task.due_provisional = after, deadline.provisional
    ledger = uow.session.get(IssueLedgerRow, task.instance_id)
    if ledger is not None and ledger.due_at is not None and as_utc(ledger.due_at) == before:
        ledger.due_at = after
    return after
