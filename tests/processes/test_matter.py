"""The matter of each task of the county's processes: what it shows, why it came back, what
follows each choice, and who acts next (engine/bpm/matter.py, engine/county/matter.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpm import matter as bpm_matter
from engine.bpm import task_actions
from engine.bpm.outcomes import read_condition
from engine.core.models import HumanTask
from engine.county.matter import Names, matter_view, next_steps

from .helpers import (
    OFFICE, SPECIALIST, SUPERVISOR, complete, deploy_all, send_message, start,
    sub_commander, task_of, unit_member,
)

UNIT = unit_member("zj")
TOWNSHIP = unit_member("t_magedang")
INSTRUCTION = {"title": "县长批示：供热管网改造入冬前完工", "source": "county_head",
               "instruction": "供热管网改造入冬前完工", "complexity": "ordinary",
               "responsible_unit": "zj"}
ISSUE = {"title": "进场道路征地补偿未落实", "project_code": "XM-2026-006", "scope": "unit",
         "severity": "normal", "responsible_unit": "t_magedang", "sub_command": "sc_culture"}
COMMIT = {"plan": "明确责任人，限期完成补偿", "promised_date": "2026-12-10"}
REPORT = {"resolution": "补偿款已发放", "evidence": "发放清单"}


def view_of(platform, actor, element_id):
    """The matter of the actor's open task of this element, as pages and the API get it."""
    task = task_of(platform, actor, element_id)
    with platform.uow() as uow:
        row = uow.session.get(HumanTask, task.id)
        return matter_view(uow, row)


def shown(view, part="fields") -> dict[str, str]:
    return {f["label"]: f["text"] for f in view[part]}


@pytest.fixture
def deployed(platform):
    deploy_all(platform)
    return platform


def test_every_13710_task_shows_the_instruction_and_its_requirements(deployed):
    platform = deployed
    start(platform, "instruction_13710", INSTRUCTION, actor=SUPERVISOR)
    assign = shown(view_of(platform, SUPERVISOR, "assign_instruction"))
    assert assign == {"批示事项": INSTRUCTION["title"], "批示人": "县长",
                      "批示内容": "供热管网改造入冬前完工", "事项类型": "一般事项（7日内办结）",
                      "责任单位": "未知单位"}  # a unit by name, never its code (none here)
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "附试压记录"})
    progress = shown(view_of(platform, UNIT, "report_progress"))
    assert progress["批示内容"] == "供热管网改造入冬前完工" and progress["交办要求"] == "附试压记录"
    complete(platform, UNIT, "report_progress", {"progress": "已完成80%"})
    result = view_of(platform, UNIT, "report_result")
    assert shown(result)["进展情况"] == "已完成80%" and result["came_back"] is None


def test_a_13710_result_sent_back_says_why_and_what_was_sent(deployed):
    platform = deployed
    start(platform, "instruction_13710", INSTRUCTION, actor=SUPERVISOR)
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "附试压记录"})
    complete(platform, UNIT, "report_progress", {"progress": "已完成80%"})
    complete(platform, UNIT, "report_result", {"result_kind": "result", "report": "已完工"})
    review = view_of(platform, SUPERVISOR, "review_report")
    assert shown(review)["办理情况"] == "已完工"
    assert [(o["choice"], [(s["name"], s["back"], s["ends"]) for s in o["steps"]])
            for o in review["outcomes"]] == [
        ("办结销号", [("办结", False, True)]),
        ("退回重办", [("报送办理结果或方案", True, False)]),
        ("同意方案，到期跟踪", [("报送办理结果或方案", True, False)])]
    complete(platform, SUPERVISOR, "review_report",
             {"review_decision": "back", "review_opinion": "缺少试压报告"})
    again = view_of(platform, UNIT, "report_result")
    back = again["came_back"]
    assert (back["how"], back["step"]) == ("again", "审核办理情况")
    assert shown(back) == {"审核结论": "退回重办", "审核意见": "缺少试压报告"}
    assert shown(again, "earlier") == {"报送内容": "办理结果，申请销号", "办理情况": "已完工"}
    assert shown(again)["批示内容"] == "供热管网改造入冬前完工"


def test_a_task_returned_by_hand_says_who_returned_it_and_why(deployed):
    platform = deployed
    start(platform, "instruction_13710", INSTRUCTION, actor=SUPERVISOR)
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "附试压记录"})
    task = task_of(platform, UNIT, "report_progress")
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, UNIT)
    with platform.uow() as uow:
        task_actions.return_task(uow, task.id, UNIT, "assign_instruction", "承办单位有误")
    back = view_of(platform, SUPERVISOR, "assign_instruction")["came_back"]
    assert (back["how"], back["step"], back["opinion"]) == (
        "returned", "反馈进展（3日内）", "承办单位有误")


def test_the_units_commitment_shows_the_issue_and_the_check_shows_the_result(deployed):
    platform = deployed
    start(platform, "issue_lifecycle", ISSUE, actor=SUPERVISOR)
    commit = shown(view_of(platform, TOWNSHIP, "commit_plan"))
    assert commit["问题"] == ISSUE["title"] and commit["问题范围"] == "主责单位可解决"
    assert commit["严重程度"] == "较重" and commit["处置层级"] == "主责单位限期整改"
    assert "整改方案" not in commit  # the task's own field is the form, not the matter
    complete(platform, TOWNSHIP, "commit_plan", COMMIT)
    complete(platform, TOWNSHIP, "report_resolution", REPORT)
    verify = view_of(platform, SUPERVISOR, "verify_issue")
    texts = [f["text"] for f in verify["fields"]]
    assert {COMMIT["plan"], "2026-12-10", "补偿款已发放", "发放清单"} <= set(texts)
    assert {"整改情况": "补偿款已发放", "佐证材料": "发放清单"}.items() <= shown(verify).items()
    assert [o["choice"] for o in verify["outcomes"]] == ["销号", "退回整改"]


def test_an_escalated_issue_tells_the_new_rung_why(deployed):
    platform = deployed
    instance = start(platform, "issue_lifecycle", ISSUE, actor=SUPERVISOR)
    send_message(platform, instance.id, "escalate_issue", SUPERVISOR,
                 {"reason": "涉及两个乡镇，需分指挥部协调"})
    view = view_of(platform, sub_commander("sc_culture"), "decide_issue")
    back = view["came_back"]
    assert (back["how"], back["opinion"]) == ("escalated", "涉及两个乡镇，需分指挥部协调")
    assert shown(view)["处置层级"] == "分指挥部研究解决"


def test_parallel_permit_items_are_told_apart_by_their_item(deployed):
    platform = deployed
    project = {"project_code": "XM-2026-004", "project_name": "100MW农光互补光伏电站",
               "funding": "enterprise", "project_unit": "co_solar", "sub_command": "sc_energy"}
    instance = start(platform, "permit_approval", project, actor=OFFICE)
    complete(platform, OFFICE, "receive_request", {
        "need_planning": True, "need_land": True, "need_energy": False,
        "need_environment": False, "need_construction": False})
    with platform.uow() as uow:
        steps = next_steps(uow, instance.id)
    # Each item's task names its item (gongjian:title), so no subject is needed to tell them
    # apart; the holders are named.
    assert sorted((s["name"], s["subject"], tuple(s["holders"])) for s in steps) == [
        ("代办申报：建设工程规划许可", None, ("「项目专员」",)),
        ("代办申报：建设用地审批", None, ("「项目专员」",))]
    with platform.uow() as uow:
        row = uow.session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.element_id == "file_for_unit")
        ).scalars().first()
        filing = matter_view(uow, row)
    assert {"审批事项", "项目名称", "办理方式", "审批部门", "办理时限（工作日）"} <= set(shown(filing))
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    with platform.uow() as uow:
        steps = next_steps(uow, instance.id)
    assert sorted((s["name"], s["working_days"]) for s in steps) == [
        ("限时审批：建设工程规划许可", 10), ("限时审批：建设用地审批", 15)]
    assert all(s["holders"][0].endswith(" 审批人」") for s in steps)


def test_names_name_groups_and_people(platform):
    with platform.uow() as uow:
        names = Names(uow)
        assert names.group("supervisor") == "督办人员"
        assert names.group("approver@nowhere").endswith(" 审批人")
        assert names.actor("system") == "系统" and names.actor("ghost") == "未知人员"


@pytest.mark.parametrize("text, variable, value, equal", [
    ('review_decision == "close"', "review_decision", "close", True),
    ("${kind eq 'commitment'}", "kind", "commitment", True),
    ("fulfilled != 'no'", "fulfilled", "no", False),
    ("committed", "committed", True, True),
    ("not listed", "listed", True, False),
])
def test_simple_conditions_are_read_as_tests_of_one_variable(text, variable, value, equal):
    test = read_condition(text)
    assert (test.variable, test.value, test.equal) == (variable, value, equal)


def test_other_conditions_are_not_guessed():
    assert read_condition("rung < 4") is None and read_condition("a == 1 and b") is None


def test_the_matter_property_names_variables_and_labels():
    assert bpm_matter.parse_property("title, item_name=审批事项，plan") == [
        ("title", None), ("item_name", "审批事项"), ("plan", None)]


def test_parallel_steps_of_one_name_are_told_apart_by_what_differs(deployed):
    platform = deployed
    instance = start(platform, "quarterly_awards",
                     {"quarter": "2026Q4", "sub_commands": ["sc_culture", "sc_energy"]},
                     actor=SUPERVISOR)
    with platform.uow() as uow:
        steps = next_steps(uow, instance.id)
    assert len({s["name"] for s in steps}) == 1 and len(steps) == 2
    assert sorted(s["subject"]["value"] for s in steps) == ["sc_culture", "sc_energy"]
    assert {s["subject"]["label"] for s in steps} == {"分指挥部"}


def test_an_instance_with_nothing_open_says_which_timer_it_waits_for(deployed):
    platform = deployed
    instance = start(platform, "instruction_13710", {**INSTRUCTION, "complexity": "major"},
                     actor=SUPERVISOR)
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "按月报送"})
    complete(platform, UNIT, "report_progress", {"progress": "已制定方案"})
    complete(platform, UNIT, "report_result",
             {"result_kind": "plan", "report": "分三阶段实施", "plan_date": "2027-03-01"})
    complete(platform, SUPERVISOR, "review_report",
             {"review_decision": "accept_plan", "review_opinion": "同意方案"})
    with platform.uow() as uow:
        assert next_steps(uow, instance.id) == []
        [waiting] = bpm_matter.waiting_timers(uow, instance.id)
    assert (waiting.name, waiting.due_at.isoformat()) == ("方案时限到", "2027-03-01T01:00:00+00:00")
