"""Lint rules: what SpiffWorkflow accepts at deploy but fails on at run time, or never notices.

`lint(root)` walks a parsed BPMN document and returns findings, each with a severity, the
element id and a message saying what to fix. Errors block a deploy; warnings are shown to the
designer and do not. The rules:

- `dangling-flow` (error): a sequence flow whose source or target is not in its process;
- `no-outgoing` (error): an activity, gateway or event other than an end event with no way on
  (SpiffWorkflow ends the token there silently);
- `unreachable` (error): an element that no path from a start event reaches;
- `no-path-to-end` (error): an element from which every path loops without reaching an end;
- `gateway-default` (warning): an exclusive or inclusive gateway with conditions but no default
  flow, which fails at run time when no condition holds;
- `candidate-group` (error): a literal candidate group (of a user task, or a process's
  candidate starter group) that names no role or org unit;
- `call-activity` (error): a call activity to a process that is neither in the file nor known;
- `call-cycle` (error): a process that calls itself, directly or through other processes
  (in the file or deployed), which would start instances without end;
- `fan-out` (error): a parallel, inclusive or complex gateway with more than `MAX_FAN_OUT`
  outgoing flows;
- `multi-instance` (error): a literal loop cardinality over `MAX_INSTANCES`;
- `timer-cycle` (error): a literal timer cycle firing more often than every
  `MIN_CYCLE_SECONDS` or repeating more than `MAX_CYCLE_REPEATS` times;
- `form-date` (error): a date form field's `min` or `max` that is neither a date nor a day
  counted from today (`today`, `today+1`)
- `form-pattern` (error): a form field `pattern` that RE2 cannot match in linear time
  (back-references, look-arounds) or that is too long;
- `form-picker` (error): a form field `picker` property that names nothing to pick, or is
  on a field that is not a string (engine/bpm/pickers.py);
- `unknown-variable` (warning): an expression reading a name that no form field, script,
  decision output, start data or multi-instance variable sets;
- `start-form` (warning): a start event people can start from 发起流程 (not marked
  `startable=false`; when another process calls it, only if marked `startable=true`) whose
  process reads names that nothing sets: nobody starting it by hand can give them
  (engine/bpm/start_forms.py);
- `translated` (info): a JUEL or bare ISO 8601 text, with the Python it runs as.

Dynamic parts (`${...}`) of candidate groups are skipped. The variable rule does not follow
the order of the flow: a name set anywhere in the process counts as set.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.errors import DefinitionError
from ..core.models import Deployment
from .expression_scan import DMN_INPUT_NAME, KIND_LABELS, find_expressions, python_reading
from .countersign import COUNTERS, results_variable
from .expression_helpers import registered_helper_names
from ..core.organisation import ROLES, UNIT_KINDS, OrgUnit, role_code
from .forms import date_bound_problem, form_of, pattern_problem, required_when_problem
from .pickers import ALIASES, FAMILIES, PICKER, parse_kind
from .starts import (
    called_processes, has_form_fields, marked_not_startable, none_start_events, startable_mark,
    starter_groups,
)
from .budget import MAX_CYCLE_REPEATS, MAX_FAN_OUT, MAX_INSTANCES, MIN_CYCLE_SECONDS
from .sandbox import SAFE_BUILTINS

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"

ERROR, WARNING, INFO = "error", "warning", "info"
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}

ACTIVITIES = frozenset({
    "task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask",
    "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
})
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                      "eventBasedGateway", "complexGateway"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent",
                    "intermediateThrowEvent", "boundaryEvent"})
FLOW_NODES = ACTIVITIES | GATEWAYS | EVENTS
CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})

_DYNAMIC = re.compile(r"[$#]\{")
# Names the engine itself puts into task data, or that conditions may always read.
_ENGINE_NAMES = frozenset({"True", "False", "None", DMN_INPUT_NAME})


@dataclass(frozen=True)
class Finding:
    """One problem found in a definition.

    `message` is the English text; `rule` and `params` let engine/bpm/finding_texts.py tell
    it in Chinese with a hint for the fix.
    """

    severity: str
    element_id: str | None
    message: str
    line: int | None = None
    rule: str = ""
    params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_error(self) -> bool:
        """Whether this finding blocks a deploy."""
        return self.severity == ERROR


@dataclass(frozen=True)
class LintContext:
    """What the lint can know beyond the file: deployed processes, org units, start data."""

    known_processes: frozenset[str] | None = None
    unit_codes: frozenset[str] | None = None
    decision_outputs: frozenset[str] = frozenset()
    start_data: frozenset[str] = frozenset()
    # What each deployed process calls (its `requires`), to find call cycles through them.
    deployed_calls: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_session(cls, session: Session, start_data: Iterable[str] = ()) -> LintContext:
        """The deployed process keys, decision outputs and org unit codes of the database."""
        rows = session.execute(select(Deployment.key, Deployment.kind, Deployment.requires)
                               .where(Deployment.is_latest.is_(True))).all()
        processes = frozenset(key for key, kind, _ in rows if kind == "process")
        calls = {key: frozenset(requires or ()) for key, kind, requires in rows
                 if kind == "process"}
        units = frozenset(session.execute(select(OrgUnit.code)).scalars())
        outputs = _deployed_decision_outputs(session)
        return cls(processes, units, outputs, frozenset(start_data), calls)


def _deployed_decision_outputs(session: Session) -> frozenset[str]:
    names: set[str] = set()
    for xml in session.execute(select(Deployment.xml).where(Deployment.is_latest.is_(True),
                                                            Deployment.kind == "decision")).scalars():
        try:
            root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False,
                                                                         no_network=True))
        except etree.XMLSyntaxError:
            continue
        names.update(decision_output_names(root))
    return frozenset(names)


def decision_output_names(root: etree._Element) -> set[str]:
    """The output names of the decision tables of a DMN document (their first dotted part)."""
    return {out.get("name").split(".")[0] for out in root.iter(etree.Element)
            if etree.QName(out).localname == "output" and out.get("name")}


def lint(root: etree._Element, context: LintContext | None = None) -> list[Finding]:
    """Every finding in a BPMN document (a DMN document yields none), errors first."""
    if etree.QName(root).namespace != BPMN:
        return []
    context = context or LintContext()
    findings: list[Finding] = []
    own_processes = {p.get("id") for p in root.iter(f"{{{BPMN}}}process")}
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("isExecutable", "true") == "false":
            continue
        for container in [process, *_subcontainers(process)]:
            findings.extend(_flow_findings(container))
        findings.extend(_gateway_findings(process))
        findings.extend(_candidate_group_findings(process, context))
        findings.extend(_call_activity_findings(process, own_processes, context))
        findings.extend(_limit_findings(process))
        findings.extend(_picker_findings(process))
        findings.extend(_variable_findings(process, context))
        findings.extend(_start_form_findings(process, called_processes(root), context))
        findings.extend(_translation_findings(process))
    findings.extend(_call_cycle_findings(root, context))
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 3), f.line or 0))


def errors_of(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that block a deploy."""
    return [f for f in findings if f.is_error]


# ---------------------------------------------------------------- flows and reachability

def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _subcontainers(process: etree._Element) -> list[etree._Element]:
    return [el for el in process.iter(etree.Element)
            if el is not process and _local(el) in CONTAINERS
            and etree.QName(el).namespace == BPMN]


def _label(element: etree._Element) -> str:
    name = element.get("name")
    kind = _local(element)
    return f"{kind} '{name}' ({element.get('id')})" if name else f"{kind} '{element.get('id')}'"


def _element(element: etree._Element) -> dict:
    """The params that name an element: its kind, name and id."""
    return {"kind": _local(element), "name": element.get("name"), "id": element.get("id")}


def _flow_findings(container: etree._Element) -> list[Finding]:
    nodes = {el.get("id"): el for el in container
             if _local(el) in FLOW_NODES and etree.QName(el).namespace == BPMN}
    flows = [el for el in container if _local(el) == "sequenceFlow"]
    ad_hoc = _local(container) == "adHocSubProcess"
    findings: list[Finding] = []
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    incoming: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        missing = [ref for ref in (source, target) if ref not in nodes]
        if missing:
            findings.append(Finding(ERROR, flow.get("id"), (
                f"sequence flow '{flow.get('id')}' is connected to '{missing[0]}', which is not "
                "an element of this process; reconnect both ends or delete the flow"),
                flow.sourceline, "dangling-flow", {"flow": flow.get("id"), "ref": missing[0]}))
            continue
        outgoing[source].append(target)
        incoming[target].append(source)
    for node_id, node in nodes.items():
        if _local(node) == "boundaryEvent" and node.get("attachedToRef") in nodes:
            outgoing[node.get("attachedToRef")].append(node_id)
            incoming[node_id].append(node.get("attachedToRef"))
    if ad_hoc:
        return findings  # the parts of an ad hoc subprocess are not connected by definition
    for node_id, node in nodes.items():
        kind = _local(node)
        if kind != "endEvent" and not _has_flow_out(node, outgoing[node_id], nodes):
            findings.append(Finding(ERROR, node_id, (
                f"{_label(node)} has no outgoing sequence flow; the process would stop there "
                "silently. Connect it to the next step or to an end event"),
                node.sourceline, "no-outgoing", _element(node)))
    starts = [i for i, n in nodes.items() if _is_entry(n)]
    reached = _walk(starts, outgoing)
    for node_id, node in nodes.items():
        if node_id not in reached:
            why = ("it has no incoming sequence flow" if not incoming[node_id]
                   else "no path from a start event leads to it")
            findings.append(Finding(ERROR, node_id, (
                f"{_label(node)} can never be reached: {why}. Connect it or delete it"),
                node.sourceline, "unreachable",
                {**_element(node), "no_incoming": not incoming[node_id]}))
    sinks = [i for i, n in nodes.items() if _local(n) == "endEvent" or not outgoing[i]]
    can_end = _walk(sinks, incoming)
    for node_id, node in nodes.items():
        if node_id in reached and node_id not in can_end:
            findings.append(Finding(ERROR, node_id, (
                f"{_label(node)} has no path to an end event: every way on loops back. "
                "Add a way out of the loop to an end event"),
                node.sourceline, "no-path-to-end", _element(node)))
    return findings


def _has_flow_out(node: etree._Element, targets: list[str], nodes: dict) -> bool:
    # A boundary event counted as a way on of its activity is not a sequence flow out of it.
    return any(_local(nodes[t]) != "boundaryEvent" or nodes[t].get("attachedToRef") != node.get("id")
               for t in targets)


def _is_entry(node: etree._Element) -> bool:
    if _local(node) == "startEvent":
        return True
    # Event subprocesses and compensation handlers start on their own.
    return node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true"


def _walk(starts: Iterable[str], edges: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    queue = list(starts)
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(edges.get(current, ()))
    return seen


# ---------------------------------------------------------------- gateways

def _gateway_findings(process: etree._Element) -> list[Finding]:
    findings = []
    flows = {f.get("id"): f for f in process.iter(f"{{{BPMN}}}sequenceFlow")}
    for gateway in process.iter(f"{{{BPMN}}}exclusiveGateway", f"{{{BPMN}}}inclusiveGateway"):
        out = [f for f in flows.values() if f.get("sourceRef") == gateway.get("id")]
        conditional = [f for f in out if f.find(f"{{{BPMN}}}conditionExpression") is not None]
        if len(out) > 1 and conditional and not gateway.get("default"):
            findings.append(Finding(WARNING, gateway.get("id"), (
                f"{_label(gateway)} has conditions on its flows but no default flow; when no "
                "condition holds the instance stops with an error. Mark one flow as default"),
                gateway.sourceline, "gateway-default", _element(gateway)))
    return findings


# ---------------------------------------------------------------- candidate groups

def split_names(text: str) -> list[str]:
    """Comma-separated names; commas inside `${...}` do not split."""
    tokens, depth, current = [], 0, []
    for char in text:
        depth += char == "{"
        depth -= char == "}" and depth > 0
        if char == "," and depth == 0:
            tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    tokens.append("".join(current))
    return [t.strip() for t in tokens if t.strip()]


def _candidate_group_findings(process: etree._Element, context: LintContext) -> list[Finding]:
    findings = []
    for name in starter_groups(process):
        reason = group_reason(name, context.unit_codes)
        if reason:
            findings.append(Finding(ERROR, process.get("id"),
                                    f"candidate starter group '{name}' {_group_text(reason)}",
                                    process.sourceline, "candidate-group",
                                    {**reason, "group": name, "starter": True}))
    for task in process.iter(f"{{{BPMN}}}userTask"):
        for name in split_names(task.get(f"{{{CAMUNDA}}}candidateGroups") or ""):
            reason = group_reason(name, context.unit_codes)
            if reason:
                findings.append(Finding(ERROR, task.get("id"),
                                        f"{_label(task)}: candidate group '{name}' "
                                        f"{_group_text(reason)}", task.sourceline,
                                        "candidate-group", {**reason, **_element(task),
                                                            "group": name, "starter": False}))
    return findings


def group_problem(name: str, unit_codes: Collection[str] | None) -> str | None:
    """Why a literal candidate group matches nobody, or None (dynamic parts are not judged)."""
    reason = group_reason(name, unit_codes)
    return _group_text(reason) if reason else None


def group_reason(name: str, unit_codes: Collection[str] | None) -> dict | None:
    """Why a literal candidate group matches nobody, as params: `no_unit` with the unit code,
    or `no_role` with the roles and whether the name is a unit's code; None when it matches."""
    if _DYNAMIC.search(name):
        return None
    roles = ", ".join(sorted(ROLES))
    if name.startswith("unit:"):
        code = name.removeprefix("unit:")
        if unit_codes is not None and code not in unit_codes:
            return {"reason": "no_unit", "code": code}
        return None
    role, _, unit = name.partition("@")
    if role_code(role) not in ROLES:
        return {"reason": "no_role", "roles": roles, "group": name,
                "is_unit": unit_codes is not None and name in unit_codes}
    if unit and unit_codes is not None and unit not in unit_codes:
        return {"reason": "no_unit", "code": unit}
    return None


def _group_text(reason: dict) -> str:
    if reason["reason"] == "no_unit":
        return f"names no org unit: there is no unit with the code '{reason['code']}'"
    hint = f"; for everyone of the unit write 'unit:{reason['group']}'" if reason["is_unit"] else ""
    return f"names no role (roles: {reason['roles']}){hint}"


# ---------------------------------------------------------------- call activities

def _call_activity_findings(process: etree._Element, own: set[str],
                            context: LintContext) -> list[Finding]:
    findings = []
    for call in process.iter(f"{{{BPMN}}}callActivity"):
        called = (call.get("calledElement") or "").strip()
        if not called:
            findings.append(Finding(ERROR, call.get("id"),
                                    f"{_label(call)} names no process to call; set 'calledElement'",
                                    call.sourceline, "call-activity-empty", _element(call)))
        elif (called not in own and context.known_processes is not None
              and called not in context.known_processes):
            findings.append(Finding(ERROR, call.get("id"), (
                f"{_label(call)} calls process '{called}', which is neither in this file nor "
                "deployed; deploy it first or correct the id"), call.sourceline, "call-activity",
                {**_element(call), "called": called}))
    return findings


def _calls_of(process: etree._Element) -> set[str]:
    return {(c.get("calledElement") or "").strip()
            for c in process.iter(f"{{{BPMN}}}callActivity")} - {""}


def _call_cycle_findings(root: etree._Element, context: LintContext) -> list[Finding]:
    """A process of the file that reaches itself again through call activities."""
    own = {p.get("id"): p for p in root.iter(f"{{{BPMN}}}process")}
    calls = {key: set(called) for key, called in context.deployed_calls.items()}
    calls.update({key: _calls_of(process) for key, process in own.items()})
    findings = []
    for key, process in own.items():
        path = _call_path(key, calls)
        if path is not None:
            first = next((c for c in process.iter(f"{{{BPMN}}}callActivity")
                          if (c.get("calledElement") or "").strip() == path[1]), process)
            findings.append(Finding(ERROR, first.get("id"), (
                f"process '{key}' calls itself ({' → '.join(path)}); each instance would "
                "start another without end. Break the cycle"), first.sourceline, "call-cycle",
                {"key": key, "path": " → ".join(path)}))
    return findings


def _call_path(start: str, calls: Mapping[str, set[str]]) -> list[str] | None:
    """The shortest chain of calls from `start` back to itself, if there is one."""
    queue, parents = [start], {}
    while queue:
        current = queue.pop(0)
        for called in sorted(calls.get(current, ())):
            if called == start:
                path = [called, current]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return list(reversed(path))
            if called not in parents and called in calls:
                parents[called] = current
                queue.append(called)
    return None


# ---------------------------------------------------------------- limits

def _limit_findings(process: etree._Element) -> list[Finding]:
    findings = []
    outgoing: dict[str, int] = {}
    for flow in process.iter(f"{{{BPMN}}}sequenceFlow"):
        outgoing[flow.get("sourceRef")] = outgoing.get(flow.get("sourceRef"), 0) + 1
    for gateway in process.iter(f"{{{BPMN}}}parallelGateway", f"{{{BPMN}}}inclusiveGateway",
                                f"{{{BPMN}}}complexGateway"):
        if outgoing.get(gateway.get("id"), 0) > MAX_FAN_OUT:
            findings.append(Finding(ERROR, gateway.get("id"), (
                f"{_label(gateway)} starts {outgoing[gateway.get('id')]} parallel branches; at "
                f"most {MAX_FAN_OUT} are allowed. Use a multi-instance activity over a list"),
                gateway.sourceline, "fan-out", {**_element(gateway), "limit": MAX_FAN_OUT,
                                                "count": outgoing[gateway.get("id")]}))
    for cardinality in process.iter(f"{{{BPMN}}}loopCardinality"):
        count = _literal(_as_python("loop_cardinality", cardinality.text))
        if isinstance(count, int) and count > MAX_INSTANCES:
            findings.append(Finding(ERROR, _owner_id(cardinality), (
                f"a multi-instance loop of {count} instances; at most {MAX_INSTANCES} are "
                "allowed"), cardinality.sourceline, "multi-instance",
                {"count": count, "limit": MAX_INSTANCES}))
    for constraint in process.iter(f"{{{CAMUNDA}}}constraint"):
        field = constraint.getparent().getparent()
        if (constraint.get("name") in ("min", "max") and field is not None
                and field.get("type") == "date"):
            problem = date_bound_problem(constraint.get("config"))
            if problem:
                task = next(e for e in constraint.iterancestors()
                            if etree.QName(e).namespace == BPMN and e.get("id"))
                findings.append(Finding(ERROR, task.get("id"), (
                    f"form field '{_owner_id(constraint)}': {problem}"), constraint.sourceline,
                    "form-date", {"field": _owner_id(constraint), "bound": constraint.get("name"),
                                  "config": constraint.get("config") or ""}))
        if constraint.get("name") == "required_when" and field is not None:
            task = next(e for e in constraint.iterancestors()
                        if etree.QName(e).namespace == BPMN and e.get("id"))
            fields_ = form_of(task).get("fields", [])
            spec = next((f for f in fields_ if f["id"] == field.get("id")), {})
            problem = required_when_problem(fields_, spec)
            if problem:
                findings.append(Finding(ERROR, task.get("id"), (
                    f"form field '{_owner_id(constraint)}': required_when {problem}"),
                    constraint.sourceline, "form-required-when",
                    {"field": _owner_id(constraint), "config": constraint.get("config") or ""}))
        if constraint.get("name") == "pattern":
            problem = pattern_problem(constraint.get("config") or "")
            if problem:
                task = next(e for e in constraint.iterancestors()
                            if etree.QName(e).namespace == BPMN and e.get("id"))
                findings.append(Finding(ERROR, task.get("id"), (
                    f"form field '{_owner_id(constraint)}': {problem}"), constraint.sourceline,
                    "form-pattern", {"field": _owner_id(constraint), "detail": problem}))
    for cycle in process.iter(f"{{{BPMN}}}timeCycle"):
        literal = _literal(_as_python("timer", cycle.text))
        problem = _cycle_problem(literal)
        if problem:
            findings.append(Finding(ERROR, _owner_id(cycle), problem[0], cycle.sourceline,
                                    "timer-cycle", {"cycle": literal, **problem[1]}))
    return findings


def _as_python(kind: str, text: str | None) -> str | None:
    """The Python a text runs as (a JUEL or bare ISO text is translated)."""
    translated, _refusal = python_reading(kind, text or "")
    return translated if translated is not None else text


def _literal(text: str | None):
    try:
        return ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _owner_id(element: etree._Element) -> str | None:
    while element is not None and element.get("id") is None:
        element = element.getparent()
    return element.get("id") if element is not None else None


def _cycle_problem(cycle) -> tuple[str, dict] | None:
    if not isinstance(cycle, str):
        return None
    try:
        repeats, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(cycle)
    except Exception:  # malformed: the run-time parse reports it with the element
        return None
    if duration.total_seconds() < MIN_CYCLE_SECONDS:
        return (f"the timer cycle '{cycle}' fires more often than every {MIN_CYCLE_SECONDS} "
                "seconds", {"too_often": True, "limit": MIN_CYCLE_SECONDS})
    if repeats > MAX_CYCLE_REPEATS:
        return (f"the timer cycle '{cycle}' repeats {repeats} times; at most "
                f"{MAX_CYCLE_REPEATS}", {"repeats": repeats, "limit": MAX_CYCLE_REPEATS})
    return None


# ---------------------------------------------------------------- variables

def names_set_in(process: etree._Element, context: LintContext) -> set[str]:
    """Names that forms, scripts, decisions, start data and multi-instance loops put into data."""
    names = set(context.start_data) | set(context.decision_outputs)
    for element in process.iter(etree.Element):
        local, ns = _local(element), etree.QName(element).namespace
        if ns == CAMUNDA and local in ("formField", "outputParameter") and element.get("id"):
            names.add(element.get("id"))
        if ns == CAMUNDA and local == "outputParameter" and element.get("name"):
            names.add(element.get("name"))
        if ns == BPMN and local == "script" and element.text:
            names |= _assigned(element.text)
        if ns == BPMN and local == "multiInstanceLoopCharacteristics":
            for attr in ("elementVariable", "collection"):
                if element.get(f"{{{CAMUNDA}}}{attr}"):
                    names.add(element.get(f"{{{CAMUNDA}}}{attr}"))
            names.add("loopCounter")
            names.update(COUNTERS)  # read by its completion condition (engine/bpm/countersign.py)
            if element.getparent() is not None and element.getparent().get("id"):
                names.add(results_variable(element.getparent().get("id")))
        if ns == BPMN and local == "businessRuleTask" and element.get(f"{{{CAMUNDA}}}resultVariable"):
            names.add(element.get(f"{{{CAMUNDA}}}resultVariable"))
        if ns == CAMUNDA and local == "property" and element.get("name") == "sets":
            names.update(n.strip() for n in (element.get("value") or "").split(","))
    return names


def _assigned(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _read(text: str, mode: str) -> set[str]:
    try:
        tree = ast.parse(text, mode="exec" if mode == "exec" else "eval")
    except (SyntaxError, ValueError):
        return set()
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return read - _assigned_in(tree)


def _assigned_in(tree: ast.AST) -> set[str]:
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for comp in (n for n in ast.walk(tree) if isinstance(n, ast.comprehension)):
        bound |= {n.id for n in ast.walk(comp.target) if isinstance(n, ast.Name)}
    return bound


def _unknown_reads(process: etree._Element, context: LintContext):
    """Each expression of the process with the names it reads that nothing sets."""
    known = (names_set_in(process, context) | set(SAFE_BUILTINS) | registered_helper_names()
             | _ENGINE_NAMES)
    for expression in find_expressions(process):
        if expression.mode == "name" or expression.kind.startswith("dmn_"):
            continue
        unknown = sorted(_read(expression.python_source, expression.mode) - known)
        if unknown:
            yield expression, unknown


def _variable_findings(process: etree._Element, context: LintContext) -> list[Finding]:
    findings = []
    for expression, unknown in _unknown_reads(process, context):
        if unknown:
            listing = ", ".join(f"'{n}'" for n in unknown)
            findings.append(Finding(WARNING, expression.element_id, (
                f"{expression.kind.replace('_', ' ')} reads {listing}, which no form field, "
                "script, decision output, start data or multi-instance loop of this process sets; "
                "check the spelling"), expression.line, "unknown-variable",
                {"expr_kind": expression.kind, "names": ", ".join(unknown)}))
    return findings


# ---------------------------------------------------------------- translations

def _translation_findings(process: etree._Element) -> list[Finding]:
    """What each JUEL or bare ISO text runs as, shown so the designer can check the reading."""
    findings = []
    for expression in find_expressions(process):
        if expression.translated is None:
            continue
        label = KIND_LABELS[expression.kind]
        written, python = expression.text.strip(), expression.translated
        if "{" in written:
            message = f"The {label} {written} is JUEL; it runs as the Python {python}."
        else:
            message = f"The {label} {written} is an ISO 8601 text; it runs as the Python {python}."
        findings.append(Finding(INFO, expression.element_id, message, expression.line,
                                "translated", {"expr_kind": expression.kind, "text": written,
                                               "python": python, "juel": "{" in written}))
    return findings


def refuse_lint_errors(root: etree._Element, filename: str,
                       context: LintContext | None = None) -> None:
    """Raise one DefinitionError listing every lint error (warnings never block)."""
    errors = errors_of(lint(root, context))
    if not errors:
        return
    first = errors[0]
    if len(errors) == 1:
        raise DefinitionError(first.message, filename=filename, line=first.line,
                              element_id=first.element_id, rule=first.rule, params=first.params)
    listing = "\n".join(f"- line {e.line}, element {e.element_id}: {e.message}" for e in errors)
    items = [{"rule": e.rule, "params": e.params, "message": e.message, "line": e.line,
              "element_id": e.element_id} for e in errors]
    raise DefinitionError(f"{len(errors)} lint errors:\n{listing}", filename=filename,
                          line=first.line, element_id=first.element_id, rule="several",
                          params={"items": items})


# ---------------------------------------------------------------- pickers and start forms

def _picker_findings(process: etree._Element) -> list[Finding]:
    findings = []
    for field_el in process.iter(f"{{{CAMUNDA}}}formField"):
        for prop in field_el.iterfind(f"{{{CAMUNDA}}}properties/{{{CAMUNDA}}}property"):
            if prop.get("id") != PICKER:
                continue
            owner = next((e.get("id") for e in field_el.iterancestors()
                          if etree.QName(e).namespace == BPMN and e.get("id")), None)
            where = f"form field '{field_el.get('id')}'"
            try:
                parse_kind(prop.get("value") or "")
            except ValueError as exc:
                findings.append(Finding(ERROR, owner, f"{where}: {exc}", prop.sourceline,
                                        "form-picker", _picker_params(field_el.get("id"),
                                                                      prop.get("value") or "")))
                continue
            if (field_el.get("type") or "string") != "string":
                findings.append(Finding(ERROR, owner, (
                    f"{where} is a picker but of type '{field_el.get('type')}'; a picker "
                    "is a string field (its value is the code of what is picked)"),
                    prop.sourceline, "form-picker", {"field": field_el.get("id"),
                                                     "value": prop.get("value") or "",
                                                     "reason": "type",
                                                     "type": field_el.get("type")}))
    return findings


def _picker_params(field_id: str | None, value: str) -> dict:
    """What is wrong with a picker property: no family, or narrowed to unknown kinds."""
    family, _, narrowing = ALIASES.get(value.strip(), value.strip()).partition(":")
    if family.strip() not in FAMILIES:
        return {"field": field_id, "value": value, "reason": "family",
                "families": ", ".join(FAMILIES)}
    known = {"unit": UNIT_KINDS, "user": ROLES}.get(family.strip(), ())
    unknown = [n.strip() for n in narrowing.split(",") if n.strip() and n.strip() not in known]
    return {"field": field_id, "value": value, "reason": "narrowing", "family": family.strip(),
            "unknown": ", ".join(unknown), "known": ", ".join(known)}


def _start_form_findings(process: etree._Element, called_here: frozenset[str],
                         context: LintContext) -> list[Finding]:
    """A start offered to people whose process reads names nobody starting it can give."""
    key = process.get("id")
    called = set(called_here).union(*context.deployed_calls.values())
    starts = none_start_events(process)
    if not starts or marked_not_startable(starts[0]):
        return []
    if key in called and startable_mark(starts[0]) is not True:
        return []  # the caller gives the data
    unknown = sorted({n for _, names in _unknown_reads(process, context) for n in names})
    if not unknown:
        return []
    event = starts[0]
    listing = ", ".join(f"'{n}'" for n in unknown[:10])
    where = ("its start form has no field for them" if has_form_fields(event)
             else "its start has no form")
    return [Finding(WARNING, event.get("id"), (
        f"{_label(event)}: people can start this process from 发起流程, but it reads "
        f"{listing}, which nothing sets and {where}; add start form fields (pickers for "
        "units, people and projects) or, when the system or another process starts it, "
        "mark the start event with the property startable=false and declare its start data "
        "with the property sets"), event.sourceline, "start-form",
        {**_element(event), "names": listing, "has_form": has_form_fields(event)})]
