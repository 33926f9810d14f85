"""Turning untrusted bytes into a trusted lxml tree of a BPMN or DMN document (DESIGN decision 9).

Uploaded XML is hostile until proven otherwise. ``parse_definition_xml`` refuses, in this order:
files over the size limit; bytes that are not UTF-8; any DOCTYPE or entity declaration (the
gate for external entities, external DTDs, parameter entities and "billion laughs"); malformed
XML; processing instructions; bombs made of depth, element count or attribute length; a root
that is not a BPMN 2.0, DMN 1.3 or DMN 1.2 ``definitions`` element; duplicate ids, broken
BPMN references and decision tables SpiffWorkflow cannot read (see ``engine.bpm.checks``); and
finally anything the standard's XSD refuses.

Processing instructions are refused because no modeler writes them and some, such as
``<?xml-stylesheet?>``, make a browser fetch and run remote code when the stored file is shown
again. The XML declaration is not a processing instruction and stays allowed. Comments are kept
and allowed, since designers may annotate files by hand.

The parser never resolves entities, never loads a DTD and never touches the network, so even a
file that slipped past the byte check could not read a server file. The XSDs come from the
SpiffWorkflow package and are loaded once, from disk only.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

import SpiffWorkflow.bpmn.parser
import SpiffWorkflow.dmn.parser
from lxml import etree

from .checks import BPMN_MODEL_NS, check_decision_tables, check_references
from ..core.errors import DefinitionError

DMN13_MODEL_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMN12_MODEL_NS = "http://www.omg.org/spec/DMN/20180521/MODEL/"
_DMN11_MODEL_NS = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"
_DMN12_DMNDI_NS = "http://www.omg.org/spec/DMN/20180521/DMNDI/"
_XSD_NS = "http://www.w3.org/2001/XMLSchema"

# Limits far above what a real process or decision table needs (a large county process is
# about 200 KB, 3,000 elements and 15 levels deep) and far below what hurts the server.
MAX_BYTES = 2_000_000
MAX_DEPTH = 200
MAX_ELEMENTS = 50_000
MAX_ATTRIBUTE_LENGTH = 100_000

DocumentKind = Literal["bpmn", "dmn"]

_BPMN_SCHEMA_DIR = Path(SpiffWorkflow.bpmn.parser.__file__).parent / "schema"
_DMN_SCHEMA_DIR = Path(SpiffWorkflow.dmn.parser.__file__).parent / "schema"

# Root namespace → (kind, standard's name for messages, XSD file).
_STANDARDS: dict[str, tuple[DocumentKind, str, Path]] = {
    BPMN_MODEL_NS: ("bpmn", "BPMN 2.0", _BPMN_SCHEMA_DIR / "BPMN20.xsd"),
    DMN13_MODEL_NS: ("dmn", "DMN 1.3", _DMN_SCHEMA_DIR / "DMN13.xsd"),
    DMN12_MODEL_NS: ("dmn", "DMN 1.2", _DMN_SCHEMA_DIR / "DMN12.xsd"),
}

# Prefixes the modelers use, so that schema messages read "bpmn:task" instead of "{...}task".
_PREFIXES = {
    BPMN_MODEL_NS: "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://camunda.org/schema/1.0/dmn": "camunda",
    DMN13_MODEL_NS: "dmn",
    DMN12_MODEL_NS: "dmn",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/": "dmndi",
    _DMN12_DMNDI_NS: "dmndi",
    "http://www.omg.org/spec/DMN/20180521/DC/": "dc",
    "http://www.omg.org/spec/DMN/20180521/DI/": "di",
}


@dataclass(frozen=True)
class ParsedDocument:
    """A BPMN or DMN document that passed every safety, structure and schema check."""

    root: etree._Element
    kind: DocumentKind
    filename: str


def parse_definition_xml(data: bytes, filename: str, *, max_bytes: int = MAX_BYTES) -> ParsedDocument:
    """Parse uploaded BPMN or DMN bytes safely, or raise one DefinitionError saying what to fix."""
    _check_size(data, filename, max_bytes)
    _check_utf8(data, filename)
    _refuse_doctype(data, filename)
    root = _parse(data, filename)
    _refuse_processing_instructions(root, filename)
    _check_limits(root, filename)
    kind, standard, xsd_path = _identify(root, filename)
    # Reference checks come before the XSD because their messages are the clearer ones.
    if kind == "bpmn":
        check_references(root, filename)
    else:
        check_decision_tables(root, filename)
    _validate_schema(root, filename, standard, xsd_path)
    return ParsedDocument(root=root, kind=kind, filename=filename)


def hardened_parser() -> etree.XMLParser:
    """A new lxml parser that resolves no entities, loads no DTD and never uses the network."""
    # A fresh parser per call: lxml parsers keep per-document state and are cheap to build.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=False, remove_pis=False,
        # The bytes were checked to be UTF-8; ignoring the declared encoding keeps an
        # encoding such as UTF-7 from hiding a DOCTYPE from that check.
        encoding="utf-8",
    )


def _check_size(data: bytes, filename: str, max_bytes: int) -> None:
    """Refuse files larger than the limit before any parsing work."""
    if len(data) > max_bytes:
        raise DefinitionError(
            f"The file is {len(data):,} bytes; the limit is {max_bytes:,} bytes. "
            "Remove embedded content or split the process into smaller files.",
            filename=filename, rule="file-too-large", params={"size": len(data),
                                                              "limit": max_bytes})


def _check_utf8(data: bytes, filename: str) -> None:
    """Refuse bytes that are not UTF-8, the encoding every modeler writes."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DefinitionError(
            "The file is not UTF-8 encoded (the first invalid byte is at offset "
            f"{error.start:,}). Save it as UTF-8 from the modeler.",
            filename=filename, line=_line_at(data, error.start), rule="not-utf8",
            params={"offset": error.start}) from None


def _refuse_doctype(data: bytes, filename: str) -> None:
    """Refuse any DOCTYPE or entity declaration, found in the raw bytes before parsing."""
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        offset = data.find(marker)
        if offset >= 0:
            raise DefinitionError(
                f"The file contains a document type declaration ({marker.decode()} ...). BPMN and "
                "DMN files never need one, and it can be used to read server files or exhaust "
                "memory. Remove it, or export the file again from the modeler.",
                filename=filename, line=_line_at(data, offset), rule="doctype")


def _parse(data: bytes, filename: str) -> etree._Element:
    """Parse with the hardened parser; a syntax error becomes a message with line and column."""
    if not data.strip():
        raise DefinitionError("The file is empty. Upload a BPMN or DMN file.", filename=filename,
                              rule="empty-file")
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position
        if "Excessive depth" in error.msg:
            # libxml2's own limit (256 levels) can fire before ours is checked.
            raise _too_deep(filename, line) from None
        reason = re.sub(r", line \d+, column \d+$", "", error.msg)
        raise DefinitionError(
            f"The file is not well-formed XML at line {line}, column {column}: {reason}. "
            "Fix the XML there, or export the file again from the modeler.",
            filename=filename, line=line, rule="not-well-formed",
            params={"line": line, "column": column, "reason": reason}) from None
    # Second line of defence: the byte check already refused every DOCTYPE.
    if root.getroottree().docinfo.doctype:
        raise DefinitionError("The file contains a document type declaration. Remove it.",
                              filename=filename, rule="doctype")
    return root


def _refuse_processing_instructions(root: etree._Element, filename: str) -> None:
    """Refuse processing instructions anywhere in the document (the XML declaration is not one)."""
    instructions = root.getroottree().xpath("//processing-instruction()")
    if instructions:
        instruction = instructions[0]
        raise DefinitionError(
            f"The file contains the processing instruction <?{instruction.target} ...?>. "
            "BPMN and DMN files do not use them; remove it.",
            filename=filename, line=instruction.sourceline, rule="processing-instruction",
            params={"target": instruction.target})


def _check_limits(root: etree._Element, filename: str) -> None:
    """Refuse documents nested too deep, with too many elements or with huge attribute values."""
    depth = elements = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue  # comments count toward neither limit
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise _too_deep(filename, element.sourceline)
        if elements > MAX_ELEMENTS:
            raise DefinitionError(
                f"The file has more than {MAX_ELEMENTS:,} elements. Split the process into "
                "smaller files (for example with call activities).",
                filename=filename, line=element.sourceline, rule="too-many-elements",
                params={"limit": MAX_ELEMENTS})
        for name, value in element.attrib.items():
            if len(value) > MAX_ATTRIBUTE_LENGTH:
                raise DefinitionError(
                    f"The attribute '{etree.QName(name).localname}' is {len(value):,} characters "
                    f"long; the limit is {MAX_ATTRIBUTE_LENGTH:,}. Shorten it.",
                    filename=filename, line=element.sourceline, element_id=element.get("id"),
                    rule="attribute-too-long", params={
                        "attribute": etree.QName(name).localname, "length": len(value),
                        "limit": MAX_ATTRIBUTE_LENGTH})


def _too_deep(filename: str, line: int | None) -> DefinitionError:
    """The error for nesting beyond MAX_DEPTH, whichever check noticed it."""
    return DefinitionError(
        f"Elements are nested more than {MAX_DEPTH} levels deep. Real BPMN and DMN files are "
        "far flatter; export the file again from the modeler.",
        filename=filename, line=line, rule="too-deep", params={"limit": MAX_DEPTH})


def _identify(root: etree._Element, filename: str) -> tuple[DocumentKind, str, Path]:
    """Tell BPMN from DMN by the root element; refuse any other root."""
    name = etree.QName(root)
    namespace = name.namespace or "(no namespace)"
    expected = (f"'{BPMN_MODEL_NS}' for BPMN 2.0, '{DMN13_MODEL_NS}' for DMN 1.3 "
                f"or '{DMN12_MODEL_NS}' for DMN 1.2")
    if name.namespace == _DMN11_MODEL_NS:
        rule = "dmn11"
        message = (f"The file is DMN 1.1 (namespace '{namespace}'), which is no longer accepted. "
                   "Open it in Camunda Modeler and save it: the modeler upgrades it to DMN 1.3 "
                   f"(namespace '{DMN13_MODEL_NS}').")
    elif name.namespace not in _STANDARDS:
        rule = "unknown-namespace"
        message = (f"The root element is in the namespace '{namespace}', which is neither BPMN "
                   f"nor DMN. Expected {expected}. Export the diagram as BPMN 2.0 or DMN XML.")
    elif name.localname != "definitions":
        rule = "root-not-definitions"
        message = (f"The root element is '{name.localname}'; a BPMN or DMN file must start with "
                   "a 'definitions' element. Export the whole diagram from the modeler.")
    else:
        return _STANDARDS[name.namespace]
    raise DefinitionError(message, filename=filename, line=root.sourceline,
                          element_id=root.get("id"), rule=rule,
                          params={"namespace": namespace, "root": name.localname})


def _validate_schema(root: etree._Element, filename: str, standard: str, xsd_path: Path) -> None:
    """Validate against the standard's XSD; the first error names its line and element id."""
    schema, lock = _load_schema(xsd_path)
    # A validator's error_log belongs to its last call, so concurrent uploads take turns.
    with lock:
        if schema.validate(root.getroottree()):
            return
        errors = list(schema.error_log)
    first = errors[0]
    element = _failing_element(root, first)
    more = {0: "", 1: " The file has 1 more schema error."}.get(
        len(errors) - 1, f" The file has {len(errors) - 1} more schema errors.")
    raise DefinitionError(
        f"The file does not follow the {standard} schema: {_readable(first.message)}{more} "
        "Fix or remove this element; files saved by Camunda Modeler pass this check.",
        filename=filename, line=first.line, element_id=_nearest_id(element), rule="schema",
        params={"standard": standard, "detail": _readable(first.message),
                "more": len(errors) - 1})


# One thread at a time builds a schema: libxml2 builds a schema that imports others wrongly
# now and then when threads build at the same moment ("Document is not valid XML Schema", or
# an import that does not resolve; seen here when a new gunicorn worker's threads parsed
# their first definitions together under load, and reported against lxml elsewhere).
_SCHEMA_BUILD = threading.Lock()


def _load_schema(xsd_path: Path) -> tuple[etree.XMLSchema, threading.Lock]:
    """Load an XSD (and the XSDs it imports) from SpiffWorkflow's package folder, once per
    process, and the lock its validations take turns with."""
    with _SCHEMA_BUILD:
        return _built_schema(xsd_path)


@functools.cache
def _built_schema(xsd_path: Path) -> tuple[etree.XMLSchema, threading.Lock]:
    parser = hardened_parser()
    parser.resolvers.add(_LocalSchemaResolver())
    document = etree.parse(str(xsd_path), parser)
    if xsd_path.name == "DMN12.xsd":
        _repair_dmn12_schema(document)
    return etree.XMLSchema(document), threading.Lock()


class _LocalSchemaResolver(etree.Resolver):
    """Serves schema imports from the bundled schema folders only, so loading stays offline."""

    def resolve(self, system_url: str, public_id: str | None, context: object) -> object:
        """Load a file from a bundled schema folder; refuse every other location."""
        path = Path(unquote(system_url.removeprefix("file://"))).resolve()
        if path.parent in (_BPMN_SCHEMA_DIR.resolve(), _DMN_SCHEMA_DIR.resolve()):
            return self.resolve_filename(str(path), context)
        raise OSError(f"Schema import {system_url!r} is outside the bundled schema folders.")


def _repair_dmn12_schema(document: etree._ElementTree) -> None:
    """Make SpiffWorkflow's DMN12.xsd compile: its DMNDI import points at the DI schema."""
    # SpiffWorkflow 3.2 ships no XSD for the DMN 1.2 DMNDI namespace (DMNDI12.xsd declares the
    # DI namespace), so its own validator cannot load DMN12.xsd either. The diagram part has no
    # meaning for execution: it is accepted unchecked and the decision logic stays validated.
    schema = document.getroot()
    for imported in schema.findall(f"{{{_XSD_NS}}}import[@namespace='{_DMN12_DMNDI_NS}']"):
        schema.remove(imported)
    for reference in schema.iter(f"{{{_XSD_NS}}}element"):
        if reference.get("ref") == "dmndi:DMNDI":
            wildcard = etree.Element(f"{{{_XSD_NS}}}any", namespace=_DMN12_DMNDI_NS,
                                     processContents="skip", minOccurs="0", maxOccurs="1")
            reference.getparent().replace(reference, wildcard)


def _failing_element(root: etree._Element, error: etree._LogEntry) -> etree._Element | None:
    """The element a schema error is about: the one named in the message, on the error's line."""
    named = re.match(r"Element '([^']+)'", error.message)
    on_line = [element for element in root.iter(etree.Element) if element.sourceline == error.line]
    for element in on_line:
        if named and element.tag == named.group(1):
            return element
    return on_line[0] if on_line else None


def _nearest_id(element: etree._Element | None) -> str | None:
    """The element's id, or its nearest ancestor's, so the modeler can highlight something."""
    while element is not None:
        if element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None


def _readable(message: str) -> str:
    """libxml2's message with namespace URIs shortened to prefixes and long lists cut short."""
    def prefixed(match: re.Match[str]) -> str:
        prefix = _PREFIXES.get(match.group(1))
        return f"{prefix}:{match.group(2)}" if prefix else match.group(0)

    message = re.sub(r"\{([^}]*)\}([\w.-]+)", prefixed, message)

    def shortened(match: re.Match[str]) -> str:
        names = [name.strip() for name in match.group(1).split(",")]
        shown = ", ".join(names[:8])
        return f"( {shown}, and {len(names) - 8} more )" if len(names) > 8 else match.group(0)

    return re.sub(r"\(([^()]*)\)", shortened, message)


def _line_at(data: bytes, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1
