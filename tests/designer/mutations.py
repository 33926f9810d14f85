"""Mutated copies of a BPMN or DMN file, the states a file passes through while it is modelled.

Every mutant changes one thing: an attribute removed, a child element removed, an id given to
a second element, a reference pointed at nothing or at an element of the wrong kind, an
expression emptied or cut short. The list is deterministic (document order), so a failing
mutant can be named and found again; `sample` picks a seeded subset of it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"

# Attributes that name another element of the document.
REFERENCE_ATTRIBUTES = (
    "sourceRef", "targetRef", "default", "attachedToRef", "calledElement", "messageRef",
    "signalRef", "errorRef", "escalationRef", "dataObjectRef", "dataStoreRef", "processRef",
    "bpmnElement", "dmnElementRef", "itemSubjectRef", "structureRef", "href",
    f"{{{CAMUNDA}}}decisionRef",
)
# Elements whose text names another element.
REFERENCE_TEXTS = frozenset({
    "incoming", "outgoing", "flowNodeRef", "sourceRef", "targetRef", "dataInputRefs",
    "dataOutputRefs", "loopDataInputRef", "loopDataOutputRef", "inputDataRef", "outputDataRef",
})
# Elements whose text is an expression, a script or a decision cell.
EXPRESSION_TEXTS = frozenset({
    "conditionExpression", "condition", "script", "timeDate", "timeDuration", "timeCycle",
    "loopCardinality", "completionCondition", "text",
})


@dataclass(frozen=True)
class Mutant:
    """One changed copy of a file and what was changed."""

    description: str
    data: bytes


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


Change = Callable[[list[etree._Element]], None]


def _path(element: etree._Element) -> str:
    """A readable address of an element: its id, else its tag and line."""
    return element.get("id") or f"{_local(element)}@line{element.sourceline}"


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _elements(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(etree.Element))


def _variants(data: bytes) -> Iterator[tuple[str, Change]]:
    """(description, change) pairs; each change edits a fresh tree in place."""
    root = etree.fromstring(data, _safe_parser())
    elements = _elements(root)
    ids = [el.get("id") for el in elements if el.get("id")]
    by_kind: dict[str, str] = {}
    for element in elements:
        if element.get("id"):
            by_kind.setdefault(_local(element), element.get("id"))
    for index, element in enumerate(elements):
        where = _path(element)
        for name in element.attrib:
            short = etree.QName(name).localname
            yield f"drop attribute {short} of {where}", _drop_attribute(index, name)
        if index:
            yield f"drop element {_local(element)} {where}", _drop_element(index)
        if element.get("id") and ids.index(element.get("id")) > 0:
            other = ids[ids.index(element.get("id")) - 1]
            yield f"give {where} the id {other}", _set_attribute(index, "id", other)
        for name in REFERENCE_ATTRIBUTES:
            if element.get(name) is not None:
                short = etree.QName(name).localname
                yield (f"point {short} of {where} at nothing",
                       _set_attribute(index, name, "Nowhere_1"))
                yield f"empty {short} of {where}", _set_attribute(index, name, "")
                for kind, other in _wrong_kinds(by_kind, element.get(name)):
                    yield (f"point {short} of {where} at the {kind} {other}",
                           _set_attribute(index, name, other))
        if _local(element) in REFERENCE_TEXTS and (element.text or "").strip():
            yield (f"point {_local(element)} text of {where} at nothing",
                   _set_text(index, "Nowhere_1"))
            for kind, other in _wrong_kinds(by_kind, element.text.strip()):
                yield (f"point {_local(element)} text of {where} at the {kind} {other}",
                       _set_text(index, other))
        if _local(element) in EXPRESSION_TEXTS and (element.text or "").strip():
            text = element.text.strip()
            yield f"empty the {_local(element)} of {where}", _set_text(index, "")
            yield (f"cut short the {_local(element)} of {where}",
                   _set_text(index, text[: len(text) // 2]))


def _wrong_kinds(by_kind: dict[str, str], current: str) -> list[tuple[str, str]]:
    """Ids of existing elements of a few kinds other than the one referred to now."""
    picks = []
    for kind in ("definitions", "process", "sequenceFlow", "startEvent", "lane", "message",
                 "decision", "decisionTable"):
        other = by_kind.get(kind)
        if other and other != current:
            picks.append((kind, other))
    return picks[:3]


def _drop_attribute(index: int, name: str) -> Change:
    def change(elements: list[etree._Element]) -> None:
        del elements[index].attrib[name]
    return change


def _set_attribute(index: int, name: str, value: str) -> Change:
    def change(elements: list[etree._Element]) -> None:
        elements[index].set(name, value)
    return change


def _set_text(index: int, value: str) -> Change:
    def change(elements: list[etree._Element]) -> None:
        elements[index].text = value
    return change


def _drop_element(index: int) -> Change:
    def change(elements: list[etree._Element]) -> None:
        element = elements[index]
        element.getparent().remove(element)
    return change


def all_mutants(data: bytes) -> list[str]:
    """The descriptions of every mutant of a file, in a fixed order."""
    return [description for description, _change in _variants(data)]


def mutants(data: bytes, sample: int | None = None, seed: str = "") -> list[Mutant]:
    """The mutants of a file: all of them, or a seeded sample of `sample` of them."""
    variants = list(_variants(data))
    if sample is not None and len(variants) > sample:
        variants = random.Random(seed).sample(variants, sample)
    result = []
    for description, change in variants:
        root = etree.fromstring(data, _safe_parser())
        change(_elements(root))
        result.append(Mutant(description, _serialise(root)))
    return result


MAX_ELEMENTS = 5_000


def can_be_mutated(data: bytes) -> bool:
    """Whether the file is XML that lxml reads, of a modelled size (hostile fixtures may not be)."""
    try:
        root = etree.fromstring(data, _safe_parser())
    except (etree.XMLSyntaxError, ValueError):
        return False
    return (b"<!DOCTYPE" not in data and len(root) > 0
            and sum(1 for _ in root.iter()) <= MAX_ELEMENTS)
