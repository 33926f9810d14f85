"""会签, 或签, 比例签 with three signers: who must sign, when the activity finishes, what
becomes of the signers still open, and what the gateway after it reads.

Every step is a service call that restores the instance from the database and saves it
back, so each scenario runs through save → restore between steps.
"""

from __future__ import annotations

import json

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bpm import countersign, definitions, inbox, runtime, task_actions
from engine.bpm.expression_helpers import approved_count, approved_share
from engine.core.audit import verify_audit
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.core.notifications import Notification

from ..conftest import FIXTURES

SIGNERS = ("fgj", "zrzy", "sthj")
OFFICE = Actor.of("bangongshi", "office")
STARTER = Actor.of("zhuanyuan1", "specialist")


def _run(platform, key: str) -> int:
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(f"{key}.bpmn",
                                        (FIXTURES / "countersign" / f"{key}.bpmn").read_bytes())],
                                 "designer")
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, STARTER, data={"signers": list(SIGNERS)}).id


def _sign(platform, user: str, decision: str) -> None:
    actor = Actor.of(user)
    with platform.uow() as uow:
        [task] = [t for t in inbox.list_tasks(uow, actor) if t.element_id == "sign"]
    with platform.uow() as uow:
        task_actions.decide(uow, task.id, actor, decision,
                            "" if decision == "approve" else "材料不全")


def _rows(platform, instance: int) -> dict[str, tuple[str, str | None]]:
    """Each signer's row: (state, ended_by)."""
    with platform.uow() as uow:
        return {t.assignee: (t.state, t.ended_by) for t in uow.session.execute(
            select(HumanTask).where(HumanTask.instance_id == instance,
                                    HumanTask.element_id == "sign")).scalars()}


def _next(platform) -> list[str]:
    with platform.uow() as uow:
        return [t.element_id for t in inbox.list_tasks(uow, OFFICE)]


def _cancelled_events(platform, instance: int) -> list[dict]:
    with platform.uow() as uow:
        return [json.loads(detail) for detail in uow.session.execute(
            select(AuditEvent.detail).where(AuditEvent.instance_id == instance,
                                            AuditEvent.action == "task_cancelled")
            .order_by(AuditEvent.seq)).scalars()]


def _waiting_signers(platform) -> list[str]:
    return sorted(u for u in SIGNERS for t in _tasks(platform, u) if t.element_id == "sign")


def _data_at(platform, instance: int, element_id: str) -> dict:
    """The data of the waiting task `element_id`: what the process carries on with."""
    with platform.uow() as uow:
        workflow = runtime.restore(uow.session, uow.session.get(ProcessInstance, instance))
        [task] = [t for t in workflow.get_tasks(state=TaskState.READY)
                  if t.task_spec.bpmn_id == element_id]
        return dict(task.data)


def _tasks(platform, user):
    with platform.uow() as uow:
        return inbox.list_tasks(uow, Actor.of(user))


# ---------------------------------------------------------------- 会签: all must approve

def test_countersign_all_waits_for_every_signer_and_passes_when_all_approve(platform):
    instance = _run(platform, "countersign_all")
    _sign(platform, "fgj", "approve")
    _sign(platform, "zrzy", "approve")
    assert _waiting_signers(platform) == ["sthj"] and _next(platform) == []
    _sign(platform, "sthj", "approve")
    assert _next(platform) == ["carry_out"]
    assert {s for s, _ in _rows(platform, instance).values()} == {"completed"}
    assert _cancelled_events(platform, instance) == []


def test_countersign_all_with_one_refusal_still_asks_everyone_and_goes_back(platform):
    instance = _run(platform, "countersign_all")
    _sign(platform, "zrzy", "reject")
    _sign(platform, "fgj", "approve")
    assert _waiting_signers(platform) == ["sthj"]
    _sign(platform, "sthj", "approve")
    assert _next(platform) == ["revise"]
    data = _data_at(platform, instance, "revise")
    assert [r["decision"] for r in data["sign_results"]] == ["approve", "reject", "approve"]
    assert [r["signer"] for r in data["sign_results"]] == list(SIGNERS)


# ---------------------------------------------------------------- 或签: any one approves

def test_countersign_any_finishes_with_the_first_approval_and_cancels_the_others(platform):
    instance = _run(platform, "countersign_any")
    _sign(platform, "zrzy", "approve")
    assert _waiting_signers(platform) == []
    assert _next(platform) == ["carry_out"]
    assert _rows(platform, instance) == {"zrzy": ("completed", "zrzy"),
                                         "fgj": ("cancelled", None),
                                         "sthj": ("cancelled", None)}
    events = _cancelled_events(platform, instance)
    assert len(events) == 2
    assert {e["why"] for e in events} == {"或签：已有 1 人同意，其余签批人无需再签"}
    with platform.uow() as uow:
        told = uow.session.execute(select(Notification.recipient).where(
            Notification.title == "无需再签：或签").order_by(Notification.recipient)
            ).scalars().all()
        assert verify_audit(uow.session).ok
    assert told == ["fgj", "sthj"]


def test_countersign_any_goes_on_after_a_refusal_until_someone_approves(platform):
    instance = _run(platform, "countersign_any")
    _sign(platform, "fgj", "reject")
    assert _waiting_signers(platform) == ["sthj", "zrzy"]
    _sign(platform, "sthj", "approve")
    assert _rows(platform, instance) == {"fgj": ("completed", "fgj"),
                                         "sthj": ("completed", "sthj"),
                                         "zrzy": ("cancelled", None)}
    assert _next(platform) == ["carry_out"]
    assert len(_cancelled_events(platform, instance)) == 1


def test_countersign_any_with_three_refusals_asks_everyone_and_goes_back(platform):
    instance = _run(platform, "countersign_any")
    for user in SIGNERS:
        _sign(platform, user, "reject")
    assert _next(platform) == ["revise"]
    assert _cancelled_events(platform, instance) == []


# ---------------------------------------------------------------- 比例签: two thirds approve

def test_countersign_ratio_finishes_once_two_of_three_approve(platform):
    instance = _run(platform, "countersign_ratio")
    _sign(platform, "sthj", "approve")
    assert _waiting_signers(platform) == ["fgj", "zrzy"]  # 1/3 is not enough
    _sign(platform, "fgj", "approve")
    assert _rows(platform, instance)["zrzy"] == ("cancelled", None)
    assert _next(platform) == ["carry_out"]
    [event] = _cancelled_events(platform, instance)
    assert event["why"] == "比例签：同意人数已达 2/3（2/3），其余签批人无需再签"


def test_countersign_ratio_after_a_refusal_needs_the_last_signer(platform):
    instance = _run(platform, "countersign_ratio")
    _sign(platform, "fgj", "reject")
    _sign(platform, "zrzy", "approve")
    assert _waiting_signers(platform) == ["sthj"]
    _sign(platform, "sthj", "approve")
    assert _next(platform) == ["carry_out"]
    assert _cancelled_events(platform, instance) == []


def test_countersign_ratio_not_reached_goes_back(platform):
    _run(platform, "countersign_ratio")
    _sign(platform, "fgj", "approve")
    _sign(platform, "zrzy", "reject")
    _sign(platform, "sthj", "reject")
    assert _next(platform) == ["revise"]


def test_a_sequential_ratio_starts_no_further_signer_once_reached(platform):
    instance = _run(platform, "countersign_ratio_sequential")
    assert _waiting_signers(platform) == ["fgj"]
    _sign(platform, "fgj", "approve")
    assert _waiting_signers(platform) == ["zrzy"]
    _sign(platform, "zrzy", "approve")
    assert _waiting_signers(platform) == [] and _next(platform) == ["carry_out"]
    assert set(_rows(platform, instance)) == {"fgj", "zrzy"}
    data = _data_at(platform, instance, "carry_out")
    assert [r and r["decision"] for r in data["sign_results"]] == ["approve", "approve", None]


def test_camundas_counters_run_a_camunda_condition_unchanged(platform):
    instance = _run(platform, "countersign_camunda")
    _sign(platform, "fgj", "reject")
    assert _waiting_signers(platform) == ["sthj", "zrzy"]  # 1/3 completed
    _sign(platform, "sthj", "approve")  # 2/3 completed >= 0.6
    assert _rows(platform, instance)["zrzy"] == ("cancelled", None)
    [event] = _cancelled_events(platform, instance)
    assert "nrOfCompletedInstances / nrOfInstances >= 0.6" in event["why"]


# ---------------------------------------------------------------- the written condition

@pytest.mark.parametrize(("mode", "ratio", "condition"), [
    ("all", None, None),
    ("any", None, "nrOfApprovedInstances >= 1"),
    ("ratio", "2/3", "nrOfApprovedInstances / nrOfInstances >= 2/3"),
    ("ratio", "60%", "nrOfApprovedInstances / nrOfInstances >= 0.6"),
    ("ratio", "0.75", "nrOfApprovedInstances / nrOfInstances >= 0.75"),
])
def test_each_mode_is_written_as_a_completion_condition_and_read_back(mode, ratio, condition):
    assert countersign.completion_condition(mode, ratio) == condition
    back_mode, back_ratio = countersign.mode_of(condition)
    assert back_mode == mode
    if mode == "ratio":
        assert countersign.completion_condition(back_mode, back_ratio) == condition


@pytest.mark.parametrize("ratio", ["0", "3/2", "1.5", "abc", "2/0", "", "-1/3"])
def test_a_ratio_outside_zero_to_one_is_refused_in_chinese(ratio):
    with pytest.raises(ValueError, match="比例"):
        countersign.completion_condition("ratio", ratio)


def test_a_hand_written_condition_is_custom():
    assert countersign.mode_of("len(approvals) >= 2") == ("custom", None)


def test_the_helpers_count_approvals_over_every_signer():
    results = [{"decision": "approve"}, None, {"decision": "reject"}]
    assert approved_count(results) == 1
    assert approved_share(results) == 1 / 3
    assert approved_share([]) == 0.0
    assert approved_count([True, {"approved": True}, "approve", False]) == 3
