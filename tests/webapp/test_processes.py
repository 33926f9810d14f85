"""Starting processes from the start page and following them under 我发起的."""

from __future__ import annotations

from sqlalchemy import select

from engine.core.models import ProcessInstance


def test_the_start_page_lists_the_processes_my_lane_may_start(client, auth):
    auth.login("shenpi1")
    assert "立项审批（测试）" not in client.get("/processes/").get_data(as_text=True)
    assert client.get("/processes/approval/start").status_code == 403
    auth.logout()
    auth.login()
    page = client.get("/processes/").get_data(as_text=True)
    assert "立项审批（测试）" in page


def test_the_start_form_is_validated_then_the_instance_starts(platform, client, auth):
    auth.login()
    page = client.get("/processes/approval/start").get_data(as_text=True)
    assert 'name="project_name"' in page and 'name="business_key"' in page
    refused = auth.post("/processes/approval/start", {"business_key": "XM-9"},
                        page="/processes/approval/start")
    assert refused.status_code == 400
    assert "此项必填" in refused.get_data(as_text=True)

    response = auth.post("/processes/approval/start",
                         {"business_key": "XM-9", "project_name": "光伏电站"},
                         page="/processes/approval/start")
    assert response.status_code == 302
    with platform.uow() as uow:
        row = uow.session.execute(select(ProcessInstance)).scalar_one()
        assert row.business_key == "XM-9" and row.started_by == "zhuanyuan1"
    started = client.get("/processes/started").get_data(as_text=True)
    assert "XM-9" in started and "准备材料" in started
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "发起流程" in detail


def test_another_users_instance_is_not_found(platform, client, auth):
    auth.login()
    response = auth.post("/processes/approval/start", {"project_name": "光伏电站"},
                         page="/processes/approval/start")
    auth.logout()
    auth.login("zhuanyuan2")
    assert client.get(response.headers["Location"]).status_code == 404
