"""Every rule a check can name has a Chinese text and hint; the pages and the CLI tell findings
in the reader's language.

The rules are read from the engine's source (each `rule=` of a DefinitionError, each rule of a
lint Finding or a sandbox Refusal), so a new check without a Chinese text fails here. The
mutation corpus (tests/designer/test_mutations.py) renders the Chinese of every finding its
hundreds of mutants produce, with the params the checks really give.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.bpm import definition_admin
from engine.bpm.finding_texts import TEXTS, chinese, tell, tell_error
from engine.core.errors import DefinitionError
from engine.ops import cli

ENGINE = Path(__file__).parents[2] / "engine"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Call names whose rule is a keyword `rule=`, or a positional argument at this index.
_RULE_POSITION = {"Finding": 4, "Refusal": 0}


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def rules_in_source() -> dict[str, str]:
    """Every rule named in the engine's source, with the module that names it."""
    found: dict[str, str] = {}
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str | None] = []
            if isinstance(node, ast.Call):
                callee = getattr(node.func, "id", getattr(node.func, "attr", ""))
                names += [_string(k.value) for k in node.keywords if k.arg == "rule"]
                position = _RULE_POSITION.get(callee)
                if position is not None and len(node.args) > position:
                    names.append(_string(node.args[position]))
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "rule":
                        names.append(_string(node.value))
                    if (isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                            and target.elts and getattr(target.elts[0], "id", "") == "rule"):
                        names.append(_string(node.value.elts[0]))
            for name in names:
                if name:
                    found.setdefault(name, path.relative_to(ENGINE.parent).as_posix())
    return found


def test_the_source_names_dozens_of_rules():
    rules = rules_in_source()
    assert len(rules) > 70
    assert {"no-outgoing", "duplicate-id", "schema", "expression-call", "juel-unsupported",
            "library-failure", "several"} <= set(rules)


def test_every_rule_of_the_source_has_a_chinese_text_and_hint():
    missing = {rule: where for rule, where in rules_in_source().items() if rule not in TEXTS}
    assert missing == {}
    for rule, text in TEXTS.items():
        assert CJK.search(text.hint), rule


def test_the_catalogue_holds_no_rule_that_no_check_names():
    assert set(TEXTS) - set(rules_in_source()) == set()


# One real file per kind of refusal, through the designer's validate.
_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="通过？" />
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="review">
      <bpmn:conditionExpression>${approved == 'yes'}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression>${list.size() > 0}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="review" name="复核" camunda:candidateGroups="approvers" />
    <bpmn:scriptTask id="calc"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _validate(platform, xml: str) -> definition_admin.ValidationReport:
    with platform.uow() as uow:
        return definition_admin.validate_definition(uow, xml.encode(), "p.bpmn")


def test_a_file_with_many_problems_is_told_in_chinese_with_hints(platform):
    report = _validate(platform, _PROCESS)
    told = {}
    for finding in report.findings:  # the first of each rule
        told.setdefault(finding.rule, tell(finding.rule, finding.params, finding.message, "zh_CN"))
    assert {"no-outgoing", "unreachable", "gateway-default", "candidate-group",
            "juel-unsupported", "expression-construct", "translated"} <= set(told)
    assert told["no-outgoing"].message == "用户任务「复核」（review） 没有流出的顺序流，流程会在这里悄悄停下。"
    assert told["no-outgoing"].hint == "把它连到下一步或结束事件。"
    assert "排他网关「通过？」（gw）" in told["gateway-default"].message
    assert "方法调用 'size(...)'" in told["juel-unsupported"].message
    assert told["expression-construct"].message.startswith("脚本 'import os'：表达式中不允许import 语句")
    assert "候选组 'approvers' 不是任何角色" in told["candidate-group"].message
    for finding in report.findings:
        each = tell(finding.rule, finding.params, finding.message, "zh_CN")
        assert CJK.search(each.message) and CJK.search(each.hint) and "暂无" not in each.message


def test_english_keeps_the_message_the_check_wrote(platform):
    report = _validate(platform, _PROCESS)
    for finding in report.findings:
        told = tell(finding.rule, finding.params, finding.message, "en")
        assert told.message == finding.message and told.hint == ""


def test_a_rule_without_text_still_answers_with_its_english_under_a_note():
    told = tell("no-such-rule", {}, "Something is wrong.", "zh_CN")
    assert told.message == "（暂无中文说明）Something is wrong." and chinese("no-such-rule", {}) is None


def test_several_errors_are_listed_each_in_chinese():
    error = DefinitionError("2 lint errors", filename="a.bpmn", line=3, element_id="t",
                            rule="several", params={"items": [
                                {"rule": "no-start-event", "params": {"kind": "process", "id": "p"},
                                 "message": "x", "line": 2, "element_id": "p"},
                                {"rule": "dmn-without-table", "params": {"id": "d"},
                                 "message": "y", "line": 5, "element_id": "d"}]})
    text = tell_error(error, "zh_CN")
    assert text.startswith("a.bpmn，第 3 行，元素 t：共 2 处错误：")
    assert "- 第 2 行，元素 p：流程 'p' 没有开始事件。" in text
    assert "- 第 5 行，元素 d：决策 'd' 没有决策表，这里只能运行决策表。" in text
    assert tell_error(error, "en") == error.describe()


@pytest.mark.parametrize("lang, expected", [
    ("zh_CN", "业务规则任务 'decide' 没有指定决策表。 在属性面板中选择决策"),
    ("en", "The business rule task 'decide' names no decision table."),
])
def test_gongjian_deploy_tells_a_refused_file_in_the_language_of_lang(
        tmp_path, capsys, monkeypatch, database_url, lang, expected):
    monkeypatch.setenv("DATABASE_URL", database_url)
    path = tmp_path / "rule.bpmn"
    path.write_text(_PROCESS.replace('<bpmn:endEvent id="end" />',
                                     '<bpmn:businessRuleTask id="decide" /><bpmn:endEvent id="end" />'),
                    encoding="utf-8")
    assert cli.main(["deploy", str(path), "--lang", lang]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize("detail, told", [
    ("Element 'bpmn:definitions': The attribute 'targetNamespace' is required but missing.",
     "元素 bpmn:definitions 缺少必需的属性 targetNamespace"),
    ("Element 'bpmn:exclusiveGateway', attribute 'default': '' is not a valid value of the "
     "atomic type 'xs:IDREF'.", "元素 bpmn:exclusiveGateway 的属性 default 的值 '' 不是有效的 xs:IDREF"),
    ("Element 'bpmndi:BPMNEdge': Missing child element(s). Expected is ( di:waypoint ).",
     "元素 bpmndi:BPMNEdge 缺少子元素，应有 ( di:waypoint )"),
    ("Element 'bpmn:task', attribute 'foo': The attribute 'foo' is not allowed.",
     "元素 bpmn:task 不允许有属性 foo"),
    ("Something libxml2 says rarely.", "Something libxml2 says rarely."),
])
def test_the_schemas_messages_are_told_in_chinese_where_their_shape_is_known(detail, told):
    message = chinese("schema", {"standard": "BPMN 2.0", "detail": detail, "more": 2}).message
    assert message == f"文件不符合 BPMN 2.0 规范：{told}（另有 2 处规范错误）"


def test_the_schema_findings_of_mutated_repository_files_are_all_in_chinese():
    from engine.bpm.xmlsafe import parse_definition_xml

    from .mutations import can_be_mutated, mutants
    sources = [p for p in sorted((ENGINE.parent / "bpmn").rglob("*.bpmn"))
               if can_be_mutated(p.read_bytes())][:8]
    told = []
    for path in sources:
        for mutant in mutants(path.read_bytes(), 40, seed=path.name):
            try:
                parse_definition_xml(mutant.data, path.name)
            except DefinitionError as exc:
                if exc.rule == "schema":
                    told.append(chinese(exc.rule, exc.params).message)
    assert len(told) > 10
    assert [t for t in told if "Element '" in t] == []


@pytest.mark.parametrize("detail, told", [
    ("unterminated string literal (detected at line 1)", "字符串缺少结束引号"),
    ("'(' was never closed", "'(' 没有闭合"), ("invalid syntax", "语法错误"),
    ("unmatched ')'", "多余的 ')'"),
])
def test_pythons_syntax_messages_are_told_in_chinese(detail, told):
    assert chinese("expression-syntax", {"detail": detail}).message == f"这不是有效的 Python：{told}。"


@pytest.mark.parametrize("detail, told", [
    ("There is no support implemented for this task type.", "不支持这种任务类型"),
    ("Duplicate process ID: p1", "流程 ID p1 重复"),
    ("Something SpiffWorkflow says rarely", "Something SpiffWorkflow says rarely"),
])
def test_spiffworkflows_validation_messages_are_told_in_chinese_where_known(detail, told):
    assert chinese("library-validation", {"detail": detail}).message == \
        f"SpiffWorkflow 不接受此处：{told}。"
