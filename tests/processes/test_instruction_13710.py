"""13710: assigned the same day, progress in 3, result in 7 (major: a month or a dated plan),
reviewed and rated, nothing leaves the list until closed."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.core.errors import TaskDataError

from .helpers import (
    SUPERVISOR, complete, completed_elements, deploy_all, elements_of, fire, instance,
    reminded_elements, start, task_of, unit_member,
)
from ..conftest import SHANGHAI

UNIT = unit_member("zj")
RESULT = {"result_kind": "result", "report": "已完工并试压合格"}


@pytest.fixture
def instruction(platform):
    """Register a written instruction."""
    deploy_all(platform)

    def register(complexity="ordinary"):
        return start(platform, "instruction_13710", {
            "title": "县长批示：供热管网改造入冬前完工", "source": "county_head",
            "instruction": "供热管网改造入冬前完工", "complexity": complexity,
            "responsible_unit": "zj"}, business_key="13710-001", actor=SUPERVISOR)
    return register


def to_review(platform):
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "按13710时限办理"})
    complete(platform, UNIT, "report_progress", {"progress": "已完成80%"})
    complete(platform, UNIT, "report_result", RESULT)


def test_time_limits_come_from_the_rule_table(platform, instruction):
    instruction()
    assert task_of(platform, SUPERVISOR, "assign_instruction").due_at == \
        datetime(2026, 12, 1, 23, 59, 59, tzinfo=SHANGHAI)  # the same day
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "限时办理"})
    assert task_of(platform, UNIT, "report_progress").due_at == \
        datetime(2026, 12, 4, 23, 59, 59, tzinfo=SHANGHAI)  # 3 working days
    complete(platform, UNIT, "report_progress", {"progress": "进行中"})
    assert task_of(platform, UNIT, "report_result").due_at == \
        datetime(2026, 12, 10, 23, 59, 59, tzinfo=SHANGHAI)  # 7 working days


def test_a_major_matter_has_a_month_for_its_result(platform, instruction):
    instruction("major")
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "限时办理"})
    complete(platform, UNIT, "report_progress", {"progress": "进行中"})
    assert task_of(platform, UNIT, "report_result").due_at == \
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)  # 22 working days


@pytest.mark.parametrize("rating", ["excellent", "good", "pass", "fail"])
def test_an_ordinary_matter_is_closed_with_a_rating(platform, instruction, rating):
    instruction()
    to_review(platform)
    done = complete(platform, SUPERVISOR, "review_report",
                    {"review_decision": "close", "rating": rating, "review_opinion": "已办结"})
    assert done.status == "completed"
    assert (done.data["status"], done.data["final_rating"]) == ("closed", rating)


def test_closing_without_a_rating_is_refused_at_its_field_and_the_matter_stays_on_the_list(
        platform, instruction):
    instruction()
    to_review(platform)
    with pytest.raises(TaskDataError) as refused:
        complete(platform, SUPERVISOR, "review_report",
                 {"review_decision": "close", "review_opinion": "已办结"})
    assert list(refused.value.field_errors) == ["rating"]
    assert elements_of(platform, SUPERVISOR) == ["review_report"]


def test_an_inadequate_report_is_sent_back(platform, instruction):
    item = instruction()
    to_review(platform)
    complete(platform, SUPERVISOR, "review_report",
             {"review_decision": "back", "review_opinion": "缺少试压报告"})
    assert elements_of(platform, UNIT) == ["report_result"]
    assert instance(platform, item.id).status == "running"
    complete(platform, UNIT, "report_result", RESULT)
    done = complete(platform, SUPERVISOR, "review_report",
                    {"review_decision": "close", "rating": "good", "review_opinion": "已补齐"})
    assert done.data["final_rating"] == "good"


def test_a_major_matter_with_a_dated_plan_is_followed_up_at_the_plan_date(
        platform, instruction, clock):
    item = instruction("major")
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "限时办理"})
    complete(platform, UNIT, "report_progress", {"progress": "已制定方案"})
    complete(platform, UNIT, "report_result",
             {"result_kind": "plan", "report": "分三阶段实施", "plan_date": "2027-03-01"})
    complete(platform, SUPERVISOR, "review_report",
             {"review_decision": "accept_plan", "review_opinion": "同意方案"})
    assert elements_of(platform, UNIT) == []
    assert instance(platform, item.id).status == "running"  # still on the list
    clock.set(datetime(2027, 3, 1, 9, 30, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    complete(platform, UNIT, "report_result", RESULT)
    done = complete(platform, SUPERVISOR, "review_report",
                    {"review_decision": "close", "rating": "pass", "review_opinion": "按方案完成"})
    assert done.data["final_rating"] == "pass"


def test_every_late_step_is_reminded_and_stays_open(platform, instruction, clock):
    item = instruction()
    clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert "remind_assign" in completed_elements(platform, item.id)
    complete(platform, SUPERVISOR, "assign_instruction", {"assign_note": "补交办"})
    clock.set(datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert "remind_progress" in completed_elements(platform, item.id)
    complete(platform, UNIT, "report_progress", {"progress": "滞后"})
    clock.set(datetime(2026, 12, 20, 8, 0, tzinfo=SHANGHAI))
    assert len(fire(platform)) == 1
    assert "remind_result" in completed_elements(platform, item.id)
    assert reminded_elements(platform, item.id) == [
        "assign_instruction", "report_progress", "report_result"]
    assert elements_of(platform, UNIT) == ["report_result"]
