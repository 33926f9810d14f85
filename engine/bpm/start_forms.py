"""Starting a process from a page: who may start it and the start event's form.

A process may be started by anyone in the lane that holds its start event (lane names are
role codes or their Chinese labels), or by anyone when the start event is in no lane. The
start form is the start event's `camunda:formData`, read from the deployed XML into the
same shape as a user task's form, and submitted data are validated against it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import select

from . import runtime
from ..core.errors import NotFoundError, PermissionDeniedError, TaskDataError
from .forms import text_problem, validate_task_data
from ..core.identity import Actor
from ..core.models import Deployment
from ..core.organisation import role_code
from ..core.uow import UnitOfWork
from .xmlsafe import parse_definition_xml

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
MAX_BUSINESS_KEY = 200  # the column's length


@dataclass(frozen=True)
class StartableProcess:
    """A deployed process as the start page lists it."""

    key: str
    name: str
    version: int
    lane: str | None
    form: dict


def _form_of(event: etree._Element) -> dict:
    form_data = event.find(f"{BPMN}extensionElements/{CAMUNDA}formData")
    if form_data is None:
        return {}
    fields = []
    for el in form_data.findall(f"{CAMUNDA}formField"):
        item: dict[str, Any] = {
            "id": el.get("id"), "label": el.get("label"), "type": el.get("type") or "string",
            "default": el.get("defaultValue"),
            "validation": {c.get("name"): c.get("config")
                           for c in el.iterfind(f"{CAMUNDA}validation/{CAMUNDA}constraint")},
            "properties": {p.get("id"): p.get("value")
                           for p in el.iterfind(f"{CAMUNDA}properties/{CAMUNDA}property")},
        }
        if item["type"] == "enum":
            item["options"] = [{"id": v.get("id"), "name": v.get("name")}
                               for v in el.findall(f"{CAMUNDA}value")]
        fields.append(item)
    return {"key": form_data.get("businessKey"), "fields": fields} if fields else {}


@functools.lru_cache(maxsize=256)
def _start_of(sha256: str, xml: str, key: str, filename: str) -> tuple[str | None, dict]:
    """(lane name, start form) of a process's none start event, cached by content hash."""
    root = parse_definition_xml(xml.encode("utf-8"), filename).root
    process = next((p for p in root.findall(f"{BPMN}process") if p.get("id") == key), None)
    if process is None:
        return None, {}
    events = [e for e in process.findall(f"{BPMN}startEvent")
              if not any(etree.QName(c).localname.endswith("EventDefinition") for c in e)]
    if not events:
        return None, {}
    event = events[0]
    lane = next((lane.get("name") for lane in process.iter(f"{BPMN}lane")
                 if event.get("id") in {r.text.strip() for r in lane.findall(f"{BPMN}flowNodeRef")
                                        if r.text}), None)
    return lane, _form_of(event)


def _describe(deployment: Deployment) -> StartableProcess:
    lane, form = _start_of(deployment.sha256, deployment.xml, deployment.key, deployment.filename)
    return StartableProcess(deployment.key, deployment.name or deployment.key,
                            deployment.version, lane, form)


def may_start(process: StartableProcess, actor: Actor) -> bool:
    """Whether the actor is in the start event's lane (or the start is in no lane)."""
    return process.lane is None or role_code(process.lane) in actor.groups \
        or process.lane in actor.groups


def startable_processes(uow: UnitOfWork, actor: Actor) -> list[StartableProcess]:
    """The latest deployed processes the actor may start, by name."""
    deployments = uow.session.execute(select(Deployment).where(
        Deployment.kind == "process", Deployment.is_latest.is_(True))
        .order_by(Deployment.name, Deployment.key)).scalars()
    return [p for p in map(_describe, deployments) if may_start(p, actor)]


def startable_process(uow: UnitOfWork, key: str, actor: Actor) -> StartableProcess:
    """One process the actor may start; NotFoundError or PermissionDeniedError otherwise."""
    deployment = uow.session.execute(select(Deployment).where(
        Deployment.key == key, Deployment.kind == "process",
        Deployment.is_latest.is_(True))).scalar_one_or_none()
    if deployment is None:
        raise NotFoundError(f"no process is deployed under the key '{key}'")
    process = _describe(deployment)
    if not may_start(process, actor):
        raise PermissionDeniedError(f"process '{key}' is started by the lane '{process.lane}', "
                                    f"which {actor.username} is not in")
    return process


def start_with_form(uow: UnitOfWork, key: str, actor: Actor, *, business_key: str | None,
                    data: dict[str, Any] | None = None) -> runtime.InstanceView:
    """Check the actor may start the process, validate the start form, and start it."""
    # The write is declared before the first read: on SQLite a read transaction cannot
    # become a write once another process has committed ("database is locked").
    uow.begin_write()
    process = startable_process(uow, key, actor)
    business_key = (business_key or "").strip() or None
    if business_key is not None:
        problem = text_problem(business_key)
        if len(business_key) > MAX_BUSINESS_KEY:
            problem = f"Longer than maximum length {MAX_BUSINESS_KEY}."
        if problem:
            raise TaskDataError(f"business key: {problem}", {"business_key": [problem]})
    checked = validate_task_data(process.form, dict(data or {}))
    return runtime.start_instance(uow, key, actor, business_key=business_key, data=checked)
