"""What may be done to a human task or an instance, by whom, from which state: one table.

Every caller — pages, the API, the CLI, the demo, the dry run, benches and tests — acts on
a task through the services here: the task is read once (after the write is declared),
checked once against `TRANSITIONS`, then changed (or handed to the runtime's private
completion). The web reads and checks in `prepare` before it reads the request's body, and
hands the `Checked` task to the service, which does not read or check it again.

Who may act is one of:
- `candidate`: in one of the task's candidate groups or users, while nobody holds it;
- `holder`: the assignee, or a candidate while the task is unassigned;
- `assignee`: the user who holds the task;
- `delegate`: the user a task was delegated to (delegation pending);
- `completer`: the user who completed the task (to withdraw it);
- `overseer`: whom the domain's oversight rule lets remind (催办) the task's handlers — a
  predicate the platform hands in (`UnitOfWork.oversight`; the county's is
  engine/county/supervision.py `may_remind_task`), since this engine knows no county roles;
  without one, nobody;
- `starter`: the user who started the instance, or an administrator (to cancel it);
- `administrator`: an administrator, on any open task (改派: the work of a disabled account
  handed to another person; the service checks the account is disabled).

Who a task is for and who may see it is engine/bpm/task_access.py's one rule. A stand-in
(委托, engine/bpm/standing.py) takes the `PERSONAL` actions in the name of a user it acts
for now: `acting_capacity` finds the capacity, and `prepare` marks every audit event of the
call with that user (`on_behalf_of`). Delegation (委派)
and carbon copies are kept as extra `task_candidate` rows (kinds `owner` and `cc`), which
the inbox's queries ignore, so no column is added.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, select, update

from . import projection, runtime
from ..core.errors import (
    ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from ..core.identity import Actor
from ..core.models import AuditEvent, HumanTask, ProcessInstance, TaskCandidate
from ..core.org_admin import inactive_users
from ..core.organisation import actor_for
from ..core.clock import bind_clock
from ..core.db import constants
from ..core.notifications import notify
from .projection import OFFERING_KINDS, OPEN_STATES, TaskRecord, form_of
from .runtime import InstanceView, TaskView, task_view
from . import standing
from .task_access import (
    CC, OWNER, USER, Capacity, capacities, delegated_by, handlers_of, may_see, named,
    offered_to,
)
from ..core.uow import UnitOfWork

DECISIONS = ("approve", "return", "reject")
ADMIN = "admin"  # the administrators' role (engine/core/organisation.py ROLES)
# The domain's rule for who may remind (催办) the handlers of a task: (actor, task) → bool.
Oversight = Callable[[Actor, TaskRecord | HumanTask], bool]
# Who the person handling the task is: a stand-in may take these in the user's name (委托).
PERSONAL = ("candidate", "holder", "assignee", "delegate", "completer")


@dataclass(frozen=True)
class Transition:
    """One action: the states it starts from, the state it leaves, who may take it, on what."""

    action: str
    sources: tuple[str, ...]
    target: str
    who: str
    label: str
    subject: str = "task"  # or "instance": the state is then the instance's status


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("claim", ("open",), "claimed", "candidate", "认领"),
    Transition("unclaim", ("claimed",), "open", "assignee", "取消认领"),
    Transition("complete", OPEN_STATES, "completed", "holder", "提交"),
    Transition("decide", OPEN_STATES, "completed", "holder", "审批"),
    Transition("transfer", OPEN_STATES, "claimed", "holder", "转办"),
    Transition("delegate", OPEN_STATES, "claimed", "holder", "委派"),
    Transition("resolve_delegation", ("claimed",), "claimed", "delegate", "办理完毕交回"),
    Transition("carbon_copy", OPEN_STATES, "(unchanged)", "holder", "抄送"),
    Transition("add_signer_before", OPEN_STATES, "claimed", "holder", "前加签"),
    Transition("add_signer_after", OPEN_STATES, "claimed", "holder", "后加签"),
    Transition("return", OPEN_STATES, "returned", "holder", "退回"),
    Transition("withdraw", ("completed",), "withdrawn", "completer", "撤回"),
    Transition("remind", OPEN_STATES, "(unchanged)", "overseer", "催办"),
    Transition("cancel", ("running", "suspended"), "cancelled", "starter", "撤销",
               subject="instance"),
    Transition("suspend", ("running",), "suspended", "administrator", "挂起", subject="instance"),
    Transition("resume", ("suspended",), "running", "administrator", "恢复", subject="instance"),
    Transition("reassign", OPEN_STATES, "claimed", "administrator", "改派"),
)}


def _state(rule: Transition, subject) -> str:
    return subject.status if rule.subject == "instance" else subject.state


def may(action: str, subject, actor: Actor, oversight: Oversight | None = None) -> bool:
    """Whether the table lets the actor take the action on the task (or instance) now.

    `oversight`: the domain's rule for `overseer` actions (`uow.oversight`); none, nobody.
    """
    return _may(TRANSITIONS[action], subject, actor, oversight)


def _may(rule: Transition, subject, actor: Actor, oversight: Oversight | None,
         people: _People | None = None) -> bool:
    if _state(rule, subject) not in rule.sources:
        return False
    if rule.who == "starter":
        return subject.started_by == actor.username or ADMIN in actor.groups
    if rule.who == "administrator":
        return ADMIN in actor.groups
    task = subject
    if rule.who == "overseer":
        return oversight is not None and oversight(actor, task)
    return (people or _People(task, actor)).capacity(rule.who) is not None


class _People:
    """Who an actor is on a task, as the table's rows ask it: the capacity each kind of `who`
    finds, worked out once (from the actor's capacities on the task and who delegated it)
    and kept for the other rows that ask the same."""

    def __init__(self, task, actor: Actor):
        self.task, self.actor = task, actor
        self._read: tuple[tuple[Capacity, ...], str | None] | None = None
        self._found: dict[str, Capacity | None] = {}

    def capacity(self, who: str) -> Capacity | None:
        """The first of the actor's capacities the table's `who` allows, or None."""
        if who not in self._found:
            if self._read is None:
                self._read = (tuple(capacities(self.task, self.actor)),
                              delegated_by(self.task))
            mine, delegated = self._read
            self._found[who] = next((c for c in mine
                                     if _allows(who, self.task, c, delegated)), None)
        return self._found[who]


def acting_capacity(action: str, task, actor: Actor) -> Capacity | None:
    """The capacity in which the table lets the actor take a person's action on the task:
    its own, else as the stand-in of one of the task's users (委托); None when neither."""
    return _People(task, actor).capacity(TRANSITIONS[action].who)


def _allows(who: str, task, capacity: Capacity, delegated: str | None) -> bool:
    held = capacity.name is not None and task.assignee == capacity.name
    if who == "completer":
        return capacity.name is not None and task.ended_by == capacity.name
    if who == "delegate":
        return delegated is not None and held
    if delegated is not None:
        # While delegated, the delegate only hands it back; the rest waits.
        return False
    offered = task.assignee is None and offered_to(task, capacity)
    if who == "candidate":
        return offered
    if who == "assignee":
        return held
    return held or offered


def allowed_actions(task: HumanTask | TaskRecord, actor: Actor,
                    oversight: Oversight | None = None) -> tuple[str, ...]:
    """The actions the actor may take on the task now, in table order (who the actor is on
    the task is read once for every row of the table: lists ask this for every task)."""
    people = _People(task, actor)
    return tuple(a for a, rule in TRANSITIONS.items()
                 if rule.subject == "task" and _may(rule, task, actor, oversight, people))


def check(action: str, subject, actor: Actor, oversight: Oversight | None = None
          ) -> str | None:
    """ConflictError, InvalidStateError or PermissionDeniedError unless the table lets the
    actor take the action on the task (or instance) now; the user a stand-in takes it for
    (委托), or None when the actor acts in its own right."""
    rule = TRANSITIONS[action]
    if rule.subject == "instance":
        if subject.status not in rule.sources:
            raise ConflictError(f"process instance {subject.id} is already {subject.status}")
        if not may(action, subject, actor):
            raise PermissionDeniedError(f"only the starter ({subject.started_by}) or an "
                                        f"administrator {action}s an instance")
        return None
    task = subject
    if task.state not in rule.sources:
        who = f" by {task.ended_by}" if task.ended_by else ""
        raise ConflictError(f"task '{task.name}' was already {task.state}{who}; nothing was "
                            "changed; reload your task list")
    if not may(action, task, actor, oversight):
        if action == "claim" and task.assignee is not None:
            raise ConflictError(f"task '{task.name}' was already claimed by {task.assignee}")
        raise PermissionDeniedError(f"{actor.username} may not {action} task '{task.name}'")
    capacity = acting_capacity(action, task, actor) if rule.who in PERSONAL else None
    return capacity.on_behalf_of if capacity is not None else None


def load_task(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskRecord:
    """The task with its candidates, when the actor may see it (also as delegator or
    carbon-copy reader); read in one statement, for reading only."""
    task = projection.load_task(uow.session, task_id, uow.clock.now())
    if task is None or not may_see(task, actor):
        # Another unit's task is not found, not merely forbidden: ids reveal nothing.
        raise NotFoundError(f"task {task_id} does not exist or is not yours to see")
    return task


def get_task(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """The task as the actor may see it."""
    return task_view(load_task(uow, task_id, actor))


# ---------------------------------------------------------------- read once, check once

@dataclass(frozen=True)
class Checked:
    """A task (or instance) read once after the write was declared and let through the
    table for one action by one actor, in one transaction of one unit of work."""

    action: str
    username: str
    subject: TaskRecord | ProcessInstance
    transaction: object

    def covers(self, uow: UnitOfWork, action: str, ref, actor: Actor) -> bool:
        """Whether this check stands for `action` on `ref` by `actor` now: the same rule
        (complete and decide share one), the same subject, and the same transaction."""
        mine, asked = TRANSITIONS[self.action], TRANSITIONS[action]
        return ((mine.sources, mine.who, mine.subject) == (asked.sources, asked.who, asked.subject)
                and self.username == actor.username and str(self.subject.id) == str(ref)
                and self.transaction is uow.session.get_transaction())


def prepare(uow: UnitOfWork, action: str, ref, actor: Actor, *,
            guard: Callable[[Any], None] | None = None) -> Checked:
    """Declare the write, read the task (or instance) once and check it once against the
    table; `guard(subject)` runs between the two (the API's If-Match)."""
    rule = TRANSITIONS[action]
    uow.begin_write()
    if rule.subject == "instance":
        subject = runtime.load_for_write(uow, int(ref))
    elif rule.who == "administrator" and ADMIN in actor.groups:
        subject = projection.load_task(uow.session, ref)  # any task, not only those it sees
        if subject is None:
            raise NotFoundError(f"task {ref} does not exist")
    else:
        subject = load_task(uow, ref, actor)
    if rule.subject == "task":
        _not_suspended(uow, subject)
    if guard is not None:
        guard(subject)
    # A stand-in acts in its own name for another (委托): every event of the call says so.
    uow.audit.on_behalf_of = check(action, subject, actor, uow.oversight)
    return Checked(action, actor.username, subject, uow.session.get_transaction())


def _not_suspended(uow: UnitOfWork, task: TaskRecord) -> None:
    """InvalidStateError when the task's instance is suspended (挂起): nothing moves in it.

    The status was read with the task, in the same statement, after the write was declared."""
    if task.instance_status == "suspended":
        raise InvalidStateError(f"process instance {task.instance_id} is suspended; its tasks "
                                "wait until an administrator resumes it")


def _checked(uow: UnitOfWork, action: str, ref, actor: Actor, checked: Checked | None):
    """The subject `checked` let through for this action, else read and checked now."""
    if checked is not None and checked.covers(uow, action, ref, actor):
        return checked.subject
    return prepare(uow, action, ref, actor).subject


def _write(uow: UnitOfWork, action: str, task_id: str, actor: Actor,
           checked: Checked | None) -> HumanTask:
    """`_checked`, and the task row to change."""
    _checked(uow, action, task_id, actor, checked)
    return uow.session.get(HumanTask, task_id)


def _record(uow: UnitOfWork, actor: Actor, action: str, task: HumanTask, **detail: Any) -> None:
    uow.audit.record(actor.username, action, subject=f"instance:{task.instance_id}",
                     instance_id=task.instance_id, task_id=task.id, name=task.name, **detail)


def _target_user(uow: UnitOfWork, username: str, actor: Actor) -> Actor:
    username = (username or "").strip()
    if not username:
        raise TaskDataError("choose a user", {"to_user": ["required"]})
    if username == actor.username:
        raise TaskDataError("choose someone other than yourself", {"to_user": ["not yourself"]})
    try:
        return actor_for(uow.session, username)
    except NotFoundError as exc:
        raise TaskDataError(f"no active user '{username}'", {"to_user": ["no such user"]}) from exc


def _assignee_write(unassigned: bool):
    tasks = HumanTask.__table__
    return (update(tasks)
            .where(tasks.c.id == bindparam("task_id"), tasks.c.state.in_(constants(OPEN_STATES)),
                   tasks.c.assignee.is_(None) if unassigned
                   else tasks.c.assignee == bindparam("read_assignee"))
            .values(assignee=bindparam("new_assignee"), state=bindparam("new_state")))


# A claim or unclaim, guarded by the assignee read (none, or that one): built once each.
_TAKE_UNASSIGNED, _TAKE_ASSIGNED = _assignee_write(True), _assignee_write(False)


def _set_assignee(uow: UnitOfWork, task: TaskRecord, assignee: str | None,
                  state: str) -> TaskRecord:
    """Write a claim or unclaim, provided nobody changed the assignee since it was read."""
    written = uow.session.connection().execute(
        _TAKE_UNASSIGNED if task.assignee is None else _TAKE_ASSIGNED,
        {"task_id": task.id, "read_assignee": task.assignee, "new_assignee": assignee,
         "new_state": state})
    if written.rowcount != 1:
        raise ConflictError(f"task '{task.name}' changed meanwhile; reload your task list")
    projection.offer_in_step(uow.session.connection(), task.id, state, assignee, task.due_at)
    projection.written_to_loaded(uow.session, task.id, assignee=assignee, state=state)
    return replace(task, assignee=assignee, state=state)


# ---------------------------------------------------------------- services

def claim(uow: UnitOfWork, task_id: str, actor: Actor, *,
          checked: Checked | None = None) -> TaskView:
    """认领: take a group task as one's own."""
    task = _checked(uow, "claim", task_id, actor, checked)
    task = _set_assignee(uow, task, _in_whose_name(uow, actor), "claimed")
    uow.audit.record(actor.username, "task_claimed", subject=f"instance:{task.instance_id}",
                     instance_id=task.instance_id, task_id=task.id)
    uow.commit()
    return task_view(task)


def unclaim(uow: UnitOfWork, task_id: str, actor: Actor, *,
            checked: Checked | None = None) -> TaskView:
    """取消认领: give a claimed task back to its groups."""
    task = _checked(uow, "unclaim", task_id, actor, checked)
    if not any(c.kind in OFFERING_KINDS for c in task.candidates):
        raise InvalidStateError(f"task '{task.name}' was assigned to you directly and has no "
                                "candidate group to go back to")
    task = _set_assignee(uow, task, None, "open")
    uow.audit.record(actor.username, "task_unclaimed", subject=f"instance:{task.instance_id}",
                     instance_id=task.instance_id, task_id=task.id)
    uow.commit()
    return task_view(task)


def complete(uow: UnitOfWork, task_id: str, actor: Actor, data: dict[str, Any] | None = None,
             *, checked: Checked | None = None) -> InstanceView:
    """提交: complete the task with its form data and run the process to its next wait."""
    task = _checked(uow, "complete", task_id, actor, checked)
    return runtime._complete_task(uow, task, actor, data)


def cancel(uow: UnitOfWork, instance_id: int, actor: Actor, reason: str, *,
           checked: Checked | None = None) -> InstanceView:
    """撤销: cancel a running instance, with a reason (its starter or an administrator)."""
    row = _checked(uow, "cancel", instance_id, actor, checked)
    return runtime._cancel_instance(uow, row, actor, reason)


def suspend(uow: UnitOfWork, instance_id: int, actor: Actor, reason: str, *,
            checked: Checked | None = None) -> ProcessInstance:
    """挂起: hold a running instance (administrators): its tasks cannot be acted on and its
    timers do not fire until it is resumed; audited with the reason."""
    return _hold(uow, "suspend", instance_id, actor, reason, checked)


def resume(uow: UnitOfWork, instance_id: int, actor: Actor, reason: str, *,
           checked: Checked | None = None) -> ProcessInstance:
    """恢复: let a suspended instance go on; timers that came due meanwhile fire at once."""
    return _hold(uow, "resume", instance_id, actor, reason, checked)


HELD = {"suspend": "instance_suspended", "resume": "instance_resumed"}


def _hold(uow: UnitOfWork, action: str, instance_id: int, actor: Actor, reason: str,
          checked: Checked | None) -> ProcessInstance:
    if not (reason or "").strip():
        raise TaskDataError(f"a reason is required to {action} a process instance",
                            {"reason": ["required"]})
    row = _checked(uow, action, instance_id, actor, checked)
    row.status = TRANSITIONS[action].target
    uow.audit.record(actor.username, HELD[action],
                     subject=f"instance:{row.id}", instance_id=row.id, why=reason.strip())
    uow.commit()
    return row


def has_decision(form: dict) -> bool:
    """Whether the form opts in to 同意/退回/不同意 by declaring an enum field `decision`."""
    return any(f.get("id") == "decision" and f.get("type") == "enum"
               for f in form.get("fields", []))


def decide(uow: UnitOfWork, task_id: str, actor: Actor, decision: str, opinion: str,
           data: dict[str, Any] | None = None, *, checked: Checked | None = None
           ) -> InstanceView:
    """同意/退回/不同意: complete a decision task; an opinion is required to return or reject."""
    task = _checked(uow, "decide", task_id, actor, checked)
    if not has_decision(task.form):
        raise InvalidStateError(f"task '{task.name}' has no decision field; complete it instead")
    opinion = (opinion or "").strip()
    if decision not in DECISIONS:
        raise TaskDataError(f"decision must be one of {', '.join(DECISIONS)}",
                            {"decision": ["unknown decision"]})
    if decision != "approve" and not opinion:
        raise TaskDataError("an opinion is required to return or reject",
                            {"opinion": ["required to return or reject"]})
    data = {**(data or {}), "decision": decision}
    if any(f.get("id") == "opinion" for f in task.form.get("fields", [])):
        data["opinion"] = opinion
    # Also recorded on its own, so the opinion is kept when the form has no opinion field.
    _record(uow, actor, "task_decided", task, decision=decision, opinion=opinion or None)
    return runtime._complete_task(uow, task, actor, data)


def transfer(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
             why: str = "", *, checked: Checked | None = None) -> TaskView:
    """转办: hand the task to another user, who now holds it."""
    task = _write(uow, "transfer", task_id, actor, checked)
    target = _target_user(uow, to_user, actor)
    before = task.assignee
    task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_transferred", task, before=before, after=target.username,
            why=why.strip() or None)
    _tell(uow, "transferred", f"转办给您：{task.name}", target.username, task, body=why or None)
    uow.commit()
    return task_view(task)


def reassign(uow: UnitOfWork, task_id: str, actor: Actor, from_user: str, to_user: str,
             why: str = "", *, checked: Checked | None = None) -> TaskView:
    """改派: an administrator hands what a disabled account holds, was named for or waits
    for (as delegator) to another user, who then holds it (or waits for it)."""
    task = _write(uow, "reassign", task_id, actor, checked)
    if from_user not in inactive_users(uow.session, [from_user]):
        raise InvalidStateError(f"'{from_user}' is not a disabled account; only the work of a "
                                "disabled account is reassigned by an administrator")
    target = _target_user(uow, to_user, actor)
    if target.username == from_user:
        raise TaskDataError("choose another user", {"to_user": ["not the same user"]})
    named_rows = [c for c in task.candidates if c.name == from_user and c.kind in (USER, OWNER)]
    if task.assignee != from_user and not named_rows:
        raise InvalidStateError(f"task '{task.name}' is not held by, named for or waiting for "
                                f"'{from_user}'")
    # Named for or waiting for (as delegator) the disabled account: now the new holder.
    task.candidates = [c for c in task.candidates if c not in named_rows]
    task.candidates.extend(TaskCandidate(kind=c.kind, name=target.username) for c in named_rows
                           if (c.kind, target.username) not in
                           {(k.kind, k.name) for k in task.candidates})
    if task.assignee == from_user or not any(c.kind == OWNER for c in named_rows):
        task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_reassigned", task, before=from_user, after=target.username,
            why=why.strip() or None)
    _tell(uow, "transferred", f"改派给您：{task.name}", target.username, task, body=why or None)
    uow.commit()
    return task_view(task)


def delegate(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
             why: str = "", *, checked: Checked | None = None) -> TaskView:
    """委派: another user works on the task, then hands it back to the delegator to complete."""
    task = _write(uow, "delegate", task_id, actor, checked)
    target = _target_user(uow, to_user, actor)
    task.candidates.append(TaskCandidate(kind=OWNER, name=_in_whose_name(uow, actor)))
    task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_delegated", task, before=actor.username, after=target.username,
            why=why.strip() or None)
    _tell(uow, "delegated", f"委派给您：{task.name}", target.username, task, body=why or None)
    uow.commit()
    return task_view(task)


def resolve_delegation(uow: UnitOfWork, task_id: str, actor: Actor, opinion: str = "", *,
                       checked: Checked | None = None) -> TaskView:
    """办理完毕交回: the delegate hands the task back to the delegator, with an opinion."""
    task = _write(uow, "resolve_delegation", task_id, actor, checked)
    owner = delegated_by(task)
    task.candidates = [c for c in task.candidates if c.kind != OWNER]
    task.assignee = owner
    _record(uow, actor, "task_delegation_resolved", task, before=actor.username, after=owner,
            opinion=opinion.strip() or None)
    uow.commit()
    return task_view(task)


def carbon_copy(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
                note: str = "", *, checked: Checked | None = None) -> TaskView:
    """抄送: let another user read the task and its history."""
    task = _write(uow, "carbon_copy", task_id, actor, checked)
    target = _target_user(uow, to_user, actor)
    if target.username not in named(task, CC):
        task.candidates.append(TaskCandidate(kind=CC, name=target.username))
    _record(uow, actor, "task_carbon_copied", task, to=target.username, note=note.strip() or None)
    _tell(uow, "cc", f"抄送：{task.name}", target.username, task, body=note or None)
    uow.commit()
    return task_view(task)


def copied_to_me(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[TaskView]:
    """Tasks carbon-copied to the actor, newest first."""
    query = (select(HumanTask).join(TaskCandidate, TaskCandidate.task_id == HumanTask.id)
             .where(TaskCandidate.kind == CC, TaskCandidate.name == actor.username)
             .order_by(HumanTask.created_at.desc()).limit(limit))
    return [task_view(t) for t in uow.session.execute(query).scalars()]


def delegated_to_me(uow: UnitOfWork, actor: Actor) -> list[TaskView]:
    """Open tasks delegated to the actor (they are also in the actor's own list)."""
    query = (select(HumanTask).join(TaskCandidate, TaskCandidate.task_id == HumanTask.id)
             .where(TaskCandidate.kind == OWNER, HumanTask.assignee == actor.username,
                    HumanTask.state.in_(OPEN_STATES)))
    return [task_view(t) for t in uow.session.execute(query).scalars()]


# ---------------------------------------------------------------- 加签 add a signer

def add_signer_before(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
                      why: str = "", *, checked: Checked | None = None) -> TaskView:
    """前加签: another user signs first, then the task comes back to the actor to decide."""
    task = _write(uow, "add_signer_before", task_id, actor, checked)
    target = _target_user(uow, to_user, actor)
    task.candidates.append(TaskCandidate(kind=OWNER, name=_in_whose_name(uow, actor)))
    task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_signer_added_before", task, before=actor.username,
            after=target.username, why=why.strip() or None)
    _tell(uow, "delegated", f"请先会签：{task.name}", target.username, task)
    uow.commit()
    return task_view(task)


def add_signer_after(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
                     opinion: str = "", *, checked: Checked | None = None) -> TaskView:
    """后加签: the actor signs now (opinion recorded) and another user must sign after them.

    The task stays open with the added signer; their completion moves the process on.
    """
    task = _write(uow, "add_signer_after", task_id, actor, checked)
    target = _target_user(uow, to_user, actor)
    task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_signed", task, opinion=opinion.strip() or None,
            next_signer=target.username)
    _tell(uow, "assigned", f"请加签：{task.name}", target.username, task)
    uow.commit()
    return task_view(task)


# ---------------------------------------------------------------- 退回 and 撤回

def _earlier_user_tasks(workflow, spiff_task) -> list:
    """Completed user tasks on the path that led to `spiff_task`, nearest first — in a called
    process, then on the caller's path to the call activity; and inside a subprocess the path
    passed through (an embedded subprocess or a single call activity, not the instances of a
    multi-instance one, which would name the same step several times)."""
    found: list = []
    _walk_back(workflow, _calling_task(workflow, spiff_task), found, set(), climb=True)
    return found


def _walk_back(workflow, ancestor, found: list, seen: set, *, climb: bool) -> None:
    """Walk back from `ancestor`; `climb`: from a called process's start on to its caller
    (the path that led here), else stop there (a subprocess walked into from its end)."""
    while ancestor is not None:
        spec = ancestor.task_spec
        if ancestor.state == TaskState.COMPLETED:
            if hasattr(spec, "form") and spec.bpmn_id not in seen:
                seen.add(spec.bpmn_id)
                found.append(ancestor)
            sub = workflow.subprocesses.get(ancestor.id)
            instance = (ancestor.parent is not None
                        and isinstance(ancestor.parent.task_spec, LoopTask))
            if sub is not None and not instance:
                end = max((t for t in sub.get_tasks(state=TaskState.COMPLETED)
                           if t.task_spec.name == "End"),
                          key=lambda t: t.last_state_change, default=None)
                if end is not None:
                    _walk_back(workflow, end.parent, found, seen, climb=False)
        ancestor = _calling_task(workflow, ancestor) if climb else ancestor.parent


def return_targets(uow: UnitOfWork, task_id: str, actor: Actor) -> list[tuple[str, str]]:
    """(element id, name) of the earlier user tasks the task may be returned to."""
    task = load_task(uow, task_id, actor)
    if not may("return", task, actor):
        return []
    row = uow.session.get(ProcessInstance, task.instance_id)
    workflow = runtime.restore(uow.session, row)
    current = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if current is None:
        return []
    return [(t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id)
            for t in _earlier_user_tasks(workflow, current)]


def _calling_task(workflow, task):
    """The task's parent, or for the root of a called process the call activity's task."""
    if task.parent is not None:
        return task.parent
    parent_id = task.workflow.parent_task_id
    return workflow.get_task_from_id(parent_id) if parent_id is not None else None


def _enclosing_instances(workflow, task) -> list[tuple]:
    """(instance, multi-instance activity) task pairs around `task`, innermost first, through
    called processes: the permit item of a request for several is one instance of the
    request's multi-instance call activity."""
    found = []
    while task is not None:
        parent = _calling_task(workflow, task)
        if (parent is not None and isinstance(parent.task_spec, LoopTask)
                and task.task_spec.name == parent.task_spec.task_spec):
            found.append((task, parent))
        task = parent
    return found


def _input_item(activity, child) -> dict:
    """The instance's own element of the collection (`camunda:elementVariable`), which a
    reset would replace by the activity's data: {name: value}, or {} when it has none."""
    reference = getattr(activity.task_spec, "input_item", None)
    name = getattr(reference, "bpmn_id", None)
    return {name: deepcopy(child.data[name])} if name and name in child.data else {}


def _reset_to(workflow, earlier) -> None:
    """Make the earlier user task ready again, its form's values as it was completed with.

    SpiffWorkflow 3.2 resets a task inside one instance of a multi-instance activity (and
    inside a called process) by resetting that instance too, which forgets the instance's
    place in the collection (its `key_or_index`): its result was then appended to the
    collection instead of replacing its own slot. It also leaves an instance it had merged
    counted as merged, and an activity that had already finished going on after it; and the
    instance's data became the activity's, without its element (a 会签 signer's `signer`).
    Here each enclosing instance keeps its place and its element, is no longer counted as
    merged, the called
    processes on the way are running again, and an activity that had finished waits for
    the instance again (what came after it is dropped, as after any reset).
    """
    fields = [f.get("id") for f in form_of(earlier.task_spec).get("fields", [])]
    previous = {f: deepcopy(earlier.data[f]) for f in fields if f in earlier.data}
    levels = [(child.id, {k: v for k, v in child.internal_data.items()
                          if k in ("key_or_index", "item", "iteration")},
               _input_item(activity, child), activity)
              for child, activity in _enclosing_instances(workflow, earlier)]
    # The processes on the way run again: a finished one would be taken as done at once.
    sub = earlier.workflow
    while sub is not workflow and sub is not None:
        sub.completed = False
        parent = workflow.get_task_from_id(sub.parent_task_id)
        sub = parent.workflow if parent is not None else None
    workflow.reset_from_task_id(earlier.id)
    for child_id, place, item, activity in levels:
        child = workflow.get_task_from_id(child_id)
        child.internal_data.update(place)
        child.data.update(item)
        merged = activity.internal_data.get("merged", [])
        if str(child_id) in merged:
            merged.remove(str(child_id))
        if not activity.has_state(TaskState.STARTED):
            for after in [c for c in activity.children
                          if c.task_spec.name != activity.task_spec.task_spec]:
                for task in list(after):
                    if task.id in workflow.subprocesses:
                        workflow.delete_subprocess(task)
                activity.workflow._remove_task(after.id)
            activity._set_state(TaskState.STARTED)
            activity._sync_children(activity.task_spec.outputs, TaskState.FUTURE)
    workflow.completed = False
    earlier.data.update(previous)


def _forget_removed_waits(workflow) -> None:
    """Drop the events the reset removed from SpiffWorkflow's register of waiting events.

    Resetting to a task inside a called process (a permit item of a request with several)
    removes the other branches' tasks, timers included, but SpiffWorkflow 3.2 keeps them in
    its event register, and the next timer refresh fails on a task without a parent.
    """
    live = set(workflow.tasks)
    for sub in workflow.subprocesses.values():
        live.update(sub.tasks)
    waiting = workflow.event_manager.tasks
    for task_id in [task_id for task_id in waiting if task_id not in live]:
        del waiting[task_id]


def _reopen(uow: UnitOfWork, live: runtime.LiveInstance, earlier, actor: Actor,
            closed: dict[str, tuple[str, str]], assignee: str | None) -> HumanTask:
    """Make an earlier task ready again, save, and give the new row to `assignee`."""
    row, workflow = live.row, live.workflow
    with bind_clock(uow.clock), runtime._engine_errors(row.process_key):
        _reset_to(workflow, earlier)
        _forget_removed_waits(workflow)
        runtime.run_engine(workflow)
        runtime.save_instance(uow, live, actor, closed=closed)
    reopened = uow.session.execute(
        select(HumanTask).where(HumanTask.instance_id == row.id,
                                HumanTask.spiff_task_id == str(earlier.id),
                                HumanTask.state.in_(OPEN_STATES))).scalar_one()
    if assignee is not None:
        reopened.assignee, reopened.state = assignee, "claimed"
    reopened.form = with_values(reopened.form, earlier.data)
    return reopened


def with_values(form: dict, data: dict) -> dict:
    """The form with the values its fields were last completed with as their defaults: a
    task returned to (退回) or withdrawn (撤回) opens with what was entered before."""
    fields = [{**f, "default": _as_default(data[f["id"]])} if f.get("id") in data else f
              for f in form.get("fields", [])]
    return {**form, "fields": fields} if fields else form


def _as_default(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, (str, int, float)) or value is None else str(value)


def return_task(uow: UnitOfWork, task_id: str, actor: Actor, to_element_id: str,
                opinion: str, *, checked: Checked | None = None) -> TaskView:
    """退回: send the process back to an earlier user task, to whoever did it, with an opinion."""
    opinion = (opinion or "").strip()
    if not opinion:
        raise TaskDataError("an opinion is required to return a task",
                            {"opinion": ["required to return"]})
    task = _write(uow, "return", task_id, actor, checked)
    live = runtime.load_instance(uow.session, runtime.load_for_write(uow, task.instance_id))
    row, workflow = live.row, live.workflow
    current = workflow.get_task_from_id(UUID(task.spiff_task_id))
    earlier = next((t for t in _earlier_user_tasks(workflow, current)
                    if t.task_spec.bpmn_id == to_element_id), None)
    if earlier is None:
        raise TaskDataError(f"'{to_element_id}' is not an earlier task of this process that "
                            "can be returned to", {"to_element_id": ["not an earlier task"]})
    previous = uow.session.execute(
        select(HumanTask).where(HumanTask.instance_id == row.id,
                                HumanTask.spiff_task_id == str(earlier.id),
                                HumanTask.state == "completed")
        .order_by(HumanTask.ended_at.desc()).limit(1)).scalar_one_or_none()
    handler = previous.ended_by if previous is not None else None
    if handler in inactive_users(uow.session, [handler]):
        handler = None  # a disabled account gets nothing back: the task is offered again
    _record(uow, actor, "task_returned", task, to=to_element_id, to_user=handler, opinion=opinion)
    reopened = _reopen(uow, live, earlier, actor,
                       {task.spiff_task_id: ("returned", actor.username)}, handler)
    if handler:
        _tell(uow, "returned", f"被退回：{reopened.name}", handler, reopened, body=opinion)
    uow.commit()
    return task_view(reopened)


# Audit actions that count as the next handler acting: after one of them a completed task
# can no longer be withdrawn.
ACTING = ("task_claimed", "task_completed", "task_decided", "task_transferred",
          "task_delegated", "task_signed", "task_returned", "task_signer_added_before")


def withdrawable(uow: UnitOfWork, actor: Actor, task_ids: list[str]) -> set[str]:
    """Of the given completed tasks, those the actor could withdraw now (nobody acted since).

    `withdraw` applies the same test; lists use it to offer 撤回 only where it can succeed.
    """
    if not task_ids:
        return set()
    rows = uow.session.execute(
        select(HumanTask.id, HumanTask.instance_id, func.max(AuditEvent.seq))
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(AuditEvent, (AuditEvent.task_id == HumanTask.id)
              & (AuditEvent.action == "task_completed"))
        .where(HumanTask.id.in_(task_ids), HumanTask.state == "completed",
               HumanTask.ended_by == actor.username, ProcessInstance.status == "running")
        .group_by(HumanTask.id, HumanTask.instance_id)).all()
    found = set()
    for task_id, instance_id, completed_seq in rows:
        acted = uow.session.execute(
            select(AuditEvent.id).where(AuditEvent.instance_id == instance_id,
                                        AuditEvent.seq > completed_seq,
                                        AuditEvent.action.in_(ACTING)).limit(1)).first()
        if acted is None:
            found.add(task_id)
    return found


def withdraw(uow: UnitOfWork, task_id: str, actor: Actor, why: str = "", *,
             checked: Checked | None = None) -> TaskView:
    """撤回: recall a task one completed, while nobody has acted on what came after it."""
    done = _write(uow, "withdraw", task_id, actor, checked)
    row = runtime.load_for_write(uow, done.instance_id)
    if row.status != "running":
        raise ConflictError(f"the process has already {row.status}; nothing can be withdrawn")
    if done.id not in withdrawable(uow, actor, [done.id]):
        raise ConflictError(f"the next handler has already acted on what followed '{done.name}'; "
                            "it can no longer be withdrawn")
    live = runtime.load_instance(uow.session, row)
    earlier = live.workflow.get_task_from_id(UUID(done.spiff_task_id))
    if earlier is None or earlier.state != TaskState.COMPLETED:
        raise ConflictError(f"'{done.name}' can no longer be withdrawn")
    following = list(uow.session.execute(
        select(HumanTask).where(HumanTask.instance_id == row.id,
                                HumanTask.state.in_(OPEN_STATES))).scalars())
    _record(uow, actor, "task_withdrawn", done, why=why.strip() or None)
    closed = {t.spiff_task_id: ("withdrawn", actor.username) for t in following}
    reopened = _reopen(uow, live, earlier, actor, closed, actor.username)
    for task in following:
        if task.state == "withdrawn":
            _notify_task_handlers(uow, task, "withdrawn", f"已撤回：{task.name}")
    uow.commit()
    return task_view(reopened)


def _in_whose_name(uow: UnitOfWork, actor: Actor) -> str:
    """The name an action leaves on the task: the user a stand-in acts for (委托), else the
    actor's own."""
    return uow.audit.on_behalf_of or actor.username


def _tell(uow: UnitOfWork, kind: str, title: str, username: str, task: HumanTask,
          body: str | None = None) -> None:
    # The work goes to a user by name: while a stand-in acts for them, it is told instead.
    users = ([username] if kind == "cc"
             else standing.notified(uow.session, [username], task.created_at, uow.clock.now()))
    notify(uow, kind=kind, title=title, users=users, body=body,
           instance_id=task.instance_id, task_id=task.id)


def _notify_task_handlers(uow: UnitOfWork, task: HumanTask, kind: str, title: str) -> None:
    users, groups = handlers_of(task)
    users = standing.notified(uow.session, users, task.created_at, uow.clock.now())
    notify(uow, kind=kind, title=title, users=users, groups=groups,
           instance_id=task.instance_id, task_id=task.id)
