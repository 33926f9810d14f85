"""Delivering a BPMN message to the one instance waiting for it (correlation).

A message is addressed by its name and a business key and/or an instance id. The engine
finds the running instances of that key that wait for a message of that name: none is a
NotFoundError, more than one a ConflictError (the sender must say which instance), one
receives it. The payload lands in the process data as `<name>_payload`.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessageEventDefinition,
)
from sqlalchemy import select

from ..core.clock import bind_clock
from ..core.errors import ConflictError, NotFoundError, TaskDataError
from ..core.identity import Actor
from ..core.models import ProcessInstance
from .runtime import (
    InstanceView, _engine_errors, instance_view, load_instance, run_engine, save_instance,
)
from ..core.uow import UnitOfWork


def _waits_for(workflow, name: str) -> bool:
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return True
    return False


def send_message(uow: UnitOfWork, name: str, actor: Actor, *, business_key: str | None = None,
                 instance_id: int | None = None,
                 payload: dict[str, Any] | None = None) -> InstanceView:
    """Deliver message `name` to the one running instance of the key that waits for it."""
    if business_key is None and instance_id is None:
        raise TaskDataError("address a message by a business key, an instance id or both",
                            {"business_key": ["give business_key, instance_id or both"]})
    payload = payload or {}
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise TaskDataError(f"the payload must be plain JSON: {exc}") from exc
    uow.begin_write()
    query = select(ProcessInstance).where(ProcessInstance.status == "running")
    if business_key is not None:
        query = query.where(ProcessInstance.business_key == business_key)
    if instance_id is not None:
        query = query.where(ProcessInstance.id == instance_id)
    waiting = []
    for row in uow.session.execute(query).scalars():
        live = load_instance(uow.session, row)
        if _waits_for(live.workflow, name):
            waiting.append(live)
    target = " and ".join(part for part in (
        f"business key '{business_key}'" if business_key is not None else "",
        f"instance {instance_id}" if instance_id is not None else "") if part)
    if not waiting:
        raise NotFoundError(f"no running instance of {target} waits for the message '{name}'")
    if len(waiting) > 1:
        ids = ", ".join(str(live.row.id) for live in waiting)
        raise ConflictError(f"several instances of {target} wait for the message '{name}' "
                            f"(instances {ids}); send it to one instance id")
    live = waiting[0]
    row, workflow = live.row, live.workflow
    uow.audit.record(actor.username, "message_received", subject=f"instance:{row.id}",
                     instance_id=row.id, message=name, payload=payload or None)
    event = BpmnEvent(CamundaMessageEventDefinition(name),
                      payload={"payload": payload, "result_var": f"{name}_payload"})
    with bind_clock(uow.clock), _engine_errors(row.process_key):
        workflow.send_event(event)
        run_engine(workflow)
        save_instance(uow, live, actor)
    uow.commit()
    return instance_view(row, workflow)
