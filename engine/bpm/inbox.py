"""Inbox queries beyond the open-task list: tasks done and instances started.

Read-only: they query the projected tables and never restore a workflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .definition_admin import COMPLETED
from ..core.identity import Actor
from ..core.models import Deployment, HumanTask, ProcessInstance
from .projection import OPEN_STATES
from .runtime import TaskView, task_view
from ..core.uow import UnitOfWork

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
