"""委托 on pages: a user names a stand-in, the stand-in sees and completes the user's task
"代 张三", the history says so, and an administrator sets it for someone away."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.bpm import runtime, standing
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask

from ..conftest import FIXTURES, add_accounts
from .conftest import PASSWORD, AuthActions, deploy

STANDING = FIXTURES / "standing" / "standing.bpmn"
ME = "/delegation/"


@pytest.fixture
def county(app, platform, clock):
    """The web fixtures' county, with an administrator and the by-name fixture process."""
    add_accounts(platform, clock.now(), [("xxzx", "县信息中心", "department")],
                 {"admin1": ("系统管理员", "xxzx", ["admin"])}, PASSWORD)
    deploy(platform, STANDING)
    return app


def browser(app, username):
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return client, AuthActions(client)


def start_for(platform, username):
    with platform.uow() as uow:
        instance = runtime.start_instance(uow, "standing", Actor.of("zhuanyuan2", "specialist"),
                                          data={"handler": username})
        held = uow.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.element_id == "held")).scalar_one()
    return instance.id, held


def name_stand_in(auth, **fields):
    data = {"stand_in": "shenpi1", "starts_at": "2026-12-01T09:00",
            "ends_at": "2026-12-08T18:00", "include_open": "on", "reason": "公休假", **fields}
    return auth.post(ME, data, page=ME)


def test_a_user_names_a_stand_in_by_name_and_ends_it(county, platform):
    client, auth = browser(county, "zhuanyuan1")
    page = client.get(ME).get_data(as_text=True)
    assert '<option value="shenpi1" >审批人（发改局）（县发改局）</option>' in page
    assert 'value="zhuanyuan1"' not in page  # not oneself
    response = name_stand_in(auth)
    assert response.status_code == 302
    page = client.get(ME).get_data(as_text=True)
    assert "委托进行中" in page and "审批人（发改局）（县发改局）" in page
    assert "2026-12-08 18:00" in page
    ended = auth.post(f"{ME}end", page=ME)
    assert ended.status_code == 302
    page = client.get(ended.headers["Location"]).get_data(as_text=True)
    assert "委托已结束" in page and "委托进行中" not in page
    with platform.uow() as uow:
        actions = [e.action for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.subject == "user:zhuanyuan1")).scalars()]
    assert actions == ["standing_delegation_set", "standing_delegation_ended"]


def test_bad_input_is_refused_at_its_field_in_chinese_and_nothing_is_saved(county, platform):
    client, auth = browser(county, "zhuanyuan1")
    response = name_stand_in(auth, ends_at="2026-11-30T09:00")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="field-ends_at"' in page and "结束时间已过，请选择以后的时间" in page
    response = name_stand_in(auth, stand_in="", starts_at="明天")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "请输入有效的日期和时间" in page
    response = name_stand_in(auth, stand_in="nobody")
    assert "没有这个在用的账号，请从列表中选择" in response.get_data(as_text=True)
    with platform.uow() as uow:
        assert standing.current_delegation(uow, "zhuanyuan1") is None


def test_the_stand_in_completes_the_task_for_the_user_and_the_history_says_so(county, platform):
    _, auth = browser(county, "zhuanyuan1")
    assert name_stand_in(auth).status_code == 302
    instance_id, held = start_for(platform, "zhuanyuan1")

    stand_in, stand_in_auth = browser(county, "shenpi1")
    inbox = stand_in.get("/tasks/").get_data(as_text=True)
    assert f'/tasks/{held}' in inbox and "代 项目专员一（县发改局）" in inbox
    task = stand_in.get(f"/tasks/{held}").get_data(as_text=True)
    assert 'id="on-behalf"' in task and "办理记录记为“您（代 项目专员一（县发改局））”" in task

    away, _ = browser(county, "zhuanyuan1")
    assert f"/tasks/{held}" not in away.get("/tasks/").get_data(as_text=True)
    own_view = away.get(f"/tasks/{held}").get_data(as_text=True)
    assert 'id="handed-to"' in own_view and f'/tasks/{held}/complete' not in own_view
    assert f"/tasks/{held}" in away.get(ME).get_data(as_text=True)  # 正由代办人办理的待办

    done = stand_in_auth.post(f"/tasks/{held}/complete", {"note": "已代为办理"},
                              page=f"/tasks/{held}")
    assert done.status_code == 302
    with platform.uow() as uow:
        actor, detail = uow.session.execute(select(AuditEvent.actor, AuditEvent.detail).where(
            AuditEvent.instance_id == instance_id,
            AuditEvent.action == "task_completed")).one()
    assert (actor, json.loads(detail)["on_behalf_of"]) == ("shenpi1", "zhuanyuan1")
    history = away.get(f"/tasks/{held}").get_data(as_text=True)
    assert "审批人（发改局）（县发改局）（代 项目专员一（县发改局））" in history  # people 张三（单位）


def test_an_administrator_sets_it_for_someone_away(county, platform):
    client, auth = browser(county, "admin1")
    assert "为他人设置委托" in client.get("/delegation/admin").get_data(as_text=True)
    response = auth.post("/delegation/admin", {
        "delegator": "zhuanyuan1", "stand_in": "zhuanyuan2", "starts_at": "2026-12-01T09:00",
        "ends_at": "2026-12-04T18:00"}, page="/delegation/admin")
    assert response.status_code == 302
    listing = client.get("/delegation/admin").get_data(as_text=True)
    assert "项目专员一（县发改局）" in listing and "项目专员二（县发改局）" in listing
    assert "进行中" in listing
    with platform.uow() as uow:
        view = standing.current_delegation(uow, "zhuanyuan1")
        assert (view.stand_in, view.set_by, view.include_open) == ("zhuanyuan2", "admin1", False)
    away, _ = browser(county, "zhuanyuan1")
    assert "由 系统管理员（县信息中心） 设置" in away.get(ME).get_data(as_text=True)
    ended = auth.post("/delegation/admin/end", {"delegator": "zhuanyuan1"},
                      page="/delegation/admin")
    assert ended.status_code == 302
    with platform.uow() as uow:
        assert standing.current_delegation(uow, "zhuanyuan1") is None


def test_only_administrators_set_it_for_others(county):
    client, auth = browser(county, "zhuanyuan2")
    assert client.get("/delegation/admin").status_code == 403
    response = auth.post("/delegation/admin", {
        "delegator": "zhuanyuan1", "stand_in": "zhuanyuan2", "starts_at": "2026-12-01T09:00",
        "ends_at": "2026-12-04T18:00"}, page=ME)
    assert response.status_code == 403


def test_the_pages_read_in_english_when_chosen(county):
    client, _ = browser(county, "zhuanyuan1")
    client.get("/lang/en")
    page = client.get(ME).get_data(as_text=True)
    assert "Name a stand-in" in page or "Stand-in" in page
    assert "Save the delegation" in page
