"""The open task rows of a migrated instance, projected again from its new version.

A task row is projected once, when its task becomes ready (engine/bpm/projection.py). An
instance moved to a newer version (engine/bpm/instance_migration.py) waits at the same tasks,
but the new version may name them differently, offer them to other groups or people, give
them a due date, another form or other documentation. `reproject_open_tasks` brings each
open row in line with the new version in place — its id, creation time and history stay —
inside the migration's transaction, and records one audit event per changed row with what
changed (before and after):

- name, lane, documentation and form are the new version's, so a task completed after the
  migration is validated against the new form;
- the due date is counted from when the task became ready, as if the new version had been
  in force then (its working-day basis and provisional mark follow); a due date the new
  version words as the old one did is kept as it stands (a recount by the calendar stays);
- the offer (candidate groups and users, with their inbox index copies) is the new
  version's; carbon copies stay. When the new version offers the task as the old one did,
  whoever holds it keeps it. When the offer changed: the person the new version assigns holds
  it; else the holder keeps it while still a candidate; else it goes back to the new
  candidates (a pending delegation ends with it), who are told, and so is the former holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import delete, insert, select, update

from ..core.clock import FrozenClock, bind_clock
from ..core.errors import NotFoundError, WorkflowExecutionError
from ..core.models import NO_DUE, HumanTask, ProcessInstance, TaskCandidate
from ..core.notifications import notify
from ..core.organisation import actor_for
from ..core.text_index import add_texts
from ..core.uow import UnitOfWork
from .projection import (
    OFFERING_KINDS, OPEN_STATES, Candidate, TaskRecord, load_tasks, offer_in_step,
    project_task, ready_human_tasks, written_to_loaded,
)
from .runtime import _engine_errors
from .task_access import OWNER, is_candidate

# The columns a new version decides, in the order the audit lists them.
DESIGNED = ("name", "lane", "documentation", "form", "due_at", "due_provisional",
            "due_basis_at", "due_working_days")


@dataclass(frozen=True)
class MovedTask:
    """One open task row after the migration: what changed, and who holds it now."""

    task_id: str
    element_id: str
    changed: tuple[str, ...]
    assignee: str | None
    state: str


def reproject_open_tasks(uow: UnitOfWork, row: ProcessInstance, old: BpmnWorkflow,
                         new: BpmnWorkflow, actor: str) -> list[MovedTask]:
    """Bring the instance's open task rows in line with the new version; those that changed.

    `new` is the workflow restored on the new version, `old` on the version it leaves.
    """
    ready_old = {str(t.id): t for t in ready_human_tasks(old)}
    ready_new = {str(t.id): t for t in ready_human_tasks(new)}
    task_ids = uow.session.execute(select(HumanTask.id).where(
        HumanTask.instance_id == row.id, HumanTask.state.in_(OPEN_STATES))
        .order_by(HumanTask.created_at, HumanTask.id)).scalars().all()
    moved = []
    for current in load_tasks(uow.session, task_ids).values():
        spiff_new = ready_new.get(current.spiff_task_id)
        if spiff_new is None:
            continue  # no longer ready: the next save closes it
        designed_new = _designed(uow, row, spiff_new, current.created_at)
        spiff_old = ready_old.get(current.spiff_task_id)
        designed_old = (_designed(uow, row, spiff_old, current.created_at)
                        if spiff_old is not None else None)
        result = _apply(uow, current, designed_old, designed_new, actor)
        if result is not None:
            moved.append(result)
    return moved


def projection_problem(uow: UnitOfWork, row: ProcessInstance, new: BpmnWorkflow) -> str | None:
    """Why the open tasks would not project on the new version, or None; writes nothing.

    The reason is an assignment or due-date expression failing on this instance's data.
    """
    open_since = dict(uow.session.execute(select(HumanTask.spiff_task_id, HumanTask.created_at)
                                          .where(HumanTask.instance_id == row.id,
                                                 HumanTask.state.in_(OPEN_STATES))).all())
    for task in ready_human_tasks(new):
        since = open_since.get(str(task.id))
        if since is None:
            continue
        try:
            _designed(uow, row, task, since)
        except WorkflowExecutionError as exc:
            return str(exc)
    return None


def _designed(uow: UnitOfWork, row: ProcessInstance, spiff_task, since: datetime) -> TaskRecord:
    """What the version of `spiff_task` makes of it, counted from when it became ready."""
    with bind_clock(FrozenClock(since)), _engine_errors(spiff_task.task_spec.bpmn_id):
        return project_task(uow.session, row, spiff_task, since)


def _offer(record: TaskRecord) -> tuple[str | None, frozenset[Candidate]]:
    return record.assignee, frozenset(c for c in record.candidates if c.kind in OFFERING_KINDS)


def _due_wording(record: TaskRecord | None) -> tuple:
    if record is None:
        return (None,)
    return record.due_at, record.due_working_days


def _still_candidate(uow: UnitOfWork, username: str, offer: TaskRecord) -> bool:
    try:
        return is_candidate(offer, actor_for(uow.session, username))
    except NotFoundError:
        return False


def _holder(uow: UnitOfWork, current: TaskRecord, new: TaskRecord,
            offer_changed: bool) -> tuple[str | None, bool]:
    """(who holds the task after the move, whether a pending delegation ends)."""
    if not offer_changed:
        return current.assignee, False
    if new.assignee is not None:
        return new.assignee, True
    owner = next((c.name for c in current.candidates if c.kind == OWNER), None)
    keeper = owner or current.assignee
    if keeper is not None and _still_candidate(uow, keeper, new):
        return current.assignee, False
    return None, owner is not None


def _apply(uow: UnitOfWork, current: TaskRecord, old: TaskRecord | None, new: TaskRecord,
           actor: str) -> MovedTask | None:
    """Write what changed for one row and audit it; None when nothing did."""
    values: dict[str, Any] = {name: getattr(new, name) for name in DESIGNED}
    if _due_wording(old) == _due_wording(new):
        for name in ("due_at", "due_provisional", "due_basis_at", "due_working_days"):
            values[name] = getattr(current, name)
    offer_changed = old is None or _offer(old) != _offer(new)
    assignee, delegation_ends = _holder(uow, current, new, offer_changed)
    values["assignee"] = assignee
    values["state"] = "claimed" if assignee else "open"
    changed = tuple(name for name, value in values.items() if getattr(current, name) != value)
    offered_before = frozenset(c for c in current.candidates if c.kind in OFFERING_KINDS)
    offered_after = frozenset(c for c in new.candidates if c.kind in OFFERING_KINDS)
    if offered_before != offered_after:
        changed += ("candidates",)
    if delegation_ends:
        changed += ("delegation",)
    if not changed:
        return None
    _write(uow, current, values, offered_after if "candidates" in changed else None,
           delegation_ends)
    detail = {name: [_plain(getattr(current, name)), _plain(values[name])]
              for name in changed if name in values}
    if "candidates" in changed:
        detail["candidates"] = [_names(offered_before), _names(offered_after)]
    uow.audit.record(actor, "task_migrated", subject=f"instance:{current.instance_id}",
                     instance_id=current.instance_id, task_id=current.id,
                     element=current.element_id, name=values["name"], changes=detail)
    _tell(uow, current, values, offered_after, offer_changed)
    return MovedTask(current.id, current.element_id, changed, assignee, values["state"])


def _write(uow: UnitOfWork, current: TaskRecord, values: dict[str, Any],
           offered: frozenset[Candidate] | None, delegation_ends: bool) -> None:
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    connection = uow.session.connection()
    connection.execute(update(tasks).where(tasks.c.id == current.id).values(**values))
    written_to_loaded(uow.session, current.id, **values)
    if values["name"] != current.name:
        add_texts(uow.session, current.instance_id, [values["name"]])
    dropped = (OFFERING_KINDS if offered is not None else ()) + ((OWNER,) if delegation_ends
                                                                 else ())
    if dropped:
        connection.execute(delete(candidates).where(candidates.c.task_id == current.id,
                                                    candidates.c.kind.in_(dropped)))
    if offered:
        connection.execute(insert(candidates), [
            {"task_id": current.id, "kind": c.kind, "name": c.name, "offered": False,
             "due_sort": values["due_at"] or NO_DUE, "created_at": current.created_at}
            for c in sorted(offered, key=lambda c: (c.kind, c.name))])
    offer_in_step(connection, current.id, values["state"], values["assignee"], values["due_at"])


def _tell(uow: UnitOfWork, current: TaskRecord, values: dict[str, Any],
          offered: frozenset[Candidate], offer_changed: bool) -> None:
    """Tell whoever the move gave the task to, and a holder it took the task from."""
    if not offer_changed:
        return
    name = values["name"]
    if current.assignee and current.assignee != values["assignee"]:
        notify(uow, kind="transferred", title=f"流程已更新，待办已转交他人：{name}",
               users=[current.assignee], instance_id=current.instance_id, task_id=current.id)
    if values["assignee"] and values["assignee"] != current.assignee:
        notify(uow, kind="assigned", title=f"新待办（流程已更新）：{name}",
               users=[values["assignee"]], instance_id=current.instance_id, task_id=current.id)
    elif values["assignee"] is None:
        notify(uow, kind="assigned", title=f"新待办（流程已更新）：{name}",
               users=sorted(c.name for c in offered if c.kind == "user"),
               groups=sorted(c.name for c in offered if c.kind == "group"),
               instance_id=current.instance_id, task_id=current.id)


def _names(offer: frozenset[Candidate]) -> list[str]:
    return sorted(f"{c.kind}:{c.name}" for c in offer)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


__all__ = ["MovedTask", "projection_problem", "reproject_open_tasks"]
