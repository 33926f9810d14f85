"""Delivering a BPMN signal to the instances that wait for it.

A message goes to the one instance it is correlated with (engine/bpm/messages.py); a signal
is a broadcast: every running instance waiting for a signal of that name receives it — an
intermediate catch event, a boundary event (also on a sub-process or call activity), an
event-based gateway — within the scope the sender gives:

- `all`: every running instance that waits for it;
- `business_key`: the running instances of one business key;
- `instance`: one instance id.

Nobody waiting is a NotFoundError. The payload lands in the catching task's data as
`<name>_payload`, as a message's does. Each instance receives the signal in its own
transaction, audited (`signal_received`); the whole call runs within one budget (steps and
CPU, engine/bpm/budget.py), so a broadcast cannot make the server work without end. An
instance whose process fails on the signal (a script, a condition) is left as it was and
reported with the reason; the others still receive it.

Only deployments that catch a signal of that name are looked at, read from their XML once
per content hash, so a signal does not restore every running instance of the county.

Signals thrown inside a process (an intermediate throw or an end event) are caught within
the same instance, by its catch and boundary events (a signal end event inside a sub-process
ends it through the sub-process's own boundary event: engine/bpm/parser.py reads the signal
of end events, which SpiffWorkflow 3.2 drops).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from sqlalchemy import select

from ..core.clock import bind_clock
from ..core.errors import ConflictError, NotFoundError, TaskDataError, WorkflowExecutionError
from ..core.identity import Actor
from ..core.models import Deployment, ProcessInstance
from ..core.uow import UnitOfWork
from .budget import service_budget
from .checks import BPMN_MODEL_NS
from .runtime import _engine_errors, load_instance, run_engine, save_instance

SCOPES = ("all", "business_key", "instance")
# Who may send a signal from outside: another system's token, or an administrator.
SENDING_ROLES = ("integration", "admin")
_CATCHING = ("intermediateCatchEvent", "boundaryEvent", "startEvent")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class SignalResult:
    """Where a signal went: the instances that received it, and those that failed on it."""

    name: str
    scope: str
    delivered: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def may_send_signal(actor: Actor) -> bool:
    """Whether the actor may send a signal from outside (integration role, administrators)."""
    return any(role in actor.groups for role in SENDING_ROLES)


@functools.lru_cache(maxsize=512)
def _caught_signals(sha256: str, xml: str) -> frozenset[str]:
    """The names of the signals a deployed file's catch and boundary events wait for."""
    del sha256  # the cache key: one content, one answer
    root = etree.fromstring(xml.encode("utf-8"), parser=_SAFE_PARSER)
    ns = {"bpmn": BPMN_MODEL_NS}
    names = {s.get("id"): s.get("name") for s in root.iterfind(".//bpmn:signal", ns)}
    caught = set()
    for definition in root.iterfind(".//bpmn:signalEventDefinition", ns):
        owner = definition.getparent()
        if etree.QName(owner).localname not in _CATCHING:
            continue
        ref = definition.get("signalRef")
        caught.add(names.get(ref) if ref else owner.get("name"))
    return frozenset(n for n in caught if n)


def _catching_deployments(uow: UnitOfWork, name: str) -> set[int]:
    rows = uow.session.execute(select(Deployment.id, Deployment.sha256, Deployment.xml).where(
        Deployment.kind == "process")).all()
    return {dep_id for dep_id, sha, xml in rows if name in _caught_signals(sha, xml)}


def _waits_for(workflow, name: str) -> bool:
    """Whether the workflow (or one of its sub-processes) has an event waiting for `name`:
    a catch or boundary event, or an event-based gateway with such an event."""
    event = BpmnEvent(SignalEventDefinition(name))
    return any(task.task_spec.catches(task, event)
               for task in workflow.event_manager.tasks.values())


def _check_scope(scope: str, business_key: str | None, instance_id: int | None) -> None:
    if scope not in SCOPES:
        raise TaskDataError(f"scope must be one of {', '.join(SCOPES)}",
                            {"scope": [f"one of {', '.join(SCOPES)}"]})
    if scope == "business_key" and not business_key:
        raise TaskDataError("scope 'business_key' needs a business_key",
                            {"business_key": ["required for scope business_key"]})
    if scope == "instance" and instance_id is None:
        raise TaskDataError("scope 'instance' needs an instance_id",
                            {"instance_id": ["required for scope instance"]})


def _candidates(uow: UnitOfWork, name: str, scope: str, business_key: str | None,
                instance_id: int | None) -> list[int]:
    """Running instances in scope whose bundle holds a deployment catching the signal."""
    catching = _catching_deployments(uow, name)
    if not catching:
        return []
    query = select(ProcessInstance.id, ProcessInstance.bundle).where(
        ProcessInstance.status == "running").order_by(ProcessInstance.id)
    if scope == "business_key":
        query = query.where(ProcessInstance.business_key == business_key)
    elif scope == "instance":
        query = query.where(ProcessInstance.id == instance_id)
    return [row_id for row_id, bundle in uow.session.execute(query).all()
            if any(dep_id in catching for dep_id, _sha in bundle)]


def send_signal(uow: UnitOfWork, name: str, actor: Actor, *, scope: str,
                business_key: str | None = None, instance_id: int | None = None,
                payload: dict[str, Any] | None = None) -> SignalResult:
    """Deliver signal `name` to the running instances in scope that wait for it."""
    if not name or len(name) > 200 or not name.isprintable():
        raise TaskDataError("a signal name has 1 to 200 printable characters",
                            {"name": ["1 to 200 printable characters"]})
    _check_scope(scope, business_key, instance_id)
    payload = payload or {}
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise TaskDataError(f"the payload must be plain JSON: {exc}") from exc
    result = SignalResult(name, scope)
    with service_budget():
        for candidate in _candidates(uow, name, scope, business_key, instance_id):
            try:
                if _deliver(uow, candidate, name, scope, actor, payload):
                    result.delivered.append(candidate)
            except (WorkflowExecutionError, ConflictError) as exc:
                uow.rollback()
                result.failed.append((candidate, str(exc)))
    if not result.delivered and not result.failed:
        where = {"all": "", "business_key": f" of business key '{business_key}'",
                 "instance": f" {instance_id}"}[scope]
        raise NotFoundError(f"no running instance{where} waits for the signal '{name}'")
    return result


def _deliver(uow: UnitOfWork, instance_id: int, name: str, scope: str, actor: Actor,
             payload: dict[str, Any]) -> bool:
    """Deliver the signal to one instance in its own transaction; False if it does not wait."""
    uow.begin_write()
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None or row.status != "running":
        uow.rollback()
        return False
    live = load_instance(uow.session, row)
    if not _waits_for(live.workflow, name):
        uow.rollback()
        return False
    uow.audit.record(actor.username, "signal_received", subject=f"instance:{row.id}",
                     instance_id=row.id, signal=name, scope=scope, payload=payload or None)
    event = BpmnEvent(SignalEventDefinition(name), payload={f"{name}_payload": payload})
    with bind_clock(uow.clock), _engine_errors(row.process_key):
        live.workflow.send_event(event)
        run_engine(live.workflow)
        save_instance(uow, live, actor)
    uow.commit()
    return True


__all__ = ["SCOPES", "SignalResult", "may_send_signal", "send_signal"]
