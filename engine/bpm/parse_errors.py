"""SpiffWorkflow's parse failures turned into findings that name the file, line and element.

The checks before the parse (engine.bpm.xmlsafe, checks, lint, expression_scan) refuse what
they know the library cannot read, with messages written for designers. Whatever still
goes wrong inside the library is caught here, at the parse, and answered with a
`DefinitionError` instead of a traceback: a `ValidationException` carries the element, and
any other exception becomes a finding about the element the library was reading, found
from the traceback's frames when it can be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from lxml import etree

from ..core.errors import DefinitionError
from .xmlsafe import ParsedDocument

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# A message that is only the repr of a Python exception, as SpiffWorkflow's task parser
# wraps whatever it caught: "KeyError('x')".
_PYTHON_REPR = re.compile(r"^\s*[A-Za-z_.]*(Error|Exception)\(")


def line_of(root: etree._Element, element_id: str | None) -> int | None:
    """The line of the element with this id, if the document has one."""
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


@contextmanager
def library_errors(doc: ParsedDocument, what: str = "read") -> Iterator[None]:
    """Turn every exception the library raises inside the block into a DefinitionError."""
    try:
        yield
    except DefinitionError:
        raise
    except Exception as exc:  # noqa: BLE001 - every library failure becomes a finding
        raise definition_error(exc, doc, what) from exc


def definition_error(exc: Exception, doc: ParsedDocument, what: str = "read") -> DefinitionError:
    """The finding for an exception the library raised while reading `doc`."""
    element_id = getattr(exc, "id", None) or None
    node = None
    if element_id is None:
        node = _node_in_frames(exc, doc.root)
        element_id = _nearest_id(node)
    message = str(exc).split("\n")[0].strip().rstrip(".").strip()
    rule, params = "library-validation", {"detail": message}
    if not hasattr(exc, "file_name") or _PYTHON_REPR.match(message):
        rule, params = "library-failure", {"kind": _kind(doc, element_id), "id": element_id,
                                           "detail": _detail(exc, message), "what": what}
        message = _plain(exc, message, doc, element_id, what)
    elif not message.endswith((".", "!", "?")):
        message += "."
    line = line_of(doc.root, element_id)
    if line is None and node is not None:
        line = node.sourceline
    return DefinitionError(message, filename=getattr(exc, "file_name", None) or doc.filename,
                           line=line, element_id=element_id, rule=rule, params=params)


def _plain(exc: Exception, message: str, doc: ParsedDocument, element_id: str | None,
           what: str) -> str:
    """A designer's message for a Python exception raised inside the library."""
    detail = _detail(exc, message)
    if element_id:
        kind = _kind(doc, element_id)
        return (f"SpiffWorkflow could not {what} the {kind} '{element_id}' ({detail}). Check "
                "this element's settings in the properties panel, or export the file again "
                "from the modeler.")
    return (f"SpiffWorkflow could not {what} this file ({detail}). Check the elements changed "
            "last, or export the file again from the modeler.")


def _detail(exc: Exception, message: str) -> str:
    """The Python exception behind a library failure, as one short line."""
    cause = exc.__cause__ or exc.__context__ or exc
    return (f"{type(cause).__name__}: {str(cause)[:200]}" if cause is not exc
            else f"{type(exc).__name__}: {message[:200]}")


def _kind(doc: ParsedDocument, element_id: str | None) -> str:
    """The local tag name of the element with this id ("element" when there is none)."""
    element = doc.root.xpath("//*[@id=$id]", id=element_id) if element_id else []
    return etree.QName(element[0]).localname if element else "element"


def _node_in_frames(exc: Exception, root: etree._Element) -> etree._Element | None:
    """The innermost XML element of this document that a frame of the traceback was reading."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        frame_locals = tb.tb_frame.f_locals
        for name in ("node", "element", "process", "decision_element", "ruleElement",
                     "input_element", "outputElement", "xml_field", "self"):
            value = frame_locals.get(name)
            if name == "self":
                value = getattr(value, "node", None)
            # The library reads a translated copy (see python_tree): ids and lines are the same.
            if isinstance(value, etree._Element) and isinstance(value.tag, str):
                found = value
        tb = tb.tb_next
    return found


def _nearest_id(element: etree._Element | None) -> str | None:
    while element is not None:
        if isinstance(element.tag, str) and element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None
