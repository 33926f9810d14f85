"""What an expression may do: the safe subset of Python for BPMN and DMN expressions.

SpiffWorkflow evaluates gateway conditions, timer texts, DMN cells and script tasks as plain
Python with full builtins. This module is the fence around that, in two layers:

1. `check_expression` parses the text with `ast` and walks it against an allow-list: literals,
   names, arithmetic, comparisons, boolean logic, if-expressions, subscripts and slices,
   list/dict/set/tuple displays, comprehensions, f-strings, and in scripts also assignments,
   `if`, `for`, `del`, `pass`, `break` and `continue`. Calls go only to a safe builtin or a
   registered helper by plain name, or to a short list of data methods (`items.append(x)`).
   Every other attribute access is refused: task data are dicts, read with subscripts, and
   attribute walks (`().__class__.__base__.__subclasses__()`) are the classic way out of a
   Python sandbox even without builtins. Deploy time runs this check on every expression.
2. `SafeEnvironment` evaluates with `SAFE_BUILTINS` only (no `__import__`, `open`, `eval` ...)
   and re-checks each text before running it, so an expression that never went through a
   deployment (an old instance, a forgotten code path) still meets the same fence.

The check refuses the bombs written into the text (`9 ** 9 ** 9`, `'a' * 10 ** 9`,
`f'{x:999999999}'`, nesting and size limits). What data can drive (`sum(range(n))` with a
huge `n`, `s * n`, a string doubled in a loop) is fenced at run time by engine.bpm.budget:
a CPU budget per service call and checked sizes for the operators that grow values.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from ..core.errors import UnsafeExpressionError
from .budget import RUNTIME_GLOBALS, checked_range, current_budget, guarded_code

MAX_SOURCE_LENGTH = 50_000
MAX_STRING_LENGTH = 10_000
MAX_DEPTH = 50
MAX_NODES = 2_000
MAX_EXPONENT = 100
MAX_REPEAT = 10_000
# `(a ** 2 + b ** 2) ** 0.5` needs two; three stacked powers already reach a million digits.
MAX_POWER_NESTING = 2
# How many operators deep the repetition rule looks: bounded, so the check stays linear.
_SHAPE_LEVELS = 4
# A format width or precision of five digits or more (`f'{x:999999999}'`) is a memory bomb.
_WIDE_FORMAT = re.compile(r"\d{5,}")
# The flags, width and precision of each `%` conversion: `%(name)-10.2f` -> `-10.2`.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]{0,200}\))?([^a-zA-Z%(]*)")

SAFE_BUILTINS: Mapping[str, Any] = MappingProxyType({
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "sorted": sorted, "any": any, "all": all, "int": int, "float": float, "str": str,
    "bool": bool, "list": list, "dict": dict, "set": set, "tuple": tuple, "range": range,
    "enumerate": enumerate, "zip": zip,
})

# Methods that only read or change plain data (dict, list, str) or format a date.
SAFE_METHODS = frozenset({
    "get", "keys", "values", "items", "append", "extend", "pop", "update", "setdefault",
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "join",
    "replace", "count", "index", "isdigit", "isoformat",
})

# Capabilities rather than data: refused as names anywhere, not only when called, because a
# bare name can still be handed to a builtin (`sorted(xs, key=eval)`). `id` and `hash` are
# harmless as data names (a form field called `id` is common) and stay callable-refused only.
DENIED_NAMES = frozenset({
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr",
    "globals", "locals", "vars", "dir", "type", "object", "super", "classmethod",
    "staticmethod", "property", "memoryview", "input", "breakpoint", "help", "exit", "quit",
})

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    # the two roots: `eval` mode and `exec` mode
    ast.Expression, ast.Module,
    # script statements
    ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Delete, ast.Pass, ast.Break,
    ast.Continue,
    # expressions
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.Call, ast.keyword,
    ast.Constant, ast.Name, ast.Subscript, ast.Slice, ast.Starred, ast.Attribute,
    ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue,
)

_REFUSED_SYNTAX: Mapping[type[ast.AST], str] = {
    ast.Import: "an 'import' statement",
    ast.ImportFrom: "an 'import' statement",
    ast.Lambda: "a lambda function",
    ast.FunctionDef: "a function definition ('def')",
    ast.AsyncFunctionDef: "a function definition ('def')",
    ast.ClassDef: "a class definition",
    ast.While: "a 'while' loop (use 'for' over data)",
    ast.With: "a 'with' block",
    ast.AsyncWith: "a 'with' block",
    ast.AsyncFor: "an 'async for' loop",
    ast.Try: "a 'try' block",
    ast.Global: "a 'global' statement",
    ast.Nonlocal: "a 'nonlocal' statement",
    ast.NamedExpr: "an assignment expression (':=')",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Await: "'await'",
    ast.Return: "'return'",
    ast.Raise: "'raise'",
    ast.Assert: "'assert'",
    ast.AnnAssign: "an annotated assignment",
    ast.Match: "a 'match' statement",
}

_REFUSED_OPERATORS: Mapping[type[ast.operator], str] = {
    ast.LShift: "'<<'", ast.RShift: "'>>'", ast.MatMult: "'@'",
}

# Operators and contexts are checked at their parent; they are not counted as parts.
_LEAF_KINDS = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)

MODES = ("eval", "exec", "name")

_NOT_ALLOWED = "is not allowed in expressions"


class Refusal(NamedTuple):
    """Why a text is outside the safe subset: the rule, the English message, what was found."""

    rule: str
    message: str
    params: dict


class HelperRegistry(Mapping[str, Callable[..., Any]]):
    """The functions expressions may call by name, e.g. `add_working_days`.

    Built while the application is set up; pass it to `make_script_engine` (which takes a
    snapshot) and to `check_expression` / `check_document` (iterating it yields the names).
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None):
        self._helpers: dict[str, Callable[..., Any]] = {}
        for name, func in (helpers or {}).items():
            self.register(name, func)

    def register(self, name: str, func: Callable[..., Any]) -> None:
        """Make `func` callable from expressions as `name(...)`."""
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"helper name {name!r} must be a plain name not starting with '_'")
        if name in DENIED_NAMES or name in SAFE_BUILTINS:
            raise ValueError(f"helper name {name!r} is reserved; choose another name")
        if not callable(func):
            raise TypeError(f"helper {name!r} must be callable, got {type(func).__name__}")
        if name in self._helpers and self._helpers[name] is not func:
            raise ValueError(f"helper {name!r} is already registered")
        self._helpers[name] = func

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self._helpers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._helpers)

    def __len__(self) -> int:
        return len(self._helpers)


def check_expression(text: str, *, mode: str = "eval", helpers: Collection[str] = (),
                     element_id: str | None = None, filename: str | None = None,
                     line: int | None = None) -> None:
    """Raise `UnsafeExpressionError` unless `text` stays inside the safe subset.

    `mode` is "eval" for conditions, timers, due dates and DMN cells, "exec" for script
    tasks, and "name" for attributes that must hold a plain variable name. `line` is the
    line of the file where the text starts; it locates the error within multi-line scripts.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")

    def refuse(refusal: Refusal, offset: int | None = None) -> UnsafeExpressionError:
        where = line + offset - 1 if line is not None and offset else line
        return UnsafeExpressionError(refusal.message, filename=filename, line=where,
                                     element_id=element_id, rule=refusal.rule,
                                     params=refusal.params)

    if len(text) > MAX_SOURCE_LENGTH:
        raise refuse(Refusal("expression-too-long",
                             f"an expression of {len(text)} characters is too long "
                             f"(the limit is {MAX_SOURCE_LENGTH})",
                             {"length": len(text), "limit": MAX_SOURCE_LENGTH}))
    if mode == "name":
        name = text.strip()
        if not name.isidentifier() or name.startswith("__") or name in DENIED_NAMES:
            raise refuse(Refusal("expression-not-a-name",
                                 f"{text!r} must be a plain variable name, such as 'items'",
                                 {"written": text}))
        return
    try:
        # eval() ignores leading blanks of a string; parse what it will run.
        tree = ast.parse(text.lstrip(" \t") if mode == "eval" else text, mode=mode)
    except SyntaxError as exc:
        raise refuse(Refusal("expression-syntax", f"this is not valid Python: {exc.msg}",
                             {"detail": exc.msg}), exc.lineno) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        detail = str(exc) or type(exc).__name__
        raise refuse(Refusal("expression-too-complex",
                             f"this is too complex to read as Python ({detail})",
                             {"detail": detail})) from None
    refusal = _first_refusal(tree, frozenset(SAFE_BUILTINS).union(helpers))
    if refusal is not None:
        reason, offset = refusal
        raise refuse(reason, offset)


def _first_refusal(tree: ast.AST,
                   callables: frozenset[str]) -> tuple[Refusal, int | None] | None:
    """The first thing in `tree` outside the safe subset, with its line in the text."""
    # Iterative, so that a hostile tree deeper than Python's recursion limit is still walked.
    stack: list[tuple[ast.AST, int, int]] = [(tree, 1, 0)]
    refusals: list[tuple[int, int, int, Refusal]] = []
    seen = 0
    while stack:
        node, depth, powers = stack.pop()
        lineno = getattr(node, "lineno", None)
        seen += 1
        if seen > MAX_NODES:
            return Refusal("expression-too-large",
                           f"the expression is too large (more than {MAX_NODES} parts)",
                           {"limit": MAX_NODES}), lineno
        if depth > MAX_DEPTH:
            return Refusal("expression-too-deep",
                           f"the expression is nested too deeply (more than {MAX_DEPTH} levels)",
                           {"limit": MAX_DEPTH}), lineno
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            powers += 1
        reason = _reason_to_refuse(node, callables)
        if reason is None and powers > MAX_POWER_NESTING:
            reason = Refusal("expression-power-nesting",
                             f"'**' nested more than {MAX_POWER_NESTING} deep {_NOT_ALLOWED}",
                             {"limit": MAX_POWER_NESTING})
        if reason is not None:
            # Keep walking: the refusal reported is the one that comes first in the text
            # (`__import__` rather than the `.system` called on it), innermost on a tie.
            refusals.append((lineno or 0, getattr(node, "col_offset", 0), -depth, reason))
        stack.extend((child, depth + 1, powers) for child in _children(node))
    if not refusals:
        return None
    lineno, _, _, reason = min(refusals, key=lambda found: found[:3])
    return reason, lineno or None


def _children(node: ast.AST) -> list[ast.AST]:
    """The parts of `node` still to check; a checked call target is not walked again."""
    if isinstance(node, ast.Call):
        parts: list[ast.AST] = [*node.args, *node.keywords]
        if isinstance(node.func, ast.Attribute):
            parts.insert(0, node.func.value)
        return parts
    return [child for child in ast.iter_child_nodes(node) if not isinstance(child, _LEAF_KINDS)]


def _reason_to_refuse(node: ast.AST, callables: frozenset[str]) -> Refusal | None:
    """Why `node` itself (without its children) is refused, or None if it is fine."""
    if not isinstance(node, _ALLOWED_NODES):
        what = _REFUSED_SYNTAX.get(type(node), f"'{type(node).__name__}' syntax")
        return Refusal("expression-construct", f"{what} {_NOT_ALLOWED}",
                       {"construct": type(node).__name__})
    if isinstance(node, ast.Name):
        return _name_reason(node.id)
    if isinstance(node, ast.Attribute):
        # Reached only outside a call: method calls are checked with their Call node.
        return _attribute_reason(node.attr)
    if isinstance(node, ast.Call):
        return _call_reason(node, callables)
    if isinstance(node, ast.keyword) and node.arg is not None:
        return _name_reason(node.arg)
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        if len(node.value) > MAX_STRING_LENGTH:
            return Refusal("expression-long-string",
                           f"a string literal of {len(node.value)} characters {_NOT_ALLOWED} "
                           f"(the limit is {MAX_STRING_LENGTH})",
                           {"length": len(node.value), "limit": MAX_STRING_LENGTH})
        return None
    if isinstance(node, ast.BinOp):
        return _operator_reason(node)
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        return _format_spec_reason(node.format_spec)
    if isinstance(node, ast.comprehension) and node.is_async:
        return Refusal("expression-construct", f"'async for' {_NOT_ALLOWED}",
                       {"construct": "AsyncFor"})
    return None


def _name_reason(name: str) -> Refusal | None:
    if name.startswith("__"):
        return Refusal("expression-dunder", f"the name '{name}' {_NOT_ALLOWED}", {"name": name})
    if name in DENIED_NAMES:
        return Refusal("expression-reserved-name",
                       f"the name '{name}' {_NOT_ALLOWED} "
                       f"(it is reserved; if it is data, rename the variable)", {"name": name})
    return None


def _attribute_reason(attr: str) -> Refusal:
    if attr.startswith("_"):
        return Refusal("expression-dunder", f"attribute access '{attr}' {_NOT_ALLOWED}",
                       {"name": attr})
    return Refusal("expression-attribute",
                   f"attribute access '.{attr}' {_NOT_ALLOWED}; "
                   f"read data with subscripts, e.g. data['{attr}']", {"name": attr})


def _call_reason(node: ast.Call, callables: frozenset[str]) -> Refusal | None:
    func = node.func
    if isinstance(func, ast.Name):
        reason = _name_reason(func.id)
        if reason is None and func.id not in callables:
            allowed = ", ".join(sorted(callables))
            reason = Refusal("expression-call",
                             f"calling '{func.id}' {_NOT_ALLOWED}; these can be called: {allowed}",
                             {"name": func.id, "allowed": allowed})
        return reason
    if isinstance(func, ast.Attribute):
        if func.attr.startswith("_"):
            return _attribute_reason(func.attr)
        if func.attr not in SAFE_METHODS:
            allowed = ", ".join(sorted(SAFE_METHODS))
            return Refusal("expression-method",
                           f"calling the method '.{func.attr}()' {_NOT_ALLOWED}; "
                           f"these methods can be called: {allowed}",
                           {"name": func.attr, "allowed": allowed})
        return None
    return Refusal("expression-call-result",
                   f"calling the result of an expression {_NOT_ALLOWED}; "
                   f"call a helper or builtin by its name", {})


def _operator_reason(node: ast.BinOp) -> Refusal | None:
    if type(node.op) in _REFUSED_OPERATORS:
        operator = _REFUSED_OPERATORS[type(node.op)]
        return Refusal("expression-operator", f"the operator {operator} {_NOT_ALLOWED}",
                       {"operator": operator})
    if isinstance(node.op, ast.Pow) and not _is_number_up_to(node.right, MAX_EXPONENT):
        return Refusal("expression-exponent",
                       f"'**' with an exponent other than a number literal up to {MAX_EXPONENT} "
                       f"{_NOT_ALLOWED}", {"limit": MAX_EXPONENT})
    if isinstance(node.op, ast.Mult):
        for sequence, count in ((node.left, node.right), (node.right, node.left)):
            if not _is_sequence(sequence):
                continue
            if not _is_number_up_to(count, MAX_REPEAT):
                return Refusal("expression-repeat",
                               f"repeating a string or list by anything but a number literal "
                               f"up to {MAX_REPEAT} {_NOT_ALLOWED}", {"limit": MAX_REPEAT})
            if _contains_repetition(sequence):
                return Refusal("expression-repeat-repeated",
                               f"repeating a string or list that is itself repeated "
                               f"{_NOT_ALLOWED}", {})
    if (isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)):
        for spec in _PERCENT_SPEC.findall(node.left.value):
            if "*" in spec or _WIDE_FORMAT.search(spec):
                return Refusal("expression-format-width",
                               f"a computed or five-digit '%' format width {_NOT_ALLOWED}", {})
    return None


def _format_spec_reason(spec: ast.AST) -> Refusal | None:
    """Refuse f-string widths that are computed or absurd (`f'{x:{n}}'`, `f'{x:99999999}'`)."""
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    for part in parts:
        if not isinstance(part, ast.Constant):
            return Refusal("expression-format-width",
                           f"a computed format spec in an f-string {_NOT_ALLOWED}", {})
        if _WIDE_FORMAT.search(str(part.value)):
            return Refusal("expression-format-width",
                           f"a five-digit format width in an f-string {_NOT_ALLOWED}", {})
    return None


def _is_number_up_to(node: ast.expr, limit: int) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (isinstance(node, ast.Constant) and type(node.value) in (int, float)
            and abs(node.value) <= limit)


def _is_sequence(node: ast.AST, levels: int = _SHAPE_LEVELS) -> bool:
    """A string or list written in the text, or built from one (`'a' + b`, `'a' * 3`)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult, ast.Mod)):
        return levels > 0 and (_is_sequence(node.left, levels - 1)
                               or _is_sequence(node.right, levels - 1))
    return (isinstance(node, (ast.List, ast.Tuple, ast.ListComp, ast.JoinedStr))
            or isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _contains_repetition(node: ast.AST, levels: int = _SHAPE_LEVELS) -> bool:
    """Whether `node` repeats a sequence (`'a' * 3`), looking a few operators deep."""
    if not isinstance(node, ast.BinOp):
        return False
    if isinstance(node.op, ast.Mult) and (_is_sequence(node.left) or _is_sequence(node.right)):
        return True
    return levels > 0 and (_contains_repetition(node.left, levels - 1)
                           or _contains_repetition(node.right, levels - 1))


@functools.lru_cache(maxsize=4096)
def _checked_code(text: str, mode: str, helpers: frozenset[str]):
    """The guarded code of a text that passed `check_expression`, remembered by text.

    Run time sees the same few texts again and again; each is checked and compiled once.
    """
    check_expression(text, mode=mode, helpers=helpers)
    return guarded_code(text, mode)


def _sum(values, start=0):
    """`sum` of numbers only: adding up lists or strings is quadratic (`sum(rows, [])`)."""
    if not isinstance(start, (int, float)):
        raise TypeError("sum() adds numbers only here; join strings with ''.join(...)")
    return sum(values, start)


# What expressions run with: the safe builtins, with `range` and `sum` bounded.
RUNTIME_BUILTINS: Mapping[str, Any] = MappingProxyType(
    {**SAFE_BUILTINS, "range": checked_range, "sum": _sum})


class SafeEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment with safe builtins, helpers and a re-check."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None):
        # A snapshot: helpers registered later need a new engine.
        self.helpers = HelperRegistry(helpers)
        self._helper_names = frozenset(self.helpers)
        super().__init__({"__builtins__": dict(RUNTIME_BUILTINS), **self.helpers,
                          **RUNTIME_GLOBALS})

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """Check, then evaluate `expression` over the task data `context`, within the budget."""
        code = _checked_code(expression, "eval", self._helper_names)
        scope = dict(external_context or {})
        scope.update(context)
        # Applied last so that task data (a form field named `__builtins__`, say) cannot
        # replace the safe builtins or a helper.
        scope.update(self.globals)
        with current_budget().running():
            return eval(code, scope)  # noqa: S307 - checked above, safe builtins only

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        """Check, then run the script task `script` over the task data `context`, within budget."""
        code = _checked_code(script, "exec", self._helper_names)
        with current_budget().running():
            return super().execute(code, context, external_context)


def make_script_engine(helpers: Mapping[str, Callable[..., Any]] | None = None
                       ) -> PythonScriptEngine:
    """A SpiffWorkflow script engine that evaluates through `SafeEnvironment`."""
    return PythonScriptEngine(environment=SafeEnvironment(helpers))
