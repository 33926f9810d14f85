"""Moving waiting instances to a newer version: preview, mapped, unmappable."""

from __future__ import annotations

from sqlalchemy import select

from engine.bpm import inbox, runtime, task_actions
from engine.core.identity import Actor
from engine.bpm.instance_migration import migrate_instances, preview_migration
from engine.core.models import AuditEvent, ProcessInstance

from .conftest import deploy_as

SPECIALIST = Actor.of("zhuanyuan1", "specialist")
OFFICE = Actor.of("bangongshi", "office")


def _start(platform) -> int:
    with platform.uow() as uow:
        return runtime.start_instance(uow, "migrate_me", SPECIALIST).id


def _complete_first(platform, actor) -> None:
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, actor)[0]
        task_actions.claim(uow, task.id, actor)
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, actor, {})


def test_the_preview_maps_by_element_id_and_changes_nothing(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    instance = _start(platform)
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        plan = preview_migration(uow, "migrate_me", 1, 2)
        row = uow.session.get(ProcessInstance, instance)
        assert row.deployment.version == 1
    assert [(i.instance_id, i.waiting_at, i.mappable) for i in plan.instances] == \
        [(instance, ("prepare",), True)]


def test_a_mapped_instance_moves_and_follows_the_new_flow(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    instance = _start(platform)
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        result = migrate_instances(uow, "migrate_me", 1, 2, "designer")
    assert result.migrated == [instance] and result.skipped == []
    with platform.uow() as uow:
        row = uow.session.get(ProcessInstance, instance)
        assert row.deployment.version == 2 and row.bundle[0][0] == row.deployment_id
        event = uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "instance_migrated")).scalar_one()
        assert event.instance_id == instance
    _complete_first(platform, SPECIALIST)
    with platform.uow() as uow:
        assert [t.element_id for t in inbox.list_tasks(uow, OFFICE)] == ["check"]


def test_an_unmappable_instance_is_listed_with_the_reason_and_left_alone(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    instance = _start(platform)
    deploy_as(platform, "migrate_v3.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        before = uow.session.get(ProcessInstance, instance).state
        result = migrate_instances(uow, "migrate_me", 1, 2, "designer")
    assert result.migrated == []
    assert "'prepare'" in result.skipped[0].reason
    with platform.uow() as uow:
        row = uow.session.get(ProcessInstance, instance)
        assert row.deployment.version == 1 and row.state == before
    _complete_first(platform, SPECIALIST)  # still runs on its old version


def test_an_instance_past_a_removed_step_cannot_move(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    instance = _start(platform)
    _complete_first(platform, SPECIALIST)
    deploy_as(platform, "migrate_v3.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        plan = preview_migration(uow, "migrate_me", 1, 2)
    item = plan.instances[0]
    assert item.instance_id == instance and item.waiting_at == ("review",)
    assert not item.mappable and "prepare" in item.reason
