"""Inbox queries: the open-task lists and their counts, tasks done, instances started.

Read-only: they query the projected tables and never restore a workflow. Who a task is
offered to is engine/bpm/task_access.py's rule (`principals`), matched here in SQL.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Integer, String, and_, bindparam, func, or_, select, true, tuple_, union_all,
)

from ..core.calendar_admin import load_calendar
from ..core.db import constants
from ..core.identity import Actor
from ..core.models import NO_DUE, Deployment, HumanTask, ProcessInstance, TaskCandidate
from ..core.uow import UnitOfWork
from .definition_admin import COMPLETED
from .projection import OPEN_STATES, TaskRecord, load_tasks
from .runtime import TaskView, task_view
from . import standing
from .sla import sla_condition
from .task_access import GROUP, USER, principals

# Which open tasks a list holds: held by the actor, offered to them (nobody holds it), or both.
TASK_SCOPES = ("open", "mine", "group")
TaskKey = tuple[datetime, datetime, str]  # (due time or NO_DUE, created at, id): the list order


@dataclass(frozen=True)
class InstanceSummary:
    """A process instance in a list: what it is, where it stands, and its open tasks."""

    id: int
    process_key: str
    process_name: str
    version: int
    business_key: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    open_tasks: tuple[str, ...]


def task_key(task: TaskView | TaskRecord) -> TaskKey:
    """Where a task sits in a task list: soonest due first, no due time last."""
    return (task.due_at or NO_DUE, task.created_at, task.id)


def _narrowed(query, due, process_column, *, process_key, sla_state, now, calendar):
    if process_key is not None:
        query = query.where(process_column == process_key)
    if sla_state is not None:
        query = query.where(due < NO_DUE, sla_condition(sla_state, now, calendar, column=due))
    return query


def _standing_pieces():
    """The parts of the lists and counts that read standing delegation (委托), built once
    with standing.NOW and standing.ME: the user's own by-name rows not handed to a stand-in,
    and the rows of the users the stand-in acts for."""
    tasks, candidates, delegations = HumanTask.__table__, TaskCandidate.__table__, standing.TABLE
    due = func.coalesce(tasks.c.due_at, NO_DUE)
    kept_task = ~standing.handed_away(tasks.c.created_at)
    kept_offer = ~standing.handed_away(candidates.c.created_at)
    held_for = (select(tasks.c.id, due.label("due_sort"), tasks.c.created_at)
                .join(delegations, delegations.c.delegator == tasks.c.assignee)
                .where(standing.standing_for(), standing.covers(tasks.c.created_at),
                       tasks.c.state.in_(OPEN_STATES)))
    offered_for = (select(candidates.c.task_id.label("id"), candidates.c.due_sort,
                          candidates.c.created_at)
                   .join(delegations, delegations.c.delegator == candidates.c.name)
                   .where(standing.standing_for(), standing.covers(candidates.c.created_at),
                          candidates.c.kind == USER, candidates.c.offered == true()))
    own = select(func.count()).select_from(tasks).where(
        tasks.c.assignee == standing.ME, tasks.c.state.in_(OPEN_STATES), kept_task)
    mine = select(own.scalar_subquery()
                  + select(func.count()).select_from(held_for.subquery()).scalar_subquery())
    offered = union_all(
        select(candidates.c.task_id).where(
            or_(and_(candidates.c.kind == GROUP,
                     candidates.c.name.in_(bindparam("groups", expanding=True))),
                and_(candidates.c.kind == USER, candidates.c.name == standing.ME, kept_offer)),
            candidates.c.offered == true()),
        select(offered_for.subquery().c.id)).subquery()
    group = select(func.count(offered.c.task_id.distinct()))
    # Up to a cap: a badge's "99+" stops reading at the cap, however many a group waits on.
    capped = select(func.count()).select_from(
        select(offered.c.task_id).distinct().limit(bindparam("cap")).subquery())
    return kept_task, kept_offer, held_for, offered_for, mine, group, capped


(_KEPT_TASK, _KEPT_OFFER, _HELD_FOR, _OFFERED_FOR, _COUNT_MINE, _COUNT_GROUP,
 _COUNT_GROUP_CAPPED) = _standing_pieces()


def list_tasks(uow: UnitOfWork, actor: Actor, *, scope: str = "open",
               process_key: str | None = None, sla_state: str | None = None,
               after: TaskKey | None = None, limit: int = 200) -> list[TaskView]:
    """A page of the actor's open tasks, soonest due first (no due time last), after `after`
    (see `list_task_records`)."""
    return [task_view(record) for record in list_task_records(
        uow, actor, scope=scope, process_key=process_key, sla_state=sla_state, after=after,
        limit=limit)]


def list_task_records(uow: UnitOfWork, actor: Actor, *, scope: str = "open",
                      process_key: str | None = None, sla_state: str | None = None,
                      after: TaskKey | None = None, limit: int = 200) -> list[TaskRecord]:
    """A page of the actor's open tasks as records with their candidates and who stands in
    now (what the table of task actions reads), soonest due first (no due time last), after
    `after`.

    `scope`: "mine" (held by the actor), "group" (offered to their groups or to them by
    name, held by nobody) or "open" (both). Each group's offered tasks are read in order
    from an index and stop at `limit`, so a page costs the same with a thousand open tasks
    in the county as with a hundred thousand.

    Standing delegation (委托, engine/bpm/standing.py) is read in the same statement: a
    stand-in's lists hold the tasks of the users it acts for now (their held ones in "mine",
    those offered to them by name in "group"), and theirs leave those tasks out meanwhile.
    """
    if scope not in TASK_SCOPES:
        raise ValueError(f"unknown task list scope {scope!r}; one of {TASK_SCOPES}")
    now = uow.clock.now()
    # task_access.principals: the actor's groups (sorted), then its name (standing.ME).
    groups = [name for kind, name in principals(actor) if kind == GROUP]
    shape = (scope, len(groups), process_key is not None, after is not None)
    if sla_state is None:
        statement = _list_statement(*shape)
    else:  # its bounds are times worked out now: built for this call
        statement = _list_statement.__wrapped__(*shape, sla=(sla_state, now,
                                                             load_calendar(uow.session)))
    values = {**standing.parameters(now, actor.username), "list_limit": limit,
              **{f"list_group_{n}": group for n, group in enumerate(groups)}}
    if process_key is not None:
        values["list_process"] = process_key
    if after is not None:
        values.update(zip(_AFTER, after))
    ids = list(uow.session.connection().execute(statement, values).scalars())
    records = load_tasks(uow.session, ids, now)
    return [records[task_id] for task_id in ids if task_id in records]


@functools.lru_cache(maxsize=256)
def _list_statement(scope: str, groups: int, by_process: bool, after: bool, sla=None):
    """The statement of `list_task_records` for one shape of list (which scope, how many
    groups, whether narrowed to a process, whether after a cursor), with everything that
    varies as a parameter: built once per shape (building it cost several milliseconds, many
    times what the database takes to answer it), then found compiled in SQLAlchemy's cache.
    """
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    filters = {"process_key": bindparam("list_process") if by_process else None,
               "sla_state": sla[0] if sla else None, "now": sla[1] if sla else None,
               "calendar": sla[2] if sla else None}
    limit = bindparam("list_limit", type_=Integer())
    branches = []
    if scope in ("open", "mine"):
        due = func.coalesce(tasks.c.due_at, NO_DUE)
        key = (due, tasks.c.created_at, tasks.c.id)
        held = select(tasks.c.id, due.label("due_sort"), tasks.c.created_at).where(
            tasks.c.assignee == standing.ME, tasks.c.state.in_(constants(OPEN_STATES)),
            _KEPT_TASK)
        for query in (held, _HELD_FOR):
            branches.append(_page_of(_narrowed(query, due, tasks.c.process_key, **filters),
                                     key, after, limit))
    if scope in ("open", "group"):
        key = (candidates.c.due_sort, candidates.c.created_at, candidates.c.task_id)
        names = [(GROUP, bindparam(f"list_group_{n}", type_=String())) for n in range(groups)]
        for kind, name in [*names, (USER, standing.ME)]:  # principals(actor), as parameters
            query = select(candidates.c.task_id.label("id"), candidates.c.due_sort,
                           candidates.c.created_at).where(
                candidates.c.kind == kind, candidates.c.name == name,
                candidates.c.offered == true())
            if kind == USER:
                query = query.where(_KEPT_OFFER)
            branches.append(_page_of(_offered_narrowed(query, **filters), key, after, limit))
        branches.append(_page_of(_offered_narrowed(_OFFERED_FOR, **filters), key, after, limit))
    listed = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    return (select(listed.c.id, listed.c.due_sort, listed.c.created_at).distinct()
            .order_by(listed.c.due_sort, listed.c.created_at, listed.c.id).limit(limit))


def _offered_narrowed(query, *, process_key, **filters):
    """A branch on candidate rows, narrowed like `_narrowed` (joining the task for its process)."""
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    if process_key is not None:
        query = query.join(tasks, tasks.c.id == candidates.c.task_id)
    return _narrowed(query, candidates.c.due_sort, tasks.c.process_key,
                     process_key=process_key, **filters)


_AFTER = ("after_due", "after_created", "after_id")


def _page_of(query, key: tuple, after: bool, limit):
    if after:
        query = query.where(tuple_(*key) > tuple_(*(bindparam(name, type_=column.type)
                                                    for name, column in zip(_AFTER, key))))
    return query.order_by(*key).limit(limit)


def count_tasks(uow: UnitOfWork, actor: Actor, *, cap: int | None = None) -> dict[str, int]:
    """How many open tasks the actor holds ("mine") and how many wait to be claimed ("group"),
    as `list_tasks` lists them (with the tasks it stands in for, 委托). With `cap`, the group
    count stops at it (the navigation's badge: a group may wait on thousands)."""
    connection = uow.session.connection()
    values = standing.parameters(uow.clock.now(), actor.username)
    mine = connection.execute(_COUNT_MINE, values).scalar_one()
    groups = {**values, "groups": sorted(actor.groups)}
    group = (connection.execute(_COUNT_GROUP, groups) if cap is None else
             connection.execute(_COUNT_GROUP_CAPPED, {**groups, "cap": cap})).scalar_one()
    return {"mine": mine, "group": group}


def handed_to_stand_in(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[TaskView]:
    """The actor's open tasks by name that its stand-in acts on now (委托), soonest due first."""
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    now, me = uow.clock.now(), actor.username
    offered = select(candidates.c.task_id).where(candidates.c.kind == USER,
                                                 candidates.c.name == me)
    ids = list(uow.session.connection().execute(
        select(tasks.c.id).where(
            tasks.c.state.in_(OPEN_STATES),
            or_(tasks.c.assignee == me,
                and_(tasks.c.assignee.is_(None), tasks.c.id.in_(offered))),
            standing.handed_away(tasks.c.created_at))
        .order_by(func.coalesce(tasks.c.due_at, NO_DUE), tasks.c.created_at, tasks.c.id)
        .limit(limit), standing.parameters(now, me)).scalars())
    records = load_tasks(uow.session, ids, now)
    return [task_view(records[task_id]) for task_id in ids if task_id in records]


def completed_tasks(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[TaskView]:
    """Tasks the actor completed, newest first."""
    query = (select(HumanTask).where(HumanTask.ended_by == actor.username,
                                     HumanTask.state == "completed")
             .order_by(HumanTask.ended_at.desc()).limit(limit))
    return [task_view(t) for t in uow.session.execute(query).scalars()]


def process_names(uow: UnitOfWork) -> dict[str, str]:
    """Process key → display name of the latest deployed version of each process."""
    rows = uow.session.execute(select(Deployment.key, Deployment.name).where(
        Deployment.kind == "process", Deployment.is_latest.is_(True))).all()
    return {key: name or key for key, name in rows}


def started_instances(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[InstanceSummary]:
    """Instances the actor started, newest first, with the names of their open tasks."""
    rows = list(uow.session.execute(
        select(ProcessInstance).where(ProcessInstance.started_by == actor.username)
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
        .limit(limit)).scalars())
    open_by_instance: dict[int, list[str]] = {}
    if rows:
        for instance_id, name in uow.session.execute(
                select(HumanTask.instance_id, HumanTask.name).where(
                    HumanTask.instance_id.in_([r.id for r in rows]),
                    HumanTask.state.in_(OPEN_STATES))):
            open_by_instance.setdefault(instance_id, []).append(name)
    return [InstanceSummary(r.id, r.process_key, r.deployment.name or r.process_key,
                            r.deployment.version, r.business_key, r.status, r.started_at,
                            r.ended_at, tuple(open_by_instance.get(r.id, ())))
            for r in rows]


@dataclass(frozen=True)
class TaskDiagram:
    """The diagram a task sits in: the process XML, the task's element, the finished elements."""

    xml: str
    current: tuple[str, ...]
    finished: tuple[str, ...]


def task_diagram(uow: UnitOfWork, task: HumanTask) -> TaskDiagram | None:
    """The diagram of the (sub)process holding the task, from the instance's own deployments.

    A task inside a called process (a permit item) is drawn on the called process's diagram,
    with the path finished in that call. None when no deployment holds the element.
    """
    row = uow.session.get(ProcessInstance, task.instance_id)
    if row is None:
        return None
    state = json.loads(row.state)
    scopes = [state, *state.get("subprocesses", {}).values()]
    scope = next((s for s in scopes if task.spiff_task_id in s.get("tasks", {})), state)
    finished = tuple(sorted({t["task_spec"] for t in scope.get("tasks", {}).values()
                             if t.get("state") == COMPLETED} - {task.element_id}))
    current = (task.element_id,) if task.state in OPEN_STATES else ()
    ids = [entry[0] for entry in row.bundle or []] or [row.deployment_id]
    marker = f'id="{task.element_id}"'
    for dep in uow.session.execute(select(Deployment).where(
            Deployment.id.in_(ids), Deployment.kind == "process")).scalars():
        if marker in dep.xml:
            return TaskDiagram(dep.xml, current, finished)
    return None
