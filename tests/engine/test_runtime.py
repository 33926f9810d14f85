"""Engine scenarios on real BPMN/DMN files, through the runtime services.

Every service call restores the instance from the database and saves it back, so each
scenario below runs through save → restore between every step by construction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core.audit import verify_audit
from engine.core.errors import (
    ConflictError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from engine.core.identity import Actor
from engine.core.models import HumanTask, ProcessInstance, TimerJob
from engine.bpm.timers import fire_due_timers

from ..conftest import FIXTURES

ENGINE_FIXTURES = FIXTURES / "engine"
ADMIN = Actor.of("admin")
SPECIALIST = Actor.of("zhuanyuan1", "specialist")
APPROVER = Actor.of("shenpi1", "approver")
SUPERVISOR = Actor.of("ducha1", "supervisor")
SUB_COMMANDER = Actor.of("fenzhihui1", "sub_commander")


def deploy(platform, *names):
    with platform.uow() as uow:
        return definitions.deploy_files(
            uow, [(n, (ENGINE_FIXTURES / n).read_bytes()) for n in names], "designer")


def start(platform, key, **kwargs):
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, SPECIALIST, **kwargs)


def tasks_of(platform, actor):
    with platform.uow() as uow:
        return inbox.list_tasks(uow, actor)


def complete(platform, task_id, actor, data=None):
    with platform.uow() as uow:
        return task_actions.complete(uow, task_id, actor, data)


def only_task(platform, actor):
    found = tasks_of(platform, actor)
    assert len(found) == 1, found
    return found[0]


def test_lanes_route_tasks_to_their_role_and_the_gateway_follows_the_data(platform):
    deploy(platform, "lanes_gateway.bpmn")
    instance = start(platform, "lanes_gateway", business_key="XM-001")
    prepare = only_task(platform, SPECIALIST)
    assert (prepare.element_id, prepare.name, prepare.lane) == ("prepare", "准备材料", "specialist")
    assert prepare.candidate_groups == ("specialist",)
    assert prepare.business_key == "XM-001"
    assert tasks_of(platform, APPROVER) == []

    complete(platform, prepare.id, SPECIALIST, {"title": "光伏电站", "amount": 150})
    review = only_task(platform, APPROVER)
    assert review.element_id == "review"
    done = complete(platform, review.id, APPROVER)
    assert done.status == "completed"
    assert done.data["amount"] == 150
    with platform.uow() as uow:
        actions = [h.action for h in runtime.instance_history(uow, instance.id)]
    assert actions == ["instance_started", "task_created", "task_completed", "task_created",
                       "task_completed", "instance_completed"]


def test_small_amounts_take_the_default_flow_and_end_at_once(platform):
    deploy(platform, "lanes_gateway.bpmn")
    start(platform, "lanes_gateway")
    prepare = only_task(platform, SPECIALIST)
    assert complete(platform, prepare.id, SPECIALIST, {"title": "小项目", "amount": 20}).status \
        == "completed"
    assert tasks_of(platform, APPROVER) == []


def test_bad_form_data_is_refused_field_by_field_and_changes_nothing(platform):
    deploy(platform, "lanes_gateway.bpmn")
    start(platform, "lanes_gateway")
    prepare = only_task(platform, SPECIALIST)
    with pytest.raises(TaskDataError) as err:
        complete(platform, prepare.id, SPECIALIST, {"amount": "many", "extra": 1})
    assert set(err.value.field_errors) == {"title", "amount", "extra"}
    assert only_task(platform, SPECIALIST).id == prepare.id


def test_interrupting_timer_cancels_the_task_and_escalates(platform, clock):
    deploy(platform, "timers.bpmn")
    start(platform, "timers")
    approve = only_task(platform, APPROVER)
    assert approve.due_at == clock.now() + timedelta(days=2)
    with platform.uow() as uow:
        due = sorted(j.due_at for j in uow.session.execute(select(TimerJob)).scalars())
    assert due == [clock.now() + timedelta(days=1), clock.now() + timedelta(days=2)]

    clock.advance(days=1, seconds=1)
    report = fire_due_timers(platform.uow)
    assert len(report.fired) == 1
    # Non-interrupting: the approval stays, a reminder task appears beside it.
    assert [t.element_id for t in tasks_of(platform, APPROVER)] == ["approve"]
    assert [t.element_id for t in tasks_of(platform, SUPERVISOR)] == ["remind"]

    clock.advance(days=1)
    assert len(fire_due_timers(platform.uow).fired) == 1
    # Interrupting: the approval is cancelled and the sub-command gets the escalation.
    assert tasks_of(platform, APPROVER) == []
    assert [t.element_id for t in tasks_of(platform, SUB_COMMANDER)] == ["escalate"]
    with platform.uow() as uow:
        assert uow.session.get(HumanTask, approve.id).state == "cancelled"
    with pytest.raises(ConflictError):
        complete(platform, approve.id, APPROVER)


def test_completing_before_the_timers_removes_them(platform, clock):
    deploy(platform, "timers.bpmn")
    start(platform, "timers")
    complete(platform, only_task(platform, APPROVER).id, APPROVER)
    with platform.uow() as uow:
        assert uow.session.execute(select(TimerJob)).first() is None
    clock.advance(days=5)
    assert fire_due_timers(platform.uow).fired == []


def test_call_activity_runs_the_called_process_and_returns(platform):
    deploy(platform, "sub_review.bpmn", "call_parent.bpmn")
    instance = start(platform, "call_parent")
    review = only_task(platform, APPROVER)
    assert (review.element_id, review.instance_id) == ("review", instance.id)
    assert review.form["fields"][0]["options"] == [
        {"id": "approve", "name": "同意"}, {"id": "reject", "name": "不同意"}]
    complete(platform, review.id, APPROVER, {"verdict": "approve"})
    confirm = only_task(platform, SPECIALIST)
    assert confirm.element_id == "confirm"
    assert complete(platform, confirm.id, SPECIALIST).data["verdict"] == "approve"


def test_parallel_multi_instance_gives_each_signer_a_task(platform):
    deploy(platform, "multi_sign.bpmn")
    start(platform, "multi_sign", data={"signers": ["fgj", "zrzy", "sthj"]})
    for user in ("fgj", "zrzy", "sthj"):
        assert [t.element_id for t in tasks_of(platform, Actor.of(user))] == ["sign"]
    outcome = None
    for user in ("sthj", "fgj", "zrzy"):
        outcome = complete(platform, only_task(platform, Actor.of(user)).id, Actor.of(user))
    assert outcome.status == "completed"


def test_business_rule_task_decides_with_the_dmn_table(platform):
    deploy(platform, "permit_kind.dmn", "permit_route.bpmn")
    start(platform, "permit_route", data={"item": "environment"})
    assert [t.element_id for t in tasks_of(platform, Actor.of("u", "project_unit"))] \
        == ["sign_commitment"]
    start(platform, "permit_route", data={"item": "planning"})
    assert [t.element_id for t in tasks_of(platform, SPECIALIST)] == ["file_for_unit"]


def test_claim_makes_a_group_task_personal_and_unclaim_gives_it_back(platform):
    deploy(platform, "timers.bpmn")
    start(platform, "timers")
    other = Actor.of("shenpi2", "approver")
    task = only_task(platform, APPROVER)
    with platform.uow() as uow:
        assert task_actions.claim(uow, task.id, APPROVER).assignee == "shenpi1"
    assert tasks_of(platform, other) == []
    with platform.uow() as uow, pytest.raises(ConflictError):
        task_actions.claim(uow, task.id, other)
    with platform.uow() as uow, pytest.raises(PermissionDeniedError):
        task_actions.complete(uow, task.id, other)
    with platform.uow() as uow:
        task_actions.unclaim(uow, task.id, APPROVER)
    assert only_task(platform, other).id == task.id


def test_a_task_of_another_group_is_not_found(platform):
    deploy(platform, "lanes_gateway.bpmn")
    start(platform, "lanes_gateway")
    task = only_task(platform, SPECIALIST)
    with platform.uow() as uow, pytest.raises(NotFoundError):
        task_actions.get_task(uow, task.id, APPROVER)
    with platform.uow() as uow, pytest.raises(NotFoundError):
        task_actions.complete(uow, task.id, APPROVER, {"title": "x", "amount": 1})


def test_cancel_needs_a_reason_and_closes_everything(platform):
    deploy(platform, "timers.bpmn")
    instance = start(platform, "timers")
    with platform.uow() as uow, pytest.raises(TaskDataError):
        runtime._cancel_instance(uow, runtime.load_for_write(uow, instance.id), ADMIN, " ")
    with platform.uow() as uow:
        assert runtime._cancel_instance(uow, runtime.load_for_write(uow, instance.id), ADMIN,
                                        "重复立项").status == "cancelled"
    assert tasks_of(platform, APPROVER) == []
    with platform.uow() as uow:
        assert uow.session.execute(select(TimerJob)).first() is None


def test_running_instances_stay_on_their_version(platform):
    deploy(platform, "lanes_gateway.bpmn")
    old = start(platform, "lanes_gateway")
    changed = (ENGINE_FIXTURES / "lanes_gateway.bpmn").read_text().replace("准备材料", "准备申报材料")
    with platform.uow() as uow:
        [result] = definitions.deploy_files(uow, [("lanes_gateway.bpmn", changed.encode())], "d")
    assert (result.version, result.created) == (2, True)
    new = start(platform, "lanes_gateway")
    names = {t.instance_id: t.name for t in tasks_of(platform, SPECIALIST)}
    assert names == {old.id: "准备材料", new.id: "准备申报材料"}
    assert (old.version, new.version) == (1, 2)
    old_task = next(t for t in tasks_of(platform, SPECIALIST) if t.instance_id == old.id)
    complete(platform, old_task.id, SPECIALIST, {"title": "t", "amount": 1})


def test_deploying_unchanged_content_creates_no_version(platform):
    [first] = deploy(platform, "lanes_gateway.bpmn")
    [again] = deploy(platform, "lanes_gateway.bpmn")
    assert first.created and not again.created
    assert again.version == first.version == 1


def test_instance_state_does_not_embed_the_definition(platform):
    deploy(platform, "lanes_gateway.bpmn")
    instance = start(platform, "lanes_gateway")
    with platform.uow() as uow:
        state = uow.session.get(ProcessInstance, instance.id).state
    assert b"task_specs" not in state and "准备材料".encode() not in state


def test_every_step_is_in_an_intact_audit_chain(platform):
    deploy(platform, "lanes_gateway.bpmn")
    start(platform, "lanes_gateway")
    complete(platform, only_task(platform, SPECIALIST).id, SPECIALIST, {"title": "t", "amount": 1})
    with platform.uow() as uow:
        report = verify_audit(uow.session)
    assert report.ok and report.events == 5  # deploy, start, created, completed, ended
