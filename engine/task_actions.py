"""What may be done to a human task, by whom, from which state: one transition table.

Every human-task action of the web layer goes through `perform`-style services here, which
check the table first and then change the task (or call the runtime service that does).
Who may act is one of:
- `candidate`: in one of the task's candidate groups or users, while nobody holds it;
- `holder`: the assignee, or a candidate while the task is unassigned;
- `assignee`: the user who holds the task;
- `delegate`: the user a task was delegated to (delegation pending).

Delegation and carbon copies are kept as extra `task_candidate` rows (kinds `owner` and
`cc`), which the runtime's visibility and inbox queries ignore, so no column is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from . import runtime
from .errors import (
    ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from .identity import Actor
from .models import HumanTask, TaskCandidate
from .organisation import actor_for
from .projection import OPEN_STATES
from .runtime import InstanceView, TaskView, task_view
from .uow import UnitOfWork

DECISIONS = ("approve", "return", "reject")
OWNER, CC = "owner", "cc"


@dataclass(frozen=True)
class Transition:
    """One action: the states it starts from, the state it leaves, who may take it."""

    action: str
    sources: tuple[str, ...]
    target: str
    who: str
    label: str


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("claim", ("open",), "claimed", "candidate", "认领"),
    Transition("unclaim", ("claimed",), "open", "assignee", "取消认领"),
    Transition("complete", OPEN_STATES, "completed", "holder", "提交"),
    Transition("decide", OPEN_STATES, "completed", "holder", "审批"),
    Transition("transfer", OPEN_STATES, "claimed", "holder", "转办"),
    Transition("delegate", OPEN_STATES, "claimed", "holder", "委派"),
    Transition("resolve_delegation", ("claimed",), "claimed", "delegate", "办理完毕交回"),
    Transition("carbon_copy", OPEN_STATES, "(unchanged)", "holder", "抄送"),
)}


def _kinds(task: HumanTask, kind: str) -> set[str]:
    return {c.name for c in task.candidates if c.kind == kind}


def delegated_by(task: HumanTask) -> str | None:
    """The user who delegated the task and waits for it back, if any."""
    return next(iter(_kinds(task, OWNER)), None)


def _is_candidate(task: HumanTask, actor: Actor) -> bool:
    return any((c.kind == "group" and c.name in actor.groups)
               or (c.kind == "user" and c.name == actor.username) for c in task.candidates)


def may(action: str, task: HumanTask, actor: Actor) -> bool:
    """Whether the table lets the actor take the action on the task now."""
    rule = TRANSITIONS[action]
    if task.state not in rule.sources:
        return False
    delegated = delegated_by(task)
    if rule.who == "delegate":
        return delegated is not None and task.assignee == actor.username
    if delegated is not None:
        # While delegated, the delegate only hands it back; the rest waits.
        return False
    if rule.who == "candidate":
        return task.assignee is None and _is_candidate(task, actor)
    if rule.who == "assignee":
        return task.assignee == actor.username
    return task.assignee == actor.username or (task.assignee is None and _is_candidate(task, actor))


def allowed_actions(task: HumanTask, actor: Actor) -> tuple[str, ...]:
    """The actions the actor may take on the task now, in table order."""
    return tuple(a for a in TRANSITIONS if may(a, task, actor))


def _check(action: str, task: HumanTask, actor: Actor) -> None:
    if task.state not in OPEN_STATES:
        who = f" by {task.ended_by}" if task.ended_by else ""
        raise ConflictError(f"task '{task.name}' was already {task.state}{who}; nothing was "
                            "changed; reload your task list")
    if not may(action, task, actor):
        rule = TRANSITIONS[action]
        if action == "claim" and task.assignee is not None:
            raise ConflictError(f"task '{task.name}' was already claimed by {task.assignee}")
        if task.state not in rule.sources:
            raise InvalidStateError(f"cannot {action} task '{task.name}' while it is {task.state}")
        raise PermissionDeniedError(f"{actor.username} may not {action} task '{task.name}'")


def _visible(task: HumanTask, actor: Actor) -> bool:
    return (task.assignee == actor.username or task.ended_by == actor.username
            or _is_candidate(task, actor) or actor.username in _kinds(task, OWNER)
            or actor.username in _kinds(task, CC))


def load_task(uow: UnitOfWork, task_id: str, actor: Actor) -> HumanTask:
    """The task row, when the actor may see it (also as delegator or carbon-copy reader)."""
    task = uow.session.get(HumanTask, task_id)
    if task is None or not _visible(task, actor):
        raise NotFoundError(f"task {task_id} does not exist or is not yours to see")
    return task


def get_task(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """The task as the actor may see it."""
    return task_view(load_task(uow, task_id, actor))


def _write(uow: UnitOfWork, action: str, task_id: str, actor: Actor) -> HumanTask:
    uow.begin_write()
    task = load_task(uow, task_id, actor)
    _check(action, task, actor)
    return task


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


# ---------------------------------------------------------------- services

def claim(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """认领: take a group task as one's own."""
    _write(uow, "claim", task_id, actor)
    return runtime.claim_task(uow, task_id, actor)


def unclaim(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """取消认领: give a claimed task back to its groups."""
    _write(uow, "unclaim", task_id, actor)
    return runtime.unclaim_task(uow, task_id, actor)


def complete(uow: UnitOfWork, task_id: str, actor: Actor, data: dict[str, Any]) -> InstanceView:
    """提交: complete the task with its form data."""
    _write(uow, "complete", task_id, actor)
    return runtime.complete_task(uow, task_id, actor, data)


def has_decision(form: dict) -> bool:
    """Whether the form opts in to 同意/退回/不同意 by declaring an enum field `decision`."""
    return any(f.get("id") == "decision" and f.get("type") == "enum"
               for f in form.get("fields", []))


def decide(uow: UnitOfWork, task_id: str, actor: Actor, decision: str, opinion: str,
           data: dict[str, Any] | None = None) -> InstanceView:
    """同意/退回/不同意: complete a decision task; an opinion is required to return or reject."""
    task = _write(uow, "decide", task_id, actor)
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
    return runtime.complete_task(uow, task_id, actor, data)


def transfer(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
             why: str = "") -> TaskView:
    """转办: hand the task to another user, who now holds it."""
    task = _write(uow, "transfer", task_id, actor)
    target = _target_user(uow, to_user, actor)
    before = task.assignee
    task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_transferred", task, before=before, after=target.username,
            why=why.strip() or None)
    uow.commit()
    return task_view(task)


def delegate(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
             why: str = "") -> TaskView:
    """委派: another user works on the task, then hands it back to the delegator to complete."""
    task = _write(uow, "delegate", task_id, actor)
    target = _target_user(uow, to_user, actor)
    task.candidates.append(TaskCandidate(kind=OWNER, name=actor.username))
    task.assignee, task.state = target.username, "claimed"
    _record(uow, actor, "task_delegated", task, before=actor.username, after=target.username,
            why=why.strip() or None)
    uow.commit()
    return task_view(task)


def resolve_delegation(uow: UnitOfWork, task_id: str, actor: Actor, opinion: str = "") -> TaskView:
    """办理完毕交回: the delegate hands the task back to the delegator, with an opinion."""
    task = _write(uow, "resolve_delegation", task_id, actor)
    owner = delegated_by(task)
    task.candidates = [c for c in task.candidates if c.kind != OWNER]
    task.assignee = owner
    _record(uow, actor, "task_delegation_resolved", task, before=actor.username, after=owner,
            opinion=opinion.strip() or None)
    uow.commit()
    return task_view(task)


def carbon_copy(uow: UnitOfWork, task_id: str, actor: Actor, to_user: str,
                note: str = "") -> TaskView:
    """抄送: let another user read the task and its history."""
    task = _write(uow, "carbon_copy", task_id, actor)
    target = _target_user(uow, to_user, actor)
    if target.username not in _kinds(task, CC):
        task.candidates.append(TaskCandidate(kind=CC, name=target.username))
    _record(uow, actor, "task_carbon_copied", task, to=target.username, note=note.strip() or None)
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
