"""Structural checks of a BPMN document that the XSD cannot express or reports badly.

The BPMN schema types ``id`` as ``xs:ID``, but libxml2 reports a duplicate as "not a valid value
of the atomic type 'xs:ID'" without naming the first use. A sequence flow whose end was deleted
passes the schema (IDREFs are not resolved) and SpiffWorkflow then fails with a message that
points elsewhere. A process without a start event parses, and fails only when it is started.
These checks run on the parsed tree before schema validation, so their plain messages win.
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
    """Refuse duplicate ids, sequence flows to missing elements and processes without a start event."""
    check_unique_ids(root, filename)
    _check_sequence_flows(root, filename)
    _check_start_events(root, filename)


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
                filename=filename, line=element.sourceline, element_id=element_id)


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
                fix = (f"'{ref}' is not inside {where}. A sequence flow cannot leave its process "
                       "or subprocess; connect pools with a message flow instead.")
            else:
                fix = (f"no element in {where} has the id '{ref}'. Reconnect the flow to an "
                       "existing element or delete it.")
            raise DefinitionError(f"Sequence flow '{flow_id}' {verb} '{ref}', but {fix}",
                                  filename=filename, line=flow.sourceline, element_id=flow.get("id"))


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
                filename=filename, line=container.sourceline, element_id=container.get("id"))


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
