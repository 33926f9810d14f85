"""A field required only after some answer of another (`required_when`): refused at its field
when that answer is given and it is empty, free otherwise; a condition that cannot hold is
refused at deploy."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpm.forms import form_of, validate_task_data
from engine.bpm.lint import ERROR, lint
from engine.core.errors import TaskDataError

REVIEW = {"fields": [
    {"id": "review_decision", "type": "enum", "validation": {"required": None},
     "options": [{"id": "close", "name": "办结销号"}, {"id": "back", "name": "退回重办"},
                 {"id": "plan", "name": "同意方案"}]},
    {"id": "rating", "type": "enum", "validation": {"required_when": "review_decision=close|plan"},
     "options": [{"id": "good", "name": "良好"}, {"id": "fail", "name": "不合格"}]},
    {"id": "urgent", "type": "boolean"},
    {"id": "reason", "type": "string", "validation": {"required_when": "urgent=true"}},
]}


@pytest.mark.parametrize("decision", ["close", "plan"])
def test_a_field_required_on_an_answer_is_refused_empty_at_its_field(decision):
    with pytest.raises(TaskDataError) as refused:
        validate_task_data(REVIEW, {"review_decision": decision})
    assert refused.value.field_errors == {"rating": ["Missing data for required field."]}
    with pytest.raises(TaskDataError):
        validate_task_data(REVIEW, {"review_decision": decision, "rating": ""})


def test_on_another_answer_the_field_may_stay_empty():
    assert validate_task_data(REVIEW, {"review_decision": "back"}) == {"review_decision": "back"}


def test_given_it_is_taken_like_any_field():
    assert validate_task_data(REVIEW, {"review_decision": "close", "rating": "good"})["rating"] == "good"
    with pytest.raises(TaskDataError) as refused:
        validate_task_data(REVIEW, {"review_decision": "close", "rating": "best"})
    assert list(refused.value.field_errors) == ["rating"]


def test_a_box_ticked_makes_its_reason_required():
    with pytest.raises(TaskDataError) as refused:
        validate_task_data(REVIEW, {"review_decision": "back", "urgent": True})
    assert list(refused.value.field_errors) == ["reason"]
    assert validate_task_data(REVIEW, {"review_decision": "back", "urgent": False}) == \
        {"review_decision": "back", "urgent": False}


def _task(config: str) -> etree._Element:
    xml = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
           '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" />'
           '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill" />'
           '<bpmn:userTask id="fill"><bpmn:extensionElements><camunda:formData>'
           '<camunda:formField id="decision" type="enum"><camunda:value id="close" name="办结" />'
           '<camunda:value id="back" name="退回" /></camunda:formField>'
           '<camunda:formField id="rating" type="string"><camunda:validation>'
           f'<camunda:constraint name="required_when" config="{config}" /></camunda:validation>'
           '</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
           '<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="e" /><bpmn:endEvent id="e" />'
           '</bpmn:process></bpmn:definitions>')
    return etree.fromstring(xml.encode())


@pytest.mark.parametrize("config, refused", [
    ("decision=close", False),
    ("decision=close|back", False),
    ("decision", True),              # no value
    ("decision=", True),
    ("nothing=close", True),         # no such field
    ("rating=x", True),              # itself
    ("decision=closed", True),       # not one of its choices
])
def test_a_condition_that_cannot_hold_is_refused_at_deploy(config, refused):
    found = {(f.rule, f.element_id) for f in lint(_task(config)) if f.severity == ERROR}
    assert (("form-required-when", "fill") in found) is refused


def test_the_form_read_off_the_xml_keeps_the_condition():
    task = _task("decision=close").find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask")
    rating = form_of(task)["fields"][1]
    assert rating["validation"] == {"required_when": "decision=close"}
