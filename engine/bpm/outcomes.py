"""What happens after each choice of a task, read from the diagram (同意 → 下一步…, 退回 → 回到…).

From the task, the flows are followed through gateways, scripts, events and sub-processes to
the next steps people take (user tasks, called processes) or the end. A gateway whose
conditions test one of the task's own form fields (`review_decision == "close"`) is the
person's choice: each of its flows is one outcome, named by the field's value (办结销号) or
else by the flow's name; the default flow stands for the values no other flow names. Other
gateways are the process's own decisions: their conditions are read against the task's data
when they are of a simple form (`kind == "commitment"`, `committed`, `not listed`), and every
branch is kept otherwise. The walk never passes a step where people act, so it stays short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .process_model import Node, ProcessModel

GATEWAYS = ("exclusiveGateway", "inclusiveGateway")
STEPS = ("userTask", "manualTask", "callActivity", "receiveTask")
MAX_NODES = 60  # a walk from one task; more means a diagram too tangled to describe

_COMPARE = re.compile(r"""^\s*(?:\$\{|\#\{)?\s*([A-Za-z_]\w*)\s*(==|!=|\beq\b|\bne\b)\s*
                          (?:"([^"]*)"|'([^']*)'|(True|False|true|false|-?\d+))\s*\}?\s*$""",
                      re.VERBOSE)
_BARE = re.compile(r"^\s*(?:\$\{|#\{)?\s*(not\s+|!\s*)?([A-Za-z_]\w*)\s*\}?\s*$")


@dataclass(frozen=True)
class Step:
    """A step the process reaches: a task people take, or the end of the process."""

    element_id: str | None  # None: the process ends
    name: str
    lane: str | None = None
    back: bool = False  # drawn before the task: the process goes back to it (回到)


@dataclass(frozen=True)
class Outcome:
    """One choice and where it leads: `choice` is None when the task has a single way on."""

    choice: str | None
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class _Test:
    variable: str
    value: Any
    equal: bool = True


def _literal(groups) -> Any:
    double, single, other = groups
    if double is not None or single is not None:
        return double if double is not None else single
    if other in ("True", "true"):
        return True
    if other in ("False", "false"):
        return False
    return int(other)


def read_condition(text: str | None) -> _Test | None:
    """A simple condition as a test of one variable, or None when it is not that simple."""
    if not text:
        return None
    found = _COMPARE.match(text)
    if found:
        equal = found[2] in ("==", "eq")
        return _Test(found[1], _literal(found.groups()[2:]), equal)
    found = _BARE.match(text)
    if found and found[2] not in ("True", "False", "true", "false"):
        return _Test(found[2], True, not found[1])
    return None


def _holds(test: _Test, data: Mapping[str, Any]) -> bool | None:
    """Whether the test holds for the data; None when the data do not say."""
    if test.variable not in data:
        return None
    value = data[test.variable]
    same = bool(value) is test.value if isinstance(test.value, bool) else value == test.value
    return same if test.equal else not same


def outcomes(model: ProcessModel, element_id: str, data: Mapping[str, Any]
             ) -> list[Outcome]:
    """The outcomes of the task: one per choice the person makes, or one way on."""
    node = model.nodes.get(element_id)
    if node is None:
        return []
    targets = _targets(model, node)
    found: list[Outcome] | None = None
    if len(targets) == 1 and targets[0].kind in GATEWAYS:
        found = _choices(model, node, targets[0], data)
    if found is None:
        steps = _walk(model, targets, data)
        found = [Outcome(None, steps)] if steps else []
    depth = depths(model, node.process)
    here = depth.get(element_id, 0)
    return [Outcome(o.choice, tuple(
        Step(s.element_id, s.name, s.lane,
             s.element_id is not None and (s.element_id == element_id
                                           or depth.get(s.element_id, here + 1) < here))
        for s in o.steps)) for o in found]


def depths(model: ProcessModel, process: str) -> dict[str, float]:
    """How far from the process's start each node lies: flows counted from the start, and
    a sub-process's nodes between the sub-process and what follows it."""
    depth: dict[str, float] = {}

    def walk(container: str | None, base: float, scale: float) -> None:
        queue = [(n, 0) for n in model.nodes.values() if n.process == process
                 and n.container == container and n.kind == "startEvent"]
        while queue:
            node, d = queue.pop(0)
            if node.id in depth:
                continue
            depth[node.id] = base + d * scale
            if node.kind in ("subProcess", "transaction"):
                walk(node.id, depth[node.id] + scale / 1000, scale / 1000)
            following = _targets(model, node) + [
                b for b in model.nodes.values() if b.attached_to == node.id]
            queue.extend((n, d + 1) for n in following if n.id not in depth)

    walk(None, 0.0, 1.0)
    return depth


def _targets(model: ProcessModel, node: Node) -> list[Node]:
    return [model.nodes[model.flows[f].target] for f in node.outgoing
            if f in model.flows and model.flows[f].target in model.nodes]


def _choices(model: ProcessModel, task: Node, gateway: Node, data: Mapping[str, Any]
             ) -> list[Outcome] | None:
    """The gateway's flows as the person's choices, when its conditions test the task's fields."""
    flows = [model.flows[f] for f in gateway.outgoing if f in model.flows]
    tests = {flow.id: read_condition(flow.condition) for flow in flows}
    own = [t for t in tests.values() if t is not None and t.variable in task.form]
    if not own:
        return None
    field = own[0].variable
    variable = model.variables.get(field)
    options = dict(variable.options) if variable else {}
    named = {t.value for t in own if t.variable == field and t.equal}
    result = []
    for flow in flows:
        test = tests[flow.id]
        if test is not None and test.variable == field and test.equal:
            choice = options.get(str(test.value), flow.name or str(test.value))
        elif flow.id == gateway.default or (test is None and not flow.condition):
            rest = [name for value, name in options.items() if value not in named]
            choice = "、".join(rest) if rest else (flow.name or "其他")
        else:
            choice = flow.name or "其他"
        target = model.nodes.get(flow.target)
        steps = _walk(model, [target], data) if target is not None else ()
        result.append(Outcome(choice, steps))
    return result


def _walk(model: ProcessModel, start: list[Node], data: Mapping[str, Any]
          ) -> tuple[Step, ...]:
    """The steps people take next, or the end, reached from these nodes."""
    found: dict[str | None, Step] = {}
    seen: set[str] = set()
    queue = list(start)
    while queue and len(seen) < MAX_NODES:
        node = queue.pop(0)
        if node.id in seen:
            continue
        seen.add(node.id)
        if node.kind in STEPS:
            found.setdefault(node.id, Step(node.id, node.name or node.id, node.lane))
            continue
        if node.kind == "endEvent":
            if node.container is None:
                found.setdefault(None, Step(None, "办结"))
            else:  # the end of a sub-process: on after it
                container = model.nodes.get(node.container)
                if container is not None:
                    queue.extend(_targets(model, container))
            continue
        if node.kind in ("subProcess", "transaction"):
            queue.extend(model.starts_of(node.id))
            continue
        queue.extend(_followed(model, node, data))
    return tuple(found.values())


def _followed(model: ProcessModel, node: Node, data: Mapping[str, Any]) -> list[Node]:
    """The nodes after this one; at a gateway, the branches its conditions allow."""
    targets = _targets(model, node)
    if node.kind not in GATEWAYS or len(node.outgoing) < 2:
        return targets
    taken, default, unknown = [], None, []
    for flow_id in node.outgoing:
        flow = model.flows.get(flow_id)
        if flow is None or flow.target not in model.nodes:
            continue
        target = model.nodes[flow.target]
        if flow_id == node.default:
            default = target
            continue
        test = read_condition(flow.condition)
        holds = _holds(test, data) if test is not None else None
        if holds is True:
            taken.append(target)
        elif holds is None:
            unknown.append(target)
    if unknown:
        return taken + unknown + ([default] if default else [])
    if taken:
        return taken[:1] if node.kind == "exclusiveGateway" else taken
    return [default] if default else []
