"""The human-task transition table and the actions built on it: transfer, delegate, copy, decide."""

from __future__ import annotations

import pytest

from engine.core import organisation
from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core.audit import verify_audit
from engine.core.errors import (
    ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.core.notifications import notifications_for

from ..conftest import FIXTURES

APPROVAL = FIXTURES / "engine" / "approval.bpmn"
SPECIALIST = Actor.of("zhuanyuan1", "specialist")
COLLEAGUE = Actor.of("zhuanyuan2", "specialist")
APPROVER = Actor.of("shenpi1", "approver")
OUTSIDER = Actor.of("xiangzhen9", "township_head")


@pytest.fixture
def instance(platform, clock):
    with platform.uow() as uow:
        for actor in (SPECIALIST, COLLEAGUE, APPROVER, OUTSIDER):
            organisation.add_user(uow.session, actor.username, actor.username, "pw", unit=None,
                                  roles=sorted(actor.groups), now=clock.now())
        uow.session.commit()
        definitions.deploy_files(uow, [(APPROVAL.name, APPROVAL.read_bytes())], "designer")
    with platform.uow() as uow:
        return runtime.start_instance(uow, "approval", SPECIALIST, data={"project_name": "x"})


def open_task(platform, actor):
    with platform.uow() as uow:
        tasks = inbox.list_tasks(uow, actor)
    assert len(tasks) == 1, tasks
    return tasks[0]


def act(platform, service, *args):
    with platform.uow() as uow:
        return service(uow, *args)


def test_the_table_names_every_action_with_its_sources_and_who_may_act():
    for name, rule in task_actions.TRANSITIONS.items():
        assert rule.action == name and rule.sources and rule.label
        assert rule.who in ("candidate", "holder", "assignee", "delegate", "completer",
                            "overseer", "starter", "administrator")
        assert rule.subject in ("task", "instance")


def test_claim_then_transfer_moves_the_task_to_the_other_user(platform, instance):
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.claim, task.id, SPECIALIST)
    moved = act(platform, task_actions.transfer, task.id, SPECIALIST, "zhuanyuan2", "出差")
    assert (moved.assignee, moved.state) == ("zhuanyuan2", "claimed")
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    with platform.uow() as uow:
        actions = [h.action for h in runtime.instance_history(uow, instance.id)]
        assert "task_transferred" in actions
        assert verify_audit(uow.session).ok


def test_transfer_to_an_unknown_user_or_oneself_is_a_field_error(platform, instance):
    task = open_task(platform, SPECIALIST)
    with pytest.raises(TaskDataError) as unknown:
        act(platform, task_actions.transfer, task.id, SPECIALIST, "nobody")
    assert "to_user" in unknown.value.field_errors
    with pytest.raises(TaskDataError):
        act(platform, task_actions.transfer, task.id, SPECIALIST, "zhuanyuan1")


def test_a_task_held_by_someone_else_cannot_be_claimed(platform, instance):
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.claim, task.id, SPECIALIST)
    with pytest.raises(ConflictError):
        act(platform, task_actions.claim, task.id, COLLEAGUE)


def test_an_outsider_does_not_see_the_task(platform, instance):
    task = open_task(platform, SPECIALIST)
    with pytest.raises(NotFoundError):
        act(platform, task_actions.get_task, task.id, OUTSIDER)


def test_delegation_comes_back_to_the_delegator_who_then_completes(platform, instance):
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.claim, task.id, SPECIALIST)
    act(platform, task_actions.delegate, task.id, SPECIALIST, "zhuanyuan2")
    # The delegator still sees it but waits; the delegate may only hand it back.
    assert act(platform, task_actions.get_task, task.id, SPECIALIST).assignee == "zhuanyuan2"
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.complete, task.id, COLLEAGUE, {"title": "a", "amount": 1})
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.transfer, task.id, SPECIALIST, "shenpi1")
    back = act(platform, task_actions.resolve_delegation, task.id, COLLEAGUE, "材料已核")
    assert back.assignee == "zhuanyuan1"
    act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    assert open_task(platform, APPROVER).element_id == "review"


def test_carbon_copy_lets_another_user_read_but_not_act(platform, instance):
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.carbon_copy, task.id, SPECIALIST, "xiangzhen9", "请关注")
    seen = act(platform, task_actions.get_task, task.id, OUTSIDER)
    assert seen.id == task.id
    with platform.uow() as uow:
        assert [t.id for t in task_actions.copied_to_me(uow, OUTSIDER)] == [task.id]
        assert inbox.list_tasks(uow, OUTSIDER) == []
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.claim, task.id, OUTSIDER)


def test_return_and_reject_need_an_opinion_and_the_decision_routes_the_process(platform, instance):
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    review = open_task(platform, APPROVER)
    with pytest.raises(TaskDataError) as missing:
        act(platform, task_actions.decide, review.id, APPROVER, "return", "  ")
    assert "opinion" in missing.value.field_errors
    with pytest.raises(TaskDataError):
        act(platform, task_actions.decide, review.id, APPROVER, "maybe", "")
    act(platform, task_actions.decide, review.id, APPROVER, "return", "补充材料")
    assert open_task(platform, SPECIALIST).element_id == "prepare"
    with platform.uow() as uow:
        decided = [h for h in runtime.instance_history(uow, instance.id)
                   if h.action == "task_decided"]
    assert len(decided) == 1 and "补充材料" in decided[0].detail


def test_decide_is_refused_on_a_task_without_a_decision_field(platform, instance):
    task = open_task(platform, SPECIALIST)
    with pytest.raises(InvalidStateError):
        act(platform, task_actions.decide, task.id, SPECIALIST, "approve", "")


def test_acting_on_a_completed_task_is_a_conflict(platform, instance):
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    with pytest.raises(ConflictError):
        act(platform, task_actions.transfer, task.id, SPECIALIST, "zhuanyuan2")


def prepared(platform):
    """Complete the specialist's first task; returns (that task, the approver's task)."""
    task = open_task(platform, SPECIALIST)
    act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    return task, open_task(platform, APPROVER)


def test_return_sends_the_process_back_to_whoever_did_the_earlier_task(platform, instance):
    first, review = prepared(platform)
    with platform.uow() as uow:
        assert task_actions.return_targets(uow, review.id, APPROVER) == [("prepare", "准备材料")]
    with pytest.raises(TaskDataError):
        act(platform, task_actions.return_task, review.id, APPROVER, "prepare", " ")
    with pytest.raises(TaskDataError):
        act(platform, task_actions.return_task, review.id, APPROVER, "review", "不是之前的环节")
    again = act(platform, task_actions.return_task, review.id, APPROVER, "prepare", "缺少用地证明")
    assert (again.element_id, again.assignee, again.state) == ("prepare", "zhuanyuan1", "claimed")
    assert again.id != first.id
    with platform.uow() as uow:
        assert task_actions.get_task(uow, review.id, APPROVER).state == "returned"
        [note] = [n for n in notifications_for(uow.session, SPECIALIST) if n.kind == "returned"]
        assert note.body == "缺少用地证明"
    act(platform, task_actions.complete, again.id, SPECIALIST, {"title": "a", "amount": 2})
    assert open_task(platform, APPROVER).element_id == "review"
    with platform.uow() as uow:
        assert verify_audit(uow.session).ok


def test_withdraw_recalls_a_completed_task_until_the_next_handler_acts(platform, instance):
    first, review = prepared(platform)
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.withdraw, first.id, COLLEAGUE)
    back = act(platform, task_actions.withdraw, first.id, SPECIALIST, "填错了金额")
    assert (back.element_id, back.assignee) == ("prepare", "zhuanyuan1")
    with platform.uow() as uow:
        assert uow.session.get(HumanTask, review.id).state == "withdrawn"
        assert inbox.list_tasks(uow, APPROVER) == []

    act(platform, task_actions.complete, back.id, SPECIALIST, {"title": "a", "amount": 3})
    review = open_task(platform, APPROVER)
    act(platform, task_actions.claim, review.id, APPROVER)
    with pytest.raises(ConflictError, match="already acted"):
        act(platform, task_actions.withdraw, back.id, SPECIALIST)


def test_a_signer_added_after_signs_last_and_moves_the_process_on(platform, instance):
    _first, review = prepared(platform)
    signed = act(platform, task_actions.add_signer_after, review.id, APPROVER, "zhuanyuan2",
                 "同意，请分管领导加签")
    assert signed.assignee == "zhuanyuan2"
    outcome = act(platform, task_actions.decide, review.id, COLLEAGUE, "approve", "")
    assert outcome.status == "completed"
    with platform.uow() as uow:
        actions = [h.action for h in runtime.instance_history(uow, instance.id)]
    assert actions.index("task_signed") < actions.index("task_decided")


def test_a_signer_added_before_signs_first_then_the_task_comes_back(platform, instance):
    _first, review = prepared(platform)
    act(platform, task_actions.add_signer_before, review.id, APPROVER, "zhuanyuan2")
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.decide, review.id, COLLEAGUE, "approve", "")
    act(platform, task_actions.resolve_delegation, review.id, COLLEAGUE, "无意见")
    assert act(platform, task_actions.decide, review.id, APPROVER, "approve", "").status \
        == "completed"


def test_a_supervisor_may_read_any_open_task_but_not_act_on_it(platform, instance):
    supervisor = Actor.of("ducha2", "supervisor")
    task = open_task(platform, SPECIALIST)
    with platform.uow() as uow:
        assert task_actions.get_task(uow, task.id, supervisor).id == task.id
        row = task_actions.load_task(uow, task.id, supervisor)
        assert task_actions.allowed_actions(row, supervisor) == ()
    with pytest.raises(PermissionDeniedError):
        act(platform, task_actions.complete, task.id, supervisor, {"title": "a", "amount": 1})


def test_remind_is_for_those_the_oversight_rule_names_and_only_while_the_task_is_open(
        platform, instance):
    supervisor = Actor.of("ducha2", "supervisor")
    task = open_task(platform, SPECIALIST)
    with platform.uow() as uow:
        row = task_actions.load_task(uow, task.id, supervisor)
        assert task_actions.allowed_actions(row, supervisor, uow.oversight) == ("remind",)
        assert "remind" not in task_actions.allowed_actions(row, SPECIALIST, uow.oversight)
        # Without the domain's rule handed in, nobody reminds.
        assert not task_actions.may("remind", row, supervisor)
        with pytest.raises(PermissionDeniedError):
            task_actions.prepare(uow, "remind", task.id, SPECIALIST)
    act(platform, task_actions.complete, task.id, SPECIALIST, {"title": "a", "amount": 1})
    with platform.uow() as uow:
        row = task_actions.load_task(uow, task.id, SPECIALIST)
        assert not task_actions.may("remind", row, supervisor, uow.oversight)


def test_an_instance_is_cancelled_by_its_starter_or_an_administrator_while_it_runs(
        platform, instance):
    with pytest.raises(PermissionDeniedError, match="only the starter"):
        act(platform, task_actions.cancel, instance.id, APPROVER, "重复")
    with platform.uow() as uow:
        row = runtime.load_for_write(uow, instance.id)
        assert task_actions.may("cancel", row, Actor.of("guanli", "admin"))
        assert task_actions.allowed_actions(row, Actor.of("guanli", "admin")) == ()  # tasks only
    assert act(platform, task_actions.cancel, instance.id, SPECIALIST, "重复").status \
        == "cancelled"
    with pytest.raises(ConflictError, match="already cancelled"):
        act(platform, task_actions.cancel, instance.id, Actor.of("guanli", "admin"), "再次")


def test_a_checked_task_is_trusted_only_for_its_action_actor_and_transaction(platform, instance):
    task = open_task(platform, SPECIALIST)
    with platform.uow() as uow:
        checked = task_actions.prepare(uow, "complete", task.id, SPECIALIST)
        assert checked.covers(uow, "decide", task.id, SPECIALIST)  # the same rule
        assert not checked.covers(uow, "claim", task.id, SPECIALIST)
        assert not checked.covers(uow, "complete", task.id, COLLEAGUE)
        uow.rollback()
        assert not checked.covers(uow, "complete", task.id, SPECIALIST)
        # Not trusted, so read and checked again: the colleague may not complete a task the
        # specialist claimed meanwhile.
    act(platform, task_actions.claim, task.id, SPECIALIST)
    with platform.uow() as uow, pytest.raises(PermissionDeniedError):
        task_actions.complete(uow, task.id, COLLEAGUE, {"title": "a", "amount": 1},
                              checked=checked)
