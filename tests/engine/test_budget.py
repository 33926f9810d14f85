"""Run-time limits: what data drives in a script is stopped by CPU time and by size."""

from __future__ import annotations

import pytest

from engine.bpm.budget import MAX_ITEMS, BudgetExceededError, service_budget
from engine.bpm.expression_helpers import HELPERS
from engine.bpm.sandbox import SafeEnvironment
from engine.core.errors import UnsafeExpressionError


def run(script: str, **data):
    context = dict(data)
    SafeEnvironment(HELPERS).execute(script, context)
    return context


def evaluate(expression: str, **data):
    return SafeEnvironment(HELPERS).evaluate(expression, dict(data))


@pytest.mark.parametrize("script", [
    "for i in range(10**12):\n    pass",                      # the finding: a range of 10**12
    "n = 10 ** 12\nxs = list(range(n))",
    "s = 'a' * 10000\nt = s * 10000\nu = t * 5",               # repetition across statements
    "s = 'ab'\nfor i in range(40):\n    s = s + s",            # doubling in a loop
    "s = ['x']\nfor i in range(40):\n    s += s",              # in place
    "x = 10 ** 100\nfor i in range(50):\n    x = x * x",       # powers stacked across statements
    "x = 7\nfor i in range(30):\n    x = x ** 2",
    "s = 'a' * 5000\nt = s.replace('a', s)",                   # a method that multiplies
    "parts = ['a' * 5000] * 1000\nt = ','.join(parts)",
    "xs = [0] * 1000\nfor i in range(20):\n    xs.extend(xs)",
])
def test_a_script_that_data_makes_huge_is_stopped_before_it_grows(script):
    with pytest.raises(BudgetExceededError, match="超过了上限"):
        run(script)


def test_a_loop_that_runs_too_long_is_stopped_when_the_call_has_spent_its_cpu_time():
    script = "x = 0\nfor i in range(1000000):\n    for j in range(1000000):\n        x = x + 1"
    with service_budget(0.2), pytest.raises(BudgetExceededError, match="计算时限"):
        run(script)


def test_the_expressions_of_one_service_call_share_one_budget():
    busy = "x = 0\nfor i in range(300000):\n    x = x + i"
    with service_budget(0.2) as budget:
        with pytest.raises(BudgetExceededError):
            for _ in range(1000):
                run(busy)
        assert budget.left <= 0
        with pytest.raises(BudgetExceededError, match="计算时限"):
            evaluate("1 + 1")  # nothing more runs in this call once the budget is spent


def test_ordinary_scripts_still_run_and_keep_their_meaning():
    shared = [1, 2]
    context = run("items += [3]\ntotal = sum(items) * 2\nlabel = '-'.join(['a', 'b'])\n"
                  "big = 2 ** 64\nwords = 'a b'.replace(' ', ', ')\nn = len(list(range(10)))",
                  items=shared)
    assert shared == [1, 2, 3]  # `+=` on a list still changes it in place
    assert (context["total"], context["label"], context["big"], context["words"],
            context["n"]) == (12, "a-b", 2 ** 64, "a, b", 10)
    assert evaluate("amount * 2 > limit", amount=3, limit=5) is True
    assert evaluate("'x' * 3 + name", name="y") == "xxxy"


def test_a_result_at_the_limit_is_allowed_and_one_more_is_not():
    assert len(run("s = text * n", text="ab", n=MAX_ITEMS // 2)["s"]) == MAX_ITEMS
    with pytest.raises(BudgetExceededError):
        run("s = text * n", text="ab", n=MAX_ITEMS // 2 + 1)


def test_sum_adds_numbers_only():
    with pytest.raises(TypeError, match="numbers only"):
        run("rows = [[1]] * 10\nflat = sum(rows, [])")


def test_the_checked_calls_cannot_be_named_by_a_designer():
    for text in ("__gj_op__('Mult', 'a', 10 ** 9)", "__gj_method__(s, 'join', xs)"):
        with pytest.raises(UnsafeExpressionError):
            evaluate(text, s="", xs=[])
