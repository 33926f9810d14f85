"""流程实例管理 (issue 19): every instance filtered for administrators; 挂起 holds an instance
(no task moves, no timer fires), 恢复 lets it go on, 撤销 ends it — each with a reason, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpm import runtime, task_actions, timers
from engine.core.errors import InvalidStateError, PermissionDeniedError, TaskDataError
from engine.core.identity import Actor
from engine.core.models import AuditEvent, ProcessInstance

from ..conftest import FIXTURES, add_accounts
from .conftest import deploy
from .test_tasks import SPECIALIST, open_task, start

ADMIN = Actor.of("guanli", "admin")


@pytest.fixture
def admin(platform, clock, app):
    add_accounts(platform, clock.now(), [], {"guanli": ("管理员", "fgj", ["admin"])}, "mima-2026")
    return ADMIN


def test_a_suspended_instance_moves_not_until_resumed(platform, admin):
    instance = start(platform)
    task = open_task(platform, instance.id)
    with platform.uow() as uow, pytest.raises(TaskDataError):
        task_actions.suspend(uow, instance.id, admin, " ")  # a reason is required
    with platform.uow() as uow, pytest.raises(PermissionDeniedError):
        task_actions.suspend(uow, instance.id, SPECIALIST, "我想停")
    with platform.uow() as uow:
        task_actions.suspend(uow, instance.id, admin, "材料待补，暂停办理")
    with platform.uow() as uow, pytest.raises(InvalidStateError):
        task_actions.claim(uow, task.id, SPECIALIST)
    with platform.uow() as uow:
        task_actions.resume(uow, instance.id, admin, "材料已补齐")
    with platform.uow() as uow:
        task_actions.claim(uow, task.id, SPECIALIST)
    with platform.uow() as uow:
        actions = list(uow.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(("instance_suspended", "instance_resumed")))
            .order_by(AuditEvent.seq)).scalars())
    assert actions == ["instance_suspended", "instance_resumed"]


def test_a_suspended_instances_timers_wait_and_fire_once_it_is_resumed(platform, clock, admin):
    deploy(platform, FIXTURES / "supervision" / "escalation.bpmn")
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "escalation", SPECIALIST)
    with platform.uow() as uow:
        task_actions.suspend(uow, instance.id, admin, "暂停")
    clock.advance(days=5)
    assert timers.next_due_time(platform.uow) is None
    assert timers.fire_due_timers(platform.uow).fired == []
    with platform.uow() as uow:
        task_actions.resume(uow, instance.id, admin, "继续")
    assert timers.fire_due_timers(platform.uow).fired != []


def test_the_page_filters_and_acts_with_a_reason(platform, client, auth, admin):
    first = start(platform, business_key="XM-A")
    start(platform, business_key="XM-B")
    auth.login("guanli")
    page = client.get("/admin/instances/?status=running").get_data(as_text=True)
    assert 'id="instance-1"' in page and "XM-B" in page and "项目专员一（县发改局）" in page
    refused = auth.post(f"/admin/instances/{first.id}/suspend", {"reason": ""},
                        page="/admin/instances/")
    assert refused.status_code == 302
    assert "请填写原因" in client.get("/admin/instances/").get_data(as_text=True)
    auth.post(f"/admin/instances/{first.id}/suspend", {"reason": "等待用地批复"},
              page="/admin/instances/")
    with platform.uow() as uow:
        assert uow.session.get(ProcessInstance, first.id).status == "suspended"
    held = client.get("/admin/instances/?status=suspended").get_data(as_text=True)
    assert "XM-A" in held and "XM-B" not in held and "已挂起" in held
    auth.post(f"/admin/instances/{first.id}/cancel", {"reason": "项目取消"},
              page="/admin/instances/")
    with platform.uow() as uow:
        assert uow.session.get(ProcessInstance, first.id).status == "cancelled"
    bad = client.get("/admin/instances/?from=2026-02-30")
    assert bad.status_code == 400 and "请按 年-月-日 填写日期" in bad.get_data(as_text=True)


def test_only_administrators_see_the_list(client, auth, admin):
    auth.login()
    assert client.get("/admin/instances/").status_code == 403
