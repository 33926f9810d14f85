"""Runtime services: start, list, claim, unclaim, complete, cancel, and read history.

Each service takes a unit of work, an actor and plain data, runs in one transaction and
returns plain data (never a SpiffWorkflow object). Instance state, the human-task and
timer projections and the audit events are written together or not at all.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    and_, func, literal, or_, select, true, tuple_, union_all, update,
)
from sqlalchemy.orm import Session

from ..core.audit import history
from ..core.calendar_admin import load_calendar
from ..core.clock import bind_clock
from .changes import finished_ids, summarise
from .compaction import compact
from .definitions import SPEC_CACHE, latest_deployment, resolve_bundle
from .forms import validate_task_data
from ..core.errors import (
    ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError,
    WorkflowExecutionError,
)
from ..core.identity import Actor
from ..core.models import NO_DUE, HumanTask, ProcessInstance, TaskCandidate
from ..core.notifications import notify
from .projection import (
    OFFERING_KINDS, OPEN_STATES, TaskRecord, load_task, load_tasks, sync_human_tasks,
    sync_timers, waiting_timers,
    offer_in_step, written_to_loaded,
)
from .expression_helpers import HELPERS
from .sandbox import make_script_engine
from .sla import sla_condition
from .state import dump_state, load_state
from ..core.uow import UnitOfWork


@dataclass(frozen=True)
class InstanceView:
    """A process instance as callers see it."""

    id: int
    process_key: str
    version: int
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    row_version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class TaskView:
    """A human task as the inbox sees it."""

    id: str
    instance_id: int
    process_key: str
    business_key: str | None
    element_id: str
    name: str
    lane: str | None
    state: str
    assignee: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    created_at: datetime
    due_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    form: dict
    documentation: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of an instance's history."""

    at: datetime
    actor: str
    action: str
    task_id: str | None
    detail: str


def task_view(task: HumanTask | TaskRecord) -> TaskView:
    """The plain view of a human-task row."""
    return TaskView(
        id=task.id, instance_id=task.instance_id, process_key=task.process_key,
        business_key=task.business_key, element_id=task.element_id, name=task.name,
        lane=task.lane, state=task.state, assignee=task.assignee,
        candidate_groups=tuple(c.name for c in task.candidates if c.kind == "group"),
        candidate_users=tuple(c.name for c in task.candidates if c.kind == "user"),
        created_at=task.created_at, due_at=task.due_at, ended_at=task.ended_at,
        ended_by=task.ended_by, form=task.form, documentation=task.documentation)


def instance_view(row: ProcessInstance, workflow: BpmnWorkflow | None = None) -> InstanceView:
    """The plain view of an instance row (with its process data when the workflow is given)."""
    return InstanceView(
        id=row.id, process_key=row.process_key, version=row.deployment.version,
        business_key=row.business_key, status=row.status, started_by=row.started_by,
        started_at=row.started_at, ended_at=row.ended_at, row_version=row.row_version,
        data=dict(workflow.data) if workflow is not None else {})


# ---------------------------------------------------------------- restore and save

@contextlib.contextmanager
def _engine_errors(where: str):
    """Turn a failing script, condition or decision into a domain error."""
    try:
        yield
    except SpiffWorkflowException as exc:
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or where
        raise WorkflowExecutionError(f"element '{element}' failed: {exc}; nothing was changed") from exc


@dataclass
class LiveInstance:
    """An instance row with its live workflow, and what the workflow was when it was loaded.

    `finished_before` (the tasks already finished) tells this call's work apart from
    earlier calls'; `timers_before` (the timers waiting, which the timer rows match) lets a
    save that leaves them as they were skip reading them again. Both move on at each save.
    """

    row: ProcessInstance
    workflow: BpmnWorkflow
    finished_before: frozenset[UUID] = frozenset()
    timers_before: dict | None = None


def load_instance(session: Session, row: ProcessInstance) -> LiveInstance:
    """The live workflow of an instance row, with the restricted script engine set again."""
    spec, subprocess_specs = SPEC_CACHE.get(session, row.bundle)
    workflow = load_state(row.state, spec, subprocess_specs)
    workflow.script_engine = make_script_engine(HELPERS)
    return LiveInstance(row, workflow, finished_ids(workflow), waiting_timers(workflow))


def restore(session: Session, row: ProcessInstance) -> BpmnWorkflow:
    """The live workflow of an instance row, for reading (saving needs `load_instance`)."""
    return load_instance(session, row).workflow


def save_instance(uow: UnitOfWork, live: LiveInstance, actor: Actor,
                  closed: dict[str, tuple[str, str]] | None = None) -> None:
    """Write the state and the task and timer projections, then run the save hooks."""
    now = uow.clock.now()
    row, workflow = live.row, live.workflow
    compact(workflow, finished_before=live.finished_before)
    row.state = dump_state(workflow)
    if workflow.is_completed() and row.status == "running":
        row.status, row.ended_at = "completed", now
        uow.audit.record(actor.username, "instance_completed", subject=f"instance:{row.id}",
                         instance_id=row.id)
    uow.session.flush()
    opened = tuple(sync_human_tasks(uow.session, row, workflow, now, closed))
    for task in opened:
        uow.audit.record(actor.username, "task_created", subject=f"instance:{row.id}",
                         instance_id=row.id, task_id=task.id, element=task.element_id,
                         name=task.name, assignee=task.assignee,
                         candidates=[c.name for c in task.candidates],
                         due_at=task.due_at.isoformat() if task.due_at else None)
        _notify_assigned(uow, task)
    if uow.save_hooks:
        summary = summarise(row, workflow, live.finished_before, opened, now)
        for hook in uow.save_hooks:
            hook(uow, summary, actor)
    live.timers_before = sync_timers(uow.session, row, workflow, live.timers_before)
    live.finished_before = finished_ids(workflow)


def _notify_assigned(uow: UnitOfWork, task: TaskRecord) -> None:
    """Tell the assignee, or else the candidates, that a task waits for them."""
    users = [task.assignee] if task.assignee else [c.name for c in task.candidates
                                                    if c.kind == "user"]
    groups = [] if task.assignee else [c.name for c in task.candidates if c.kind == "group"]
    if users or groups:
        notify(uow, kind="assigned", title=f"新待办：{task.name}", users=users, groups=groups,
               instance_id=task.instance_id, task_id=task.id)


def load_for_write(uow: UnitOfWork, instance_id: int) -> ProcessInstance:
    uow.begin_write()
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    return row


# ---------------------------------------------------------------- services

def start_instance(uow: UnitOfWork, process_key: str, actor: Actor, *,
                   business_key: str | None = None,
                   data: dict[str, Any] | None = None) -> InstanceView:
    """Start the latest version of a process and run it to its first wait."""
    uow.begin_write()
    deployment = latest_deployment(uow.session, process_key)
    if deployment is None or deployment.kind != "process":
        raise NotFoundError(f"no process is deployed under the key '{process_key}'")
    bundle = resolve_bundle(uow.session, deployment)
    spec, subprocess_specs = SPEC_CACHE.get(uow.session, bundle)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine(HELPERS))
    workflow.data.update(data or {})
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data or {})
    with bind_clock(uow.clock), _engine_errors(process_key):
        workflow.do_engine_steps()
    now = uow.clock.now()
    row = ProcessInstance(process_key=process_key, deployment_id=deployment.id, bundle=bundle,
                          business_key=business_key, status="running", state=b"",
                          started_by=actor.username, started_at=now)
    row.deployment = deployment
    uow.session.add(row)
    uow.session.flush()
    uow.audit.record(actor.username, "instance_started", subject=f"instance:{row.id}",
                     instance_id=row.id, process_key=process_key, version=deployment.version,
                     business_key=business_key, data=data or None)
    with bind_clock(uow.clock), _engine_errors(process_key):
        save_instance(uow, LiveInstance(row, workflow), actor)
    uow.commit()
    return instance_view(row, workflow)


def _visible(task: HumanTask | TaskRecord, actor: Actor) -> bool:
    if task.assignee == actor.username or task.ended_by == actor.username:
        return True
    return any((c.kind == "group" and c.name in actor.groups)
               or (c.kind == "user" and c.name == actor.username) for c in task.candidates)


def _task_for(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskRecord:
    task = load_task(uow.session, task_id)
    if task is None or not _visible(task, actor):
        # Another unit's task is not found, not merely forbidden: ids reveal nothing.
        raise NotFoundError(f"task {task_id} does not exist or is not yours to see")
    return task


def _set_assignee(uow: UnitOfWork, task: TaskRecord, assignee: str | None,
                  state: str) -> TaskRecord:
    """Write a claim or unclaim, provided nobody changed the assignee since it was read."""
    tasks = HumanTask.__table__
    written = uow.session.connection().execute(
        update(tasks).where(tasks.c.id == task.id, tasks.c.state.in_(OPEN_STATES),
                            tasks.c.assignee.is_(None) if task.assignee is None
                            else tasks.c.assignee == task.assignee)
        .values(assignee=assignee, state=state))
    if written.rowcount != 1:
        raise ConflictError(f"task '{task.name}' changed meanwhile; reload your task list")
    offer_in_step(uow.session.connection(), task.id, state, assignee, task.due_at)
    written_to_loaded(uow.session, task.id, assignee=assignee, state=state)
    return replace(task, assignee=assignee, state=state)


def _require_open(task: HumanTask | TaskRecord) -> None:
    if task.state not in OPEN_STATES:
        who = f" by {task.ended_by}" if task.ended_by else ""
        raise ConflictError(f"task '{task.name}' was already {task.state}{who}; "
                            "reload your task list")


def get_task(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """One task the actor may see."""
    return task_view(_task_for(uow, task_id, actor))


# Which open tasks a list holds: held by the actor, offered to them (nobody holds it), or both.
TASK_SCOPES = ("open", "mine", "group")
TaskKey = tuple[datetime, datetime, str]  # (due time or NO_DUE, created at, id): the list order


def task_key(task: TaskView) -> TaskKey:
    """Where a task sits in a task list: soonest due first, no due time last."""
    return (task.due_at or NO_DUE, task.created_at, task.id)


def _principals(actor: Actor) -> list[tuple[str, str]]:
    return [("group", name) for name in sorted(actor.groups)] + [("user", actor.username)]


def _narrowed(query, due, process_column, *, process_key, sla_state, now, calendar):
    if process_key is not None:
        query = query.where(process_column == process_key)
    if sla_state is not None:
        query = query.where(due < NO_DUE, sla_condition(sla_state, now, calendar, column=due))
    return query


def list_tasks(uow: UnitOfWork, actor: Actor, *, scope: str = "open",
               process_key: str | None = None, sla_state: str | None = None,
               after: TaskKey | None = None, limit: int = 200) -> list[TaskView]:
    """A page of the actor's open tasks, soonest due first (no due time last), after `after`.

    `scope`: "mine" (held by the actor), "group" (offered to their groups or to them by
    name, held by nobody) or "open" (both). Each group's offered tasks are read in order
    from an index and stop at `limit`, so a page costs the same with a thousand open tasks
    in the county as with a hundred thousand.
    """
    if scope not in TASK_SCOPES:
        raise ValueError(f"unknown task list scope {scope!r}; one of {TASK_SCOPES}")
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    filters = {"process_key": process_key, "sla_state": sla_state, "now": uow.clock.now(),
               "calendar": load_calendar(uow.session) if sla_state is not None else None}
    branches = []
    if scope in ("open", "mine"):
        due = func.coalesce(tasks.c.due_at, NO_DUE)
        query = select(tasks.c.id, due.label("due_sort"), tasks.c.created_at).where(
            tasks.c.assignee == actor.username, tasks.c.state.in_(OPEN_STATES))
        branches.append(_page_of(_narrowed(query, due, tasks.c.process_key, **filters),
                                 (due, tasks.c.created_at, tasks.c.id), after, limit))
    if scope in ("open", "group"):
        for kind, name in _principals(actor):
            query = select(candidates.c.task_id.label("id"), candidates.c.due_sort,
                           candidates.c.created_at).where(
                candidates.c.kind == kind, candidates.c.name == name,
                candidates.c.offered == true())
            if process_key is not None:
                query = query.join(tasks, tasks.c.id == candidates.c.task_id)
            query = _narrowed(query, candidates.c.due_sort, tasks.c.process_key, **filters)
            branches.append(_page_of(query, (candidates.c.due_sort, candidates.c.created_at,
                                             candidates.c.task_id), after, limit))
    listed = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    ids = list(uow.session.connection().execute(
        select(listed.c.id, listed.c.due_sort, listed.c.created_at).distinct()
        .order_by(listed.c.due_sort, listed.c.created_at, listed.c.id).limit(limit)).scalars())
    records = load_tasks(uow.session, ids)
    return [task_view(records[task_id]) for task_id in ids if task_id in records]


def _page_of(query, key: tuple, after: TaskKey | None, limit: int):
    if after is not None:
        query = query.where(tuple_(*key) > tuple_(*(literal(value, column.type)
                                                    for value, column in zip(after, key))))
    return query.order_by(*key).limit(limit)


def count_tasks(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    """How many open tasks the actor holds ("mine") and how many wait to be claimed ("group")."""
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    connection = uow.session.connection()
    mine = connection.execute(select(func.count()).select_from(tasks).where(
        tasks.c.assignee == actor.username, tasks.c.state.in_(OPEN_STATES))).scalar_one()
    group = connection.execute(select(func.count(candidates.c.task_id.distinct())).where(
        or_(*(and_(candidates.c.kind == kind, candidates.c.name == name)
              for kind, name in _principals(actor))),
        candidates.c.offered == true())).scalar_one()
    return {"mine": mine, "group": group}


def claim_task(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """Take a group task as one's own."""
    uow.begin_write()
    task = _task_for(uow, task_id, actor)
    _require_open(task)
    if task.assignee == actor.username:
        return task_view(task)
    if task.assignee is not None:
        raise ConflictError(f"task '{task.name}' was already claimed by {task.assignee}")
    task = _set_assignee(uow, task, actor.username, "claimed")
    uow.audit.record(actor.username, "task_claimed", subject=f"instance:{task.instance_id}",
                     instance_id=task.instance_id, task_id=task.id)
    uow.commit()
    return task_view(task)


def unclaim_task(uow: UnitOfWork, task_id: str, actor: Actor) -> TaskView:
    """Give a claimed task back to its candidate groups."""
    uow.begin_write()
    task = _task_for(uow, task_id, actor)
    _require_open(task)
    if task.assignee != actor.username:
        raise PermissionDeniedError(f"task '{task.name}' is not claimed by you")
    if not any(c.kind in OFFERING_KINDS for c in task.candidates):
        raise InvalidStateError(f"task '{task.name}' was assigned to you directly and has no "
                                "candidate group to go back to")
    task = _set_assignee(uow, task, None, "open")
    uow.audit.record(actor.username, "task_unclaimed", subject=f"instance:{task.instance_id}",
                     instance_id=task.instance_id, task_id=task.id)
    uow.commit()
    return task_view(task)


def complete_task(uow: UnitOfWork, task_id: str, actor: Actor,
                  data: dict[str, Any] | None = None, *,
                  task: TaskRecord | None = None) -> InstanceView:
    """Complete a task with the submitted data and run the process to its next wait.

    `task`: the row as the caller already read it in this unit of work after declaring
    the write (engine.task_actions does), so it is not read twice.
    """
    data = dict(data or {})
    uow.begin_write()
    if task is None or task.id != task_id:
        task = _task_for(uow, task_id, actor)
    _require_open(task)
    if task.assignee is not None and task.assignee != actor.username:
        raise PermissionDeniedError(f"task '{task.name}' is claimed by {task.assignee}")
    owner = next((c.name for c in task.candidates if c.kind == "owner"), None)
    if owner is not None:
        raise PermissionDeniedError(f"task '{task.name}' was delegated by {owner}; hand it back "
                                    "to them to complete")
    data = validate_task_data(task.form, data)
    live = load_instance(uow.session, load_for_write(uow, task.instance_id))
    row, workflow = live.row, live.workflow
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise ConflictError(f"task '{task.name}' is no longer waiting; reload and try again")
    uow.audit.record(actor.username, "task_completed", subject=f"instance:{row.id}",
                     instance_id=row.id, task_id=task_id, element=task.element_id,
                     name=task.name, data=data or None)
    with bind_clock(uow.clock), _engine_errors(task.element_id):
        spiff_task.data.update(data)
        spiff_task.run()
        workflow.do_engine_steps()
        save_instance(uow, live, actor,
                      closed={task.spiff_task_id: ("completed", actor.username)})
    uow.commit()
    return instance_view(row, workflow)


def cancel_instance(uow: UnitOfWork, instance_id: int, actor: Actor, reason: str) -> InstanceView:
    """Cancel a running instance: its open tasks close and its timers are dropped."""
    if not reason or not reason.strip():
        raise TaskDataError("a reason is required to cancel a process instance",
                            {"reason": ["required"]})
    row = load_for_write(uow, instance_id)
    if row.status != "running":
        raise ConflictError(f"process instance {instance_id} is already {row.status}")
    live = load_instance(uow.session, row)
    workflow = live.workflow
    with bind_clock(uow.clock), _engine_errors(row.process_key):
        workflow.cancel()
        row.status, row.ended_at = "cancelled", uow.clock.now()
        save_instance(uow, live, actor)
    uow.audit.record(actor.username, "instance_cancelled", subject=f"instance:{row.id}",
                     instance_id=row.id, why=reason.strip())
    uow.commit()
    return instance_view(row, workflow)


def get_instance(uow: UnitOfWork, instance_id: int) -> InstanceView:
    """An instance with its process data (restores the workflow)."""
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    return instance_view(row, restore(uow.session, row))


def instance_history(uow: UnitOfWork, instance_id: int) -> list[HistoryEntry]:
    """Who did what and when in an instance, oldest first, from the audit log."""
    if uow.session.get(ProcessInstance, instance_id) is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    return [HistoryEntry(e.at, e.actor, e.action, e.task_id, e.detail)
            for e in history(uow.session, instance_id=instance_id)]
