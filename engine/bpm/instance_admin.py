"""流程实例管理: every instance for the administrators, filtered, newest first, a page at a time.

The actions on a row (撤销 cancel, 挂起 suspend, 恢复 resume) are the transition table's
(engine/bpm/task_actions.py), each with a reason and an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.core.errors import PermissionDeniedError
from engine.core.identity import Actor
from engine.core.models import Deployment, ProcessInstance
from engine.core.uow import UnitOfWork

from .task_actions import ADMIN

PAGE = 50
STATUSES = ("running", "suspended", "completed", "cancelled")


@dataclass(frozen=True)
class InstanceFilter:
    """What the list is narrowed to (each None: any)."""

    process_key: str | None = None
    status: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    started_by: str | None = None
    before_id: int | None = None  # the page after the one ending at this id


@dataclass(frozen=True)
class InstanceRow:
    """One instance as the list shows it."""

    id: int
    process_key: str
    process_name: str
    version: int
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None


def list_instances(uow: UnitOfWork, actor: Actor, where: InstanceFilter,
                   limit: int = PAGE) -> list[InstanceRow]:
    """The instances that match, newest first (administrators only)."""
    if ADMIN not in actor.groups:
        raise PermissionDeniedError(f"{actor.username} may not list every instance")
    query = select(ProcessInstance, Deployment.name, Deployment.version).join(
        Deployment, Deployment.id == ProcessInstance.deployment_id)
    if where.process_key:
        query = query.where(ProcessInstance.process_key == where.process_key)
    if where.status in STATUSES:
        query = query.where(ProcessInstance.status == where.status)
    if where.started_from is not None:
        query = query.where(ProcessInstance.started_at >= where.started_from)
    if where.started_before is not None:
        query = query.where(ProcessInstance.started_at < where.started_before)
    if where.started_by:
        query = query.where(ProcessInstance.started_by == where.started_by)
    if where.before_id is not None:
        query = query.where(ProcessInstance.id < where.before_id)
    rows = uow.session.execute(query.order_by(ProcessInstance.id.desc()).limit(limit)).all()
    return [InstanceRow(row.id, row.process_key, name or row.process_key, version,
                        row.business_key, row.status, row.started_by, row.started_at,
                        row.ended_at) for row, name, version in rows]
