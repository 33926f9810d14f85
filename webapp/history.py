"""An instance's audit history as a timeline for people: who, when, what, and their opinion."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from engine import runtime
from engine.organisation import UserAccount
from engine.uow import UnitOfWork

ACTIONS = {
    "instance_started": _l("发起流程"),
    "task_created": _l("生成待办"),
    "task_claimed": _l("认领"),
    "task_unclaimed": _l("取消认领"),
    "task_completed": _l("办理"),
    "task_decided": _l("审批"),
    "task_transferred": _l("转办"),
    "task_delegated": _l("委派"),
    "task_delegation_resolved": _l("委派办结交回"),
    "task_carbon_copied": _l("抄送"),
    "instance_completed": _l("流程办结"),
    "instance_cancelled": _l("流程撤销"),
    "timer_fired": _l("定时触发"),
}
DECISIONS = {"approve": _l("同意"), "return": _l("退回"), "reject": _l("不同意")}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline."""

    at: datetime
    actor: str
    action: str
    subject: str
    decision: str | None
    opinion: str | None


def timeline(uow: UnitOfWork, instance_id: int) -> list[TimelineEntry]:
    """The instance's history, oldest first; the completion that follows a decision is folded in."""
    names = dict(uow.session.execute(select(UserAccount.username, UserAccount.display_name)).all())
    entries: list[TimelineEntry] = []
    decided: set[str | None] = set()
    for item in runtime.instance_history(uow, instance_id):
        detail = json.loads(item.detail or "{}")
        if item.action == "task_completed" and item.task_id in decided:
            continue
        if item.action == "task_decided":
            decided.add(item.task_id)
        data = detail.get("data") or {}
        decision = detail.get("decision") or data.get("decision")
        subject = detail.get("name") or ""
        if item.action in ("task_transferred", "task_delegated", "task_carbon_copied"):
            target = detail.get("after") or detail.get("to")
            subject = f"{subject} → {names.get(target, target)}"
        entries.append(TimelineEntry(
            at=item.at, actor=names.get(item.actor, item.actor),
            action=str(ACTIONS.get(item.action, item.action)), subject=subject,
            decision=str(DECISIONS[decision]) if decision in DECISIONS else None,
            opinion=detail.get("opinion") or data.get("opinion") or detail.get("why")))
    return entries
