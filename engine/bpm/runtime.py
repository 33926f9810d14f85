"""The instance life cycle: start, load and save, run a task, cancel, read, history.

Each service takes a unit of work, an actor and plain data, runs in one transaction and
returns plain data (never a SpiffWorkflow object). Instance state, the human-task and
timer projections and the audit events are written together or not at all.

Acting on a task (claim, complete, cancel an instance …) is engine/bpm/task_actions.py's:
it reads the task once, checks it once against the transition table, then calls the
private completion and cancellation here. The inbox's queries are in engine/bpm/inbox.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from ..core.clock import bind_clock
from ..core.text_index import add_texts
from .budget import current_budget, service_budget
from .changes import finished_ids, summarise
from .compaction import compact
from .countersign import record_cut_short
from .definitions import SPEC_CACHE, latest_deployment, resolve_bundle
from .forms import validate_task_data
from .form_files import FieldFiles, bind_files, checked_files
from .pickers import checker
from ..core.errors import (
    ConflictError, NotFoundError, TaskDataError, WorkflowExecutionError,
)
from ..core.identity import Actor
from ..core.models import AuditEvent, Deployment, HumanTask, ProcessInstance
from ..core.notifications import notify
from .projection import TaskRecord, sync_human_tasks, sync_timers, waiting_timers
from .statistics_days import count_end, count_start
from .expression_helpers import HELPERS
from .sandbox import make_script_engine
from .state import dump_state, load_state
from . import standing
from .task_access import handlers_of
from ..core.uow import UnitOfWork
from ..core.workcalendar import local_date


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
    # (user, stand-in) of its users by name whose stand-in acts for them now (委托).
    standing: tuple[tuple[str, str], ...] = ()


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
        ended_by=task.ended_by, form=task.form, documentation=task.documentation,
        standing=tuple((s.delegator, s.stand_in) for s in getattr(task, "standing", ())))


@dataclass(slots=True)
class InstanceRecord:
    """An instance row read and written without the ORM (the hot path of every completion),
    with its deployment's version; a save moves its state, status, end and row version on."""

    id: int
    process_key: str
    deployment_id: int
    bundle: list
    business_key: str | None
    status: str
    state: bytes
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    row_version: int
    version: int


def instance_view(row: ProcessInstance | InstanceRecord,
                  workflow: BpmnWorkflow | None = None) -> InstanceView:
    """The plain view of an instance row (with its process data when the workflow is given)."""
    version = row.version if isinstance(row, InstanceRecord) else row.deployment.version
    return InstanceView(
        id=row.id, process_key=row.process_key, version=version,
        business_key=row.business_key, status=row.status, started_by=row.started_by,
        started_at=row.started_at, ended_at=row.ended_at, row_version=row.row_version,
        data=dict(workflow.data) if workflow is not None else {})


# ---------------------------------------------------------------- restore and save

@contextlib.contextmanager
def _engine_errors(where: str):
    """Run engine work within the call's budget; a failing script, condition or decision
    becomes a domain error."""
    try:
        with service_budget():
            yield
    except SpiffWorkflowException as exc:
        spec = getattr(exc, "task_spec", None)
        element = getattr(spec, "bpmn_id", None) or where
        raise WorkflowExecutionError(f"element '{element}' failed: {exc}; nothing was changed",
                                     element_id=element,
                                     element_name=getattr(spec, "bpmn_name", None)) from exc


def run_engine(workflow: BpmnWorkflow) -> None:
    """Run the workflow to its next wait, each step counted against the call's budget."""
    workflow.do_engine_steps(did_complete_task=current_budget().engine_step)


@dataclass
class LiveInstance:
    """An instance row with its live workflow, and what the workflow was when it was loaded.

    `finished_before` (the tasks already finished) tells this call's work apart from
    earlier calls'; `timers_before` (the timers waiting, which the timer rows match) lets a
    save that leaves them as they were skip reading them again. Both move on at each save.
    """

    row: ProcessInstance | InstanceRecord
    workflow: BpmnWorkflow
    finished_before: frozenset[UUID] = frozenset()
    timers_before: dict | None = None


def load_instance(session: Session, row: ProcessInstance | InstanceRecord) -> LiveInstance:
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
    state = dump_state(workflow)
    if workflow.is_completed() and row.status == "running":
        row.status, row.ended_at = "completed", now
        count_end(uow.session, row.process_key, row.status, row.started_at, now)
        uow.audit.record(actor.username, "instance_completed", subject=f"instance:{row.id}",
                         instance_id=row.id)
    write_state(uow.session, row, state)
    uow.session.flush()
    opened = tuple(sync_human_tasks(uow.session, row, workflow, now, closed))
    record_cut_short(uow, row, workflow, live.finished_before, actor.username)
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


# The columns a save writes: the state, and the status and end an instance may reach in it.
_SAVED = ("state", "status", "ended_at")
_INSTANCES = ProcessInstance.__table__
_WRITE_STATE = (update(_INSTANCES)
                .where(_INSTANCES.c.id == bindparam("instance_id"),
                       _INSTANCES.c.row_version == bindparam("read_version"))
                .values(state=bindparam("new_state"), status=bindparam("new_status"),
                        ended_at=bindparam("new_ended_at"),
                        row_version=bindparam("new_version")))


def write_state(session: Session, row: ProcessInstance | InstanceRecord, state: bytes) -> None:
    """Write the instance's state (with its status and end) guarded by its row version, as
    the ORM's version check would: a concurrent writer that saved first makes this fail
    with StaleDataError (the unit of work's ConflictError) and nothing is written.

    One statement built once, without the ORM's flush (a sizeable share of a completion);
    the row is then given the values written. An ORM row with other changes, or not yet
    inserted, is flushed by the ORM as before.
    """
    if isinstance(row, InstanceRecord):
        _write_guarded(session, row, state)
        row.state, row.row_version = state, row.row_version + 1
        return
    tracked = inspect(row)
    if not tracked.persistent or not set(tracked.committed_state) <= set(_SAVED):
        row.state = state
        session.flush()
        return
    _write_guarded(session, row, state)
    for name, value in (("state", state), ("status", row.status), ("ended_at", row.ended_at),
                        ("row_version", row.row_version + 1)):
        set_committed_value(row, name, value)


def _write_guarded(session: Session, row, state: bytes) -> None:
    version = row.row_version
    written = session.connection().execute(_WRITE_STATE, {
        "instance_id": row.id, "read_version": version, "new_state": state,
        "new_status": row.status, "new_ended_at": row.ended_at, "new_version": version + 1})
    if written.rowcount != 1:
        raise StaleDataError(f"process instance {row.id} was changed by another writer after "
                             f"it was read at row version {version}")


def _notify_assigned(uow: UnitOfWork, task: TaskRecord) -> None:
    """Tell the assignee, or else the candidates, that a task waits for them."""
    users, groups = handlers_of(task)
    # A task for a user by name reaches their stand-in instead while one acts for them (委托).
    users = standing.notified(uow.session, users, task.created_at, uow.clock.now())
    if users or groups:
        notify(uow, kind="assigned", title=f"新待办：{task.name}", users=users, groups=groups,
               instance_id=task.instance_id, task_id=task.id)


_READ_RECORD = (select(*_INSTANCES.c, Deployment.__table__.c.version)
                .join(Deployment.__table__, Deployment.__table__.c.id == _INSTANCES.c.deployment_id)
                .where(_INSTANCES.c.id == bindparam("instance_id")))


def record_for_write(uow: UnitOfWork, instance_id: int) -> ProcessInstance | InstanceRecord:
    """The instance, read after declaring the write, as a plain record (one statement built
    once, no ORM object); the ORM row when this unit of work already holds it, so nothing
    it holds goes stale. NotFoundError if there is none."""
    uow.begin_write()
    held = uow.session.identity_map.get(identity_key(ProcessInstance, instance_id))
    if held is not None:
        return held
    found = uow.session.connection().execute(_READ_RECORD, {"instance_id": instance_id}).first()
    if found is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    return InstanceRecord(**found._mapping)


def load_for_write(uow: UnitOfWork, instance_id: int) -> ProcessInstance:
    """The instance row, read after declaring the write; NotFoundError if there is none."""
    uow.begin_write()
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    return row


# ---------------------------------------------------------------- services

def start_instance(uow: UnitOfWork, process_key: str, actor: Actor, *,
                   business_key: str | None = None,
                   data: dict[str, Any] | None = None,
                   files: list[FieldFiles] | None = None) -> InstanceView:
    """Start the latest version of a process and run it to its first wait; `files` are the
    start form's checked attachments by field (engine/bpm/form_files.py), bound to it."""
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
        run_engine(workflow)
    now = uow.clock.now()
    row = ProcessInstance(process_key=process_key, deployment_id=deployment.id, bundle=bundle,
                          business_key=business_key, status="running", state=b"",
                          started_by=actor.username, started_at=now)
    row.deployment = deployment
    uow.session.add(row)
    uow.session.flush()
    count_start(uow.session, process_key, now)
    add_texts(uow.session, row.id, [business_key])  # 搜索 finds it by its key
    uow.audit.record(actor.username, "instance_started", subject=f"instance:{row.id}",
                     instance_id=row.id, process_key=process_key, version=deployment.version,
                     business_key=business_key, data=data or None)
    bind_files(uow, actor, files or [], instance_id=row.id, task_id=None)
    with bind_clock(uow.clock), _engine_errors(process_key):
        save_instance(uow, LiveInstance(row, workflow), actor)
    uow.commit()
    return instance_view(row, workflow)


def _complete_task(uow: UnitOfWork, task: TaskRecord, actor: Actor,
                   data: dict[str, Any] | None = None) -> InstanceView:
    """Run a task with the submitted data and the process on to its next wait.

    Private to engine.bpm.task_actions, the one way to act on a task: it read `task` once
    after declaring the write and checked it against the transition table; this checks only
    that the workflow still waits on it.
    """
    data = validate_task_data(task.form, dict(data or {}), checker(uow, actor),
                              today=local_date(uow.clock.now()))
    files = checked_files(uow, task.form, data, actor)
    live = load_instance(uow.session, record_for_write(uow, task.instance_id))
    row, workflow = live.row, live.workflow
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise ConflictError(f"task '{task.name}' is no longer waiting; reload and try again")
    uow.audit.record(actor.username, "task_completed", subject=f"instance:{row.id}",
                     instance_id=row.id, task_id=task.id, element=task.element_id,
                     name=task.name, data=data or None)
    bind_files(uow, actor, files, instance_id=row.id, task_id=task.id)
    with bind_clock(uow.clock), _engine_errors(task.element_id):
        spiff_task.data.update(data)
        spiff_task.run()
        run_engine(workflow)
        save_instance(uow, live, actor,
                      closed={task.spiff_task_id: ("completed", actor.username)})
    uow.commit()
    return instance_view(row, workflow)


def _cancel_instance(uow: UnitOfWork, row: ProcessInstance, actor: Actor,
                     reason: str) -> InstanceView:
    """Cancel a running instance: its open tasks close and its timers are dropped.

    Private to engine.bpm.task_actions, which read the row for writing and checked the
    table's `cancel` (running; its starter or an administrator).
    """
    if not reason or not reason.strip():
        raise TaskDataError("a reason is required to cancel a process instance",
                            {"reason": ["required"]})
    live = load_instance(uow.session, row)
    workflow = live.workflow
    with bind_clock(uow.clock), _engine_errors(row.process_key):
        workflow.cancel()
        row.status, row.ended_at = "cancelled", uow.clock.now()
        count_end(uow.session, row.process_key, row.status, row.started_at, row.ended_at)
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
    rows = uow.session.connection().execute(_HISTORY, {"instance_id": instance_id}).all()
    if not rows:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    return [HistoryEntry(*row[2:]) for row in rows if row.seq is not None]


# The instance outer-joined to its events, built once (the API answers every completion with
# the history): no row, no instance; one row without an event, an instance without history.
_EVENTS = AuditEvent.__table__
_HISTORY = (select(_INSTANCES.c.id, _EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor,
                   _EVENTS.c.action, _EVENTS.c.task_id, _EVENTS.c.detail)
            .select_from(_INSTANCES.outerjoin(_EVENTS, _EVENTS.c.instance_id == _INSTANCES.c.id))
            .where(_INSTANCES.c.id == bindparam("instance_id")).order_by(_EVENTS.c.seq))
