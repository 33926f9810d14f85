"""Reminders (催办), escalations (升级) and notifications: by hand and from BPMN timers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpm import definitions, inbox, runtime, task_actions
from engine.core.audit import history, verify_audit
from engine.core.errors import InvalidStateError, NotFoundError, TaskDataError
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.core.notifications import mark_read, notifications_for, notify, unread_count
from engine.county.supervision import (
    current_rung, escalate, escalation_history, remind_instance, remind_subject, remind_task,
    reminder_counts, reminders,
)
from engine.bpm.timers import fire_due_timers

from ..conftest import FIXTURES

SUPERVISION_FIXTURES = FIXTURES / "supervision"
STARTER = Actor.of("zhuanyuan1", "specialist")
SUPERVISOR = Actor.of("ducha1", "supervisor")
TOWNSHIP = Actor.of("xiangzhen1", "township_head", "unit:township")
SUB_COMMANDER = Actor.of("fenzhihui1", "sub_commander")


def deploy(platform, name):
    with platform.uow() as uow:
        definitions.deploy_files(uow, [(name, (SUPERVISION_FIXTURES / name).read_bytes())],
                                 "designer")


def start_escalation(platform, business_key="WT-001"):
    deploy(platform, "escalation.bpmn")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "escalation", STARTER, business_key=business_key)
    with platform.uow() as uow:
        fix = inbox.list_tasks(uow, TOWNSHIP)
    assert [t.element_id for t in fix] == ["fix"]
    return instance, fix[0]


def supervision_notes(session, actor, **kwargs):
    """The actor's notifications other than the 'assigned' ones every new task sends."""
    return [n for n in notifications_for(session, actor, **kwargs) if n.kind != "assigned"]


def fire(platform):
    return fire_due_timers(platform.uow)


def test_a_supervisor_reminds_the_candidate_group_of_an_open_task(platform):
    instance, fix = start_escalation(platform)
    with platform.uow() as uow:
        reminder = remind_task(uow, fix.id, SUPERVISOR, "请于本周内整改到位")
    assert (reminder.by, reminder.automatic, reminder.business_key) == ("ducha1", False, "WT-001")
    with platform.uow() as uow:
        inbox = [n for n in supervision_notes(uow.session, TOWNSHIP) if n.kind == "reminder"]
        assert [(n.kind, n.recipient, n.task_id) for n in inbox] == \
            [("reminder", "unit:township", fix.id)]
        assert inbox[0].body == "请于本周内整改到位"
        assert len(supervision_notes(uow.session, SUB_COMMANDER)) == 0
        assert reminder_counts(uow.session, "task", fix.id, "2026-12") == 1
        assert reminder_counts(uow.session, "task", fix.id, "2026-11") == 0
        assert reminder_counts(uow.session, "project", "WT-001", "2026-12") == 1
        events = [e for e in history(uow.session, instance_id=instance.id) if e.action == "reminded"]
        assert [(e.actor, e.task_id) for e in events] == [("ducha1", fix.id)]


def test_a_claimed_task_reminds_only_its_assignee(platform):
    _, fix = start_escalation(platform)
    with platform.uow() as uow:
        task_actions.claim(uow, fix.id, TOWNSHIP)
    with platform.uow() as uow:
        remind_task(uow, fix.id, SUPERVISOR)
    with platform.uow() as uow:
        assert [(n.recipient_kind, n.recipient) for n in supervision_notes(uow.session, TOWNSHIP)] \
            == [("user", "xiangzhen1")]
        assert supervision_notes(uow.session, Actor.of("other", "unit:township")) == []


def test_reading_a_group_notification_marks_it_read_for_that_member_only(platform):
    _, fix = start_escalation(platform)
    with platform.uow() as uow:
        remind_task(uow, fix.id, SUPERVISOR)
    colleague = Actor.of("xiangzhen2", "unit:township")
    with platform.uow() as uow:
        reminder_ids = [n.id for n in supervision_notes(uow.session, TOWNSHIP)]
    with platform.uow() as uow:
        assert mark_read(uow, TOWNSHIP, reminder_ids) == 1
    with platform.uow() as uow:
        assert len(supervision_notes(uow.session, TOWNSHIP)) == 0
        assert len(supervision_notes(uow.session, colleague)) == 1
        assert unread_count(uow.session, colleague) == len(notifications_for(uow.session,
                                                                             colleague))
    reader = Actor.of("capped")  # three notes by name
    with platform.uow() as uow:
        for n in range(3):
            notify(uow, kind="info", title=f"消息{n}", users=["capped"])
        uow.commit()
    with platform.uow() as uow:
        assert unread_count(uow.session, reader) == 3
        assert unread_count(uow.session, reader, cap=2) == 2  # the badge stops reading at 2
        assert unread_count(uow.session, reader, cap=10) == 3
        read = supervision_notes(uow.session, TOWNSHIP, unread_only=False)
        assert read[0].read_at is not None


def test_reminding_a_closed_or_unknown_task_is_refused(platform, clock):
    instance, fix = start_escalation(platform)
    with platform.uow() as uow:
        task_actions.complete(uow, fix.id, TOWNSHIP)
    with platform.uow() as uow, pytest.raises(InvalidStateError):
        remind_task(uow, fix.id, SUPERVISOR)
    with platform.uow() as uow, pytest.raises(NotFoundError):
        remind_task(uow, "no-such-task", SUPERVISOR)
    with platform.uow() as uow, pytest.raises(InvalidStateError):
        remind_instance(uow, instance.id, SUPERVISOR)


def test_reminding_an_instance_or_a_project_notifies_every_open_task(platform):
    instance, fix = start_escalation(platform, business_key="XM-7")
    with platform.uow() as uow:
        remind_instance(uow, instance.id, SUPERVISOR, "请加快进度")
    with platform.uow() as uow:
        remind_subject(uow, "project", "XM-7", SUPERVISOR, "项目整体滞后")
    with platform.uow() as uow:
        assert reminder_counts(uow.session, "instance", str(instance.id), "2026-12") == 1
        assert reminder_counts(uow.session, "project", "XM-7", "2026-12") == 2
        assert [r.message for r in reminders(uow.session, "project", "XM-7")] == \
            ["请加快进度", "项目整体滞后"]
        assert len(supervision_notes(uow.session, TOWNSHIP)) == 2


def test_a_manual_escalation_needs_a_reason_and_changes_nothing_without_one(platform):
    instance, _ = start_escalation(platform)
    for reason in (None, "", "   "):
        with platform.uow() as uow, pytest.raises(TaskDataError) as err:
            escalate(uow, instance.id, SUPERVISOR, "1", "2", reason)
        assert "reason" in err.value.field_errors
    with platform.uow() as uow:
        assert escalation_history(uow.session, instance_id=instance.id) == []
        assert len(supervision_notes(uow.session, TOWNSHIP)) == 0
    with platform.uow() as uow, pytest.raises(NotFoundError):
        escalate(uow, 999, SUPERVISOR, "1", "2", "跨乡镇问题")


def test_a_manual_escalation_is_recorded_with_its_author_and_notifies_the_handlers(platform):
    instance, _ = start_escalation(platform, business_key="WT-9")
    with platform.uow() as uow:
        escalate(uow, instance.id, SUPERVISOR, None, "sub_command", "涉及两个乡镇")
    with platform.uow() as uow:
        escalate(uow, instance.id, SUPERVISOR, None, "county_head", "需省市协调")
    with platform.uow() as uow:
        steps = escalation_history(uow.session, business_key="WT-9")
        assert [(s.from_rung, s.to_rung, s.by, s.automatic) for s in steps] == [
            (None, "sub_command", "ducha1", False), ("sub_command", "county_head", "ducha1", False)]
        assert current_rung(uow.session, instance_id=instance.id) == "county_head"
        assert [n.kind for n in supervision_notes(uow.session, TOWNSHIP)] == ["escalated"] * 2


def test_timers_remind_twice_then_escalate_to_the_next_rung(platform, clock):
    instance, fix = start_escalation(platform)
    for expected in (1, 2):
        clock.advance(days=1, seconds=1)
        assert len(fire(platform).fired) == 1
        with platform.uow() as uow:
            assert reminder_counts(uow.session, "task", fix.id, "2026-12") == expected
    with platform.uow() as uow:
        assert all(r.by == "timer" and r.automatic for r in reminders(uow.session, "task", fix.id))
        assert [n.kind for n in supervision_notes(uow.session, TOWNSHIP)] == ["reminder"] * 2
        assert current_rung(uow.session, instance_id=instance.id) is None

    clock.advance(days=1)
    assert len(fire(platform).fired) == 1
    with platform.uow() as uow:
        steps = escalation_history(uow.session, instance_id=instance.id)
        assert [(s.from_rung, s.to_rung, s.by, s.automatic) for s in steps] == \
            [("1", "2", "timer", True)]
        assert current_rung(uow.session, business_key="WT-001") == "2"
        assert uow.session.get(HumanTask, fix.id).state == "cancelled"
        to_sub = supervision_notes(uow.session, SUB_COMMANDER)
        assert [(n.kind, n.recipient) for n in to_sub] == [("escalated", "sub_commander")]
        actions = [e.action for e in history(uow.session, instance_id=instance.id)]
        assert actions.count("reminded") == 2 and actions.count("escalated") == 1
        assert verify_audit(uow.session).ok
        # Nothing is recorded twice when the instance is saved again later.
        sub_id = uow.session.execute(select(HumanTask.id).where(
            HumanTask.element_id == "sub_command")).scalar_one()
    with platform.uow() as uow:
        task_actions.complete(uow, sub_id, SUB_COMMANDER)
    with platform.uow() as uow:
        assert len(escalation_history(uow.session, instance_id=instance.id)) == 1
        assert reminder_counts(uow.session, "task", fix.id, "2026-12") == 2
