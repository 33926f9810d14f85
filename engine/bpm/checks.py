"""Structural checks of a BPMN document that the XSD cannot express or reports badly.

The BPMN schema types ``id`` as ``xs:ID``, but libxml2 reports a duplicate as "not a valid value
of the atomic type 'xs:ID'" without naming the first use. A sequence flow whose end was deleted
passes the schema (IDREFs are not resolved) and SpiffWorkflow then fails with a message that
points elsewhere. A process without a start event parses, and fails only when it is started.
These checks run on the parsed tree before schema validation, so their plain messages win.

Some states of a file in the middle of modelling pass the schema but make SpiffWorkflow's
parser fail with a Python error (found by deploying mutated copies of every file, see
tests/designer/test_mutations.py): a business rule task without a decision, a boundary event
without a trigger, a reference to a message, signal, error or escalation that the file does
not define, and decision tables without ids, without a table or with rules that do not fit
their columns. They are refused here with the element's id.
"""

from __future__ import annotations

from lxml import etree

from ..core.errors import DefinitionError

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

_SEQUENCE_FLOW = f"{{{BPMN_MODEL_NS}}}sequenceFlow"
_START_EVENT = f"{{{BPMN_MODEL_NS}}}startEvent"
_PROCESS = f"{{{BPMN_MODEL_NS}}}process"
# Containers SpiffWorkflow starts through a start event of their own. Ad hoc subprocesses
# have none by definition (SpiffWorkflow refuses start events in them).
_SUBPROCESSES = (f"{{{BPMN_MODEL_NS}}}subProcess", f"{{{BPMN_MODEL_NS}}}transaction")
_CONTAINER_NAMES = {
    _PROCESS: "process",
    f"{{{BPMN_MODEL_NS}}}subProcess": "subprocess",
    f"{{{BPMN_MODEL_NS}}}transaction": "transaction",
    f"{{{BPMN_MODEL_NS}}}adHocSubProcess": "ad hoc subprocess",
}


def check_references(root: etree._Element, filename: str) -> None:
    """Refuse duplicate ids, sequence flows to missing elements, processes without a start
    event, business rule tasks without a decision, boundary events without a trigger and
    event references to nothing."""
    check_unique_ids(root, filename)
    _check_sequence_flows(root, filename)
    _check_start_events(root, filename)
    _check_business_rule_tasks(root, filename)
    _check_boundary_events(root, filename)
    _check_event_references(root, filename)


def check_unique_ids(root: etree._Element, filename: str) -> None:
    """Refuse a document (BPMN or DMN) in which two elements share an ``id``."""
    first_use: dict[str, etree._Element] = {}
    for element in root.iter(etree.Element):
        element_id = element.get("id")
        # Camunda's form fields and values carry ids local to their task: Camunda Modeler
        # files reuse them across tasks (an `approved` field on two tasks), so they are
        # not document ids.
        if element_id is None or element.tag.startswith(f"{{{CAMUNDA_NS}}}"):
            continue
        earlier = first_use.setdefault(element_id, element)
        if earlier is not element:
            raise DefinitionError(
                f"The id '{element_id}' is used twice: by {_kind_of(earlier)} on line "
                f"{earlier.sourceline} and by {_kind_of(element)} on line {element.sourceline}. "
                "Give each element its own id.",
                filename=filename, line=element.sourceline, element_id=element_id,
                rule="duplicate-id", params={"id": element_id, "first_kind": _kind_of(earlier),
                                             "first_line": earlier.sourceline,
                                             "kind": _kind_of(element),
                                             "line": element.sourceline})


def _check_sequence_flows(root: etree._Element, filename: str) -> None:
    """A sequence flow connects two elements of the process or subprocess that holds it."""
    all_ids = {element.get("id") for element in root.iter(etree.Element)}
    for flow in root.iter(_SEQUENCE_FLOW):
        container = flow.getparent()
        if container.tag not in _CONTAINER_NAMES:
            continue  # a flow in the wrong place is a schema violation; the XSD check reports it
        sibling_ids = {child.get("id") for child in container}
        for attribute, verb in (("sourceRef", "starts at"), ("targetRef", "ends at")):
            ref = flow.get(attribute)
            # A missing attribute is a schema violation; the XSD check reports it.
            if ref is None or ref in sibling_ids:
                continue
            flow_id = flow.get("id", "(without id)")
            where = _describe_container(container)
            if ref in all_ids:
                rule = "flow-leaves-container"
                fix = (f"'{ref}' is not inside {where}. A sequence flow cannot leave its process "
                       "or subprocess; connect pools with a message flow instead.")
            else:
                rule = "flow-to-nothing"
                fix = (f"no element in {where} has the id '{ref}'. Reconnect the flow to an "
                       "existing element or delete it.")
            raise DefinitionError(f"Sequence flow '{flow_id}' {verb} '{ref}', but {fix}",
                                  filename=filename, line=flow.sourceline, element_id=flow.get("id"),
                                  rule=rule, params={
                                      "flow": flow_id, "end": attribute, "ref": ref,
                                      "container_kind": etree.QName(container).localname,
                                      "container": container.get("id", "")})


def _check_start_events(root: etree._Element, filename: str) -> None:
    """Every executable process and every (non ad hoc) subprocess needs a start event."""
    # SpiffWorkflow reads a missing isExecutable as "true" and never runs a process marked
    # "false" (a documentation-only pool), so only those are exempt.
    processes = [process for process in root.iter(_PROCESS)
                 if process.get("isExecutable", "true") != "false"]
    for container in [*processes, *root.iter(*_SUBPROCESSES)]:
        if container.find(_START_EVENT) is None:
            raise DefinitionError(
                f"{_capitalized(_describe_container(container))} has no start event. "
                "Add a start event so that it can begin.",
                filename=filename, line=container.sourceline, element_id=container.get("id"),
                rule="no-start-event", params={"kind": etree.QName(container).localname,
                                               "id": container.get("id", "")})


def _check_business_rule_tasks(root: etree._Element, filename: str) -> None:
    """A business rule task names its decision table (SpiffWorkflow reads no other kind)."""
    for task in root.iter(f"{{{BPMN_MODEL_NS}}}businessRuleTask"):
        if not (task.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip():
            raise DefinitionError(
                f"The business rule task '{task.get('id', '(without id)')}' names no decision "
                "table. Choose the decision in the properties panel (Implementation: DMN, "
                "Decision reference), or make the task another kind of task.",
                filename=filename, line=task.sourceline, element_id=task.get("id"),
                rule="rule-task-without-decision", params={"id": task.get("id", "")})


# What a boundary event can be triggered by, as SpiffWorkflow reads it.
_BOUNDARY_TRIGGERS = tuple(f"{{{BPMN_MODEL_NS}}}{local}EventDefinition" for local in (
    "cancel", "error", "escalation", "message", "signal", "timer", "conditional"))


def _check_boundary_events(root: etree._Element, filename: str) -> None:
    """A boundary event says what triggers it; SpiffWorkflow cannot read one that does not."""
    for event in root.iter(f"{{{BPMN_MODEL_NS}}}boundaryEvent"):
        if _in_executable_process(event) and not any(child.tag in _BOUNDARY_TRIGGERS
                                                      for child in event):
            raise DefinitionError(
                f"The boundary event '{event.get('id', '(without id)')}' has no trigger. Choose "
                "one in the modeler (timer, message, signal, error, escalation, conditional or "
                "cancel), or delete the event.",
                filename=filename, line=event.sourceline, element_id=event.get("id"),
                rule="boundary-without-trigger", params={"id": event.get("id", "")})


# Event references: attribute -> the element kind it must name (its local name).
_EVENT_REFERENCES = {"messageRef": "message", "signalRef": "signal", "errorRef": "error",
                     "escalationRef": "escalation"}
_REFERRING = frozenset({"messageEventDefinition", "signalEventDefinition", "errorEventDefinition",
                        "escalationEventDefinition", "receiveTask", "sendTask"})


def _check_event_references(root: etree._Element, filename: str) -> None:
    """A message, signal, error or escalation reference names one defined in the file."""
    defined: dict[str, dict[str, etree._Element]] = {
        kind: {} for kind in _EVENT_REFERENCES.values()}
    for element in root:
        local = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if local in defined and element.get("id"):
            defined[local][element.get("id")] = element
    for element in root.iter(etree.Element):
        if etree.QName(element).namespace != BPMN_MODEL_NS:
            continue
        local = etree.QName(element).localname
        if local not in _REFERRING or not _in_executable_process(element):
            continue
        for attribute, kind in _EVENT_REFERENCES.items():
            ref = element.get(attribute)
            if ref is None:
                continue
            owner = _owner(element)
            target = defined[kind].get(ref)
            if target is not None and _needs_name(kind, element) and target.get("name") is None:
                # SpiffWorkflow delivers messages and signals by name; without one it fails.
                raise DefinitionError(
                    f"The {kind} '{ref}' that the {_kind_of(owner)} '{owner.get('id', '')}' "
                    f"refers to has no name. A {kind} is delivered by its name; give it one.",
                    filename=filename, line=target.sourceline, element_id=ref,
                    rule="event-without-name", params={
                        "event_kind": kind, "ref": ref, "kind": _kind_of(owner),
                        "id": owner.get("id", "")})
            if target is not None:
                continue
            raise DefinitionError(
                f"The {_kind_of(owner)} '{owner.get('id', '(without id)')}' refers to the "
                f"{kind} '{ref}', which this file does not define. Choose a {kind} in the "
                f"properties panel, or add a {kind} with that id.",
                filename=filename, line=element.sourceline, element_id=owner.get("id"),
                rule="event-reference", params={"event_kind": kind, "ref": ref,
                                                "kind": _kind_of(owner),
                                                "id": owner.get("id", "")})


def _in_executable_process(element: etree._Element) -> bool:
    """Whether SpiffWorkflow parses the element: a process marked isExecutable="false" (a
    documentation pool) is never parsed, so files deployed with such pools still load."""
    for ancestor in element.iterancestors(_PROCESS):
        return ancestor.get("isExecutable", "true") != "false"
    return True


def _needs_name(kind: str, element: etree._Element) -> bool:
    """Whether SpiffWorkflow fails on a reference to a nameless message or signal here.

    It looks signals up by name everywhere, messages only for receive and send tasks (the
    Camunda event parser takes a nameless message as it is, so such files may be deployed).
    """
    return kind == "signal" or (kind == "message" and
                                etree.QName(element).localname in ("receiveTask", "sendTask"))


def _owner(element: etree._Element) -> etree._Element:
    """The event or task an event definition belongs to (the element itself for a task)."""
    parent = element.getparent()
    if etree.QName(element).localname.endswith("EventDefinition") and parent is not None:
        return parent
    return element


# Parts of a decision table that SpiffWorkflow reads by id.
_DMN_IDENTIFIED = frozenset({"decision", "decisionTable", "input", "output", "rule",
                             "inputEntry", "outputEntry"})


def check_decision_tables(root: etree._Element, filename: str) -> None:
    """Refuse duplicate ids and decision tables that SpiffWorkflow cannot read."""
    check_unique_ids(root, filename)
    namespace = etree.QName(root).namespace
    if root.nsmap.get(None) != namespace and root.nsmap.get("dmn") != namespace:
        raise DefinitionError(
            "The DMN namespace is declared under another prefix. Declare it as the default "
            "namespace or as 'dmn', as Camunda Modeler does.",
            filename=filename, line=root.sourceline, element_id=root.get("id"),
            rule="dmn-namespace-prefix")
    for element in root.iter(f"{{{namespace}}}*"):
        local = etree.QName(element).localname
        if local in _DMN_IDENTIFIED and not element.get("id"):
            raise DefinitionError(
                f"The {local} on line {element.sourceline} has no id. Camunda Modeler gives "
                "every part of a decision table an id; add one, or export the file again.",
                filename=filename, line=element.sourceline, element_id=_nearest_id(element),
                rule="dmn-without-id", params={"kind": local, "line": element.sourceline})
    for decision in root.iter(f"{{{namespace}}}decision"):
        table = decision.find(f"{{{namespace}}}decisionTable")
        if table is None:
            raise DefinitionError(
                f"The decision '{decision.get('id')}' has no decision table. Only decision "
                "tables can run here; model the decision as a table.",
                filename=filename, line=decision.sourceline, element_id=decision.get("id"),
                rule="dmn-without-table", params={"id": decision.get("id", "")})
        _check_rules(table, namespace, filename)


def _check_rules(table: etree._Element, namespace: str, filename: str) -> None:
    """No rule has more entries than its table has inputs or outputs (columns)."""
    # Fewer entries are read (a rule tests fewer inputs), so files deployed with them still load.
    inputs = len(table.findall(f"{{{namespace}}}input"))
    outputs = len(table.findall(f"{{{namespace}}}output"))
    for rule in table.findall(f"{{{namespace}}}rule"):
        entries = (len(rule.findall(f"{{{namespace}}}inputEntry")),
                   len(rule.findall(f"{{{namespace}}}outputEntry")))
        if entries[0] > inputs or entries[1] > outputs:
            raise DefinitionError(
                f"The rule '{rule.get('id')}' has {entries[0]} input and {entries[1]} output "
                f"entries, but its table has {inputs} inputs and {outputs} outputs. Give the "
                "rule one entry for each column.",
                filename=filename, line=rule.sourceline, element_id=rule.get("id"),
                rule="dmn-rule-columns", params={
                    "id": rule.get("id", ""), "input_entries": entries[0],
                    "output_entries": entries[1], "inputs": inputs, "outputs": outputs})


def _nearest_id(element: etree._Element | None) -> str | None:
    while element is not None:
        if element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None


def _describe_container(container: etree._Element) -> str:
    """E.g. "process 'Process_1'" or "subprocess 'Sub_2'"."""
    kind = _CONTAINER_NAMES.get(container.tag, etree.QName(container).localname)
    return f"{kind} '{container.get('id', '(without id)')}'"


def _capitalized(text: str) -> str:
    """The text with its first letter upper case; unlike str.capitalize, ids keep their case."""
    return text[:1].upper() + text[1:]


def _kind_of(element: etree._Element) -> str:
    """The element's local tag name, e.g. 'userTask', as a designer sees it in the modeler."""
    return etree.QName(element).localname
