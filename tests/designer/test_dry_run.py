"""Dry runs go step by step in a throwaway database and leave the real one untouched."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.ops.dry_run import SimulatedStep, dry_run
from engine.core.models import AuditEvent, ProcessInstance

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
