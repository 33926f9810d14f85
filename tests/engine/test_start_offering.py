"""Only what can start is offered: 发起流程 lists a process for a role only if that role can
start it from a form (engine/bpm/start_forms.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpm import definitions, start_forms
from engine.bpm.start_forms import NotStartableError
from engine.core.errors import PermissionDeniedError
from engine.core.models import AuditEvent, ProcessInstance

from .county_seed import actor, deploy_repository, seed_county

SYSTEM_STARTED = {"progress_report", "plate_followup", "quarterly_awards"}


@pytest.fixture
def county(platform):
    """The repository's processes on a small county."""
    deploy_repository(platform)
    seed_county(platform)
    return platform


def offered(platform, username: str) -> set[str]:
    """The keys 发起流程 offers the account."""
    who = actor(platform, username)
    with platform.uow() as uow:
        return {p.key for p in start_forms.startable_processes(uow, who)}


def test_each_role_is_offered_what_it_can_start_from_a_form(county):
    assert offered(county, "supervisor1") == {"issue_lifecycle", "instruction_13710"}
    assert offered(county, "office1") == {"issue_lifecycle", "permit_approval"}
    for registrar in ("head_magedang", "head_wlj", "specialist1", "commander_culture"):
        assert offered(county, registrar) == {"issue_lifecycle"}, registrar
    assert offered(county, "approver_wlj") == set()
    assert offered(county, "unit_solar") == set()


def test_system_started_and_called_processes_are_never_offered(county):
    everyone = set().union(*(offered(county, u) for u in (
        "office1", "supervisor1", "head_magedang", "specialist1", "unit_solar")))
    assert not everyone & (SYSTEM_STARTED | {"permit_item"})


@pytest.mark.parametrize("key", sorted(SYSTEM_STARTED | {"permit_item"}))
def test_starting_one_by_hand_is_refused_and_nothing_is_written(county, key):
    office = actor(county, "office1")
    with county.uow() as uow, pytest.raises(NotStartableError, match="not started by hand"):
        start_forms.start_with_form(uow, key, office, business_key=None, data={})
    with county.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "instance_started")) == 0


def _deploy(platform, name: str, xml: str) -> None:
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(name, xml.encode())], "designer")


PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D_{key}" targetNamespace="t">
  <bpmn:process id="{key}" name="{name}" isExecutable="true" {attrs}>
    <bpmn:startEvent id="start">{start}</bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{first}" />
    {body}
    <bpmn:sequenceFlow id="f2" sourceRef="{first}" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def process(key, *, attrs="", start="", body=None, first="work"):
    """A small process: start → one step → end."""
    body = body or ('<bpmn:userTask id="work" name="办理" '
                    'camunda:candidateGroups="specialist" />')
    return PROCESS.format(key=key, name=f"{key}（测试）", attrs=attrs, start=start, body=body,
                          first=first)


STARTABLE = ('<bpmn:extensionElements><camunda:properties><camunda:property name="startable" '
             'value="{}" /></camunda:properties></bpmn:extensionElements>')


def test_a_called_process_is_offered_only_when_its_start_says_startable_true(platform):
    seed_county(platform)
    _deploy(platform, "child.bpmn", process("child"))
    _deploy(platform, "also.bpmn", process("also", start=STARTABLE.format("true")))
    _deploy(platform, "parent.bpmn", process(
        "parent", first="calls", body='<bpmn:callActivity id="calls" calledElement="child" />'
        '<bpmn:callActivity id="calls2" calledElement="also" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="start" targetRef="calls2" />'
        '<bpmn:sequenceFlow id="f4" sourceRef="calls2" targetRef="end" />'))
    assert offered(platform, "specialist1") == {"parent", "also"}
    with platform.uow() as uow, pytest.raises(NotStartableError, match="called by another"):
        start_forms.startable_process(uow, "child", actor(platform, "specialist1"))


def test_a_process_with_only_a_timer_start_is_not_offered(platform):
    seed_county(platform)
    _deploy(platform, "ticking.bpmn", process("ticking", start=(
        '<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>'
        '</bpmn:timerEventDefinition>')))
    assert offered(platform, "specialist1") == set()


def test_candidate_starter_groups_decide_over_the_lane(platform):
    seed_county(platform)
    _deploy(platform, "starters.bpmn", process(
        "starters", attrs='camunda:candidateStarterGroups="township_head,督办人员" '
                          'camunda:candidateStarterUsers="specialist2"'))
    assert "starters" in offered(platform, "head_magedang")
    assert "starters" in offered(platform, "supervisor1")  # a role by its Chinese label
    assert "starters" in offered(platform, "specialist2")
    assert "starters" not in offered(platform, "specialist1")
    with platform.uow() as uow, pytest.raises(PermissionDeniedError, match="started by"):
        start_forms.startable_process(uow, "starters", actor(platform, "specialist1"))
