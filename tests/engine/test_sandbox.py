"""The expression sandbox: escapes refused at deploy wherever expressions live, the safe subset
accepted, and evaluation through SpiffWorkflow with the restricted script engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.core.errors import DefinitionError, UnsafeExpressionError
from engine.bpm.expression_scan import (
    check_document,
    dmn_unary_test_as_python,
    due_date_as_python,
    find_expressions,
)
from engine.bpm.sandbox import (
    HelperRegistry,
    SafeEnvironment,
    check_expression,
    make_script_engine,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sandbox"
NAMESPACES = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
HELPERS = HelperRegistry({"double": lambda n: n * 2})

# Where an expression can sit: fixture file, the element whose text holds it, and the id the
# error must name (the flow, event, task or rule around it).
PLACES = {
    "script": ("route_by_score.bpmn", ".//bpmn:scriptTask[@id='Task_score']/bpmn:script",
               "Task_score"),
    "condition": ("route_by_score.bpmn",
                  ".//bpmn:sequenceFlow[@id='Flow_high']/bpmn:conditionExpression", "Flow_high"),
    "timer": ("wait_then_review.bpmn",
              ".//bpmn:intermediateCatchEvent[@id='Event_wait']//bpmn:timeDuration",
              "Event_wait"),
    "dmn_input_entry": ("decide_priority.dmn",
                        ".//dmn:rule[@id='Rule_low']/dmn:inputEntry/dmn:text", "Rule_low"),
    "dmn_output_entry": ("decide_priority.dmn",
                         ".//dmn:rule[@id='Rule_high']/dmn:outputEntry/dmn:text", "Rule_high"),
}

ESCAPES = {
    "import statement": "import os",
    "from-import statement": "from os import system",
    "__import__ call": "__import__('os').system('id')",
    "open a file": "open('/etc/passwd').read()",
    "eval": "eval('1 + 1')",
    "exec": "exec('import os')",
    "compile": "compile('1', 'x', 'eval')",
    "subclass walk": "().__class__.__base__.__subclasses__()",
    "subclass walk in a comprehension":
        "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "getattr": "getattr((), '__class__')",
    "getattr with a built-up name": "getattr(x, '_' + '_class_' + '_')",
    "str.format attribute access": "'{0.__class__}'.format(x)",
    "str.format_map": "'{x.__class__}'.format_map(data)",
    "f-string attribute access": "f'{x.__class__}'",
    "globals": "globals()['__builtins__']",
    "vars": "vars()",
    "locals": "locals()",
    "type to build a class": "type('Escape', (), {})",
    "walrus leaking a comprehension variable": "[(leak := c) for c in items] and leak",
    "walrus aliasing builtins": "(b := __builtins__)",
    "breakpoint": "breakpoint()",
    "generator frame": "(i for i in x).gi_frame.f_back.f_globals",
    "builtins module through a bound builtin": "len.__self__.__import__('os')",
    "__builtins__ subscript": "__builtins__['eval']('1')",
    "lambda": "(lambda: 0)()",
    "lambda fork bomb": "(lambda f: f(f))(lambda f: f(f))",
    "class definition": "class Escape: pass",
    "function definition": "def f(): pass",
    "endless while loop": "while True: pass",
    "try block": "try:\n    x = 1\nexcept Exception:\n    x = 2",
    "with block": "with open('x') as f: pass",
    "global statement": "global x",
    "attribute assignment": "x.__class__ = y",
    "module dunder name": "__loader__",
    "super": "super()",
    "object subclasses": "object.__subclasses__()",
    "input": "input()",
    "help": "help()",
    "memoryview": "memoryview(b'x')",
    "yield": "(yield x)",
    "await": "await x",
    "calling a computed value": "sorted([len])[0]('x')",
    "builtin handed over as a key": "sorted(items, key=eval)",
    "unregistered function": "system('id')",
    "method outside the allow-list": "x.mro()",
    "plain attribute read": "task.workflow",
    "deep nesting": "[" * 100 + "1" + "]" * 100,
    "node bomb": "[" + ", ".join(["1"] * 3000) + "]",
    "huge string literal": "'" + "a" * 12_000 + "'",
    "huge text": "1 + " * 20_000 + "1",
    "power bomb": "9 ** 9 ** 9",
    "stacked power bomb": "((9 ** 99 * 1) ** 99 * 1) ** 99",
    "repetition bomb": "'a' * 10 ** 9",
    "shift bomb": "1 << 10 ** 9",
    "nested repetition bomb": "('a' * 10000 + 'b') * 10000",
    "f-string width bomb": "f'{x:999999999}'",
    "f-string computed width": "f'{x:{width}}'",
    "percent width bomb": "'%999999999d' % 1",
    "percent computed width": "'%*d' % (width, 1)",
}

SAFE_EXPRESSIONS = [
    "amount * 2 + 1",
    "score > 100 and not urgent",
    "kind in ['a', 'b']",
    "data['field'] == 'x'",
    "[i * 2 for i in items if i > 0]",
    "{k: v for k, v in pairs.items()}",
    "len(items) > 2",
    "double(amount) > 10",
    "'%s-%d' % (code, number)",
    "f'{name}: {amount:.2f}'",
    "'high' if amount >= 100 else 'low'",
    "items[1:3]",
    "min(a, b) <= max(c, d)",
    "name.strip().lower().startswith('a')",
    "sum(x ** 2 for x in items) ** 0.5",
    "'-' * 10",
    "any(i > 3 for i in items)",
    "sorted(items, key=len)",
    "'\"PT2S\"'",
    "{'issue_id': issue_id, **extra}",
    "'%(code)s: %-10.2f' % values",
    "f'{amount:>12,.2f}'",
]

SAFE_SCRIPTS = [
    "total = sum(items)",
    "x = 1\nif x > 0:\n    y = 'positive'\nelse:\n    y = 'other'",
    "for item in items:\n    item['done'] = True",
    "result = {}\nresult['a'] = 1\nresult['a'] += 1",
    "names = []\nnames.append('x')\ndel names[0]",
    "a, *rest = [1, 2, 3]",
    "count = 0\nfor i in range(10):\n    if i % 2:\n        continue\n    count += i",
    "due = double(days)",
]


def load(name: str) -> etree._Element:
    """A fixture file as an lxml tree root."""
    return etree.parse(str(FIXTURES / name)).getroot()


def document_with(place: str, text: str) -> tuple[etree._Element, str]:
    """The fixture for `place` with `text` put where the expression goes, and the id to expect."""
    filename, path, element_id = PLACES[place]
    root = load(filename)
    (node,) = root.xpath(path, namespaces=NAMESPACES)
    node.text = text
    return root, element_id


def parser_with(*names: str, root: etree._Element | None = None) -> CamundaParser:
    """A Camunda parser loaded with fixture files (and optionally one edited document)."""
    parser = CamundaParser()
    for name in names:
        if name.endswith(".dmn"):
            parser.add_dmn_file(str(FIXTURES / name))
        else:
            parser.add_bpmn_file(str(FIXTURES / name))
    if root is not None:
        parser.add_bpmn_xml(root, filename="edited.bpmn")
    return parser


def start(parser: CamundaParser, process_id: str, data: dict) -> BpmnWorkflow:
    """A new workflow on the safe engine, with `data` on its ready start task."""
    workflow = BpmnWorkflow(parser.get_spec(process_id), script_engine=make_script_engine(HELPERS))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return workflow


def save_and_restore(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Round-trip through JSON and put the safe engine back, as the runtime does after a load."""
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    restored = serializer.deserialize_json(serializer.serialize_json(workflow))
    restored.script_engine = make_script_engine(HELPERS)
    return restored


def completed_ids(workflow: BpmnWorkflow) -> set[str]:
    """The BPMN ids of the completed tasks."""
    return {task.task_spec.bpmn_id for task in workflow.get_tasks(state=TaskState.COMPLETED)}


# --- deploy time: escapes are refused wherever they are placed ---------------------------------

@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("escape", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_attempt_is_refused_at_deploy_naming_the_element(escape: str, place: str) -> None:
    root, element_id = document_with(place, escape)
    with pytest.raises(UnsafeExpressionError) as refused:
        check_document(root, filename=PLACES[place][0], helpers=HELPERS)
    assert refused.value.element_id == element_id
    assert element_id in str(refused.value)
    assert PLACES[place][0] in str(refused.value)


def test_all_fixture_files_pass_the_check_as_written() -> None:
    for path in sorted(FIXTURES.iterdir()):
        check_document(load(path.name), filename=path.name, helpers=HELPERS)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("expression", SAFE_EXPRESSIONS)
def test_safe_expression_passes_in_every_place(expression: str, place: str) -> None:
    root, _ = document_with(place, expression)
    check_document(root, filename=PLACES[place][0], helpers=HELPERS)


@pytest.mark.parametrize("script", SAFE_SCRIPTS)
def test_safe_script_passes(script: str) -> None:
    root, _ = document_with("script", script)
    check_document(root, filename="route_by_score.bpmn", helpers=HELPERS)


def test_unsafe_expression_error_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError):
        check_expression("x.__class__")


@pytest.mark.parametrize(("text", "reason"), [
    ("().__class__", "attribute access '__class__' is not allowed in expressions"),
    ("'{0.__class__}'.format(x)", "calling the method '.format()' is not allowed"),
    ("open('x')", "the name 'open' is not allowed"),
    ("system('id')", "calling 'system' is not allowed"),
    ("task.workflow", "read data with subscripts, e.g. data['workflow']"),
    ("(y := 1)", "an assignment expression (':=') is not allowed"),
    ("'" + "a" * 12_000 + "'", "string literal of 12000 characters"),
    ("[" * 60 + "]" * 60, "nested too deeply"),
    ("9 ** x", "'**' with an exponent other than a number literal"),
    ("1 +", "not valid Python"),
])
def test_refusal_says_what_was_refused(text: str, reason: str) -> None:
    with pytest.raises(UnsafeExpressionError, match=None) as refused:
        check_expression(text, element_id="Flow_1", filename="issue.bpmn")
    assert reason in refused.value.message
    assert str(refused.value).startswith("issue.bpmn, element Flow_1: ")


def test_helper_calls_pass_only_when_the_helper_is_registered() -> None:
    check_expression("add_working_days(start, 3)", helpers={"add_working_days"})
    with pytest.raises(UnsafeExpressionError, match="calling 'add_working_days'"):
        check_expression("add_working_days(start, 3)")


def test_error_line_points_at_the_offending_script_line() -> None:
    root, _ = document_with("script", "a = 1\nb = 2\nc = a.__class__")
    (script,) = root.xpath(PLACES["script"][1], namespaces=NAMESPACES)
    with pytest.raises(UnsafeExpressionError) as refused:
        check_document(root, filename="route_by_score.bpmn", helpers=())
    assert refused.value.line == script.sourceline + 2


def test_several_problems_are_listed_in_one_error_naming_the_first() -> None:
    root, _ = document_with("script", "import os")
    (condition,) = root.xpath(PLACES["condition"][1], namespaces=NAMESPACES)
    condition.text = "eval('1')"
    with pytest.raises(UnsafeExpressionError) as refused:
        check_document(root, filename="route_by_score.bpmn", helpers=())
    assert refused.value.element_id == "Task_score"
    assert "2 expressions are not allowed" in refused.value.message
    assert "element Task_score: script 'import os'" in refused.value.message
    assert "element Flow_high: condition \"eval('1')\"" in refused.value.message


# --- deploy time: where the expressions are ---------------------------------------------------

def test_scan_finds_every_kind_of_expression_in_the_fixtures() -> None:
    found = {(e.kind, e.element_id) for name in ("route_by_score.bpmn", "wait_then_review.bpmn",
                                                 "notify_with_message.bpmn", "decide_priority.dmn")
             for e in find_expressions(load(name))}
    assert found == {
        ("script", "Task_score"), ("condition", "Flow_high"), ("condition", "Flow_low"),
        ("timer", "Event_wait"), ("due_date", "Task_review"), ("due_date", "Task_sign"),
        ("collection", "Task_review"), ("element_variable", "Task_review"),
        ("completion_condition", "Task_review"), ("loop_cardinality", "Task_sign"),
        ("correlation", "Correlation_issue"), ("loop_condition", "Task_collect"),
        ("message_payload", "Event_notify"), ("dmn_input", "Input_amount"),
        ("dmn_input_entry", "Rule_low"), ("dmn_input_entry", "Rule_high"),
        ("dmn_output_entry", "Rule_low"), ("dmn_output_entry", "Rule_high"),
    }


def test_scan_records_the_source_line() -> None:
    (script,) = [e for e in find_expressions(load("route_by_score.bpmn")) if e.kind == "script"]
    assert script.line == 10
    assert script.mode == "exec"


def test_dmn_cell_meaning_any_value_is_not_checked() -> None:
    root, _ = document_with("dmn_input_entry", "-")
    assert "Rule_low" not in {e.element_id for e in find_expressions(root)
                              if e.kind == "dmn_input_entry"}


def test_dmn_file_in_an_unexpected_namespace_is_still_scanned() -> None:
    text = (FIXTURES / "decide_priority.dmn").read_text(encoding="utf-8")
    root = etree.fromstring(text.replace("https://www.omg.org/spec/DMN/20191111/MODEL/",
                                         "urn:not-dmn").encode())
    (cell,) = root.xpath(".//*[local-name()='outputEntry'][@id='LiteralExpression_low']/*")
    cell.text = "open('x')"
    with pytest.raises(UnsafeExpressionError) as refused:
        check_document(root, filename="decide_priority.dmn", helpers=())
    assert refused.value.element_id == "Rule_low"


def test_correlation_expression_hidden_behind_a_comment_is_checked() -> None:
    # SpiffWorkflow reads the first child of the retrieval expression, even a comment.
    root = load("notify_with_message.bpmn")
    (retrieval,) = root.xpath(".//bpmn:correlationPropertyRetrievalExpression",
                              namespaces=NAMESPACES)
    retrieval.insert(0, etree.Comment("__import__('os')"))
    with pytest.raises(UnsafeExpressionError) as refused:
        check_document(root, filename="notify_with_message.bpmn", helpers=())
    assert refused.value.element_id == "Correlation_issue"


def test_multi_instance_collection_must_be_a_plain_name() -> None:
    root = load("wait_then_review.bpmn")
    (loop,) = root.xpath(
        ".//bpmn:userTask[@id='Task_review']/bpmn:multiInstanceLoopCharacteristics",
        namespaces=NAMESPACES)
    loop.set("{http://camunda.org/schema/1.0/bpmn}collection", "${reviewers}")
    check_document(root, filename="wait_then_review.bpmn", helpers=())  # JUEL for `reviewers`
    loop.set("{http://camunda.org/schema/1.0/bpmn}collection", "${reviewers.all}")
    with pytest.raises(UnsafeExpressionError, match="must be a plain variable name") as refused:
        check_document(root, filename="wait_then_review.bpmn", helpers=())
    assert refused.value.element_id == "Task_review"


def test_camunda_style_due_dates_are_read_as_modeler_writes_them() -> None:
    assert due_date_as_python("${review_due_at}") == "review_due_at"
    assert due_date_as_python("${add_working_days(now(), 5)}") == "add_working_days(now(), 5)"
    assert due_date_as_python("2026-12-31T17:30:00") == "'2026-12-31T17:30:00'"
    assert due_date_as_python("P3D") == "'P3D'"
    assert due_date_as_python("review_due_at") == "review_due_at"


def test_an_unsafe_expression_inside_camunda_braces_is_still_refused() -> None:
    root = load("wait_then_review.bpmn")
    (task,) = root.xpath(".//bpmn:userTask[@id='Task_sign']", namespaces=NAMESPACES)
    task.set("{http://camunda.org/schema/1.0/bpmn}dueDate", "${__class__}")
    with pytest.raises(UnsafeExpressionError, match="__class__") as refused:
        check_document(root, filename="wait_then_review.bpmn", helpers=())
    assert refused.value.element_id == "Task_sign"


def test_a_bare_iso_timer_date_is_read_as_camunda_modeler_writes_it() -> None:
    root, _ = document_with("timer", "2030-01-31T09:00:00")
    check_document(root, filename="wait_then_review.bpmn", helpers=())


def test_a_timer_date_that_is_not_iso_is_refused_with_a_hint() -> None:
    root, _ = document_with("timer", "31.01.2030")
    with pytest.raises(UnsafeExpressionError, match="written in quotes") as refused:
        check_document(root, filename="wait_then_review.bpmn", helpers=())
    assert refused.value.element_id == "Event_wait"


@pytest.mark.parametrize(("cell", "python"), [
    ("< 100", "dmninputexpr < 100"),
    ("4 < ? < 6", "4 < dmninputexpr < 6"),
    ("'what?'", "'what?'"),
    ("? == 'what?'", "dmninputexpr == 'what?'"),
    ("\"urgent\"", "\"urgent\""),
    ("not in ['a', 'b']", "dmninputexpr not in ['a', 'b']"),
    (".__class__", "dmninputexpr .__class__"),
])
def test_dmn_input_cell_is_read_as_spiffworkflow_evaluates_it(cell: str, python: str) -> None:
    assert dmn_unary_test_as_python(cell) == python


def test_dmn_cell_full_of_question_marks_is_rewritten_in_linear_time() -> None:
    cell = "?'" * 20_000
    began = time.perf_counter()
    dmn_unary_test_as_python(cell)
    assert time.perf_counter() - began < 1.0


# --- run time: the restricted environment ------------------------------------------------------

@pytest.mark.parametrize(("amount", "taken", "not_taken"), [
    (70, "End_high", "End_low"),
    (20, "End_low", "End_high"),
])
def test_gateway_routes_on_the_script_result_through_the_safe_engine(
        amount: int, taken: str, not_taken: str) -> None:
    workflow = save_and_restore(start(parser_with("route_by_score.bpmn"), "route_by_score",
                                      {"amount": amount}))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert taken in completed_ids(workflow)
    assert not_taken not in completed_ids(workflow)
    assert workflow.last_task.data["score"] == amount * 2


@pytest.mark.parametrize(("amount", "priority"), [(50, "low"), (500, "high")])
def test_business_rule_task_decides_through_the_safe_engine(amount: int, priority: str) -> None:
    parser = parser_with("decide_priority.bpmn", "decide_priority.dmn")
    workflow = save_and_restore(start(parser, "prioritise_project", {"amount": amount}))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.last_task.data["priority"] == priority


def test_dmn_cell_with_question_mark_is_evaluated_through_the_safe_engine() -> None:
    dmn, _ = document_with("dmn_input_entry", "0 <= ? < 100")
    check_document(dmn, filename="decide_priority.dmn", helpers=HELPERS)
    parser = parser_with("decide_priority.bpmn")
    parser.add_dmn_xml(dmn, filename="decide_priority.dmn")
    workflow = start(parser, "prioritise_project", {"amount": 99})
    workflow.do_engine_steps()
    assert workflow.last_task.data["priority"] == "low"


def test_timer_duration_is_evaluated_through_the_safe_engine() -> None:
    workflow = start(parser_with("wait_then_review.bpmn"), "wait_then_review",
                     {"reviewers": ["a", "b"], "review_due_at": "2030-01-31"})
    workflow.do_engine_steps()
    workflow = save_and_restore(workflow)
    workflow.refresh_timers()
    (timer,) = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "Event_wait"]
    assert timer.state == TaskState.WAITING
    assert timer.internal_data["event_value"]


def test_unchecked_definition_is_still_refused_at_run_time() -> None:
    root, _ = document_with("script", "x = ().__class__.__base__.__subclasses__()")
    workflow = start(parser_with(root=root), "route_by_score", {"amount": 1})
    with pytest.raises(WorkflowTaskException) as failed:
        workflow.do_engine_steps()
    assert failed.value.error_type == "UnsafeExpressionError"
    assert "attribute access '__class__'" in str(failed.value)
    assert "x" not in workflow.last_task.data


def test_unchecked_import_fails_for_lack_of_builtins() -> None:
    # Bypass the re-check by calling SpiffWorkflow's own code path with our globals.
    environment = SafeEnvironment()
    with pytest.raises(NameError, match="__import__"):
        TaskDataEnvironment.evaluate(environment, "__import__('os')", {})
    with pytest.raises(ImportError, match="__import__ not found"):
        TaskDataEnvironment.execute(environment, "import os", {})
    with pytest.raises(NameError, match="open"):
        TaskDataEnvironment.evaluate(environment, "open('/etc/passwd')", {})


def test_environment_rechecks_before_evaluating() -> None:
    environment = SafeEnvironment()
    with pytest.raises(UnsafeExpressionError, match="__class__"):
        environment.evaluate("().__class__", {})
    with pytest.raises(UnsafeExpressionError, match="an 'import' statement"):
        environment.execute("import os", {})


def test_task_data_cannot_replace_the_safe_builtins_or_helpers() -> None:
    environment = SafeEnvironment({"double": lambda n: n * 2})
    context = {"items": [2, 1], "double": "data", "__builtins__": {"sorted": lambda _: "hijacked"}}
    assert environment.evaluate("sorted(items)", context) == [1, 2]
    assert environment.evaluate("double(2)", context) == 4


def test_script_runs_in_the_safe_environment_and_leaves_only_data() -> None:
    environment = SafeEnvironment(HELPERS)
    context = {"items": [1, 2, 3], "names": [" Li ", "wang"]}
    environment.execute("total = sum(items)\nlabels = [n.strip().upper() for n in names]\n"
                        "twice = double(total)", context)
    assert context == {"items": [1, 2, 3], "names": [" Li ", "wang"], "total": 6,
                       "labels": ["LI", "WANG"], "twice": 12}


def test_helper_registry_refuses_reserved_and_hidden_names() -> None:
    registry = HelperRegistry()
    registry.register("add_working_days", lambda start, n: start)
    assert list(registry) == ["add_working_days"]
    for name in ("eval", "len", "_private", "__import__", "not a name"):
        with pytest.raises(ValueError):
            registry.register(name, len)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("add_working_days", lambda start, n: n)
    with pytest.raises(TypeError):
        registry.register("answer", 42)  # type: ignore[arg-type]


@pytest.mark.parametrize("attribute", ["candidateGroups", "candidateUsers", "assignee"])
def test_an_unsafe_expression_in_an_assignment_attribute_is_refused_at_deploy(attribute) -> None:
    root = load("wait_then_review.bpmn")
    (task,) = root.xpath(".//bpmn:userTask[@id='Task_sign']", namespaces=NAMESPACES)
    task.set(f"{{http://camunda.org/schema/1.0/bpmn}}{attribute}",
             "approver@${__import__('os').getcwd()}")
    with pytest.raises(UnsafeExpressionError, match="assignment expression") as refused:
        check_document(root, filename="wait_then_review.bpmn", helpers=())
    assert refused.value.element_id == "Task_sign"


def test_safe_assignment_expressions_pass() -> None:
    root = load("wait_then_review.bpmn")
    (task,) = root.xpath(".//bpmn:userTask[@id='Task_sign']", namespaces=NAMESPACES)
    task.set("{http://camunda.org/schema/1.0/bpmn}candidateGroups",
             "supervisor, approver@${department}, unit:${project['unit']}")
    check_document(root, filename="wait_then_review.bpmn", helpers=())
