"""The supervision desk's actions (督办台): remind (催办), escalate (提级), list (挂牌督办) and
lift (摘牌) an issue, each checked against the actor's scope (engine/county/policy.py), audited,
told to the handlers and delivered to the issue's process as a BPMN message.

What the desk shows is in supervision_desk.py; this module only acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from ..bpm import messages, standing
from ..bpm.projection import OPEN_STATES
from ..core.calendar_admin import load_calendar
from ..core.clock import as_utc
from ..core.errors import InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError
from ..core.identity import Actor
from ..core.models import HumanTask
from ..core.notifications import notify
from ..core.uow import UnitOfWork
from ..core.workcalendar import SHANGHAI
from . import supervision
from .issue_ledger import IssueLedgerRow, IssueListing, ListingView, view_of
from .policy import scope_of
from .supervision_desk import OPEN_ISSUE_STEPS, RECTIFYING_STEPS, TOP_RUNG, issue_row, task_line

DEFAULT_LISTING_DAYS = 5


@dataclass(frozen=True)
class IssueActions:
    """What an actor may do to one issue now, on its page and on the desk alike.

    Who may is the policy's (scope_of: may_remind, may_escalate, may_list); when is the
    issue's: reminded while open, escalated one rung while the unit rectifies and below the
    county head, listed while rectifying, lifted while listed — whatever its due state.
    """

    remind: bool
    escalate: bool
    list: bool
    lift: bool
    next_rung: int | None

    @property
    def any(self) -> bool:
        """Whether there is anything to offer."""
        return self.remind or self.escalate or self.list or self.lift


def actions_on(actor: Actor, step: str, rung: int | None, listed: bool) -> IssueActions:
    """The supervision actions open to the actor on an issue in this step, rung and listing."""
    scope = scope_of(actor)
    rectifying = step in RECTIFYING_STEPS
    climbable = rectifying and (rung or 0) < TOP_RUNG
    return IssueActions(remind=scope.may_remind and step in OPEN_ISSUE_STEPS,
                        escalate=scope.may_escalate and climbable,
                        list=scope.may_list and rectifying and not listed,
                        lift=scope.may_list and listed,
                        next_rung=(rung or 0) + 1 if climbable else None)


def _deliver(uow: UnitOfWork, instance_id: int, name: str, actor: Actor,
             payload: dict[str, Any]) -> None:
    """Deliver a BPMN message to the instance (the service commits the unit of work)."""
    messages.send_message(uow, name, actor, instance_id=instance_id, payload=payload)


def _open_tasks(uow: UnitOfWork, instance_id: int) -> list[HumanTask]:
    return list(uow.session.execute(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_STATES))).scalars())


def _tell_handlers(uow: UnitOfWork, instance_id: int, kind: str, title: str,
                   body: str | None) -> list[str]:
    notified: list[str] = []
    for task in _open_tasks(uow, instance_id):
        users, groups = supervision.handlers_of(task)
        users = standing.notified(uow.session, users, task.created_at, uow.clock.now())  # 委托
        notify(uow, kind=kind, title=title, body=body, users=users, groups=groups,
               instance_id=instance_id, task_id=task.id)
        notified += users + groups
    return sorted(set(notified))


def _matter(row: IssueLedgerRow) -> str:
    return f"{row.project_name}「{row.title}」" if row.project_name else row.title


def _acting_on(uow: UnitOfWork, actor: Actor, instance_id: int, allowed) -> IssueLedgerRow:
    uow.begin_write()
    row = issue_row(uow, actor, instance_id)
    if not allowed(scope_of(actor)):
        raise PermissionDeniedError(f"{actor.username} may not do this on issue {instance_id}")
    return row


def remind_item(uow: UnitOfWork, actor: Actor, kind: str, ref: str,
                message: str | None = None) -> supervision.ReminderView:
    """催办 a board line: every open task of an issue, or one task; audited and notified."""
    uow.begin_write()
    scope = scope_of(actor)
    if kind == "issue":
        _acting_on(uow, actor, int(ref), lambda s: s.may_remind)
        return supervision.remind_instance(uow, int(ref), actor, message)
    task = uow.session.get(HumanTask, ref)
    if task is None:
        raise NotFoundError(f"task {ref} does not exist")
    item = task_line(uow, task)
    if not scope.sees(item.sub_command, item.responsible_unit):
        raise NotFoundError(f"task {ref} does not exist or is not yours to see")
    if not scope.may_remind:
        raise PermissionDeniedError(f"{actor.username} may not remind task {ref}")
    return supervision.remind_task(uow, ref, actor, message)


def _required(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TaskDataError(f"a reason is required to {what}", {"reason": ["required"]})
    return text
def escalate_issue(uow: UnitOfWork, actor: Actor, instance_id: int, reason: str) -> int:
    """Escalate an issue one rung through its process (message `escalate_issue`); the new rung."""
    reason = _required(reason, "escalate an issue")
    row = _acting_on(uow, actor, instance_id, lambda s: s.may_escalate)
    if row.step not in RECTIFYING_STEPS:
        raise InvalidStateError(f"issue {instance_id} is {row.step}; only an issue being "
                                "rectified can be escalated")
    if (row.rung or 0) >= TOP_RUNG:
        raise InvalidStateError(f"issue {instance_id} is already with the county head")
    before, after = row.rung, (row.rung or 0) + 1
    # The process's escalate step records the escalation and tells the handlers of the rung
    # left and of the rung reached, once each (supervision.record_escalation): telling them
    # here as well sent every escalation twice.
    uow.audit.record(actor.username, "issue_escalation_requested", subject=f"issue:{instance_id}",
                     instance_id=instance_id, before=before, after=after, why=reason)
    _deliver(uow, instance_id, "escalate_issue", actor, {"reason": reason, "by": actor.username})
    uow.commit()
    return after


def list_issue(uow: UnitOfWork, actor: Actor, instance_id: int, reason: str,
               due: date | None = None) -> ListingView:
    """挂牌督办: list an issue with its own deadline (default five working days)."""
    reason = _required(reason, "list an issue")
    row = _acting_on(uow, actor, instance_id, lambda s: s.may_list)
    if row.step not in RECTIFYING_STEPS:
        raise InvalidStateError(f"issue {instance_id} is {row.step}; only an issue being "
                                "rectified can be listed")
    if row.listed:
        raise InvalidStateError(f"issue {instance_id} is already listed")
    calendar = load_calendar(uow.session)
    now = uow.clock.now()
    if due is not None and due < now.astimezone(SHANGHAI).date():
        raise TaskDataError(f"the listing's deadline {due} is in the past",
                            {"due": ["not before today"]})
    due_at = (as_utc(calendar.add_working_days(due, 0).due) if due
              else as_utc(calendar.add_working_days(now, DEFAULT_LISTING_DAYS).due))
    period = IssueListing(instance_id=instance_id, listed_by=actor.username, listed_at=now,
                          due_at=due_at, reason=reason)
    uow.session.add(period)
    uow.session.flush()
    notified = _tell_handlers(uow, instance_id, "info", f"挂牌督办：{_matter(row)}", reason)
    uow.audit.record(actor.username, "issue_listed", subject=f"issue:{instance_id}",
                     instance_id=instance_id, why=reason, due_at=due_at.isoformat(),
                     notified=notified or None)
    _deliver(uow, instance_id, "list_issue", actor,
             {"reason": reason, "due_at": due_at.isoformat(), "by": actor.username})
    row.listed, row.listed_due_at = True, due_at
    uow.commit()
    return view_of(period, ListingView)


def lift_listing(uow: UnitOfWork, actor: Actor, instance_id: int, reason: str) -> ListingView:
    """摘牌: lift an issue's listed supervision."""
    reason = _required(reason, "lift listed supervision")
    row = _acting_on(uow, actor, instance_id, lambda s: s.may_list)
    period = uow.session.execute(select(IssueListing).where(
        IssueListing.instance_id == instance_id, IssueListing.lifted_at.is_(None))
        .order_by(IssueListing.id.desc()).limit(1)).scalar_one_or_none()
    if period is None:
        raise InvalidStateError(f"issue {instance_id} is not listed")
    period.lifted_by, period.lifted_at, period.lift_reason = (actor.username, uow.clock.now(),
                                                              reason)
    row.listed, row.listed_due_at = False, None
    notified = _tell_handlers(uow, instance_id, "info", f"摘牌：{_matter(row)}", reason)
    uow.audit.record(actor.username, "issue_listing_lifted", subject=f"issue:{instance_id}",
                     instance_id=instance_id, why=reason, notified=notified or None)
    uow.commit()
    return view_of(period, ListingView)
