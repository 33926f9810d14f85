"""Where the expressions are in a BPMN or DMN document, and the Python each one stands for.

Deployment checks every text that SpiffWorkflow (or our own parser extensions) will evaluate.
The scan is deliberately a superset of what the library reads: a text the library evaluates
but the scan misses would run unchecked until the run-time re-check refuses it mid-instance.
That is why DMN parts are matched by local name in any namespace (SpiffWorkflow's DMN parser
takes the namespace from the file and matches rule cells by tag suffix), and why every child
of a correlation retrieval expression is checked (the library reads the first child, whatever
it is).

Camunda Modeler files write conditions, due dates, timers, assignments and multi-instance
settings in JUEL (`${approved && score >= 3}`) and timers as bare ISO 8601 texts (`P3D`).
Those are read as the Python they stand for (engine.bpm.juel): the scan gives each
expression its translation, the checks judge the translation, and `python_tree` hands
SpiffWorkflow a copy of the document with the translations in place, so the stored file
stays as the designer wrote it.
"""

from __future__ import annotations

import ast
import re
from copy import deepcopy
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from lxml import etree

from ..core.errors import UnsafeExpressionError
from .juel import JuelError, is_juel, juel_parts, translate, translate_body, translate_template
from .sandbox import MAX_SOURCE_LENGTH, check_expression

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

# The name SpiffWorkflow's DMN engine gives the input value when a cell uses '?'.
DMN_INPUT_NAME = "dmninputexpr"

# BPMN elements whose text is an expression: local name -> (kind, mode).
_BPMN_TEXTS = {
    "conditionExpression": ("condition", "eval"),
    "condition": ("condition", "eval"),  # conditionalEventDefinition
    "script": ("script", "exec"),
    "timeDate": ("timer", "eval"),
    "timeDuration": ("timer", "eval"),
    "timeCycle": ("timer", "eval"),
    "loopCardinality": ("loop_cardinality", "eval"),
    "completionCondition": ("completion_condition", "eval"),
    "loopCondition": ("loop_condition", "eval"),
}

KIND_LABELS = {
    "condition": "condition",
    "script": "script",
    "timer": "timer",
    "loop_cardinality": "loop cardinality",
    "completion_condition": "completion condition",
    "loop_condition": "loop condition",
    "correlation": "correlation expression",
    "message_payload": "message payload",
    "due_date": "due date",
    "collection": "multi-instance collection",
    "element_variable": "multi-instance element variable",
    "dmn_input": "decision input expression",
    "dmn_input_entry": "decision rule input entry",
    "dmn_output_entry": "decision rule output entry",
    "assignment": "assignment expression",
}

# Assignment attributes embed `${…}` / `#{…}` parts in names (see engine/bpm/assignment.py).
_ASSIGNMENT_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee")

# Kinds whose texts Camunda writes in JUEL; a text holding `${...}` is read as JUEL there.
JUEL_KINDS = frozenset({"condition", "timer", "completion_condition", "loop_cardinality",
                        "loop_condition", "due_date", "assignment", "collection"})
# Kinds in which a bare ISO 8601 date, duration or cycle (`P3D`) stands for itself.
_ISO_KINDS = frozenset({"timer", "due_date"})

# Elements that hold an expression but are not what a designer names: the error points past
# them to the flow, event, task, input or rule around them.
_WRAPPERS = frozenset({
    *_BPMN_TEXTS, "correlationPropertyRetrievalExpression", "formalExpression", "messagePath",
    "timerEventDefinition", "conditionalEventDefinition", "messageEventDefinition",
    "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
    "inputExpression", "inputEntry", "outputEntry", "text",
})

# A text that is one `${...}` or `#{...}` (a due date's braces hold Python at run time).
_CAMUNDA_EL = re.compile(r"\s*[$#]\{(.*)\}\s*", re.DOTALL)


@dataclass(frozen=True)
class Expression:
    """One expression in a document: where it is, what it is for, and its text as written.

    `translated` is the Python of a JUEL or bare ISO text; `refusal` says why a JUEL text
    cannot be read (it is outside the subset).
    """

    element_id: str | None
    kind: str
    text: str
    mode: str
    line: int | None
    translated: str | None = None
    refusal: str | None = None
    # What the refused JUEL holds outside the subset, e.g. "method call 'size(...)'".
    construct: str | None = None

    @property
    def python_source(self) -> str:
        """The Python that will run for this text (a DMN input cell such as `< 5` differs)."""
        if self.kind == "dmn_input_entry":
            return dmn_unary_test_as_python(self.text)
        return self.translated if self.translated is not None else self.text


def python_reading(kind: str, text: str) -> tuple[str | None, str | None]:
    """How a text of a kind is read: (its Python, None) when it is JUEL or a bare ISO text,
    (None, why) when it is JUEL outside the subset, (None, None) when it is Python already."""
    translated, refused = _reading(kind, text)
    return translated, refused.message if refused is not None else None


def _reading(kind: str, text: str) -> tuple[str | None, JuelError | None]:
    """As `python_reading`, with the refusal's construct kept."""
    if kind in JUEL_KINDS and is_juel(text):
        try:
            return translate(text), None
        except JuelError as exc:
            return None, exc
    written = text.strip()
    if kind in _ISO_KINDS and _ISO_LITERAL.fullmatch(written):
        return repr(written), None
    return None, None


def dmn_unary_test_as_python(cell: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for an input cell such as `< 5`.

    Mirrors `DMNEngine.evaluate`: '?' outside quotes becomes the input value; a cell that does
    not parse alone is read as a comparison with the input (`< 5` -> `dmninputexpr < 5`).
    """
    if len(cell) > MAX_SOURCE_LENGTH:
        return cell  # refused by its length; no need to parse it here
    rewritten = _replace_input_placeholders(cell)
    if DMN_INPUT_NAME in rewritten:
        return rewritten
    try:
        ast.parse(rewritten)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return f"{DMN_INPUT_NAME} {rewritten}"
    return rewritten


def _replace_input_placeholders(cell: str) -> str:
    """Replace each '?' followed by an even number of quote characters, in linear time.

    This is what SpiffWorkflow's regex `(\\?)(?=(?:[^'"]|['"][^'"]*['"])*$)` selects; the regex
    itself is quadratic on a cell full of '?', which a hostile upload could exploit here.
    """
    chars = list(cell)
    quotes_after = 0
    for index in range(len(chars) - 1, -1, -1):
        if chars[index] in "'\"":
            quotes_after += 1
        elif chars[index] == "?" and quotes_after % 2 == 0:
            chars[index] = DMN_INPUT_NAME
    return "".join(chars)


def find_expressions(root: etree._Element) -> list[Expression]:
    """Every expression, script and variable-name attribute in a BPMN or DMN document."""
    return list(_scan(root))


def _scan(root: etree._Element) -> Iterator[Expression]:
    for node in root.iter(etree.Element):
        namespace, local = _split(node.tag)
        if namespace == BPMN_NS:
            yield from _bpmn_expressions(node, local)
        elif local == "inputExpression":
            for child in node:
                if _split(child.tag)[1] == "text":
                    yield from _expression(child, child.text, "dmn_input", "eval")
        elif isinstance(node.tag, str) and node.tag.endswith(("inputEntry", "outputEntry")):
            kind = "dmn_input_entry" if node.tag.endswith("inputEntry") else "dmn_output_entry"
            for child in node:
                if isinstance(child.tag, str) and child.tag.endswith("text"):
                    # '-' and an empty cell both mean "any value" in an input entry.
                    if kind == "dmn_input_entry" and (child.text or "").strip() == "-":
                        continue
                    yield from _expression(child, child.text, kind, "eval")


def _bpmn_expressions(node: etree._Element, local: str) -> Iterator[Expression]:
    if local in _BPMN_TEXTS:
        kind, mode = _BPMN_TEXTS[local]
        yield from _expression(node, node.text, kind, mode)
    elif local == "correlationPropertyRetrievalExpression":
        # SpiffWorkflow reads the first child's text, comment or not; check them all.
        for child in node:
            yield from _expression(child, child.text, "correlation", "eval")
    elif local == "userTask":
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}dueDate"), "due_date", "eval")
        for attribute in _ASSIGNMENT_ATTRIBUTES:
            yield from _assignment_parts(node, node.get(f"{{{CAMUNDA_NS}}}{attribute}"))
    elif local == "messageEventDefinition":
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}expression"),
                               "message_payload", "eval")
    elif local == "multiInstanceLoopCharacteristics":
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}collection"), "collection", "name")
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}elementVariable"),
                               "element_variable", "name")


def _assignment_parts(node: etree._Element, written: str | None) -> Iterator[Expression]:
    """Each `${...}` part of a candidate or assignee attribute, read as JUEL."""
    if not written or not is_juel(written):
        return
    try:
        parts = juel_parts(written)
    except JuelError as exc:
        yield Expression(_owner_id(node), "assignment", written, "eval", node.sourceline,
                         refusal=exc.message, construct=exc.construct)
        return
    for part in parts:
        construct = None
        try:
            python, refusal = translate_body(part.body), None
        except JuelError as exc:
            python, refusal, construct = None, exc.message, exc.construct
        if python is not None and "}" in python:
            # The assignment reads each `${...}` up to its first '}' (engine/bpm/assignment.py).
            python, refusal = None, ("A '}' inside a text of a candidate or assignee "
                                     "expression cannot be read. Remove it from the text.")
            construct = "}"
        yield Expression(_owner_id(node), "assignment", written[part.start:part.end], "eval",
                         node.sourceline, python, refusal, construct)


# A bare ISO 8601 date or date-time, duration, or repeating interval (`R3/PT1H`).
_ISO_LITERAL = re.compile(
    r"(R\d*/)?(\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]+)?/)?P[0-9YMWDTHS.,]+"
    r"|\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]+)?")


def due_date_as_python(text: str) -> str:
    """The Python behind a `camunda:dueDate` as the parsed task spec holds it.

    The parser (see `python_tree`) has already turned a JUEL due date into `${python}`;
    here the braces are unwrapped and a bare ISO literal is quoted. Anything else is
    already Python. A file deployed before JUEL was read keeps its `${python}` reading.
    """
    written = text.strip()
    wrapped = _CAMUNDA_EL.fullmatch(written)
    if wrapped:
        return wrapped.group(1).strip()
    if _ISO_LITERAL.fullmatch(written):
        return repr(written)
    return written


def python_tree(root: etree._Element | etree._ElementTree) -> etree._Element | etree._ElementTree:
    """The document as SpiffWorkflow should read it: JUEL and bare ISO texts replaced by Python.

    Returns a copy when something was translated, else the document itself. A text outside
    the subset is left as written: deployment refuses it, and a file deployed before JUEL
    was read (whose `${...}` due dates and assignments held Python) keeps working.
    """
    element = root.getroot() if isinstance(root, etree._ElementTree) else root
    if etree.QName(element).namespace != BPMN_NS or not _has_translatable(element):
        return root
    copy = deepcopy(element)
    for node in copy.iter(etree.Element):
        namespace, local = _split(node.tag)
        if namespace != BPMN_NS:
            continue
        if local in _BPMN_TEXTS and node.text and node.text.strip():
            translated, _ = python_reading(_BPMN_TEXTS[local][0], node.text)
            if translated is not None:
                node.text = translated
        elif local == "userTask":
            _translate_user_task(node)
        elif local == "multiInstanceLoopCharacteristics":
            name = f"{{{CAMUNDA_NS}}}collection"
            translated, _ = python_reading("collection", node.get(name) or "")
            if translated is not None:
                node.set(name, translated)
    return copy


def _has_translatable(root: etree._Element) -> bool:
    return any(expression.translated is not None for expression in find_expressions(root))


def _translate_user_task(node: etree._Element) -> None:
    due_name = f"{{{CAMUNDA_NS}}}dueDate"
    translated, _ = python_reading("due_date", node.get(due_name) or "")
    if translated is not None:
        # The task spec keeps `${python}`; `due_date_as_python` unwraps it at run time.
        node.set(due_name, "${" + translated + "}")
    for attribute in _ASSIGNMENT_ATTRIBUTES:
        name = f"{{{CAMUNDA_NS}}}{attribute}"
        written = node.get(name)
        if written and is_juel(written):
            try:
                node.set(name, translate_template(written))
            except JuelError:
                pass  # refused at deploy; see the docstring of `python_tree`


def _expression(node: etree._Element, text: str | None, kind: str,
                mode: str) -> Iterator[Expression]:
    if text is not None and text.strip():
        translated, refused = _reading(kind, text)
        yield Expression(_owner_id(node), kind, text, mode, node.sourceline, translated,
                         refused.message if refused else None,
                         refused.construct if refused else None)


def _owner_id(node: etree._Element) -> str | None:
    """The id of the flow, event, task, input or rule that the expression belongs to."""
    for candidate in (node, *node.iterancestors()):
        local = _split(candidate.tag)[1]
        if local and local not in _WRAPPERS and candidate.get("id"):
            return candidate.get("id")
    return None


def _split(tag: object) -> tuple[str | None, str]:
    """(namespace, local name) of a tag; comments and processing instructions have neither."""
    if not isinstance(tag, str):
        return None, ""
    qname = etree.QName(tag)
    return qname.namespace, qname.localname


def check_document(root: etree._Element, *, filename: str, helpers: Collection[str]) -> None:
    """Raise one `UnsafeExpressionError` listing every expression outside the safe subset.

    With several problems the error's element id and line are those of the first, and the
    message lists all of them, so that a designer can fix the file in one round.
    """
    problems = expression_problems(root, filename=filename, helpers=helpers)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        first = problems[0]
        listing = "\n".join(f"- {_location(problem)}: {problem.message}" for problem in problems)
        raise UnsafeExpressionError(f"{len(problems)} expressions are not allowed:\n{listing}",
                                    filename=filename, line=first.line,
                                    element_id=first.element_id, rule="several",
                                    params={"items": [_item(p) for p in problems]})


def expression_problems(root: etree._Element, *, filename: str,
                        helpers: Collection[str]) -> list[UnsafeExpressionError]:
    """One `UnsafeExpressionError` for each expression outside the safe subset."""
    return [problem for expression in find_expressions(root)
            if (problem := _problem(expression, filename, helpers)) is not None]


def _item(problem: UnsafeExpressionError) -> dict:
    """A problem as one item of a "several" finding."""
    return {"rule": problem.rule, "params": problem.params, "message": problem.message,
            "line": problem.line, "element_id": problem.element_id}


def _problem(expression: Expression, filename: str,
             helpers: Collection[str]) -> UnsafeExpressionError | None:
    written = {"expr_kind": expression.kind, "text": _excerpt(expression.text)}
    if expression.refusal is not None:
        return UnsafeExpressionError(
            f"The {KIND_LABELS[expression.kind]} {_excerpt(expression.text)} is JUEL that "
            f"cannot be read here. {expression.refusal}", filename=filename,
            line=expression.line, element_id=expression.element_id, rule="juel-unsupported",
            params={**written, "construct": expression.construct or ""})
    try:
        check_expression(expression.python_source, mode=expression.mode, helpers=helpers,
                         element_id=expression.element_id, filename=filename,
                         line=expression.line)
    except UnsafeExpressionError as exc:
        label = f"{KIND_LABELS[expression.kind]} {_excerpt(expression.text)}"
        hint, hint_params = _hint(expression)
        return UnsafeExpressionError(f"{label}: {exc.message}{hint}",
                                     filename=filename, line=exc.line, element_id=exc.element_id,
                                     rule=exc.rule, params={**exc.params, **written,
                                                            **hint_params})
    return None


def _hint(expression: Expression) -> tuple[str, dict]:
    """What to write instead, for the mistakes designers coming from Camunda make."""
    if expression.translated is not None:
        return (f" (the JUEL {_excerpt(expression.text)} was read as "
                f"{_excerpt(expression.translated)})",
                {"read_as": _excerpt(expression.translated)})
    if expression.kind not in JUEL_KINDS and is_juel(expression.text):
        return ("; JUEL ('${...}') is read in conditions, timers, due dates, assignments and "
                f"multi-instance settings, but a {KIND_LABELS[expression.kind]} is Python: "
                "write the Python without the braces", {"juel_not_here": True})
    written = expression.text.strip()
    if expression.kind in ("timer", "due_date") and written[:1] in "0123456789P":
        return (f"; a fixed date or duration is written in quotes, e.g. \"{written}\"",
                {"quote": written})
    return "", {}


def _excerpt(text: str, limit: int = 60) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    short = first_line if len(first_line) <= limit else first_line[:limit] + "…"
    return repr(short)


def _location(problem: UnsafeExpressionError) -> str:
    parts = [f"line {problem.line}" if problem.line else None,
             f"element {problem.element_id}" if problem.element_id else None]
    return ", ".join(part for part in parts if part) or "unknown place"
