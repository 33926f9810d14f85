"""Each lint rule with a fixture that triggers it; the clean fixture triggers none."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpm import definitions
from engine.core.errors import DefinitionError
from engine.bpm.lint import ERROR, INFO, WARNING, LintContext, group_problem, lint

from .conftest import DESIGNER, read

CONTEXT = LintContext(known_processes=frozenset({"permit_item"}), unit_codes=frozenset({"fgj"}))


def findings_of(name: str, context: LintContext | None = CONTEXT):
    return lint(etree.fromstring(read(f"lint/{name}")), context)


def rules(findings) -> set[tuple[str, str, str]]:
    return {(f.rule, f.severity, f.element_id) for f in findings}


def test_the_clean_fixture_has_no_finding_but_its_translations():
    assert [f for f in findings_of("clean.bpmn") if f.severity != INFO] == []


@pytest.mark.parametrize("name, expected", [
    ("dangling_flow.bpmn", ("dangling-flow", ERROR, "f3")),
    ("no_outgoing.bpmn", ("no-outgoing", ERROR, "mark")),
    ("unreachable.bpmn", ("unreachable", ERROR, "orphan")),
    ("no_path_to_end.bpmn", ("no-path-to-end", ERROR, "loop")),
    ("gateway_no_default.bpmn", ("gateway-default", WARNING, "gw")),
    ("unknown_group.bpmn", ("candidate-group", ERROR, "fill")),
    ("unknown_call.bpmn", ("call-activity", ERROR, "call")),
    ("unknown_variable.bpmn", ("unknown-variable", WARNING, "f_high")),
])
def test_each_rule_is_triggered_by_its_fixture(name, expected):
    assert expected in rules(findings_of(name))


def test_findings_carry_the_line_and_a_message_saying_what_to_do():
    finding = next(f for f in findings_of("unreachable.bpmn") if f.rule == "unreachable")
    assert finding.line and "Connect it or delete it" in finding.message


def test_a_misspelled_variable_is_named_in_the_warning():
    finding = next(f for f in findings_of("unknown_variable.bpmn"))
    assert "'amuont'" in finding.message


def test_candidate_groups_are_checked_against_roles_and_units():
    units = {"fgj"}
    assert group_problem("approver", units) is None
    assert group_problem("审批人", units) is None
    assert group_problem("approver@fgj", units) is None
    assert group_problem("unit:fgj", units) is None
    assert group_problem("approver@${department}", units) is None
    assert group_problem("unit:${responsible_unit}", units) is None
    assert "no role" in group_problem("approvers", units)
    assert "no org unit" in group_problem("unit:nosuch", units)
    assert "no org unit" in group_problem("approver@nosuch", units)
    assert "unit:fgj" in group_problem("fgj", units)


def test_without_a_database_units_and_deployed_processes_are_not_judged():
    assert not [f for f in findings_of("unknown_call.bpmn", None) if f.rule == "call-activity"]
    assert [f.message for f in findings_of("unknown_group.bpmn", None)
            if f.rule == "candidate-group"] == [
        "userTask '填写金额' (fill): candidate group 'approvers' names no role (roles: admin, "
        "approver, county_head, department_head, deputy_commander, designer, integration, office, "
        "project_unit, specialist, sub_commander, supervisor, township_head)"]


def test_the_demo_processes_have_no_lint_error():
    for path in sorted((DESIGNER.parents[2] / "bpmn").glob("*.bpmn")):
        root = etree.fromstring(path.read_bytes())
        assert [f for f in lint(root) if f.severity == ERROR] == [], path.name


def test_deploy_refuses_a_lint_error_with_the_element_and_line(platform):
    with platform.uow() as uow, pytest.raises(DefinitionError) as caught:
        definitions.deploy_files(uow, [("unreachable.bpmn", read("lint/unreachable.bpmn"))],
                                 "designer")
    assert caught.value.element_id == "orphan" and caught.value.line


def test_deploy_accepts_warnings(platform):
    with platform.uow() as uow:
        result = definitions.deploy_files(
            uow, [("gw.bpmn", read("lint/gateway_no_default.bpmn"))], "designer")[0]
    assert result.created and result.version == 1
