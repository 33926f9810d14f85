"""Limits on what a definition may make the engine do: refused at deploy when written into the
file, stopped at run time when data decides, and a missed timer cycle fires once."""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine.bpm import definitions, runtime
from engine.bpm.budget import MAX_FAN_OUT, MAX_INSTANCES
from engine.bpm.lint import ERROR, LintContext, lint
from engine.bpm.timers import fire_due_timers
from engine.core.errors import DefinitionError, WorkflowExecutionError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance

from ..conftest import FIXTURES

STARTER = Actor("zhuanyuan1", frozenset({"specialist"}))
HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">')


def document(body: str) -> etree._Element:
    return etree.fromstring(f"{HEAD}{body}</bpmn:definitions>".encode())


def errors(root, context=None) -> set[tuple[str, str]]:
    return {(f.rule, f.element_id) for f in lint(root, context or LintContext())
            if f.severity == ERROR}


def fan_out(branches: int) -> etree._Element:
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="split" targetRef="end" />'
                    for i in range(branches))
    return document(f'<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" />'
                    f'<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="split" />'
                    f'<bpmn:parallelGateway id="split" />{flows}<bpmn:endEvent id="end" />'
                    '</bpmn:process>')


def test_a_gateway_with_too_many_parallel_branches_is_refused():
    assert ("fan-out", "split") in errors(fan_out(MAX_FAN_OUT + 1))
    assert not {rule for rule, _ in errors(fan_out(MAX_FAN_OUT))} & {"fan-out"}


def calling(key: str, called: str) -> str:
    return (f'<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="{key}_s" />'
            f'<bpmn:sequenceFlow id="{key}_f1" sourceRef="{key}_s" targetRef="{key}_call" />'
            f'<bpmn:callActivity id="{key}_call" calledElement="{called}" />'
            f'<bpmn:sequenceFlow id="{key}_f2" sourceRef="{key}_call" targetRef="{key}_e" />'
            f'<bpmn:endEvent id="{key}_e" /></bpmn:process>')


def test_a_process_that_calls_itself_is_refused_directly_or_through_others():
    assert ("call-cycle", "a_call") in errors(document(calling("a", "a")))
    assert ("call-cycle", "a_call") in errors(document(calling("a", "b") + calling("b", "a")))
    deployed = LintContext(known_processes=frozenset({"b", "c"}),
                           deployed_calls={"b": frozenset({"c"}), "c": frozenset({"a"})})
    assert ("call-cycle", "a_call") in errors(document(calling("a", "b")), deployed)
    assert errors(document(calling("a", "b")),
                  LintContext(known_processes=frozenset({"b"}),
                              deployed_calls={"b": frozenset()})) == set()


@pytest.mark.parametrize("cardinality, cycle, refused", [
    (f"{MAX_INSTANCES + 1}", '"R3/PT1H"', {"multi-instance"}),
    ("3", '"R1000000/PT1H"', {"timer-cycle"}),
    ("3", '"R/PT1S"', {"timer-cycle"}),
    ("3", '"R1000000/PT0S"', {"timer-cycle"}),
    (f"{MAX_INSTANCES}", '"R/PT1H"', set()),
])
def test_literal_loop_counts_and_timer_cycles_beyond_the_limits_are_refused(cardinality, cycle,
                                                                          refused):
    root = document(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign" />'
        '<bpmn:userTask id="sign" camunda:candidateGroups="approver">'
        f'<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{cardinality}'
        '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
        '<bpmn:boundaryEvent id="tick" cancelActivity="false" attachedToRef="sign">'
        f'<bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle>'
        '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        '<bpmn:sequenceFlow id="f2" sourceRef="tick" targetRef="e2" /><bpmn:endEvent id="e2" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="e" /><bpmn:endEvent id="e" />'
        '</bpmn:process>')
    assert {rule for rule, _ in errors(root)} & {"multi-instance", "timer-cycle"} == refused


def test_a_call_cycle_does_not_deploy(platform):
    with platform.uow() as uow, pytest.raises(DefinitionError, match="calls itself"):
        definitions.deploy_files(uow, [("loop.bpmn", (
            f"{HEAD}{calling('a', 'a')}</bpmn:definitions>").encode())], "designer")


# ---------------------------------------------------------------- at run time

@pytest.fixture
def limits(platform):
    path = FIXTURES / "limits" / "limits_from_data.bpmn"
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(path.name, path.read_bytes())], "designer")
    return platform


def start(platform, **data):
    with platform.uow() as uow:
        return runtime.start_instance(uow, "limits_from_data", STARTER,
                                      data={"items": [], "cycle": None, **data})


def nothing_was_written(platform) -> bool:
    with platform.uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
                and uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "instance_started")) == 0)


def test_a_multi_instance_over_too_many_items_from_data_is_stopped_and_nothing_is_written(limits):
    with pytest.raises(WorkflowExecutionError, match=f"30000 个实例，超过上限 {MAX_INSTANCES}"):
        start(limits, items=list(range(30_000)))
    assert nothing_was_written(limits)
    start(limits, items=list(range(MAX_INSTANCES)))  # at the limit it runs
    with limits.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(HumanTask)) == MAX_INSTANCES


@pytest.mark.parametrize("sequential", [False, True])
@pytest.mark.parametrize("items, message", [(None, "流程数据中没有它"), (5, "它不是列表")])
def test_a_multi_instance_whose_collection_is_missing_stops_with_a_message(
        platform, sequential, items, message):
    path = FIXTURES / "limits" / "limits_from_data.bpmn"
    xml = path.read_text(encoding="utf-8")
    if sequential:
        xml = xml.replace('camunda:collection="items"', 'isSequential="true" camunda:collection="items"')
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(path.name, xml.encode())], "designer")
    with pytest.raises(WorkflowExecutionError, match=f"逐项审核.*按“items”逐项办理.*{message}"):
        start(platform, items=items)
    assert nothing_was_written(platform)


@pytest.mark.parametrize("cycle, message", [
    ("R1000000/PT0S", "间隔不足"), ("R/PT1S", "间隔不足"), ("R5000/PT1H", "超过上限"),
])
def test_a_timer_cycle_from_data_beyond_the_limits_is_stopped(limits, cycle, message):
    with pytest.raises(WorkflowExecutionError, match=message):
        start(limits, cycle=cycle)
    assert nothing_was_written(limits)


def test_an_hourly_cycle_missed_over_a_weekend_fires_once(limits, clock):
    instance = start(limits, cycle="R/PT1H")
    clock.advance(hours=60)  # sixty ticks missed
    report = fire_due_timers(limits.uow)
    assert len(report.fired) == 1
    with limits.uow() as uow:
        row = uow.session.get(ProcessInstance, instance.id)
        assert row.status == "running"
    clock.advance(hours=1)
    assert len(fire_due_timers(limits.uow).fired) == 1  # then on the hour again


# ---------------------------------------------------------------- form patterns

def _form_with_pattern(pattern: str) -> etree._Element:
    return document(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill" />'
        '<bpmn:userTask id="fill" camunda:candidateGroups="approver"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="code" type="string"><camunda:validation>'
        f'<camunda:constraint name="pattern" config="{pattern}" /></camunda:validation>'
        '</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="e" /><bpmn:endEvent id="e" />'
        '</bpmn:process>')


@pytest.mark.parametrize("pattern, refused", [
    ("(a)\\1", True), ("(?=a)a", True), ("a" * 1001, True),
    ("(a|a)+", False), ("[0-9]{6}", False),
])
def test_a_pattern_that_cannot_run_in_linear_time_is_refused_at_deploy(pattern, refused):
    assert (("form-pattern", "fill") in errors(_form_with_pattern(pattern))) is refused


def test_a_pattern_is_matched_whole_by_re2():
    from engine.bpm import forms
    from engine.core.errors import TaskDataError

    form = {"fields": [{"id": "code", "type": "string", "validation": {"pattern": "(a|a)+"}}]}
    with pytest.raises(TaskDataError):  # backtracking took 29.8 s on this value
        forms.validate_task_data(form, {"code": "a" * 29 + "b"})
    assert forms.validate_task_data(form, {"code": "a" * 29}) == {"code": "a" * 29}
    validator = forms.schema_for(form).fields["code"].validators[-1]
    assert type(validator.regex).__module__.startswith("re2")


def test_a_process_that_loops_without_waiting_is_stopped_and_nothing_is_written(platform,
                                                                             monkeypatch):
    from engine.bpm import budget

    path = FIXTURES / "limits" / "loop_without_wait.bpmn"
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(path.name, path.read_bytes())], "designer")
    monkeypatch.setattr(budget, "MAX_ENGINE_STEPS", 300)  # the same rule, sooner
    with platform.uow() as uow, pytest.raises(WorkflowExecutionError, match="超过 300 步"):
        runtime.start_instance(uow, "loop_without_wait", STARTER, data={"n": 0})
    assert nothing_was_written(platform)
