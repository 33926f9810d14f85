"""BPMN messages from other systems, asked of the same policy as the actions they trigger.

A message is a way into a running process. The issue process waits for `escalate_issue` and
`list_issue`, which the supervision desk sends when a person escalates or lists an issue;
the same message from outside goes through that very action (engine/county/desk_actions.py),
so its scope, its rules and its audit apply. Any other message may be sent only by the
integration role (`integration`, 系统对接) that an administrator gives another system's token.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..bpm import messages
from ..bpm.runtime import InstanceView, instance_view
from ..core.errors import ConflictError, NotFoundError, PermissionDeniedError
from ..core.identity import Actor
from ..core.models import ProcessInstance
from ..core.uow import UnitOfWork
from . import desk_actions
from .issue_ledger import ISSUE_PROCESS

INTEGRATION_ROLE = "integration"


def _escalate(uow: UnitOfWork, actor: Actor, instance_id: int, payload: dict) -> None:
    desk_actions.escalate_issue(uow, actor, instance_id, str(payload.get("reason") or ""))


def _list(uow: UnitOfWork, actor: Actor, instance_id: int, payload: dict) -> None:
    desk_actions.list_issue(uow, actor, instance_id, str(payload.get("reason") or ""))


# The messages of the issue process that stand for a desk action, and that action.
NAMED_ACTIONS = {"escalate_issue": _escalate, "list_issue": _list}


def _issue_instance(uow: UnitOfWork, name: str, business_key: str | None,
                    instance_id: int | None) -> int:
    query = select(ProcessInstance.id).where(ProcessInstance.process_key == ISSUE_PROCESS,
                                             ProcessInstance.status == "running")
    if business_key is not None:
        query = query.where(ProcessInstance.business_key == business_key)
    if instance_id is not None:
        query = query.where(ProcessInstance.id == instance_id)
    found = list(uow.session.execute(query.limit(2)).scalars())
    if not found:
        raise NotFoundError(f"no running issue waits for the message '{name}' under that "
                            "business key or instance id")
    if len(found) > 1:
        raise ConflictError(f"several issues wait for the message '{name}' under the business "
                            f"key '{business_key}'; send it to one instance id")
    return found[0]


def send_message(uow: UnitOfWork, actor: Actor, name: str, *, business_key: str | None = None,
                 instance_id: int | None = None,
                 payload: dict[str, Any] | None = None) -> InstanceView:
    """Deliver message `name` from another system, checked as the action it stands for."""
    payload = payload or {}
    action = NAMED_ACTIONS.get(name)
    if action is not None:
        uow.begin_write()
        target = _issue_instance(uow, name, business_key, instance_id)
        action(uow, actor, target, payload)
        return instance_view(uow.session.get(ProcessInstance, target))
    if INTEGRATION_ROLE not in actor.groups:
        raise PermissionDeniedError(f"the message '{name}' is not a supervision action; only an "
                                    f"account with the role '{INTEGRATION_ROLE}' sends it")
    return messages.send_message(uow, name, actor, business_key=business_key,
                                 instance_id=instance_id, payload=payload)

