"""审批单: an instance as Chinese offices file it — the matter applied for, then every step
with who handled it (by name and unit), when, the decision and the opinion.

Read from the audit log (what happened, in order) and the start form (the labels of what
was applied for); shown only to those who may read the instance: whoever started it or may
see one of its tasks (engine/bpm/task_access.py), and whoever the domain's policy says
oversees every instance (the caller says so: `oversees`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select

from engine.core.attachments import of_instance
from engine.core.errors import NotFoundError
from engine.core.identity import SYSTEM, TIMER, Actor
from engine.core.models import HumanTask, ProcessInstance
from engine.core.org_admin import people
from engine.core.uow import UnitOfWork

from .runtime import instance_history
from .pickers import picker_of
from .start_forms import start_form
from .task_access import seen_by

STATUS = {"running": "办理中", "completed": "已办结", "cancelled": "已撤销", "suspended": "已挂起"}
DECISION = {"approve": "同意", "return": "退回", "reject": "不同意"}
# The audit actions that are steps on the sheet, with the outcome written when the event
# names no decision. A completion that follows a decision is the same step (folded in).
STEPS = {
    "instance_started": "提交申请",
    "task_completed": "已办理",
    "task_decided": None,
    "task_signed": "已会签",
    "task_returned": "退回",
    "task_withdrawn": "撤回",
    "task_delegation_resolved": "委派办结交回",
    "instance_cancelled": "撤销",
    "instance_completed": "办结",
}
BOOLEAN = {True: "是", False: "否"}


@dataclass(frozen=True)
class MatterLine:
    """One line of what was applied for: its label and its value as shown — or, for a
    picker's field (`family` unit, user or project), the code the caller names."""

    label: str
    value: str
    family: str | None = None


@dataclass(frozen=True)
class SheetStep:
    """One step: the task (or 申请/办结), who, the outcome, the opinion, when."""

    step: str
    person: str
    outcome: str
    opinion: str
    at: datetime


@dataclass(frozen=True)
class AttachedFile:
    """One file attached to the instance (附件): its name, size, who attached it and when."""

    name: str
    size: int
    person: str
    at: datetime


@dataclass(frozen=True)
class ApprovalSheet:
    """What the printed sheet holds."""

    instance_id: int
    process_name: str
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    matter: tuple[MatterLine, ...]
    steps: tuple[SheetStep, ...]
    attachments: tuple[AttachedFile, ...] = ()


def readable_instance(uow: UnitOfWork, instance_id: int, actor: Actor, *,
                      oversees: bool = False) -> ProcessInstance:
    """The instance when the actor may read it; NotFoundError otherwise (ids reveal nothing)."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    if not oversees:
        query = query.where(or_(
            ProcessInstance.started_by == actor.username,
            exists().where(HumanTask.instance_id == ProcessInstance.id, seen_by(actor))))
    row = uow.session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"process instance {instance_id} does not exist or is not yours to see")
    return row


def approval_sheet(uow: UnitOfWork, instance_id: int, actor: Actor, *,
                   oversees: bool = False) -> ApprovalSheet:
    """The approval sheet of an instance the actor may read."""
    row = readable_instance(uow, instance_id, actor, oversees=oversees)
    history = instance_history(uow, instance_id)
    details = [json.loads(item.detail or "{}") for item in history]
    files = of_instance(uow.session, row.id)
    names = people(uow.session, {row.started_by} | {item.actor for item in history}
                   | {d["on_behalf_of"] for d in details if d.get("on_behalf_of")}
                   | {f.uploaded_by for f in files})
    started = next((d for item, d in zip(history, details)
                    if item.action == "instance_started"), {})
    return ApprovalSheet(
        instance_id=row.id, process_name=row.deployment.name or row.process_key,
        business_key=row.business_key, status=STATUS.get(row.status, row.status),
        started_by=names.get(row.started_by, row.started_by), started_at=row.started_at,
        ended_at=row.ended_at,
        matter=_matter(row, started.get("data") or {}, {f.id: f.filename for f in files}),
        steps=tuple(_steps(history, details, names)),
        attachments=tuple(AttachedFile(f.filename, f.size, _who(f.uploaded_by, names),
                                       f.uploaded_at) for f in files))


def _matter(row: ProcessInstance, data: dict[str, Any],
            files: dict[str, str]) -> tuple[MatterLine, ...]:
    """The start form's fields with what was entered, in the form's order and words (a file
    field: the files' names)."""
    lines = []
    for field in start_form(row.deployment).get("fields", []):
        if field.get("id") in data:
            value = data[field["id"]]
            picker = picker_of(field)
            if field.get("type") == "file":
                shown = "、".join(files.get(v, "附件") for v in value or [])
            elif picker is not None and isinstance(value, str):
                lines.append(MatterLine(field.get("label") or field["id"], value, picker.family))
                continue
            else:
                shown = _shown(field, value)
            lines.append(MatterLine(field.get("label") or field["id"], shown))
    return tuple(lines)


def _shown(field: dict, value: Any) -> str:
    if isinstance(value, bool):
        return BOOLEAN[value]
    if field.get("type") == "enum":
        options = {o.get("id"): o.get("name") for o in field.get("options", [])}
        return str(options.get(value, value))
    return "" if value is None else str(value)


def _steps(history, details, names: dict[str, str]) -> list[SheetStep]:
    decided = {item.task_id for item in history if item.action == "task_decided"}
    steps = []
    for item, detail in zip(history, details):
        if item.action not in STEPS:
            continue
        if item.action == "task_completed" and item.task_id in decided:
            continue
        data = detail.get("data") or {}
        decision = detail.get("decision") or data.get("decision")
        outcome = DECISION.get(decision) or STEPS[item.action] or "已办理"
        person = _who(item.actor, names)
        if detail.get("on_behalf_of"):
            stand_in_for = detail["on_behalf_of"]
            person = f"{person}（代 {_who(stand_in_for, names)}）"
        step = detail.get("name") or {"instance_started": "申请",
                                      "instance_completed": "办结",
                                      "instance_cancelled": "撤销"}.get(item.action, "")
        opinion = detail.get("opinion") or data.get("opinion") or detail.get("reason") or ""
        steps.append(SheetStep(step, person, outcome, str(opinion), item.at))
    return steps


def _who(username: str, names: dict[str, str]) -> str:
    if username in names:
        return names[username]
    if username in (TIMER.username, SYSTEM):
        return "系统"
    if username.startswith("api:"):
        return f"外部系统（{username.removeprefix('api:')}）"
    return username
