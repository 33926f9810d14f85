"""承诺制+全代办: one window in and out, items in parallel, time limits, commitments verified."""

from __future__ import annotations

from datetime import datetime

import pytest

from .helpers import (
    OFFICE, PREWORK, SPECIALIST, SUPERVISOR, approver, complete, completed_elements, data_of,
    deploy_all, elements_of, fire, reminded_elements, start, task_of, tasks_of, unit_member,
)
from ..conftest import SHANGHAI

COMPANY = unit_member("co_solar")
PROJECT = {"project_code": "XM-2026-004", "project_name": "100MW农光互补光伏电站",
           "funding": "enterprise", "project_unit": "co_solar", "sub_command": "sc_energy"}
NOTHING = {f"need_{k}": False for k in ("planning", "land", "energy", "environment", "construction")}
APPROVE = {"approval_decision": "approve", "approval_opinion": "同意"}


@pytest.fixture
def request_for(platform):
    """Start a request and let the window receive it with the items asked for."""
    deploy_all(platform)

    def receive(*items, funding="enterprise"):
        instance = start(platform, "permit_approval", {**PROJECT, "funding": funding},
                         business_key=PROJECT["project_code"], actor=OFFICE)
        assert elements_of(platform, OFFICE) == ["receive_request"]
        complete(platform, OFFICE, "receive_request",
                 {**NOTHING, **{f"need_{i}": True for i in items}})
        return instance
    return receive


def hand_back(platform):
    return complete(platform, OFFICE, "hand_back", {"handback_note": "一次性出件"})


def test_agency_items_are_filed_by_the_specialist_and_approved_by_their_department(
        platform, request_for):
    request_for("planning", "land")
    assert elements_of(platform, SPECIALIST) == ["file_for_unit", "file_for_unit"]
    for _ in range(2):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    zrzy = approver("zrzy")
    assert elements_of(platform, zrzy) == ["approval", "approval"]
    assert elements_of(platform, approver("sthj")) == []
    for _ in range(2):
        complete(platform, zrzy, "approval", APPROVE)
    done = hand_back(platform)
    assert done.status == "completed"
    assert [(r["item"], r["kind"], r["outcome"]) for r in done.data["results"]] == [
        ("planning", "agency", "approved"), ("land", "agency", "approved")]
    assert done.data["all_approved"] and not done.data["ready_to_build"]


def test_the_approval_is_due_within_the_item_time_limit_in_working_days(platform, request_for):
    request_for("land")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    task = task_of(platform, approver("zrzy"), "approval")
    # 15 working days from Tuesday 2026-12-01: Tuesday 2026-12-22, end of day in Lingchuan.
    assert task.due_at == datetime(2026, 12, 22, 23, 59, 59, tzinfo=SHANGHAI)
    assert task.candidate_groups == ("approver@zrzy",)


def test_return_for_correction_goes_back_to_the_agent_with_the_opinion(platform, request_for):
    request_for("planning")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "初次申报"})
    complete(platform, approver("zrzy"), "approval",
             {"approval_decision": "return", "approval_opinion": "总平面图需补正"})
    assert elements_of(platform, approver("zrzy")) == []
    again = task_of(platform, SPECIALIST, "file_for_unit")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "已补正"})
    assert again.element_id == "file_for_unit"
    complete(platform, approver("zrzy"), "approval", APPROVE)
    assert hand_back(platform).data["results"][0]["outcome"] == "approved"


def test_a_returned_commitment_goes_back_to_the_project_unit(platform, request_for):
    request_for("environment")
    complete(platform, COMPANY, "sign_commitment", {"commitment_text": "承诺", "fulfil_date": "2027-03-31"})
    complete(platform, approver("sthj"), "approval",
             {"approval_decision": "return", "approval_opinion": "承诺内容不完整"})
    assert elements_of(platform, COMPANY) == ["sign_commitment"]


def test_a_rejected_planning_permit_holds_back_the_construction_permit(platform, request_for):
    request_for("planning", "construction")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, approver("zrzy"), "approval",
             {"approval_decision": "reject", "approval_opinion": "不符合控制性详细规划"})
    assert elements_of(platform, SPECIALIST) == []  # no construction permit filing
    done = hand_back(platform)
    assert done.data["results"] == [{"item": "planning", "name": "建设工程规划许可", "kind": "agency",
                                     "department": "zrzy", "outcome": "rejected",
                                     "opinion": "不符合控制性详细规划"}]
    assert done.data["construction_held"] and not done.data["all_approved"]


def test_construction_waits_for_planning_and_land_then_the_project_is_ready_to_build(
        platform, request_for, clock):
    request_for("planning", "land", "environment", "construction")
    for _ in range(2):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, COMPANY, "sign_commitment",
             {"commitment_text": "开工前补齐要件", "fulfil_date": "2026-12-20"})
    for _ in range(2):
        complete(platform, approver("zrzy"), "approval", APPROVE)
    complete(platform, approver("sthj"), "approval", APPROVE)
    assert elements_of(platform, SPECIALIST) == []  # the commitment is not verified yet
    clock.set(datetime(2026, 12, 20, 9, 30, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    complete(platform, approver("sthj"), "verify_commitment", {"fulfilled": "yes"})
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "施工许可代办"})
    assert task_of(platform, approver("xzsp"), "approval").candidate_groups == ("approver@xzsp",)
    complete(platform, approver("xzsp"), "approval", APPROVE)
    done = hand_back(platform)
    assert [r["item"] for r in done.data["results"]] == ["planning", "land", "environment",
                                                        "construction"]
    assert done.data["ready_to_build"]


def test_only_a_construction_permit_skips_the_parallel_stage(platform, request_for):
    request_for("construction", funding="government")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "施工许可代办"})
    complete(platform, approver("xzsp"), "approval", APPROVE)
    assert hand_back(platform).data["ready_to_build"]


def test_a_government_project_has_its_environment_assessment_done_by_agency(platform, request_for):
    request_for("environment", funding="government")
    assert elements_of(platform, SPECIALIST) == ["file_for_unit"]
    assert elements_of(platform, COMPANY) == []


def test_an_unfulfilled_commitment_revokes_the_approval_and_registers_an_issue(
        platform, request_for, clock):
    instance = request_for("energy")
    complete(platform, COMPANY, "sign_commitment",
             {"commitment_text": "落实节能措施", "fulfil_date": "2026-12-10"})
    complete(platform, approver("drc"), "approval", APPROVE)
    clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI))
    fire(platform)
    complete(platform, approver("drc"), "verify_commitment",
             {"fulfilled": "no", "verify_note": "节能措施未落实"})
    # The issue goes into the ledger as an issue of its own, for the project unit: a
    # unit-scope, major issue (rung 2); the request goes on without waiting for it.
    commit = task_of(platform, COMPANY, "commit_plan")
    assert commit.instance_id != instance.id and commit.process_key == "issue_lifecycle"
    issue = data_of(platform, commit.instance_id)
    assert issue["title"] == "固定资产投资项目节能审查（能评）：承诺未按期履行，审批已撤销"
    assert (issue["project_code"], issue["responsible_unit"], issue["rung"]) == (
        PROJECT["project_code"], "co_solar", 2)
    with platform.uow() as uow:
        from engine.county.issue_ledger import IssueLedgerRow
        row = uow.session.get(IssueLedgerRow, commit.instance_id)
        assert (row.project_code, row.responsible_unit, row.step) == (
            PROJECT["project_code"], "co_solar", "assigned")
    done = hand_back(platform)
    assert done.data["results"][0]["outcome"] == "revoked"
    assert not done.data["all_approved"]
    complete(platform, COMPANY, "commit_plan", {"plan": "补做节能措施", "promised_date": "2026-12-20"})
    complete(platform, COMPANY, "report_resolution", {"resolution": "已补做", "evidence": "验收单"})
    complete(platform, SUPERVISOR, "verify_issue", {"verify_decision": "cleared", "verify_opinion": "已整改"})
    assert data_of(platform, commit.instance_id)["status"] == "cleared"


def test_an_overrun_reminds_the_approver_and_a_second_one_goes_to_consultation(
        platform, request_for, clock):
    instance = request_for("construction", funding="government")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "施工许可代办"})
    # 5 working days: due Tuesday 2026-12-08; the second overrun at 10 working days.
    clock.set(datetime(2026, 12, 9, 0, 30, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert "remind_approver" in completed_elements(platform, instance.id)
    assert reminded_elements(platform, instance.id) == ["approval"]
    assert elements_of(platform, approver("xzsp")) == ["approval"]
    assert elements_of(platform, PREWORK) == []
    clock.set(datetime(2026, 12, 16, 0, 30, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert elements_of(platform, PREWORK) == ["consult"]
    assert elements_of(platform, approver("xzsp")) == ["approval"]
    complete(platform, PREWORK, "consult", {"consultation_result": "补充材料后三日内办结"})
    complete(platform, approver("xzsp"), "approval", APPROVE)
    assert hand_back(platform).data["ready_to_build"]


def test_approving_in_time_leaves_no_timer_behind(platform, request_for, clock):
    request_for("planning")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, approver("zrzy"), "approval", APPROVE)
    clock.set(datetime(2027, 6, 1, 9, 0, tzinfo=SHANGHAI))
    assert fire(platform) == []
    assert [t.element_id for t in tasks_of(platform, OFFICE)] == ["hand_back"]


def test_one_item_s_filing_is_withdrawn_while_the_other_item_goes_on(platform, request_for):
    """撤回 inside one item of a request for several answered 500 (security issue, finding 11),
    then was refused (issue 17): the item's filing is reopened, its approval withdrawn."""
    from engine.bpm import task_actions

    request_for("planning", "land")
    filed = next(t for t in tasks_of(platform, SPECIALIST) if t.element_id == "file_for_unit")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    with platform.uow() as uow:
        reopened = task_actions.withdraw(uow, filed.id, SPECIALIST, "重新填报")
    assert reopened.element_id == "file_for_unit" and reopened.assignee == SPECIALIST.username
    # the text comes back as it was filed (files stay bound to the instance, listed on it)
    assert {f["id"]: f.get("default") for f in reopened.form["fields"]
            if f["type"] != "file"} == {"filing_note": "代办材料"}
    assert elements_of(platform, approver("zrzy")) == []
    assert elements_of(platform, SPECIALIST) == ["file_for_unit", "file_for_unit"]
    for _ in range(2):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    for _ in range(2):
        complete(platform, approver("zrzy"), "approval", APPROVE)
    assert [r["item"] for r in hand_back(platform).data["results"]] == ["planning", "land"]


def test_each_item_s_task_names_its_item(platform, request_for):
    """Four tasks all titled 代办申报 (issue 17): each names its item (gongjian:title)."""
    request_for("planning", "land", "energy", "environment", funding="government")
    assert sorted(t.name for t in tasks_of(platform, SPECIALIST)) == sorted([
        "代办申报：固定资产投资项目节能审查（能评）", "代办申报：建设工程规划许可",
        "代办申报：建设项目环境影响评价审批（环评）", "代办申报：建设用地审批"])
    for _ in range(4):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    assert sorted(t.name for t in tasks_of(platform, approver("zrzy"))) == [
        "限时审批：建设工程规划许可", "限时审批：建设用地审批"]


def test_a_title_without_its_variable_is_the_task_s_name():
    from types import SimpleNamespace

    from engine.bpm.projection import task_title

    spec = SimpleNamespace(bpmn_name="代办申报", bpmn_id="file_for_unit",
                           extensions={"gongjian:title": "代办申报：${ item_name }"})
    assert task_title(spec, {"item_name": "建设用地审批"}) == "代办申报：建设用地审批"
    for data in ({}, {"item_name": None}, {"item_name": ""}, {"item_name": {"a": 1}}):
        assert task_title(spec, data) == "代办申报"
    assert task_title(SimpleNamespace(bpmn_name=None, bpmn_id="x", extensions={}), {}) == "x"


def test_the_window_hands_back_each_item_s_result_in_words(platform, request_for):
    request_for("planning", "construction")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, approver("zrzy"), "approval",
             {"approval_decision": "reject", "approval_opinion": "不符合控制性详细规划"})
    task = task_of(platform, OFFICE, "hand_back")
    with platform.uow() as uow:
        from engine.county.matter import task_matter
        from engine.core.models import HumanTask
        shown = {s.label: s.value for s in task_matter(uow, uow.session.get(HumanTask, task.id)).fields}
    assert shown["各事项办理结果"] == ("建设工程规划许可：不予许可（不符合控制性详细规划）；"
                                  "建筑工程施工许可：规划或用地未准予，暂缓办理")
    assert "outcome_names" not in hand_back(platform).data
