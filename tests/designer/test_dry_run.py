"""Dry runs go step by step in a throwaway database and leave the real one untouched."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.core.errors import DefinitionError
from engine.core.models import AuditEvent, Deployment, ProcessInstance
from engine.core.workcalendar import SHANGHAI
from engine.ops import dry_run as dry_run_module
from engine.ops.dry_run import (
    MAX_ACTIONS, MAX_MOVED, CompleteTask, MoveTime, SimulatedStep, dry_run, rehearse_draft,
)

from ..conftest import FIXTURES
from .conftest import deploy_as


def test_a_dry_run_walks_the_steps_without_touching_real_instances(platform):
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        events_before = uow.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
        report = dry_run(uow, "migrate_me", 1, {"project_name": "试运行"}, [
            SimulatedStep(("specialist",), {"amount": 5}),
            SimulatedStep(("office",)),
            SimulatedStep(("approver",)),
        ])
    assert [s.waiting_at for s in report.steps] == [("prepare",), ("check",), ("review",), ()]
    assert report.steps[-1].status == "completed"
    with platform.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(ProcessInstance)).scalar() == 0
        assert uow.session.execute(select(func.count()).select_from(AuditEvent)).scalar() \
            == events_before


def test_a_step_nobody_can_take_stops_the_run_with_the_reason(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        report = dry_run(uow, "migrate_me", 1, {}, [SimulatedStep(("supervisor",))])
    assert "supervisor" in report.steps[-1].error


# ---------------------------------------------------------------- the editor's draft

TIMERS = (FIXTURES / "engine" / "timers.bpmn").read_bytes()


def _rehearse(platform, actions, data=b"", start=None):
    with platform.uow() as uow:
        return rehearse_draft(uow, "draft.bpmn", data or TIMERS, start or {}, actions)


def test_a_draft_is_rehearsed_by_moving_time_forward_and_its_timers_fire_in_due_order(platform):
    run = _rehearse(platform, [MoveTime(hours=1), MoveTime(days=1), MoveTime(days=1),
                               CompleteTask("remind")])
    start, hour, day1, day2, done = run.steps
    assert start.action == "start" and [t.element_id for t in start.tasks] == ["approve"]
    assert [t.element_id for t in start.timers] == ["remind_timer", "overdue_timer"]
    assert start.tasks[0].candidates == ("approver",) and start.tasks[0].sla == "on_time"
    assert hour.fired == () and hour.at - start.at == timedelta(hours=1)
    assert [f.name for f in day1.fired] == ["满1天催办"]
    assert [t.element_id for t in day1.tasks] == ["approve", "remind"]
    assert [f.name for f in day2.fired] == ["满2天升级"]
    assert day2.fired[0].due_at == start.at + timedelta(days=2)
    assert [t.element_id for t in day2.tasks] == ["remind", "escalate"]  # approve interrupted
    assert [t.element_id for t in done.tasks] == ["escalate"] and done.error is None
    assert run.stopped is None


def test_a_rehearsal_leaves_the_real_database_untouched(platform):
    with platform.uow() as uow:
        events = uow.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    _rehearse(platform, [MoveTime(days=3)])
    with platform.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(ProcessInstance)).scalar() == 0
        assert uow.session.execute(select(func.count()).select_from(AuditEvent)).scalar() == events
        assert uow.session.execute(select(func.count()).select_from(Deployment)).scalar() == 0


def test_a_working_day_forward_skips_the_weekend(platform, clock):
    clock.set(datetime(2026, 12, 4, 10, 30, tzinfo=SHANGHAI))  # a Friday
    run = _rehearse(platform, [MoveTime(working_days=1)])
    assert run.steps[1].at.astimezone(SHANGHAI) == datetime(2026, 12, 7, 10, 30, tzinfo=SHANGHAI)


def test_a_draft_that_would_not_deploy_is_refused_with_its_finding(platform):
    broken = TIMERS.replace(b'<bpmn:sequenceFlow id="f_done" sourceRef="approve" targetRef="end" />', b"")
    with pytest.raises(DefinitionError) as refused:
        _rehearse(platform, [], broken)
    assert "unreachable" in {item["rule"] for item in refused.value.params["items"]}


def test_a_task_that_is_not_open_stops_the_rehearsal_with_a_chinese_reason(platform):
    run = _rehearse(platform, [CompleteTask("escalate"), MoveTime(days=5)])
    assert run.steps[-1].error == "“升级处理”现在没有待办" and run.stopped == run.steps[-1].error
    assert len(run.steps) == 2


def test_a_rehearsal_moves_time_at_most_its_limit(platform):
    run = _rehearse(platform, [MoveTime(days=MAX_MOVED.days), MoveTime(hours=1)])
    assert run.steps[-1].error == f"试运行最多前进 {MAX_MOVED.days} 天"
    with pytest.raises(ValueError):
        _rehearse(platform, [MoveTime(hours=1)] * (MAX_ACTIONS + 1))


CYCLE = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="cyc" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1" />
    <bpmn:userTask id="t1" name="等待" camunda:candidateGroups="approver" />
    <bpmn:boundaryEvent id="tick" name="每分钟提醒" cancelActivity="false" attachedToRef="t1">
      <bpmn:timerEventDefinition><bpmn:timeCycle>"R1000/PT60S"</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="tick" targetRef="e2" />
    <bpmn:endEvent id="e2" />
    <bpmn:sequenceFlow id="f3" sourceRef="t1" targetRef="e1" />
    <bpmn:endEvent id="e1" />
  </bpmn:process>
</bpmn:definitions>'''.encode()


def test_a_timer_cycle_fires_tick_by_tick_until_the_rehearsals_limit(platform, monkeypatch):
    monkeypatch.setattr(dry_run_module, "MAX_FIRINGS", 5)
    run = _rehearse(platform, [MoveTime(hours=1), MoveTime(hours=1)], CYCLE)
    start, hour = run.steps
    assert [f.due_at - start.at for f in hour.fired] == [timedelta(minutes=m) for m in range(1, 6)]
    assert hour.error == run.stopped == "定时器已触发 5 次，已停止"


def test_a_rehearsal_that_takes_too_long_is_stopped(platform, monkeypatch):
    monkeypatch.setattr(dry_run_module, "WAIT_SECONDS", 0.0)
    run = _rehearse(platform, [MoveTime(hours=1)])
    assert len(run.steps) == 1 and run.stopped.startswith("试运行用时过长")
