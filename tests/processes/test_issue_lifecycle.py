"""四制: ledger, assignment, commitment, clearance; reminders and the escalation ladder."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.county.supervision import escalation_history

from .helpers import (
    COUNTY_HEAD, SUPERVISOR, complete, completed_elements, data_of, deploy_all, elements_of,
    escalations_of, fire, reminded_elements, send_message, start, sub_commander, task_of,
    unit_member,
)
from ..conftest import SHANGHAI

TOWNSHIP = unit_member("t_magedang")
SUB_COMMAND = "sc_culture"

COMMANDER = sub_commander(SUB_COMMAND)
COMMIT = {"plan": "明确责任人，限期完成补偿", "promised_date": "2026-12-10"}
REPORT = {"resolution": "补偿款已发放", "evidence": "发放清单"}


@pytest.fixture
def issue(platform):
    """Register an issue in the ledger."""
    deploy_all(platform)

    def register(scope="unit", severity="normal"):
        return start(platform, "issue_lifecycle", {
            "title": "进场道路征地补偿未落实", "project_code": "XM-2026-006", "scope": scope,
            "severity": severity, "responsible_unit": "t_magedang", "sub_command": SUB_COMMAND},
            business_key="XM-2026-006", actor=SUPERVISOR)
    return register


def test_an_issue_is_assigned_committed_resolved_and_cleared(platform, issue):
    instance = issue()
    data = data_of(platform, instance.id)
    assert (data["rung"], data["rung_name"], data["handler"]) == (2, "主责单位限期整改", "unit:t_magedang")
    commit = task_of(platform, TOWNSHIP, "commit_plan")
    # rung 2: ten working days from Tuesday 2026-12-01
    assert commit.due_at == datetime(2026, 12, 15, 23, 59, 59, tzinfo=SHANGHAI)
    complete(platform, TOWNSHIP, "commit_plan", COMMIT)
    complete(platform, TOWNSHIP, "report_resolution", REPORT)
    assert elements_of(platform, SUPERVISOR) == ["verify_issue"]
    done = complete(platform, SUPERVISOR, "verify_issue",
                    {"verify_decision": "cleared", "verify_opinion": "经现场核实已整改到位"})
    assert done.status == "completed" and done.data["status"] == "cleared"


def test_an_inadequate_resolution_goes_back_to_the_unit_with_the_opinion(platform, issue):
    instance = issue()
    complete(platform, TOWNSHIP, "commit_plan", COMMIT)
    complete(platform, TOWNSHIP, "report_resolution", REPORT)
    complete(platform, SUPERVISOR, "verify_issue",
             {"verify_decision": "returned", "verify_opinion": "仍有两户未发放"})
    # the commitment stands: the unit reports again
    assert elements_of(platform, TOWNSHIP) == ["report_resolution"]
    assert data_of(platform, instance.id)["verify_opinion"] == "仍有两户未发放"
    complete(platform, TOWNSHIP, "report_resolution", REPORT)
    done = complete(platform, SUPERVISOR, "verify_issue",
                    {"verify_decision": "cleared", "verify_opinion": "已全部发放"})
    assert done.data["status"] == "cleared"


def test_an_issue_fixable_at_once_has_one_working_day(platform, issue):
    issue(scope="site", severity="minor")
    commit = task_of(platform, TOWNSHIP, "commit_plan")
    assert commit.due_at == datetime(2026, 12, 2, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.mark.parametrize("scope, rung, actor", [
    ("cross", 3, COMMANDER), ("county", 4, COUNTY_HEAD)])
def test_higher_rungs_go_to_the_sub_command_or_the_county_head(platform, issue, scope, rung, actor):
    instance = issue(scope=scope)
    assert data_of(platform, instance.id)["rung"] == rung
    # The rung's holder decides the plan and hands it to a unit to carry out (研究解决).
    assert elements_of(platform, actor) == ["decide_issue"]
    assert elements_of(platform, TOWNSHIP) == []


def test_overdue_work_is_reminded_then_climbs_every_rung_of_the_ladder(platform, issue, clock):
    instance = issue(scope="site", severity="normal")  # rung 1: 1 day + 1 day of grace
    # Overdue: a reminder, the unit keeps the task.
    clock.set(datetime(2026, 12, 3, 0, 30, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert "remind_unit" in completed_elements(platform, instance.id)
    assert elements_of(platform, TOWNSHIP) == ["commit_plan"]
    # Still overdue after the grace: rung 1 -> 2, the lead unit by a 10-day deadline counted
    # from the overrun (the end of Thursday 2026-12-03).
    clock.set(datetime(2026, 12, 4, 0, 30, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    data = data_of(platform, instance.id)
    assert (data["previous_rung"], data["rung"], data["handler"]) == (1, 2, "unit:t_magedang")
    task = task_of(platform, TOWNSHIP, "commit_plan")
    assert task.due_at == datetime(2026, 12, 17, 23, 59, 59, tzinfo=SHANGHAI)
    # The unit commits, then lets the deadline pass: reminder, then rung 2 -> 3.
    complete(platform, TOWNSHIP, "commit_plan", COMMIT)
    clock.set(datetime(2026, 12, 19, 9, 0, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert elements_of(platform, TOWNSHIP) == ["report_resolution"]
    clock.set(datetime(2026, 12, 24, 9, 0, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert data_of(platform, instance.id)["rung"] == 3
    assert elements_of(platform, TOWNSHIP) == []
    # a new rung decides anew
    assert elements_of(platform, COMMANDER) == ["decide_issue"]
    # rung 3 -> 4 after its 15 days and 5 of grace
    clock.set(datetime(2027, 1, 30, 9, 0, tzinfo=SHANGHAI))
    fire(platform)
    assert data_of(platform, instance.id)["rung"] == 4
    assert elements_of(platform, COMMANDER) == []
    assert elements_of(platform, COUNTY_HEAD) == ["decide_issue"]
    first_due = task_of(platform, COUNTY_HEAD, "decide_issue").due_at
    # At the top rung an overrun is reminded again with a new time limit, not escalated.
    clock.set(datetime(2027, 4, 1, 9, 0, tzinfo=SHANGHAI))
    fire(platform)
    assert "remind_county_head" in completed_elements(platform, instance.id)
    assert data_of(platform, instance.id)["rung"] == 4
    assert elements_of(platform, COUNTY_HEAD) == ["decide_issue"]
    assert task_of(platform, COUNTY_HEAD, "decide_issue").due_at > first_due
    assert escalations_of(platform, instance.id) == [("1", "2"), ("2", "3"), ("3", "4")]
    assert reminded_elements(platform, instance.id)[:2] == ["commit_plan", "report_resolution"]


def test_a_supervisor_escalates_by_hand_and_lists_the_issue(platform, issue):
    from engine.core.organisation import add_unit

    with platform.uow() as uow:
        add_unit(uow.session, "t_pingcheng", "平城镇", "township")
        uow.session.commit()
    instance = issue()
    send_message(platform, instance.id, "list_issue", SUPERVISOR)
    assert "list_issue" in completed_elements(platform, instance.id)
    assert elements_of(platform, TOWNSHIP) == ["commit_plan"]  # listing interrupts nothing
    send_message(platform, instance.id, "escalate_issue", SUPERVISOR,
                 {"reason": "涉及两个乡镇，需分指挥部协调"})
    assert data_of(platform, instance.id)["rung"] == 3
    assert escalations_of(platform, instance.id) == [("2", "3")]
    with platform.uow() as uow:
        [step] = escalation_history(uow.session, instance_id=instance.id)
    assert (step.by, step.automatic, step.reason) == (
        SUPERVISOR.username, False, "涉及两个乡镇，需分指挥部协调")
    assert elements_of(platform, TOWNSHIP) == []
    # The sub-command decides and hands the work to a unit, which reports the result.
    complete(platform, COMMANDER, "decide_issue", {**COMMIT, "carry_out_unit": "t_pingcheng"})
    assert elements_of(platform, COMMANDER) == []
    other = unit_member("t_pingcheng")
    assert elements_of(platform, other) == ["report_resolution"]
    complete(platform, other, "report_resolution", REPORT)
    done = complete(platform, SUPERVISOR, "verify_issue",
                    {"verify_decision": "cleared", "verify_opinion": "分指挥部已协调解决"})
    assert done.data["listed"] is True and done.data["status"] == "cleared"


def _seed_project(platform):
    """The units and the project a start form's pickers choose from."""
    from engine.core.organisation import add_unit
    from engine.county.projects import add_project

    with platform.uow() as uow:
        for code, name, kind in (("t_magedang", "马家庄乡", "township"),
                                 (SUB_COMMAND, "文旅康养分指挥部", "sub_command"),
                                 ("wlj", "县文旅局", "department"),
                                 ("co_solar", "示例光伏公司", "company")):
            add_unit(uow.session, code, name, kind)
        uow.session.flush()
        add_project(uow.session, "XM-2026-006", "马家庄光伏", sub_command=SUB_COMMAND,
                    stage="construction", township="t_magedang", lead_department="wlj",
                    project_unit="co_solar", specialist=None)
        uow.session.commit()


def test_a_supervisor_registers_an_issue_through_its_start_form(platform):
    from engine.bpm import start_forms
    from engine.core.errors import TaskDataError

    deploy_all(platform)
    _seed_project(platform)
    with platform.uow() as uow:
        process = start_forms.startable_process(uow, "issue_lifecycle", SUPERVISOR)
    assert [f["id"] for f in process.form["fields"]] == [
        "title", "project_code", "scope", "severity", "responsible_unit", "sub_command",
        "issue_files"]
    with platform.uow() as uow, pytest.raises(TaskDataError) as refused:
        start_forms.start_with_form(uow, "issue_lifecycle", SUPERVISOR, business_key="Q-9",
                                    data={"title": "", "scope": "galaxy"})
    assert {"title", "scope", "severity"} <= set(refused.value.field_errors)
    with platform.uow() as uow:
        start_forms.start_with_form(uow, "issue_lifecycle", SUPERVISOR, business_key="Q-9", data={
            "title": "进场道路未硬化", "project_code": "XM-2026-006", "scope": "unit",
            "severity": "normal", "responsible_unit": "t_magedang", "sub_command": SUB_COMMAND})
    assert elements_of(platform, TOWNSHIP) == ["commit_plan"]
    # the picked project brought its name and township into the issue
    data = data_of(platform, task_of(platform, TOWNSHIP, "commit_plan").instance_id)
    assert (data["project_name"], data["township"]) == ("马家庄光伏", "t_magedang")


@pytest.mark.parametrize("scope, element, actor", [
    ("unit", "commit_plan", TOWNSHIP), ("county", "decide_issue", COUNTY_HEAD)])
def test_a_promised_date_in_the_past_is_refused_at_its_field(platform, issue, scope, element,
                                                             actor):
    from engine.core.errors import TaskDataError

    instance = issue(scope=scope)
    with pytest.raises(TaskDataError) as refused:
        complete(platform, actor, element, {**COMMIT, "promised_date": "2020-01-01",
                                            "carry_out_unit": "t_magedang"}
                 if element == "decide_issue" else {**COMMIT, "promised_date": "2020-01-01"})
    assert "promised_date" in refused.value.field_errors
    assert elements_of(platform, actor) == [element]  # nothing changed
    assert data_of(platform, instance.id).get("committed") is False
