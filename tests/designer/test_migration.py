"""Moving waiting instances to a newer version: preview, mapped, unmappable; the inbox
rows of the moved instances follow the new version."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.bpm import inbox, runtime, task_actions
from engine.core.calendar_admin import current_calendar
from engine.core.clock import as_utc
from engine.core.errors import TaskDataError
from engine.core.identity import Actor
from engine.bpm.instance_migration import migrate_instances, preview_migration
from engine.core.models import AuditEvent, HumanTask, ProcessInstance, TaskCandidate
from engine.core.notifications import Notification

from ..conftest import add_accounts
from .conftest import deploy_as

SPECIALIST = Actor.of("zhuanyuan1", "specialist")
OFFICE = Actor.of("bangongshi", "office")
APPROVER = Actor.of("shenpi1", "approver")
BOTH = Actor.of("liu", "specialist", "office")


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


# ---------------------------------------------------------------- the inbox follows


def _inbox_pair(platform) -> int:
    deploy_as(platform, "migrate_inbox_v1.bpmn", "migrate_inbox.bpmn")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "migrate_inbox", SPECIALIST).id
    deploy_as(platform, "migrate_inbox_v2.bpmn", "migrate_inbox.bpmn")
    return instance


def _migrate_inbox(platform) -> None:
    with platform.uow() as uow:
        result = migrate_instances(uow, "migrate_inbox", 1, 2, "designer")
    assert result.migrated and result.tasks_moved == 1


def _fill_row(platform) -> HumanTask:
    with platform.uow() as uow:
        row = uow.session.execute(select(HumanTask).where(HumanTask.element_id == "fill")
                                  ).scalar_one()
        uow.session.expunge(row)
        return row


def _candidates(platform, task_id: str) -> list[tuple[str, str, bool]]:
    with platform.uow() as uow:
        return [(c.kind, c.name, c.offered) for c in uow.session.execute(
            select(TaskCandidate).where(TaskCandidate.task_id == task_id)
            .order_by(TaskCandidate.kind, TaskCandidate.name)).scalars()]


def test_a_migrated_task_row_takes_the_new_name_lane_due_date_form_and_documentation(
        platform, clock):
    instance = _inbox_pair(platform)
    before = _fill_row(platform)
    assert (before.name, before.lane, before.due_at, before.documentation) == \
        ("填报", "项目专员", None, None)
    started = clock.now()
    clock.advance(days=1)
    _migrate_inbox(platform)
    after = _fill_row(platform)
    assert after.id == before.id and after.created_at == before.created_at
    assert (after.name, after.lane, after.state, after.instance_id) == \
        ("填报并说明变化", "指挥部办公室", "open", instance)
    assert after.documentation == "金额有变化的，请写明原因。"
    assert [f["id"] for f in after.form["fields"]] == ["amount", "reason"]
    # Counted from when the task became ready, as if version 2 had been in force then.
    expected = as_utc(current_calendar().add_working_days(started, 3).due)
    assert after.due_at == expected
    assert (after.due_basis_at, after.due_working_days) == (started, 3)


def test_the_offer_and_its_inbox_copies_follow_the_new_version(platform):
    _inbox_pair(platform)
    task_id = _fill_row(platform).id
    assert _candidates(platform, task_id) == [("group", "specialist", True)]
    _migrate_inbox(platform)
    assert _candidates(platform, task_id) == [("group", "office", True)]
    with platform.uow() as uow:
        assert [t.id for t in inbox.list_tasks(uow, OFFICE)] == [task_id]
        assert inbox.list_tasks(uow, SPECIALIST) == []
        due_sort = uow.session.execute(select(TaskCandidate.due_sort).where(
            TaskCandidate.task_id == task_id)).scalar_one()
        assert due_sort == uow.session.get(HumanTask, task_id).due_at
        told = uow.session.execute(select(Notification.recipient).where(
            Notification.task_id == task_id, Notification.title.like("%流程已更新%"))
            ).scalars().all()
    assert told == ["office"]


def test_a_migrated_task_validates_against_the_new_form(platform):
    _inbox_pair(platform)
    _migrate_inbox(platform)
    task_id = _fill_row(platform).id
    with platform.uow() as uow:
        task_actions.claim(uow, task_id, OFFICE)
    with platform.uow() as uow, pytest.raises(TaskDataError) as refused:
        task_actions.complete(uow, task_id, OFFICE, {"amount": 5})
    assert "reason" in refused.value.field_errors
    with platform.uow() as uow:
        task_actions.complete(uow, task_id, OFFICE, {"amount": 5, "reason": "单价上调"})
    with platform.uow() as uow:
        assert [t.element_id for t in inbox.list_tasks(uow, APPROVER)] == ["review"]


def test_the_move_of_a_task_row_is_audited_with_before_and_after(platform):
    instance = _inbox_pair(platform)
    _migrate_inbox(platform)
    with platform.uow() as uow:
        events = uow.session.execute(select(AuditEvent.instance_id, AuditEvent.detail).where(
            AuditEvent.action == "task_migrated")).all()
    assert len(events) == 1 and events[0].instance_id == instance
    changes = json.loads(events[0].detail)["changes"]
    assert changes["name"] == ["填报", "填报并说明变化"]
    assert changes["lane"] == ["项目专员", "指挥部办公室"]
    assert changes["candidates"] == [["group:specialist"], ["group:office"]]
    assert changes["due_at"][0] is None and changes["due_at"][1]
    assert {"form", "documentation", "due_working_days"} <= set(changes)


def test_a_holder_no_longer_offered_the_task_gives_it_back_and_is_told(platform):
    _inbox_pair(platform)
    task_id = _fill_row(platform).id
    with platform.uow() as uow:
        task_actions.claim(uow, task_id, SPECIALIST)
    _migrate_inbox(platform)
    row = _fill_row(platform)
    assert (row.state, row.assignee) == ("open", None)
    with platform.uow() as uow:
        told = uow.session.execute(select(Notification.title).where(
            Notification.recipient == SPECIALIST.username, Notification.task_id == task_id,
            Notification.kind == "transferred")).scalars().all()
    assert told == ["流程已更新，待办已转交他人：填报并说明变化"]


def test_a_holder_still_offered_the_task_keeps_it(platform, clock):
    add_accounts(platform, clock.now(), [("hq_office", "指挥部办公室", "office")],
                 {"liu": ("刘专员", "hq_office", ["specialist", "office"])}, "pw-123456")
    _inbox_pair(platform)
    task_id = _fill_row(platform).id
    with platform.uow() as uow:
        task_actions.claim(uow, task_id, BOTH)
    _migrate_inbox(platform)
    row = _fill_row(platform)
    assert (row.state, row.assignee, row.name) == ("claimed", "liu", "填报并说明变化")
    assert _candidates(platform, task_id) == [("group", "office", False)]


def test_a_task_the_new_version_leaves_as_it_was_keeps_its_row_and_holder(platform):
    deploy_as(platform, "migrate_v1.bpmn", "migrate.bpmn")
    _start(platform)
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, SPECIALIST)[0]
        task_actions.claim(uow, task.id, SPECIALIST)
    deploy_as(platform, "migrate_v2.bpmn", "migrate.bpmn")
    with platform.uow() as uow:
        migrate_instances(uow, "migrate_me", 1, 2, "designer")
    with platform.uow() as uow:
        row = uow.session.get(HumanTask, task.id)
        assert (row.state, row.assignee, row.name) == ("claimed", SPECIALIST.username, "准备材料")
        assert uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "task_migrated")).first() is None



def test_an_instance_whose_tasks_the_new_version_cannot_offer_is_listed_and_left_alone(
        platform):
    deploy_as(platform, "migrate_inbox_v1.bpmn", "migrate_inbox.bpmn")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "migrate_inbox", SPECIALIST).id
    deploy_as(platform, "migrate_inbox_unassignable.bpmn", "migrate_inbox.bpmn")
    before = _fill_row(platform)
    with platform.uow() as uow:
        result = migrate_instances(uow, "migrate_inbox", 1, 2, "designer")
    assert result.migrated == []
    [item] = result.skipped
    assert item.instance_id == instance and "responsible_unit" in item.reason
    after = _fill_row(platform)
    assert (after.name, after.lane) == (before.name, before.lane)
    with platform.uow() as uow:
        assert uow.session.get(ProcessInstance, instance).deployment.version == 1
