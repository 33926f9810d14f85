"""How a process starts, read from its XML: start events, the `startable` mark, starters, calls.

Kept apart from start_forms (which runs starts) so that the lint can read the same marks
without importing the runtime. The conventions are described in engine/bpm/start_forms.py.
"""

from __future__ import annotations

from lxml import etree

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
STARTABLE = "startable"  # the start event's property that says whether people start it


def none_start_events(process: etree._Element) -> list[etree._Element]:
    """The process's start events without an event definition (started by a person or a call)."""
    return [e for e in process.findall(f"{BPMN}startEvent")
            if not any(etree.QName(c).localname.endswith("EventDefinition") for c in e)]


def event_properties(event: etree._Element) -> dict[str, str]:
    """The extension properties (`camunda:property name=… value=…`) of an event."""
    return {p.get("name"): p.get("value") or "" for p in event.iterfind(
        f"{BPMN}extensionElements/{CAMUNDA}properties/{CAMUNDA}property") if p.get("name")}


def startable_mark(event: etree._Element) -> bool | None:
    """The start event's property `startable`: True, False, or None when it has none."""
    value = event_properties(event).get(STARTABLE, "").strip().lower()
    return {"true": True, "false": False}.get(value)


def marked_not_startable(event: etree._Element) -> bool:
    """Whether the start event carries the property startable=false."""
    return startable_mark(event) is False


def has_form_fields(event: etree._Element) -> bool:
    """Whether the event has a `camunda:formData` with at least one field."""
    return event.find(f"{BPMN}extensionElements/{CAMUNDA}formData/{CAMUNDA}formField") is not None


def names(text: str | None) -> tuple[str, ...]:
    """A comma-separated attribute as names (`candidateStarterGroups`)."""
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def starter_groups(process: etree._Element) -> tuple[str, ...]:
    """The process's `camunda:candidateStarterGroups`."""
    return names(process.get(f"{CAMUNDA}candidateStarterGroups"))


def starter_users(process: etree._Element) -> tuple[str, ...]:
    """The process's `camunda:candidateStarterUsers`."""
    return names(process.get(f"{CAMUNDA}candidateStarterUsers"))


def called_processes(root: etree._Element) -> frozenset[str]:
    """The processes the call activities of a document call (`calledElement`)."""
    return frozenset((c.get("calledElement") or "").strip()
                     for c in root.iter(f"{BPMN}callActivity")) - {""}
