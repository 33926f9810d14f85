"""A deployed process read for people: its variables' labels, its steps, flows and lanes.

The task page says what a task is about (engine/bpm/matter.py) and what happens after each
choice (engine/bpm/outcomes.py); both read the process as the designer drew it, from the
deployed XML, cached by the deployment's content hash:

- **variables**: every `camunda:formField` of the document (start events and user tasks) is
  a variable with a Chinese label, its type, the names of its enum values and its picker
  (`picker` field property: a unit, a person, a project);
- **nodes**: every flow node with its kind, name, lane, container (sub-process), extension
  properties, form field ids and outgoing flows;
- **flows**: sequence flows with their names and conditions, and each gateway's default.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select

from ..core.models import Deployment, ProcessInstance
from ..core.uow import UnitOfWork
from .starts import BPMN, CAMUNDA
from .xmlsafe import parse_definition_xml


@dataclass(frozen=True)
class Variable:
    """How a process variable is shown: its label, type, enum value names and picker."""

    name: str
    label: str
    type: str = "string"
    options: Mapping[str, str] = field(default_factory=dict)
    picker: str | None = None  # the `picker` property's text: unit, user:specialist, project…


@dataclass(frozen=True)
class Node:
    """A flow node of a process."""

    id: str
    kind: str  # the BPMN local tag: userTask, exclusiveGateway, endEvent, subProcess …
    name: str | None
    process: str  # the id of the bpmn:process holding it
    container: str | None  # the sub-process holding it, None at the process's top level
    lane: str | None
    properties: Mapping[str, str]
    form: tuple[str, ...]  # the ids of its form fields
    outgoing: tuple[str, ...]
    default: str | None  # a gateway's default flow
    attached_to: str | None = None  # a boundary event's activity


@dataclass(frozen=True)
class Flow:
    """A sequence flow."""

    id: str
    source: str
    target: str
    name: str | None
    condition: str | None


@dataclass(frozen=True)
class ProcessModel:
    """The nodes, flows and variables of one or more BPMN documents."""

    nodes: Mapping[str, Node]
    flows: Mapping[str, Flow]
    variables: Mapping[str, Variable]

    def starts_of(self, container: str) -> list[Node]:
        """The start events directly inside a sub-process."""
        return [n for n in self.nodes.values()
                if n.container == container and n.kind == "startEvent"]

    def merged(self, other: ProcessModel) -> ProcessModel:
        """This model with another's nodes, flows and variables added (this one's win)."""
        return ProcessModel({**other.nodes, **self.nodes}, {**other.flows, **self.flows},
                            {**other.variables, **self.variables})


def _variable(element: etree._Element) -> Variable | None:
    name, label = element.get("id"), element.get("label")
    if not name:
        return None
    options = {v.get("id"): v.get("name") or v.get("id")
               for v in element.findall(f"{CAMUNDA}value") if v.get("id")}
    picker = next((p.get("value") for p in element.iterfind(
        f"{CAMUNDA}properties/{CAMUNDA}property") if p.get("id") == "picker"), None)
    return Variable(name, label or "", element.get("type") or "string", options, picker)


def _properties(element: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") or "" for p in element.iterfind(
        f"{BPMN}extensionElements/{CAMUNDA}properties/{CAMUNDA}property") if p.get("name")}


def _lanes(process: etree._Element) -> dict[str, str]:
    lanes = {}
    for lane in process.iter(f"{BPMN}lane"):
        for ref in lane.findall(f"{BPMN}flowNodeRef"):
            if ref.text and ref.text.strip():
                lanes[ref.text.strip()] = lane.get("name") or ""
    return lanes


_NOT_NODES = {"laneSet", "sequenceFlow", "documentation", "extensionElements", "textAnnotation",
              "association", "dataObject", "dataObjectReference", "dataStoreReference",
              "ioSpecification", "property", "incoming", "outgoing"}


def read_model(root: etree._Element) -> ProcessModel:
    """The model of one parsed BPMN document."""
    nodes: dict[str, Node] = {}
    flows: dict[str, Flow] = {}
    variables: dict[str, Variable] = {}
    for element in root.iter(f"{CAMUNDA}formField"):
        variable = _variable(element)
        if variable is not None and variable.name not in variables:
            variables[variable.name] = variable
    for process in root.findall(f"{BPMN}process"):
        lanes = _lanes(process)
        _read_container(process, process.get("id") or "", None, lanes, nodes, flows)
    return ProcessModel(nodes, flows, variables)


def _read_container(container: etree._Element, process: str, sub: str | None,
                    lanes: dict[str, str], nodes: dict, flows: dict) -> None:
    for child in container:
        if not isinstance(child.tag, str):
            continue
        kind = etree.QName(child).localname
        if kind == "sequenceFlow":
            condition = child.find(f"{BPMN}conditionExpression")
            flows[child.get("id")] = Flow(
                child.get("id"), child.get("sourceRef"), child.get("targetRef"),
                child.get("name") or None,
                (condition.text or "").strip() or None if condition is not None else None)
            continue
        if kind in _NOT_NODES or not child.get("id"):
            continue
        node_id = child.get("id")
        form = tuple(f.get("id") for f in child.iterfind(
            f"{BPMN}extensionElements/{CAMUNDA}formData/{CAMUNDA}formField") if f.get("id"))
        nodes[node_id] = Node(
            node_id, kind, child.get("name") or None, process, sub,
            lanes.get(node_id) or (nodes[sub].lane if sub in nodes else None),
            _properties(child), form,
            tuple(r.text.strip() for r in child.findall(f"{BPMN}outgoing") if r.text),
            child.get("default"), child.get("attachedToRef"))
        if kind in ("subProcess", "transaction"):
            _read_container(child, process, node_id, lanes, nodes, flows)
    # A flow written without <outgoing> children still leaves its source.
    for flow in flows.values():
        source = nodes.get(flow.source)
        if source is not None and flow.id not in source.outgoing:
            nodes[flow.source] = Node(**{**source.__dict__,
                                         "outgoing": (*source.outgoing, flow.id)})


@functools.lru_cache(maxsize=128)
def _model_of(sha256: str, xml: str, filename: str) -> ProcessModel:
    return read_model(parse_definition_xml(xml.encode("utf-8"), filename).root)


def deployment_model(deployment: Deployment) -> ProcessModel:
    """The model of one deployed BPMN document (cached by its content hash)."""
    return _model_of(deployment.sha256, deployment.xml, deployment.filename)


def instance_model(uow: UnitOfWork, row: ProcessInstance) -> ProcessModel:
    """The model of an instance's process and the processes it calls, as deployed for it."""
    ids = [entry[0] for entry in row.bundle or []] or [row.deployment_id]
    if row.deployment_id not in ids:
        ids.insert(0, row.deployment_id)
    deployments = {d.id: d for d in uow.session.execute(select(Deployment).where(
        Deployment.id.in_(ids), Deployment.kind == "process")).scalars()}
    return combined(deployment_model(deployments[i]) for i in ids if i in deployments)


def combined(models: Iterable[ProcessModel]) -> ProcessModel:
    """The models in order as one (the first to name a node or variable wins)."""
    result = ProcessModel({}, {}, {})
    for model in models:
        result = result.merged(model)
    return result
