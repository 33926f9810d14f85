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


def test_an_instance_is_not_found_by_someone_with_no_part_in_it(platform, client, auth):
    auth.login()
    response = auth.post("/processes/approval/start", {"project_name": "光伏电站"},
                         page="/processes/approval/start")
    auth.logout()
    auth.login("xiangzhen1")  # a township head: no task of it is offered to him
    assert client.get(response.headers["Location"]).status_code == 404


def test_who_acts_next_names_the_group_holding_the_open_step(platform, client, auth):
    auth.login()
    response = auth.post("/processes/approval/start", {"project_name": "光伏电站"},
                         page="/processes/approval/start")
    auth.logout()
    auth.login("zhuanyuan2")  # offered the open step with the specialists: may follow it
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    steps = page[page.index('id="next-steps"'):page.index("办理记录")]
    assert "准备材料" in steps and "「项目专员」" in steps and "（待认领）" in steps
    # The timeline credits the new task to the process, not to the starter.
    history = page[page.index("办理记录"):]
    assert "流程</strong> 生成待办「准备材料」" in history and "交由：「项目专员」" in history
    assert "项目专员一（县发改局）</strong> 发起流程" in history
