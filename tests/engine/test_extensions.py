"""延期申请 (issue 19): the holder asks for more working days, a supervisor decides; approved,
the deadline, the timers waiting on the task and the ledger move together."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpm import inbox, task_actions
from engine.bpm.projection import waiting_timers
from engine.bpm.runtime import load_instance
from engine.bpm.timers import fire_due_timers
from engine.core.errors import (
    ConflictError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance, TimerJob
from engine.core.notifications import notifications_for
from engine.county import extensions

from .test_supervision import SUPERVISOR, TOWNSHIP, start_escalation

OTHER_FIELD = Actor.of("fenzhi9", "sub_commander", "sub_commander@sc_other")


def _claimed(platform):
    instance, fix = start_escalation(platform)
    with platform.uow() as uow:
        task_actions.claim(uow, fix.id, TOWNSHIP)
    return instance, fix


def _due(platform, task_id):
    with platform.uow() as uow:
        return uow.session.get(HumanTask, task_id).due_at


def _timers(platform, instance_id):
    with platform.uow() as uow:
        return dict(uow.session.execute(select(TimerJob.element_id, TimerJob.due_at).where(
            TimerJob.instance_id == instance_id)).all())


def test_bad_requests_are_refused_at_their_field_and_only_the_holder_asks(platform):
    instance, fix = _claimed(platform)
    for days, reason, field in ((0, "理由", "days"), (31, "理由", "days"), (3, " ", "reason")):
        with platform.uow() as uow, pytest.raises(TaskDataError) as refused:
            extensions.request_extension(uow, fix.id, TOWNSHIP, days, reason)
        assert field in refused.value.field_errors
    with platform.uow() as uow, pytest.raises((PermissionDeniedError, NotFoundError)):
        extensions.request_extension(uow, fix.id, SUPERVISOR, 3, "替他申请")
    with platform.uow() as uow:
        extensions.request_extension(uow, fix.id, TOWNSHIP, 3, "需协调电力部门迁改线路")
    with platform.uow() as uow, pytest.raises(ConflictError):
        extensions.request_extension(uow, fix.id, TOWNSHIP, 2, "再申请一次")


def test_an_approved_extension_moves_the_deadline_the_timers_and_the_escalation(
        platform, clock):
    instance, fix = _claimed(platform)
    due, timers = _due(platform, fix.id), _timers(platform, instance.id)
    with platform.uow() as uow:
        request = extensions.request_extension(uow, fix.id, TOWNSHIP, 5, "需协调电力部门迁改线路")
    with platform.uow() as uow:
        assert [r.id for r in extensions.pending_for(uow, SUPERVISOR)] == [request.id]
        assert extensions.pending_for(uow, OTHER_FIELD) == []  # not this field's
        assert any("延期申请" in n.title for n in notifications_for(uow.session, SUPERVISOR))
    with platform.uow() as uow:
        decided = extensions.decide_extension(uow, request.id, SUPERVISOR, True, "同意")
    new_due = _due(platform, fix.id)
    # Tuesday 1 December + 3 working days = Friday 4th; + 5 more = Friday 11th
    assert (due.day, new_due.day) == (4, 11) and decided.due_after == new_due
    span = new_due - due
    moved = _timers(platform, instance.id)
    assert moved["overdue_timer"] - timers["overdue_timer"] == span
    assert moved["remind_timer"] - timers["remind_timer"] == span
    with platform.uow() as uow:  # the stored workflow holds the same times
        row = uow.session.get(ProcessInstance, instance.id)
        stored = {e: d for e, d in waiting_timers(load_instance(uow.session, row).workflow).values()}
    assert stored["overdue_timer"] == moved["overdue_timer"]
    clock.advance(days=5)  # past the old escalation, before the new one: no escalation
    fire_due_timers(platform.uow)
    with platform.uow() as uow:
        assert [t.element_id for t in inbox.list_tasks(uow, TOWNSHIP)] == ["fix"]
        assert not uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "escalated")).first()
        notes = notifications_for(uow.session, TOWNSHIP)
        assert any("同意延长 5 个工作日" in n.title for n in notes)


def test_a_refusal_needs_an_opinion_and_changes_no_deadline(platform):
    instance, fix = _claimed(platform)
    due = _due(platform, fix.id)
    with platform.uow() as uow:
        request = extensions.request_extension(uow, fix.id, TOWNSHIP, 2, "人手不足")
    with platform.uow() as uow, pytest.raises(TaskDataError):
        extensions.decide_extension(uow, request.id, SUPERVISOR, False, "")
    with platform.uow() as uow, pytest.raises(NotFoundError):
        extensions.decide_extension(uow, request.id, TOWNSHIP, True, "自己批")
    with platform.uow() as uow:
        extensions.decide_extension(uow, request.id, SUPERVISOR, False, "时限不变，请加派人手")
    assert _due(platform, fix.id) == due
    with platform.uow() as uow, pytest.raises(ConflictError):
        extensions.decide_extension(uow, request.id, SUPERVISOR, True, "改主意")
    with platform.uow() as uow:
        actions = list(uow.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("deadline_extension_%")).order_by(AuditEvent.seq)).scalars())
    assert actions == ["deadline_extension_requested", "deadline_extension_refused"]
