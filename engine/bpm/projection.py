"""Projections written with every save: ready human tasks and waiting timers as rows.

The inbox and the timer worker query these indexed tables; neither ever deserializes a
workflow. Both are brought in line with the workflow inside the same transaction as the
instance state, so they can never disagree with it after a commit.

**A task's title** is its BPMN name, unless the user task names what tells it apart with an
extension property (Camunda Modeler: the task's *Extension properties*)::

    <camunda:property name="gongjian:title" value="代办申报：${item_name}" />

Each `${variable}` is replaced by the variable's value when the task becomes ready (a
permit request's four items are then 代办申报：建设工程规划许可, 代办申报：建设用地审批 …,
not four rows of 代办申报); when a variable named has no plain value the BPMN name is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from uuid import uuid4

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, bindparam, case, event, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from . import standing
from .assignment import resolve_candidates, skip_disabled
from ..core.calendar_admin import current_calendar
from ..core.clock import as_utc
from ..core.db import constants
from ..core.errors import WorkflowExecutionError
from ..core.org_admin import inactive_users
from ..core.text_index import add_texts
from .expression_scan import due_date_as_python
from .statistics_days import count_open_steps, count_task_ends
from .expression_helpers import record_deadlines
from ..core.models import NO_DUE, HumanTask, ProcessInstance, TaskCandidate, TimerJob

OPEN_STATES = ("open", "claimed")
# Candidate kinds that offer a task (the others, "owner" and "cc", are kept by task_actions).
OFFERING_KINDS = ("group", "user")
# How a task row ends: done by its handler, sent back (退回), recalled by the previous
# handler (撤回), or cancelled by the process itself.
ENDED_STATES = ("completed", "returned", "withdrawn", "cancelled")


TITLE = "gongjian:title"  # the user task's extension property: its title with ${variables}
TITLE_LENGTH = 500  # the column's length
_PLACEHOLDER = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


def task_title(spec, data: dict) -> str:
    """The title of a ready user task: its `gongjian:title` filled from its data, else (or
    when a variable it names has no plain value) its BPMN name."""
    name = spec.bpmn_name or spec.bpmn_id
    template = (getattr(spec, "extensions", None) or {}).get(TITLE)
    if not template:
        return name
    values = []
    for variable in _PLACEHOLDER.findall(template):
        value = data.get(variable)
        if value is None or isinstance(value, (dict, list, tuple, bool)) or str(value) == "":
            return name
        values.append(str(value))
    filled = iter(values)
    title = _PLACEHOLDER.sub(lambda _m: next(filled), template).strip()
    return title[:TITLE_LENGTH] if title else name


def form_of(spec) -> dict:
    """The `camunda:formData` of a user task spec as plain data."""
    form = getattr(spec, "form", None)
    if form is None or not form.fields:
        return {}
    fields = []
    for field in form.fields:
        item = {
            "id": field.id, "label": field.label, "type": field.type,
            "default": field.default_value,
            "validation": {v.name: v.config for v in field.validation},
            "properties": {p.id: p.value for p in field.properties},
        }
        if field.type == "enum":
            item["options"] = [{"id": o.id, "name": o.name} for o in field.options]
        fields.append(item)
    return {"key": form.key, "fields": fields}


def ready_human_tasks(workflow: BpmnWorkflow) -> list:
    """READY user tasks of the workflow and of its subprocesses."""
    tasks = list(workflow.get_tasks(state=TaskState.READY, manual=True))
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.get_tasks(state=TaskState.READY, manual=True))
    return [t for t in tasks if hasattr(t.task_spec, "form")]


@dataclass(frozen=True)
class Due:
    """A task's due time, whether it is an estimate, and what it was counted from."""

    at: datetime | None
    provisional: bool = False
    basis_at: datetime | None = None
    working_days: int | None = None


def due_of(task, now: datetime) -> Due:
    """The task's due time from `camunda:dueDate`: a datetime, an ISO date/time or duration.

    When the expression counted working days (`add_working_days`) to the very moment it
    returned, the start and the count are kept, so the deadline can be recomputed once the
    year's holiday schedule is published.
    """
    written = getattr(task.task_spec, "due_date", None)
    if not written:
        return Due(None)
    expression = due_date_as_python(written)
    try:
        with record_deadlines() as calls:
            value = task.workflow.script_engine.evaluate(task, expression)
    except Exception as exc:
        raise WorkflowExecutionError(
            f"task '{task.task_spec.bpmn_id}': its due date '{expression}' failed: {exc}") from exc
    at = normalise_due(value, now, task.task_spec.bpmn_id)
    if at is None:
        return Due(None)
    provisional = current_calendar().is_provisional(at)
    for start, n, deadline in calls:
        if as_utc(deadline.due) == at:
            return Due(at, provisional or deadline.provisional, as_utc(start), n)
    return Due(at, provisional)


def due_time(task, now: datetime) -> datetime | None:
    """The task's due time from `camunda:dueDate` (see `due_of`)."""
    return due_of(task, now).at


def normalise_due(value, now: datetime, element_id: str) -> datetime | None:
    """A UTC due time from what a due-date expression returned."""
    if value is None or value == "":
        return None
    if hasattr(value, "due") and isinstance(value.due, datetime):  # a working-day Deadline
        return as_utc(value.due)
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), timezone.utc)
    if isinstance(value, str) and value.upper().startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    if isinstance(value, str):
        return as_utc(value)
    raise WorkflowExecutionError(f"task '{element_id}': its due date gave {value!r}, "
                                 "which is not a date, time or ISO duration")


@dataclass(frozen=True)
class Candidate:
    """Who a task is offered to: kind "group" or "user" (or "owner"/"cc", see task_actions)."""

    kind: str
    name: str


@dataclass(frozen=True)
class TaskRecord:
    """A human task row read or written without the ORM (the hot path of every completion)."""

    id: str
    spiff_task_id: str
    instance_id: int
    process_key: str
    business_key: str | None
    element_id: str
    name: str
    lane: str | None
    assignee: str | None
    state: str
    created_at: datetime
    due_at: datetime | None
    due_provisional: bool
    due_basis_at: datetime | None
    due_working_days: int | None
    ended_at: datetime | None
    ended_by: str | None
    form: dict
    documentation: str | None
    candidates: tuple[Candidate, ...] = ()
    # Its users by name whose stand-in acts for them now (委托), when read with `now`.
    standing: tuple[standing.Standing, ...] = ()
    # Its instance's status (running, suspended …) when read from the table; None when built.
    instance_status: str | None = None

    def row(self) -> dict:
        """The human_task columns."""
        return {name: getattr(self, name) for name in _TASK_COLUMNS}


_TASK_COLUMNS = tuple(c.name for c in HumanTask.__table__.columns)


def _task_reads(which):
    """The statement reading the tasks `which` selects with their candidates and the status
    of their instance, and the same reading who stands in at standing.NOW for the open ones'
    assignee and candidate users; built once (it runs at every completion and inbox page)."""
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    instances = ProcessInstance.__table__
    status = (select(instances.c.status).where(instances.c.id == tasks.c.instance_id)
              .scalar_subquery())
    plain = (select(tasks, candidates.c.kind.label("candidate_kind"),
                    candidates.c.name.label("candidate_name"),
                    status.label("instance_status"))
             .select_from(tasks.outerjoin(candidates, candidates.c.task_id == tasks.c.id))
             .where(which))
    is_open = tasks.c.state.in_(constants(OPEN_STATES))
    with_standing = plain.add_columns(
        case((is_open, standing.stand_in_of(tasks.c.assignee, tasks.c.created_at)))
        .label("assignee_stand_in"),
        case((and_(is_open, candidates.c.kind == "user"),
              standing.stand_in_of(candidates.c.name, tasks.c.created_at)))
        .label("candidate_stand_in"))
    return plain, with_standing


# Several tasks (a list parameter), and one task (a plain one: nothing to expand).
_READ_TASKS = _task_reads(HumanTask.__table__.c.id.in_(bindparam("task_ids", expanding=True)))
_READ_TASK = _task_reads(HumanTask.__table__.c.id == bindparam("task_id"))


def load_tasks(session: Session, task_ids, now: datetime | None = None
               ) -> dict[str, TaskRecord]:
    """Human tasks with their candidates, in one statement; by id (missing ids are left out).

    With `now`, the same statement reads who stands in now (委托, engine/bpm/standing.py)
    for the open tasks' assignee and candidate users.
    """
    return _records(session, _READ_TASKS, {"task_ids": list(task_ids)}, now)


def load_task(session: Session, task_id: str, now: datetime | None = None) -> TaskRecord | None:
    """One human task with its candidates (and, with `now`, who stands in for its users)."""
    return _records(session, _READ_TASK, {"task_id": task_id}, now).get(task_id)


def _records(session: Session, statements, parameters: dict, now: datetime | None
             ) -> dict[str, TaskRecord]:
    plain, with_standing = statements
    rows = session.connection().execute(
        plain if now is None else with_standing,
        parameters if now is None else {**parameters, **standing.parameters(now)}).all()
    columns: dict[str, dict] = {}
    found: dict[str, list[Candidate]] = {}
    standing_in: dict[str, dict[str, str]] = {}
    for row in rows:
        mapping = row._mapping
        if row.id not in columns:
            columns[row.id] = {name: mapping[name] for name in _TASK_COLUMNS}
            columns[row.id]["instance_status"] = row.instance_status
            found[row.id], standing_in[row.id] = [], {}
        if row.candidate_kind:
            found[row.id].append(Candidate(row.candidate_kind, row.candidate_name))
        if now is not None and row.assignee_stand_in:
            standing_in[row.id][row.assignee] = row.assignee_stand_in
        if now is not None and row.candidate_stand_in:
            standing_in[row.id][row.candidate_name] = row.candidate_stand_in
    return {task_id: TaskRecord(**values, candidates=tuple(found[task_id]), standing=tuple(
        standing.Standing(user, stand_in) for user, stand_in in standing_in[task_id].items()))
        for task_id, values in columns.items()}


_OFFER_IN_STEP = (
    update(TaskCandidate.__table__)
    .where(TaskCandidate.__table__.c.task_id == bindparam("of_task"),
           TaskCandidate.__table__.c.kind.in_(constants(OFFERING_KINDS)))
    .values(offered=bindparam("now_offered"), due_sort=bindparam("new_due_sort")))


def offer_in_step(connection, task_id: str, state: str, assignee: str | None,
                  due_at: datetime | None) -> None:
    """Copy a task's offer state and due time to its candidate rows (see TaskCandidate)."""
    connection.execute(_OFFER_IN_STEP, {"of_task": task_id,
                                        "now_offered": state == "open" and assignee is None,
                                        "new_due_sort": due_at or NO_DUE})


@event.listens_for(HumanTask, "after_update")
def _task_row_updated(_mapper, connection, task: HumanTask) -> None:
    # Changes made through the ORM (task actions, deadline recomputation) keep the copies too.
    offer_in_step(connection, task.id, task.state, task.assignee, task.due_at)


def written_to_loaded(session: Session, task_id: str, **values) -> None:
    """Give a task row already loaded in the session the values just written to its table."""
    loaded = session.identity_map.get(identity_key(HumanTask, task_id))
    if loaded is not None:
        for name, value in values.items():
            set_committed_value(loaded, name, value)


def project_task(session: Session, row: ProcessInstance, task, now: datetime) -> TaskRecord:
    """The row a ready user task projects to (a new id, created at `now`; not written)."""
    spec = task.task_spec
    who = resolve_candidates(task, task.workflow.script_engine)
    if who.users or who.assignee:
        who = skip_disabled(who, inactive_users(session, [*who.users, who.assignee]),
                            spec.lane, spec.bpmn_id)
    due = due_of(task, now)
    return TaskRecord(
        id=str(uuid4()), spiff_task_id=str(task.id), instance_id=row.id,
        process_key=row.process_key, business_key=row.business_key,
        element_id=spec.bpmn_id, name=task_title(spec, task.data), lane=spec.lane,
        assignee=who.assignee, state="claimed" if who.assignee else "open",
        created_at=now, due_at=due.at, due_provisional=due.provisional,
        due_basis_at=due.basis_at, due_working_days=due.working_days, ended_at=None,
        ended_by=None, form=form_of(spec), documentation=spec.documentation,
        candidates=tuple(dict.fromkeys([Candidate("group", g) for g in who.groups]
                                       + [Candidate("user", u) for u in who.users])))


def sync_human_tasks(session: Session, row: ProcessInstance, workflow: BpmnWorkflow,
                     now: datetime, closed: dict[str, tuple[str, str]] | None = None
                     ) -> list[TaskRecord]:
    """Insert newly ready tasks, close the ones no longer ready; returns the new rows.

    `closed` maps a SpiffWorkflow task id to how and by whom its open row just ended, e.g.
    ("completed", user), ("returned", user), ("withdrawn", user); any other open row that is
    no longer ready was cancelled by the process (a boundary event, an end, a cancel).

    This runs at every save, so it speaks to the tables directly (the ORM's unit of work
    cost more than the statements themselves); a row already loaded in the session is given
    the values written, so callers holding it see the same thing the database holds.
    """
    closed = closed or {}
    connection = session.connection()
    existing = {open_row.spiff_task_id: open_row for open_row in connection.execute(
        _OPEN_ROWS, {"instance_id": row.id})}
    ready = {str(t.id): t for t in ready_human_tasks(workflow)}
    ending = [(open_row, *closed.get(spiff_id, ("cancelled", None)))
              for spiff_id, open_row in existing.items() if spiff_id not in ready]
    if ending:
        connection.execute(_END_TASK, [{"task_id": open_row.id, "new_state": state, "now": now,
                                        "new_ended_by": ended_by}
                                       for open_row, state, ended_by in ending])
        connection.execute(_WITHDRAW_OFFER, [{"of_task": open_row.id} for open_row, *_ in ending])
        for open_row, state, ended_by in ending:
            written_to_loaded(session, open_row.id, state=state, ended_at=now, ended_by=ended_by)
        count_task_ends(session, row.process_key, [
            (open_row.element_id, state, ended_by, open_row.created_at, open_row.due_at, now)
            for open_row, state, ended_by in ending])
    created, task_rows, candidate_rows = [], [], []
    for spiff_id, task in ready.items():
        if spiff_id in existing:
            continue
        new = project_task(session, row, task, now)
        task_rows.append(new.row())
        candidate_rows.extend({"task_id": new.id, "kind": c.kind, "name": c.name,
                               "offered": new.state == "open", "due_sort": new.due_at or NO_DUE,
                               "created_at": now} for c in new.candidates)
        created.append(new)
    if task_rows:
        connection.execute(_INSERT_TASKS, task_rows)
        add_texts(session, row.id, {new.name for new in created})  # 搜索 finds them by title
    if task_rows or ending:
        count_open_steps(session, row.process_key, [new.element_id for new in created],
                         [open_row.element_id for open_row, *_ in ending])
    if candidate_rows:
        connection.execute(_INSERT_CANDIDATES, candidate_rows)
    return created


# The statements of every save, built once: SQLAlchemy then finds each compiled in its cache
# without building and hashing a new statement at every call.
_TASKS, _CANDIDATES = HumanTask.__table__, TaskCandidate.__table__
_OPEN_ROWS = select(_TASKS.c.spiff_task_id, _TASKS.c.id, _TASKS.c.element_id,
                    _TASKS.c.created_at, _TASKS.c.due_at).where(
    _TASKS.c.instance_id == bindparam("instance_id"),
    _TASKS.c.state.in_(constants(OPEN_STATES)))
_END_TASK = update(_TASKS).where(_TASKS.c.id == bindparam("task_id")).values(
    state=bindparam("new_state"), ended_at=bindparam("now"), ended_by=bindparam("new_ended_by"))
_WITHDRAW_OFFER = update(_CANDIDATES).where(
    _CANDIDATES.c.task_id == bindparam("of_task")).values(offered=False)
_INSERT_TASKS, _INSERT_CANDIDATES = insert(_TASKS), insert(_CANDIDATES)


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, tuple[str, datetime]]:
    """Task id → (element id, due time in UTC) of every waiting timer event."""
    timers = {}
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # a cycle: its next firing
            value = value.get("next")
        if value is None:
            continue
        if isinstance(value, str) and not value.upper().startswith("P"):
            due = as_utc(TimerEventDefinition.get_datetime(value))
        elif isinstance(value, datetime):
            due = as_utc(value)
        else:
            continue
        timers[str(task.id)] = (task.task_spec.bpmn_id, due)
    return timers


def sync_timers(session: Session, row: ProcessInstance, workflow: BpmnWorkflow,
                before: dict | None = None) -> dict:
    """Make the instance's timer rows match its waiting timers; returns those timers.

    `before`: the timers the rows are known to match (those of the last save), if known.
    """
    wanted = waiting_timers(workflow)
    if before == wanted:
        # Rows are written from the workflow at every save, so they already match the
        # timers it had when restored; none changed, so nothing needs reading or writing.
        return wanted
    existing = {t.id: t for t in session.execute(
        select(TimerJob).where(TimerJob.instance_id == row.id)).scalars()}
    for timer_id, job in existing.items():
        if timer_id not in wanted:
            session.delete(job)
    for timer_id, (element_id, due) in wanted.items():
        job = existing.get(timer_id)
        if job is None:
            session.add(TimerJob(id=timer_id, instance_id=row.id, element_id=element_id,
                                 due_at=due, next_run_at=due, attempts=0, incident=False))
        elif job.due_at != due:  # a cycle moved on to its next firing
            job.due_at, job.next_run_at = due, due
            job.attempts, job.incident, job.last_error = 0, False, None
    return wanted
