"""Pickers, not codes: fields that name a unit, a person or a project offer a list of names,
and the server takes only a value of that list (engine/bpm/pickers.py); any of the issue
process's starters registers issues for the projects in its scope."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpm import pickers, start_forms
from engine.bpm.forms import validate_task_data
from engine.bpm.lint import lint
from engine.bpm.pickers import PickerKind, parse_kind
from engine.core.errors import PermissionDeniedError, TaskDataError
from engine.core.organisation import UserAccount

from ..processes.helpers import data_of
from .county_seed import actor, deploy_repository, seed_county


@pytest.fixture
def county(platform):
    """The small county, without processes."""
    seed_county(platform)
    return platform


def names(platform, username, kind: str) -> list[tuple[str, str]]:
    """(value, name) of a picker's list for the account."""
    who = actor(platform, username)
    with platform.uow() as uow:
        return [(c.value, c.label) for c in pickers.choices(uow, who, parse_kind(kind))]


def test_picker_values_name_what_is_picked_and_narrow_it():
    assert parse_kind("unit:department, township") == PickerKind("unit",
                                                                 ("department", "township"))
    assert parse_kind("sub_command") == PickerKind("unit", ("sub_command",))
    assert parse_kind("user:specialist") == PickerKind("user", ("specialist",))
    assert parse_kind("project:prework") == PickerKind("project", ("prework",))
    for wrong, says in (("units", "names nothing to pick"), ("unit:village", "no unit kinds"),
                        ("user:boss", "no roles")):
        with pytest.raises(ValueError, match=says):
            parse_kind(wrong)


def test_units_are_listed_by_name_of_the_kinds_asked_for(county):
    assert names(county, "supervisor1", "unit:township") == [
        ("t_fucheng", "附城镇"), ("t_magedang", "马家庄乡")]
    assert [v for v, _ in names(county, "supervisor1", "sub_command")] == [
        "sc_culture", "sc_industry"]
    assert len(names(county, "supervisor1", "unit")) == 12


def test_people_are_named_with_their_unit_and_the_inactive_are_left_out(county):
    assert names(county, "supervisor1", "user:specialist") == [
        ("specialist1", "专员甲（县行政审批局）"), ("specialist2", "专员乙（县行政审批局）")]
    with county.uow() as uow:
        uow.session.get(UserAccount, "specialist2").active = False
        uow.session.commit()
    assert names(county, "supervisor1", "user:specialist") == [
        ("specialist1", "专员甲（县行政审批局）")]
    with county.uow() as uow:
        people = pickers.people(uow, actor(county, "specialist1"))
    assert "specialist1" not in {c.value for c in people}
    assert "督办员甲（督办监督组）" in {c.label for c in people}


def test_projects_are_those_in_the_pickers_scope(county):
    assert names(county, "supervisor1", "project") == [
        ("P-1", "马家庄光伏电站（P-1）"), ("P-2", "附城新材料产业园（P-2）")]
    assert names(county, "head_magedang", "project") == [("P-1", "马家庄光伏电站（P-1）")]
    assert names(county, "specialist1", "project") == [("P-1", "马家庄光伏电站（P-1）")]
    assert names(county, "specialist2", "project") == []
    assert names(county, "supervisor1", "project:prework") == [("P-1", "马家庄光伏电站（P-1）")]


FORM = {"fields": [
    {"id": "unit", "type": "string", "validation": {"required": None},
     "properties": {"picker": "unit:township"}},
    {"id": "person", "type": "string", "validation": {}, "properties": {"picker": "user"}},
    {"id": "project", "type": "string", "validation": {}, "properties": {"picker": "project"}},
    {"id": "note", "type": "string", "validation": {}, "properties": {}},
]}


def test_an_unknown_value_is_refused_at_its_field(county):
    who = actor(county, "head_magedang")
    with county.uow() as uow:
        check = pickers.checker(uow, who)
        assert validate_task_data(FORM, {"unit": "t_fucheng", "person": "specialist1",
                                         "project": "P-1", "note": "t_x"}, check) == {
            "unit": "t_fucheng", "person": "specialist1", "project": "P-1", "note": "t_x"}
        with pytest.raises(TaskDataError) as refused:
            validate_task_data(FORM, {"unit": "wlj", "person": "nobody", "project": "P-2"},
                               check)
    assert refused.value.field_errors == {
        "unit": ["Not a known unit: choose one from the list."],      # a department
        "person": ["Not a known person: choose one from the list."],
        "project": ["Not a known project: choose one from the list."],  # not the township's
    }


def test_picker_errors_come_with_the_other_field_errors_and_need_a_checker(county):
    with pytest.raises(TaskDataError) as refused:
        validate_task_data(FORM, {"person": "specialist1"})  # no checker: nothing is known
    assert set(refused.value.field_errors) == {"unit", "person"}
    assert refused.value.field_errors["unit"] == ["Missing data for required field."]


# ---------------------------------------------------------------- registering issues

ISSUE = {"title": "进场道路征地补偿未落实", "project_code": "P-1", "scope": "unit",
         "severity": "normal", "responsible_unit": "t_magedang", "sub_command": "sc_culture"}


def register(platform, username, **changes):
    """Register an issue through the start form as the account."""
    with platform.uow() as uow:
        return start_forms.start_with_form(uow, "issue_lifecycle", actor(platform, username),
                                           business_key=None, data={**ISSUE, **changes})


@pytest.fixture
def deployed(county):
    """The small county with the repository's processes."""
    deploy_repository(county)
    return county


@pytest.mark.parametrize("username", ["supervisor1", "office1", "head_magedang", "head_wlj",
                                      "specialist1", "commander_culture"])
def test_each_kind_of_registrar_registers_an_issue_for_its_project(deployed, username):
    view = register(deployed, username)
    assert view.started_by == username
    data = data_of(deployed, view.id)
    assert data["project_name"] == "马家庄光伏电站"  # brought by the picked project
    assert data["handler"] == "unit:t_magedang"


@pytest.mark.parametrize("username", ["head_magedang", "head_wlj", "specialist1",
                                      "commander_culture"])
def test_a_registrar_is_refused_a_project_outside_its_scope(deployed, username):
    with pytest.raises(TaskDataError) as refused:
        register(deployed, username, project_code="P-2", sub_command="sc_industry")
    assert set(refused.value.field_errors) == {"project_code"}


def test_a_supervisor_registers_for_any_project(deployed):
    view = register(deployed, "supervisor1", project_code="P-2", sub_command="sc_industry",
                    responsible_unit="gxj")
    assert data_of(deployed, view.id)["township"] == "t_fucheng"


@pytest.mark.parametrize("username", ["approver_wlj", "unit_solar"])
def test_approvers_and_project_units_do_not_register_issues(deployed, username):
    with pytest.raises(PermissionDeniedError):
        register(deployed, username)


def test_the_responsible_unit_and_sub_command_come_from_their_lists(deployed):
    with pytest.raises(TaskDataError) as refused:
        register(deployed, "supervisor1", responsible_unit="duban", sub_command="wlj")
    assert set(refused.value.field_errors) == {"responsible_unit", "sub_command"}


def test_a_13710_instruction_goes_to_a_unit_of_the_list(deployed):
    supervisor = actor(deployed, "supervisor1")
    data = {"title": "加快光伏电站建设", "source": "county_head", "instruction": "月底前开工",
            "complexity": "ordinary", "responsible_unit": "co_solar"}
    with deployed.uow() as uow, pytest.raises(TaskDataError) as refused:
        start_forms.start_with_form(uow, "instruction_13710", supervisor, business_key=None,
                                    data=data)
    assert set(refused.value.field_errors) == {"responsible_unit"}  # a company is no 承办单位
    with deployed.uow() as uow:
        view = start_forms.start_with_form(uow, "instruction_13710", supervisor,
                                           business_key=None,
                                           data={**data, "responsible_unit": "wlj"})
    assert view.data["responsible_unit"] == "wlj"


def test_the_office_starts_a_permit_request_by_choosing_a_project(deployed):
    office = actor(deployed, "office1")
    with deployed.uow() as uow, pytest.raises(TaskDataError) as refused:
        start_forms.start_with_form(uow, "permit_approval", office, business_key=None,
                                    data={"project_code": "P-2"})  # in construction already
    assert set(refused.value.field_errors) == {"project_code"}
    with deployed.uow() as uow:
        view = start_forms.start_with_form(uow, "permit_approval", office, business_key=None,
                                           data={"project_code": "P-1"})
    assert {k: view.data[k] for k in ("project_name", "funding", "project_unit",
                                      "sub_command")} == {
        "project_name": "马家庄光伏电站", "funding": "enterprise", "project_unit": "co_solar",
        "sub_command": "sc_culture"}
    assert view.business_key == "P-1"  # the form's businessKey field when none is given


def test_a_request_started_from_its_form_runs_with_energy_and_environment_ticked(deployed):
    """Issue 17: 能评 or 环评 ticked at 受理申请 broke a request started from 发起流程 (the
    decision table read `funding`, which the start form did not bring from the project)."""
    from engine.bpm import inbox, task_actions

    office = actor(deployed, "office1")
    with deployed.uow() as uow:
        view = start_forms.start_with_form(uow, "permit_approval", office, business_key=None,
                                           data={"project_code": "P-1"})
    with deployed.uow() as uow:
        [receive] = [t for t in inbox.list_tasks(uow, office) if t.instance_id == view.id]
        task_actions.complete(uow, receive.id, office, {
            "need_planning": False, "need_land": False, "need_energy": True,
            "need_environment": True, "need_construction": False})
    with deployed.uow() as uow:
        signs = sorted(t.name for t in inbox.list_tasks(uow, actor(deployed, "unit_solar"))
                       if t.instance_id == view.id)
    # An enterprise project's 能评 and 环评 are commitments its unit signs.
    assert signs == ["签署承诺书：固定资产投资项目节能审查（能评）",
                     "签署承诺书：建设项目环境影响评价审批（环评）"]


# ---------------------------------------------------------------- the lint

LINTED = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true" camunda:candidateStarterGroups="supervisor,bosses">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="who" type="string"><camunda:properties>
          <camunda:property id="picker" value="people" /></camunda:properties></camunda:formField>
        <camunda:formField id="n" type="long"><camunda:properties>
          <camunda:property id="picker" value="unit" /></camunda:properties></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="s" />
    <bpmn:scriptTask id="s" scriptFormat="python"><bpmn:script>x = project_code</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="s" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_the_lint_checks_pickers_starters_and_start_forms():
    found = lint(etree.fromstring(LINTED.encode()))
    findings = {(f.rule, f.element_id): f for f in found}
    pickers_wrong = sorted(f.message for f in found if f.rule == "form-picker")
    assert len(pickers_wrong) == 2
    assert "'n' is a picker but of type 'long'" in pickers_wrong[0]
    assert "'who': the picker 'people' names nothing to pick" in pickers_wrong[1]
    assert "'bosses'" in findings["candidate-group", "p"].message
    start = findings["start-form", "start"]
    assert start.severity == "warning" and "'project_code'" in start.message
    assert "startable=false" in start.message
    marked = LINTED.replace('<bpmn:startEvent id="start">', '<bpmn:startEvent id="start">'
                            '<bpmn:extensionElements><camunda:properties><camunda:property '
                            'name="startable" value="false" /><camunda:property name="sets" '
                            'value="project_code" /></camunda:properties>'
                            '</bpmn:extensionElements>', 1)
    rules = {f.rule for f in lint(etree.fromstring(marked.encode()))}
    assert "start-form" not in rules and "unknown-variable" not in rules


def test_the_repositorys_processes_pass_the_picker_and_start_rules():
    from .county_seed import ROOT

    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        root = etree.fromstring(path.read_bytes())
        bad = [f for f in lint(root) if f.rule in ("form-picker", "candidate-group")]
        assert bad == [], path.name
