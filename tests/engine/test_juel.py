"""JUEL's common subset read as Python: a table of what each text becomes, and what is refused."""

from __future__ import annotations

import ast
import time

import pytest
from lxml import etree

from engine.bpm.expression_scan import find_expressions
from engine.bpm.juel import JuelError, is_juel, juel_parts, translate, translate_template
from engine.bpm.sandbox import check_expression


@pytest.mark.parametrize(("juel", "python"), [
    # the forms of Camunda Modeler files
    ("${clarified == 'no'}", "clarified == 'no'"),
    ("${approved}", "approved"),
    ("#{amount > 1000}", "amount > 1000"),
    ("${!rejected && score >= 3}", "not rejected and score >= 3"),
    ("${empty list}", "not list and list != 0"),
    ("${not empty comments}", "not (not comments and comments != 0)"),
    # comparison operators, symbols and words
    ("${a == b}", "a == b"), ("${a eq b}", "a == b"),
    ("${a != b}", "a != b"), ("${a ne b}", "a != b"),
    ("${a < b}", "a < b"), ("${a lt b}", "a < b"),
    ("${a > b}", "a > b"), ("${a gt b}", "a > b"),
    ("${a <= b}", "a <= b"), ("${a le b}", "a <= b"),
    ("${a >= b}", "a >= b"), ("${a ge b}", "a >= b"),
    # boolean logic, symbols and words, with JUEL's precedence
    ("${a && b}", "a and b"), ("${a and b}", "a and b"),
    ("${a || b}", "a or b"), ("${a or b}", "a or b"),
    ("${!a}", "not a"), ("${not a}", "not a"),
    ("${a && b && c || d}", "a and b and c or d"),
    ("${a || b && c}", "a or (b and c)"),
    ("${(a || b) && c}", "(a or b) and c"),
    ("${!(a == b)}", "not a == b"),
    ("${!a == b}", "(not a) == b"),
    ("${a == b < c}", "a == (b < c)"),
    ("${empty a && b}", "not a and a != 0 and b"),
    # literals
    ("${name == \"张三\"}", "name == '张三'"),
    ("${s == 'it\\'s'}", "s == \"it's\""),
    ("${s == \"say \\\"hi\\\"\"}", "s == 'say \"hi\"'"),
    ("${s == 'a\\\\b'}", "s == 'a\\\\b'"),
    ("${s == '}'}", "s == '}'"),
    ("${n == 12}", "n == 12"),
    ("${n < 1.5}", "n < 1.5"),
    ("${n < .5}", "n < 0.5"),
    ("${n < 1e3}", "n < 1000.0"),
    ("${n > -1}", "n > -1"),
    ("${true}", "True"), ("${false}", "False"), ("${null}", "None"),
    ("${x == null}", "x is None"), ("${null == x}", "x is None"),
    ("${x != null}", "x is not None"), ("${x ne null}", "x is not None"),
    # variables and properties
    ("${a.b}", "a['b']"),
    ("${a.b.c}", "a['b']['c']"),
    ("${a['b']}", "a['b']"),
    ("${a[\"b\"].c}", "a['b']['c']"),
    ("${a[0]}", "a[0]"),
    ("${a[i]}", "a[i]"),
    ("${申请.金额 > 100}", "申请['金额'] > 100"),
    ("${_x1}", "_x1"),
    # the conditional
    ("${a ? b : c}", "b if a else c"),
    ("${a ? 'yes' : 'no'}", "'yes' if a else 'no'"),
    ("${a ? b : c ? d : e}", "b if a else d if c else e"),
    ("${(a ? b : c) == d}", "(b if a else c) == d"),
    # arithmetic
    ("${a + b * c}", "a + b * c"),
    ("${(a + b) * c}", "(a + b) * c"),
    ("${a - b - c}", "a - b - c"),
    ("${a div 2}", "a / 2"), ("${a / 2}", "a / 2"),
    ("${a mod 2 == 0}", "a % 2 == 0"), ("${a % 2}", "a % 2"),
    ("${nrOfCompletedInstances / nrOfInstances >= 0.6}",
     "nrOfCompletedInstances / nrOfInstances >= 0.6"),
    # spacing
    ("  ${ approved }  ", "approved"),
    ("${a\n&&\nb}", "a and b"),
])
def test_a_juel_expression_becomes_this_python(juel: str, python: str) -> None:
    translated = translate(juel)
    assert translated == python
    check_expression(translated, helpers=())  # every translation meets the sandbox


@pytest.mark.parametrize(("juel", "construct", "words"), [
    ("${x.size()}", "method call 'size(...)'", "method call '.size(...)'"),
    ("${execution.getVariable('a')}", "method call 'getVariable(...)'", "method call"),
    ("${a[0](1)}", "method call", "method call"),
    ("${len(x)}", "function call 'len(...)'", "function call 'len(...)'"),
    ("${fn:contains(a, b)}", "function call 'fn:contains(...)'", "function call"),
    ("${empty}", "'empty'", "needs a value after it"),
    ("${empty == x}", "'empty'", "needs a value after it"),
    ("${empty 5}", "'empty'", "never is"),
    ("${empty true}", "'empty'", "never is"),
    ("${${a}}", "nested '${'", "another '${'"),
    ("${a == #{b}}", "nested '${'", "another '${'"),
    ("${a = 1}", "=", "To compare two values, write '=='"),
    ("${a & b}", "&", "write '&&'"),
    ("${a | b}", "|", "write '||'"),
    ("${a += 'x'}", "+=", "concatenation"),
    ("${x -> x + 1}", "->", "lambda"),
    ("${a; b}", ";", "one expression"),
    ("${{1, 2}}", "{", "set or map literal"),
    ("${a instanceof b}", "instanceof", "'instanceof'"),
    ("${a ^ b}", "character '^'", "'^'"),
    ("${a ? b}", "syntax", "':' of 'a ? b : c'"),
    ("${a ==}", "syntax", "expected a value"),
    ("${a b}", "syntax", "expected the end"),
    ("${(a}", "syntax", "expected ')'"),
    ("${a.}", "syntax", "property name"),
    ("${and}", "syntax", "operator"),
    ("${class}", "name 'class'", "a word of Python"),
    ("${a == 'x}", "unclosed text", "no closing '"),
    ("${s == '\\n'}", "escape '\\n'", "escape"),
    ("${}", "empty expression", "is empty"),
    ("${   }", "empty expression", "is empty"),
    ("${a", "unclosed '${'", "no closing '}'"),
    ("${a} and ${b}", "text around the expression", "one '${...}'"),
    ("approved == ${x}", "text around the expression", "one '${...}'"),
    ("${1" + "0" * 40 + "}", "number", "too long"),
    ("${" + "!" * 60 + "a}", "nesting", "more than 50"),
    ("${" + "(" * 60 + "a" + ")" * 60 + "}", "nesting", "more than 50"),
    ("${" + ".".join(["a"] * 80) + "}", "nesting", "more than 50"),
    ("${" + " + ".join(["a"] * 80) + "}", "nesting", "more than 50"),
])
def test_a_construct_outside_the_subset_is_refused_by_name(juel: str, construct: str,
                                                            words: str) -> None:
    with pytest.raises(JuelError) as refused:
        translate(juel)
    assert refused.value.construct == construct
    assert words in refused.value.message
    # Messages are whole sentences, so that they can be translated as a whole.
    assert refused.value.message.rstrip().endswith(".")


def test_juel_is_recognised_by_its_braces_only() -> None:
    assert is_juel("${a}") and is_juel("#{a}") and is_juel("approver@${department}")
    assert not is_juel("approved == True") and not is_juel("price$") and not is_juel(None)
    assert not is_juel("'{a}'")


def test_parts_of_a_name_are_found_with_their_places() -> None:
    parts = juel_parts("approver@${dept}, unit:#{units['lead']}")
    assert [(p.body, p.start, p.end) for p in parts] == [("dept", 9, 16), ("units['lead']", 23, 39)]


@pytest.mark.parametrize(("written", "python"), [
    ("approver@${department}", "approver@${department}"),
    ("unit:${project.unit}", "unit:${project['unit']}"),
    ("${handler}", "${handler}"),
    ("office, #{lead ? 'county_head' : 'office'}",
     "office, ${'county_head' if lead else 'office'}"),
    ("specialist", "specialist"),
])
def test_names_with_embedded_parts_keep_their_text_and_translate_each_part(written: str,
                                                                        python: str) -> None:
    assert translate_template(written) == python


def test_a_refused_part_of_a_name_names_its_construct() -> None:
    with pytest.raises(JuelError, match="method call"):
        translate_template("approver@${dept.lower()}")


def test_a_brace_inside_a_text_of_an_assignment_is_refused_at_deploy() -> None:
    task = etree.fromstring(
        '<bpmn:userTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="t" '
        'camunda:assignee="${a == \'}\' ? b : c}" />')
    [expression] = find_expressions(task)
    assert expression.translated is None and "'}'" in expression.refusal


def test_translation_never_runs_the_text() -> None:
    # A text that would do something if evaluated is only ever parsed.
    with pytest.raises(JuelError):
        translate("${__import__('os').system('true')}")
    assert translate("${__import__}") == "__import__"  # the sandbox refuses the name itself


def test_every_translation_is_python_that_parses() -> None:
    for juel in ("${a ? b ? c : d : e}", "${-a.b}", "${!empty a}", "${a[b[c]]}",
                 "${a == b ? c : d}", "${not a or not b}"):
        ast.parse(translate(juel), mode="eval")


def test_a_long_hostile_text_is_refused_quickly() -> None:
    began = time.perf_counter()
    for text in ("${" + "a && " * 5_000 + "a}", "${" + "'" * 9_999 + "}", "${" + "[" * 9_000 + "}"):
        with pytest.raises(JuelError):
            translate(text)
    assert time.perf_counter() - began < 2.0
