"""BPMN signals: sent from outside to the instances in scope that wait, and thrown inside a
sub-process to its own boundary event (an intermediate throw or a signal end event)."""

from __future__ import annotations

import json

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bpm import definitions, inbox, runtime, signals, task_actions
from engine.core.errors import NotFoundError, TaskDataError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance

from ..conftest import FIXTURES

SPECIALIST = Actor.of("zhuanyuan1", "specialist")
OFFICE = Actor.of("bangongshi", "office")
SYSTEM = Actor.of("caizheng_api", "integration")


def _deploy(platform, *keys: str) -> None:
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(f"{k}.bpmn", (FIXTURES / "signals" / f"{k}.bpmn")
                                        .read_bytes()) for k in keys], "designer")


def _start(platform, key: str, business_key: str | None = None, **data) -> int:
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, SPECIALIST, business_key=business_key,
                                      data=data).id


def _open(platform, instance: int) -> list[str]:
    with platform.uow() as uow:
        return sorted(uow.session.execute(select(HumanTask.element_id).where(
            HumanTask.instance_id == instance, HumanTask.state.in_(("open", "claimed"))))
            .scalars())


def _check(platform, outcome: str) -> None:
    with platform.uow() as uow:
        [task] = inbox.list_tasks(uow, SPECIALIST)
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, SPECIALIST)
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, SPECIALIST, {"outcome": outcome})


def _send(platform, name: str, **kwargs) -> signals.SignalResult:
    with platform.uow() as uow:
        return signals.send_signal(uow, name, SYSTEM, **kwargs)


# ---------------------------------------------------------------- inside a sub-process

def test_a_signal_end_event_inside_a_sub_process_ends_it_through_its_boundary_event(platform):
    _deploy(platform, "signal_boundary")
    instance = _start(platform, "signal_boundary")
    _check(platform, "stop_at_end")
    assert _open(platform, instance) == ["handle_stop"]


def test_a_signal_thrown_in_the_middle_of_a_sub_process_interrupts_it(platform):
    _deploy(platform, "signal_boundary")
    instance = _start(platform, "signal_boundary")
    _check(platform, "stop_now")
    assert _open(platform, instance) == ["handle_stop"]


def test_a_sub_process_without_the_signal_ends_normally(platform):
    _deploy(platform, "signal_boundary")
    instance = _start(platform, "signal_boundary")
    _check(platform, "go")
    assert _open(platform, instance) == ["rectify"]


def test_an_external_signal_interrupts_the_sub_process_through_its_boundary_event(platform):
    _deploy(platform, "signal_boundary")
    instance = _start(platform, "signal_boundary", business_key="XM-1")
    result = _send(platform, "stop_work", scope="business_key", business_key="XM-1")
    assert result.delivered == [instance] and result.failed == []
    assert _open(platform, instance) == ["handle_stop"]
    with platform.uow() as uow:
        states = dict(uow.session.execute(select(HumanTask.element_id, HumanTask.state).where(
            HumanTask.instance_id == instance)).all())
    assert states["check"] == "cancelled"


# ---------------------------------------------------------------- from outside, by scope

def test_a_signal_to_all_reaches_every_instance_that_waits_and_only_those(platform):
    _deploy(platform, "signal_wait", "signal_boundary")
    waiting = [_start(platform, "signal_wait", f"XM-{n}", budget=1) for n in (1, 2, 3)]
    other = _start(platform, "signal_boundary")
    result = _send(platform, "funds_arrived", scope="all", payload={"amount": 500})
    assert result.delivered == waiting and result.failed == []
    for instance in waiting:
        assert _open(platform, instance) == ["proceed"]
    assert _open(platform, other) == ["check"]
    with platform.uow() as uow:
        row = uow.session.get(ProcessInstance, waiting[0])
        workflow = runtime.restore(uow.session, row)
        [task] = workflow.get_tasks(state=TaskState.READY)
        assert task.data["funds_arrived_payload"] == {"amount": 500}
        events = uow.session.execute(select(AuditEvent.instance_id, AuditEvent.actor,
                                            AuditEvent.detail).where(
            AuditEvent.action == "signal_received").order_by(AuditEvent.seq)).all()
    assert [e.instance_id for e in events] == waiting
    assert {e.actor for e in events} == {"caizheng_api"}
    assert json.loads(events[0].detail)["signal"] == "funds_arrived"


def test_a_signal_to_one_business_key_or_one_instance_leaves_the_others_waiting(platform):
    _deploy(platform, "signal_wait")
    first, second, third = (_start(platform, "signal_wait", key, budget=1)
                            for key in ("XM-1", "XM-2", "XM-2"))
    assert _send(platform, "funds_arrived", scope="business_key",
                 business_key="XM-2").delivered == [second, third]
    assert _open(platform, first) == []
    assert _send(platform, "funds_arrived", scope="instance",
                 instance_id=first).delivered == [first]
    assert _open(platform, first) == ["proceed"]


def test_an_instance_that_fails_on_the_signal_is_left_as_it_was_and_the_others_receive_it(
        platform):
    _deploy(platform, "signal_wait")
    good = _start(platform, "signal_wait", "XM-1", budget=1)
    broken = _start(platform, "signal_wait", "XM-2")  # no budget: the gateway fails
    with platform.uow() as uow:
        before = uow.session.get(ProcessInstance, broken).state
    result = _send(platform, "funds_arrived", scope="all")
    assert result.delivered == [good]
    assert [i for i, _ in result.failed] == [broken] and "budget" in result.failed[0][1]
    with platform.uow() as uow:
        assert uow.session.get(ProcessInstance, broken).state == before
        assert uow.session.execute(select(AuditEvent.instance_id).where(
            AuditEvent.action == "signal_received")).scalars().all() == [good]


def test_a_signal_nobody_waits_for_is_not_found(platform):
    _deploy(platform, "signal_wait")
    instance = _start(platform, "signal_wait", "XM-1", budget=1)
    with pytest.raises(NotFoundError, match="no_such_signal"):
        _send(platform, "no_such_signal", scope="all")
    _send(platform, "funds_arrived", scope="instance", instance_id=instance)
    with pytest.raises(NotFoundError):  # it no longer waits
        _send(platform, "funds_arrived", scope="instance", instance_id=instance)


@pytest.mark.parametrize(("scope", "kwargs", "field"), [
    ("everyone", {}, "scope"),
    ("business_key", {}, "business_key"),
    ("instance", {}, "instance_id"),
])
def test_a_scope_without_what_it_names_is_refused(platform, scope, kwargs, field):
    with pytest.raises(TaskDataError) as refused:
        _send(platform, "funds_arrived", scope=scope, **kwargs)
    assert field in refused.value.field_errors


def test_only_the_integration_role_and_administrators_send_signals():
    assert signals.may_send_signal(SYSTEM)
    assert signals.may_send_signal(Actor.of("admin1", "admin"))
    assert not signals.may_send_signal(OFFICE)
    assert not signals.may_send_signal(Actor.of("duban1", "supervisor"))
