"""Run-time limits for what expressions and scripts do with data: CPU time and sizes.

The deploy-time check (engine.bpm.sandbox) refuses the bombs written into a text; what data
can drive — a loop over a range read from a form, a string doubled in a loop, powers
stacked across statements — is only known when it runs. So every expression and script
runs here under two fences:

- **CPU time**: a service call has a budget of CPU seconds for all the expressions and
  scripts it runs (`BUDGET_SECONDS`, bound by `service_budget`; a single evaluation outside
  a service call gets one budget of its own). The code is traced while it runs and stopped
  at the first line past the budget. The time is the thread's CPU time, a measure of work,
  not the platform's clock.
- **Engine steps**: the steps the engine runs between two waits in one service call are
  counted (`MAX_ENGINE_STEPS`) and their CPU time with the scripts' is bounded
  (`ENGINE_SECONDS`), so a process that loops without waiting stops instead of holding a
  worker, and the write lock it holds, indefinitely.
- **Sizes**: the operators and methods that can make a value much larger than their
  operands (`*`, `+`, `**`, `join`, `replace`, `extend`, `range`) are rewritten to checked
  calls that refuse a result over `MAX_ITEMS` items or an integer over `MAX_INT_BITS` bits
  *before* computing it, so no single operation can take the memory or a long C-level
  loop.

Both raise `BudgetExceededError` with a message in Chinese that says what was stopped.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import copy
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..core.errors import WorkflowExecutionError

BUDGET_SECONDS = 2.0
ENGINE_SECONDS = 5.0        # CPU for everything the engine does in one service call
MAX_ENGINE_STEPS = 10_000   # engine steps between two waits in one service call
MAX_ITEMS = 1_000_000       # characters of a string, items of a list, tuple, dict or set
MAX_INT_BITS = 100_000      # about 30,000 decimal digits

# Limits on what a definition may make the engine itself do (checked at deploy by the lint
# and again at run time where data decides): instances of one multi-instance activity,
# branches leaving one parallel or inclusive gateway, and the repetitions of a timer cycle.
MAX_INSTANCES = 200
MAX_FAN_OUT = 50
MIN_CYCLE_SECONDS = 60
MAX_CYCLE_REPEATS = 1_000
_CHECK_EVERY = 256          # traced lines between two looks at the CPU clock

OP = "__gj_op__"
IN_PLACE_OP = "__gj_iop__"
METHOD = "__gj_method__"
GROWING_METHODS = frozenset({"join", "replace", "extend"})


class BudgetExceededError(WorkflowExecutionError):
    """A service call's scripts or engine steps used more CPU time or memory than allowed."""


class Budget:
    """CPU seconds left for the expressions and scripts of one service call."""

    def __init__(self, seconds: float = BUDGET_SECONDS, engine_seconds: float = ENGINE_SECONDS,
                 max_steps: int | None = None):
        self.seconds = seconds
        self.left = seconds
        self.engine_seconds = engine_seconds
        self.engine_deadline = time.thread_time() + engine_seconds
        self.max_steps = MAX_ENGINE_STEPS if max_steps is None else max_steps
        self.steps_left = self.max_steps

    def engine_step(self, _task=None) -> None:
        """Count one engine step; stop the call when it ran too many or too long."""
        self.steps_left -= 1
        if self.steps_left < 0:
            raise BudgetExceededError(
                f"流程在一次办理中连续运行了超过 {self.max_steps:,} 步而没有停下等待，已被停止，"
                "本次办理未做任何更改。请流程设计人员检查流程中没有等待环节的循环。")
        if time.thread_time() > self.engine_deadline:
            raise BudgetExceededError(
                f"流程在一次办理中运行超过了 {self.engine_seconds:g} 秒计算时限，已被停止，"
                "本次办理未做任何更改。")

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Trace the code run inside the block and stop it when the budget is spent."""
        if self.left <= 0:
            raise _out_of_time(self.seconds)
        started = time.thread_time()
        deadline = started + self.left
        lines = 0

        def local(frame, event, arg):
            nonlocal lines
            lines += 1
            if lines % _CHECK_EVERY == 0 and time.thread_time() > deadline:
                raise _out_of_time(self.seconds)
            return local

        def calls(frame, event, arg):
            return local

        previous = sys.gettrace()
        sys.settrace(calls)
        try:
            yield
        finally:
            sys.settrace(previous)
            self.left -= time.thread_time() - started


def _out_of_time(seconds: float) -> BudgetExceededError:
    return BudgetExceededError(
        f"脚本或表达式运行超过了每次办理的 {seconds:g} 秒计算时限，已被停止，"
        "本次办理未做任何更改。请流程设计人员检查脚本中的循环。")


_bound: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "gongjian_budget", default=None)


@contextlib.contextmanager
def service_budget(seconds: float = BUDGET_SECONDS) -> Iterator[Budget]:
    """Give the expressions and scripts run inside the block one shared CPU budget."""
    budget = _bound.get()
    if budget is not None:  # a service called from another shares its caller's budget
        yield budget
        return
    budget = Budget(seconds)
    token = _bound.set(budget)
    try:
        yield budget
    finally:
        _bound.reset(token)


def current_budget() -> Budget:
    """The bound service call's budget, or a fresh one for a lone evaluation."""
    return _bound.get() or Budget()


# ---------------------------------------------------------------- sizes

def _too_big(what: str) -> BudgetExceededError:
    return BudgetExceededError(
        f"脚本或表达式要生成的{what}超过了上限（{MAX_ITEMS:,} 项或 {MAX_INT_BITS:,} 位整数），"
        "已被停止，本次办理未做任何更改。")


def _size(value: Any) -> int | None:
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    return None


def _check_int(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _too_big("整数")


def _check_result(op: str, a: Any, b: Any) -> None:
    """Refuse `a op b` when its result would be over the limits (before computing it)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return
    if op == "Mult":
        for seq, count in ((a, b), (b, a)):
            size = _size(seq)
            if size is not None and isinstance(count, int) and size * max(count, 0) > MAX_ITEMS:
                raise _too_big("字符串或列表")
        if isinstance(a, int) and isinstance(b, int):
            _check_int(a.bit_length() + b.bit_length())
    elif op == "Add":
        left, right = _size(a), _size(b)
        if left is not None and right is not None and left + right > MAX_ITEMS:
            raise _too_big("字符串或列表")
    elif op == "Pow" and isinstance(a, int) and isinstance(b, int) and b > 0:
        _check_int(max(a.bit_length(), 1) * b)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "Mult": lambda a, b: a * b, "Add": lambda a, b: a + b, "Pow": lambda a, b: a ** b,
}


def checked_op(op: str, a: Any, b: Any) -> Any:
    """`a op b`, refused before it is computed when the result would be too big."""
    _check_result(op, a, b)
    return _OPERATORS[op](a, b)


def checked_in_place_op(op: str, a: Any, b: Any) -> Any:
    """`a op= b` (in place where the type does it in place), checked like `checked_op`."""
    _check_result(op, a, b)
    if op == "Mult":
        a *= b
    elif op == "Add":
        a += b
    else:
        a **= b
    return a


def checked_method(target: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """`target.name(*args)` for a method that can grow a value, refused when it would."""
    if name == "join" and isinstance(target, (str, bytes)) and args:
        items = list(args[0])
        total = sum(_size(item) or 0 for item in items) + len(target) * max(len(items) - 1, 0)
        if total > MAX_ITEMS:
            raise _too_big("字符串")
        return target.join(items, *args[1:], **kwargs)
    if name == "replace" and isinstance(target, (str, bytes)) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, (str, bytes)) and isinstance(new, (str, bytes)):
            hits = target.count(old) if old else len(target) + 1
            if len(target) + hits * max(len(new) - len(old), 0) > MAX_ITEMS:
                raise _too_big("字符串")
    if name == "extend" and isinstance(target, list) and args:
        more = _size(args[0])
        if more is not None and len(target) + more > MAX_ITEMS:
            raise _too_big("列表")
    return getattr(target, name)(*args, **kwargs)


def checked_range(*args: int) -> range:
    """`range(...)` of at most MAX_ITEMS numbers."""
    numbers = range(*args)
    try:
        count = len(numbers)
    except OverflowError:
        count = MAX_ITEMS + 1
    if count > MAX_ITEMS:
        raise _too_big("数列（range）")
    return numbers


RUNTIME_GLOBALS: dict[str, Any] = {
    OP: checked_op, IN_PLACE_OP: checked_in_place_op, METHOD: checked_method,
}


# ---------------------------------------------------------------- the rewrite

_GUARDED = {ast.Mult: "Mult", ast.Add: "Add", ast.Pow: "Pow"}


def _loaded(target: ast.expr) -> ast.expr:
    node = copy.deepcopy(target)
    for part in ast.walk(node):
        if hasattr(part, "ctx"):
            part.ctx = ast.Load()
    return node


class _Guard(ast.NodeTransformer):
    """Route growing operators and methods through the checked calls above."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        op = _GUARDED.get(type(node.op))
        if op is None:
            return node
        return ast.copy_location(ast.Call(
            func=ast.Name(OP, ast.Load()),
            args=[ast.Constant(op), node.left, node.right], keywords=[]), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        op = _GUARDED.get(type(node.op))
        if op is None:
            return node
        value = ast.Call(func=ast.Name(IN_PLACE_OP, ast.Load()),
                         args=[ast.Constant(op), _loaded(node.target), node.value], keywords=[])
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in GROWING_METHODS:
            return ast.copy_location(ast.Call(
                func=ast.Name(METHOD, ast.Load()),
                args=[func.value, ast.Constant(func.attr), *node.args],
                keywords=node.keywords), node)
        return node


def guarded_code(text: str, mode: str):
    """The code object of a checked expression or script, with its growth guarded."""
    tree = ast.parse(text.lstrip(" \t") if mode == "eval" else text, mode=mode)
    tree = ast.fix_missing_locations(_Guard().visit(tree))
    return compile(tree, "<expression>" if mode == "eval" else "<script>", mode)
