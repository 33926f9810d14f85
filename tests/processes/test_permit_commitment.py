"""A commitment's fulfilment date must lie ahead (issue 17: 2020-01-01 was accepted): it is
refused at its field, by the platform's clock, and nothing changes."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lxml import etree

from engine.bpm import forms
from engine.bpm.lint import lint
from engine.core.errors import TaskDataError

from ..conftest import SHANGHAI
from .helpers import approver, complete, elements_of, task_of, tasks_of
from .test_permit_return import COMPANY, request_for  # noqa: F401 - the fixture

TEXT = "开工前取得环评批复"


@pytest.mark.parametrize("fulfil_date", ["2020-01-01", "2026-11-30", "2026-12-01"])
def test_a_date_not_ahead_is_refused_at_its_field_and_nothing_changes(
        platform, request_for, fulfil_date):  # noqa: F811
    request_for("environment")
    with pytest.raises(TaskDataError) as refused:
        complete(platform, COMPANY, "sign_commitment",
                 {"commitment_text": TEXT, "fulfil_date": fulfil_date})
    assert refused.value.field_errors == {"fulfil_date": ["Must be on or after 2026-12-02."]}
    assert elements_of(platform, COMPANY) == ["sign_commitment"]
    assert elements_of(platform, approver("sthj")) == []


def test_tomorrow_by_the_platform_clock_is_accepted(platform, request_for, clock):  # noqa: F811
    request_for("environment")
    # 23:30 on 1 December in Lingchuan is 15:30 UTC: today is still the 1st there.
    clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI))
    complete(platform, COMPANY, "sign_commitment",
             {"commitment_text": TEXT, "fulfil_date": "2026-12-02"})
    assert task_of(platform, approver("sthj"), "approval")
    assert tasks_of(platform, COMPANY) == []


def test_a_date_bound_counted_from_today_needs_the_day():
    form = {"fields": [{"id": "d", "type": "date", "validation": {"min": "today+1"}}]}
    assert forms.validate_task_data(form, {"d": "2027-01-01"}, today=date(2026, 12, 31))
    with pytest.raises(TaskDataError):
        forms.validate_task_data(form, {"d": "2027-01-01"}, today=date(2027, 1, 1))
    with pytest.raises(TaskDataError):  # no day given: refused rather than let through
        forms.validate_task_data(form, {"d": "2999-01-01"})
    bounded = {"fields": [{"id": "d", "type": "date",
                           "validation": {"min": "2026-01-01", "max": "today"}}]}
    assert forms.validate_task_data(bounded, {"d": "2026-06-01"}, today=date(2026, 7, 1))
    with pytest.raises(TaskDataError) as late:
        forms.validate_task_data(bounded, {"d": "2026-07-02"}, today=date(2026, 7, 1))
    assert late.value.field_errors == {"d": ["Must be on or before 2026-07-01."]}


@pytest.mark.parametrize("config, refused", [
    ("today+1", False), ("today", False), ("today-30", False), ("2027-01-01", False),
    ("tomorrow", True), ("today+x", True), ("", True), ("2027-13-01", True),
])
def test_a_date_bound_that_cannot_be_read_is_refused_at_deploy(config, refused):
    xml = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">'
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill" />'
        '<bpmn:userTask id="fill" camunda:candidateGroups="approver"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="when" type="date"><camunda:validation>'
        f'<camunda:constraint name="min" config="{config}" /></camunda:validation>'
        '</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="e" /><bpmn:endEvent id="e" />'
        '</bpmn:process></bpmn:definitions>')
    found = {(f.rule, f.element_id) for f in lint(etree.fromstring(xml.encode()))}
    assert (("form-date", "fill") in found) is refused
