"""Where the expressions are in a BPMN or DMN document, and the Python each one stands for.

Deployment checks every text that SpiffWorkflow (or our own parser extensions) will evaluate.
The scan is deliberately a superset of what the library reads: a text the library evaluates
but the scan misses would run unchecked until the run-time re-check refuses it mid-instance.
That is why DMN parts are matched by local name in any namespace (SpiffWorkflow's DMN parser
takes the namespace from the file and matches rule cells by tag suffix), and why every child
of a correlation retrieval expression is checked (the library reads the first child, whatever
it is).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from lxml import etree

from ..core.errors import UnsafeExpressionError
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

# `${…}` / `#{…}` parts of the assignment attributes (see engine/assignment.py).
_EMBEDDED = re.compile(r"[$#]\{(.+?)\}")
_ASSIGNMENT_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee")

# Elements that hold an expression but are not what a designer names: the error points past
# them to the flow, event, task, input or rule around them.
_WRAPPERS = frozenset({
    *_BPMN_TEXTS, "correlationPropertyRetrievalExpression", "formalExpression", "messagePath",
    "timerEventDefinition", "conditionalEventDefinition", "messageEventDefinition",
    "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
    "inputExpression", "inputEntry", "outputEntry", "text",
})

# Camunda's own expression language; our due dates and timers are Python (see `_hint`).
_CAMUNDA_EL = re.compile(r"\s*[$#]\{(.*)\}\s*", re.DOTALL)


@dataclass(frozen=True)
class Expression:
    """One expression in a document: where it is, what it is for, and its text as written."""

    element_id: str | None
    kind: str
    text: str
    mode: str
    line: int | None

    @property
    def python_source(self) -> str:
        """The Python that will run for this text (a DMN input cell such as `< 5` differs)."""
        if self.kind == "dmn_input_entry":
            return dmn_unary_test_as_python(self.text)
        return self.text


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
        due = node.get(f"{{{CAMUNDA_NS}}}dueDate")
        yield from _expression(node, due_date_as_python(due) if due else due, "due_date", "eval")
        for attribute in _ASSIGNMENT_ATTRIBUTES:
            for part in _EMBEDDED.findall(node.get(f"{{{CAMUNDA_NS}}}{attribute}") or ""):
                yield from _expression(node, part.strip(), "assignment", "eval")
    elif local == "messageEventDefinition":
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}expression"),
                               "message_payload", "eval")
    elif local == "multiInstanceLoopCharacteristics":
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}collection"), "collection", "name")
        yield from _expression(node, node.get(f"{{{CAMUNDA_NS}}}elementVariable"),
                               "element_variable", "name")


_ISO_LITERAL = re.compile(r"P[0-9YMWDTHS.,]+|\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]+)?")


def due_date_as_python(text: str) -> str:
    """The Python behind a `camunda:dueDate` as Camunda Modeler writes it.

    Camunda writes `${expression}` or a bare ISO date or duration; both are accepted so
    that Modeler files run unchanged: the braces are unwrapped (their content is Python
    here) and a bare ISO literal is quoted. Anything else is already Python.
    """
    written = text.strip()
    wrapped = _CAMUNDA_EL.fullmatch(written)
    if wrapped:
        return wrapped.group(1).strip()
    if _ISO_LITERAL.fullmatch(written):
        return repr(written)
    return written


def _expression(node: etree._Element, text: str | None, kind: str,
                mode: str) -> Iterator[Expression]:
    if text is not None and text.strip():
        yield Expression(_owner_id(node), kind, text, mode, node.sourceline)


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
    problems = [problem for expression in find_expressions(root)
                if (problem := _problem(expression, filename, helpers)) is not None]
    if len(problems) == 1:
        raise problems[0]
    if problems:
        first = problems[0]
        listing = "\n".join(f"- {_location(problem)}: {problem.message}" for problem in problems)
        raise UnsafeExpressionError(f"{len(problems)} expressions are not allowed:\n{listing}",
                                    filename=filename, line=first.line,
                                    element_id=first.element_id)


def _problem(expression: Expression, filename: str,
             helpers: Collection[str]) -> UnsafeExpressionError | None:
    try:
        check_expression(expression.python_source, mode=expression.mode, helpers=helpers,
                         element_id=expression.element_id, filename=filename,
                         line=expression.line)
    except UnsafeExpressionError as exc:
        label = f"{KIND_LABELS[expression.kind]} {_excerpt(expression.text)}"
        return UnsafeExpressionError(f"{label}: {exc.message}{_hint(expression)}",
                                     filename=filename, line=exc.line, element_id=exc.element_id)
    return None


def _hint(expression: Expression) -> str:
    """What to write instead, for the mistakes designers coming from Camunda make."""
    if _CAMUNDA_EL.fullmatch(expression.text):
        return ("; Camunda '${...}' expressions are not supported here, write the Python "
                "inside the braces")
    written = expression.text.strip()
    if expression.kind in ("timer", "due_date") and written[:1] in "0123456789P":
        return f"; a fixed date or duration is written in quotes, e.g. \"{written}\""
    return ""


def _excerpt(text: str, limit: int = 60) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    short = first_line if len(first_line) <= limit else first_line[:limit] + "…"
    return repr(short)


def _location(problem: UnsafeExpressionError) -> str:
    parts = [f"line {problem.line}" if problem.line else None,
             f"element {problem.element_id}" if problem.element_id else None]
    return ", ".join(part for part in parts if part) or "unknown place"
