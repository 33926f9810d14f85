"""退回 and 撤回 in the permit request (issue 17): inside one item of the request's
multi-instance call activity, the item is sent back and comes back in its own place.

Each step runs through save and reload, and the parsed specs are dropped between steps
(`restarted`) as another worker process or a restart would have them: the multi-instance
activity was wired only in the process that started it, so after a restart its items were
never collected (the request waited for ever).
"""

from __future__ import annotations

import pytest

from engine.bpm import task_actions
from engine.bpm.definitions import SPEC_CACHE
from engine.core.audit import verify_audit
from engine.core.errors import TaskDataError

from .helpers import (
    OFFICE, SPECIALIST, approver, complete, deploy_all, elements_of, start, task_of,
    tasks_of, unit_member,
)
from .test_permit_approval import APPROVE, NOTHING, PROJECT

COMPANY = unit_member("co_solar")
ZRZY = approver("zrzy")


def restarted():
    """Forget every parsed spec, as a new worker process starts without them."""
    SPEC_CACHE._items.clear()


@pytest.fixture
def request_for(platform):
    deploy_all(platform)

    def receive(*items, funding="enterprise"):
        instance = start(platform, "permit_approval", {**PROJECT, "funding": funding},
                         business_key=PROJECT["project_code"], actor=OFFICE)
        restarted()
        complete(platform, OFFICE, "receive_request",
                 {**NOTHING, **{f"need_{i}": True for i in items}})
        restarted()
        return instance
    return receive


def return_to(platform, actor, element, target, opinion):
    task = next(t for t in tasks_of(platform, actor) if t.element_id == element)
    with platform.uow() as uow:
        return task_actions.return_task(uow, task.id, actor, target, opinion)


def hand_back(platform):
    restarted()
    return complete(platform, OFFICE, "hand_back", {"handback_note": "一次性出件"})


def test_items_are_collected_when_each_step_runs_in_a_new_process(platform, request_for):
    request_for("planning", "land")
    for _ in range(2):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
        restarted()
    for _ in range(2):
        complete(platform, ZRZY, "approval", APPROVE)
        restarted()
    done = hand_back(platform)
    assert [(r["item"], r["outcome"]) for r in done.data["results"]] == [
        ("planning", "approved"), ("land", "approved")]


def test_an_approver_returns_one_item_to_the_specialist_who_refiles_it(platform, request_for):
    request_for("planning", "land")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "规划初次申报"})
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "用地申报"})
    restarted()
    approval = [t for t in tasks_of(platform, ZRZY) if t.element_id == "approval"][0]
    with platform.uow() as uow:
        targets = task_actions.return_targets(uow, approval.id, ZRZY)
    assert targets[0] == ("file_for_unit", "代办申报")
    assert ("receive_request", "受理申请（一口进）") in targets  # through the call activity
    with platform.uow() as uow:
        with pytest.raises(TaskDataError) as empty:
            task_actions.return_task(uow, approval.id, ZRZY, "file_for_unit", "  ")
    assert set(empty.value.field_errors) == {"opinion"}
    with platform.uow() as uow:
        reopened = task_actions.return_task(uow, approval.id, ZRZY, "file_for_unit",
                                            "总平面图需补正")
    restarted()
    # Back to whoever filed it, with what was filed before; the other item waits as it was.
    assert reopened.element_id == "file_for_unit" and reopened.assignee == SPECIALIST.username
    assert {f["id"]: f.get("default") for f in reopened.form["fields"]}["filing_note"] in (
        "规划初次申报", "用地申报")
    assert elements_of(platform, SPECIALIST) == ["file_for_unit"]
    assert elements_of(platform, ZRZY) == ["approval"]
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "已补正"})
    restarted()
    for _ in range(2):
        complete(platform, ZRZY, "approval", APPROVE)
        restarted()
    done = hand_back(platform)
    # Each item in its own place, none appended, none lost.
    assert sorted(r["item"] for r in done.data["results"]) == ["land", "planning"]
    assert len(done.data["parallel_items"]) == 2
    assert done.data["all_approved"]
    with platform.uow() as uow:
        assert verify_audit(uow.session).ok


def test_a_commitment_returned_to_the_unit_reopens_with_its_text_and_date(platform, request_for):
    request_for("planning", "environment")
    complete(platform, COMPANY, "sign_commitment",
             {"commitment_text": "开工前完成环评批复", "fulfil_date": "2027-03-31"})
    restarted()
    reopened = return_to(platform, approver("sthj"), "approval", "sign_commitment",
                         "承诺内容不完整")
    defaults = {f["id"]: f.get("default") for f in reopened.form["fields"] if f["type"] != "file"}
    assert defaults == {"commitment_text": "开工前完成环评批复", "fulfil_date": "2027-03-31"}
    assert reopened.assignee == COMPANY.username
    restarted()
    complete(platform, COMPANY, "sign_commitment",
             {"commitment_text": "开工前完成环评批复并公示", "fulfil_date": "2027-03-31"})
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "规划申报"})
    restarted()
    complete(platform, approver("sthj"), "approval", APPROVE)
    complete(platform, ZRZY, "approval", APPROVE)
    restarted()
    # The commitment waits for its date; the planning item is done; nothing else is open.
    assert elements_of(platform, OFFICE) == []


def test_the_last_approval_withdrawn_takes_back_the_hand_back(platform, request_for):
    request_for("planning", "land")
    for _ in range(2):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, ZRZY, "approval", APPROVE)
    last = task_of(platform, ZRZY, "approval")
    complete(platform, ZRZY, "approval",
             {"approval_decision": "approve", "approval_opinion": "同意（误）"})
    assert elements_of(platform, OFFICE) == ["hand_back"]
    restarted()
    with platform.uow() as uow:
        reopened = task_actions.withdraw(uow, last.id, ZRZY, "意见写错")
    restarted()
    assert reopened.element_id == "approval"
    assert elements_of(platform, OFFICE) == []
    complete(platform, ZRZY, "approval", {"approval_decision": "reject",
                                          "approval_opinion": "用地红线不符"})
    done = hand_back(platform)
    assert sorted((r["item"], r["outcome"]) for r in done.data["results"]) == [
        ("land", "rejected"), ("planning", "approved")]
    assert not done.data["all_approved"]


def test_return_to_the_window_through_the_call_activity_reopens_the_request(
        platform, request_for):
    request_for("planning", "land")
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    reopened = return_to(platform, ZRZY, "approval", "receive_request", "事项勾选有误")
    restarted()
    assert reopened.element_id == "receive_request"
    defaults = {f["id"]: f.get("default") for f in reopened.form["fields"]}
    assert defaults["need_planning"] == "true" and defaults["need_energy"] == "false"
    assert elements_of(platform, SPECIALIST) == [] and elements_of(platform, ZRZY) == []
    complete(platform, OFFICE, "receive_request", {**NOTHING, "need_land": True})
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "用地申报"})
    complete(platform, ZRZY, "approval", APPROVE)
    done = hand_back(platform)
    assert [r["item"] for r in done.data["results"]] == ["land"]


def test_an_overdue_approval_is_returned_too(platform, request_for, clock):
    """退回 on an overdue 限时审批 answered 500: the reminders and the consultation the
    overdue timers started are dropped with the approval, and start again with the next."""
    from datetime import datetime

    from ..conftest import SHANGHAI
    from .helpers import PREWORK, fire

    request_for("land", "planning")
    for _ in range(2):
        complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=SHANGHAI))  # beyond twice 15 working days
    restarted()
    assert fire(platform)
    assert elements_of(platform, PREWORK) == ["consult", "consult"]
    restarted()
    return_to(platform, ZRZY, "approval", "file_for_unit", "逾期未补齐材料，退回补正")
    restarted()
    assert elements_of(platform, SPECIALIST) == ["file_for_unit"]
    assert elements_of(platform, PREWORK) == ["consult"]  # the other item's stays
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "已补正"})
    restarted()
    for _ in range(2):
        complete(platform, ZRZY, "approval", APPROVE)
    assert elements_of(platform, OFFICE) == []  # the item waits for its consultation
    complete(platform, PREWORK, "consult", {"consultation_result": "已协调"})
    done = hand_back(platform)
    assert sorted(r["item"] for r in done.data["results"]) == ["land", "planning"]
