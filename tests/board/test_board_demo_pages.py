"""After `make run` (the demo with 21 days of history) the board shows every page of issue 7."""

from __future__ import annotations

import re
from io import BytesIO

from openpyxl import load_workbook

from engine.ops.demo import DEMO_PASSWORD, load_demo
from webapp import create_app


def _client(database_url, clock, login="county_head", csrf=False):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database_url,
                      "CLOCK": clock, "WTF_CSRF_ENABLED": csrf})
    client = app.test_client()
    form = {"username": login, "password": DEMO_PASSWORD}
    if csrf:
        form["csrf_token"] = _token(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data=form)
    return app, client


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_demo_with_history_shows_awards_reports_agendas_and_assessment(platform,
                                                                         database_url, clock):
    load_demo(platform, history_days=21)
    app, client = _client(database_url, clock)
    pages = {
        "/board/": ["蓝牌", "黄牌", "红牌", "羚羊奖", "蜗牛奖", "年产5万吨高性能新材料项目"],
        "/board/awards": ["2026-Q3", "羚羊奖", "蜗牛奖", "装备制造产业园标准化厂房"],
        "/board/dispatch?period=week": ["周调度", "2026-11-30", "<svg", "合计"],
        "/board/dispatch?period=tenday": ["旬调度", "2026-12-01"],
        "/board/bulletin?month=2026-11": ["月通报", "晒工作", "亮成绩", "揭短板"],
        "/board/agenda?meeting=sub_command:sc_industry": ["装备制造产业园标准化厂房", "会议决定"],
        "/board/agenda?meeting=headquarters": ["季度会议", "红牌"],
        "/board/assessment": ["双考核", "县工业和信息化局", "工作指标"],
    }
    for path, needles in pages.items():
        response = client.get(path)
        text = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert [n for n in needles if n not in text] == [], path
    book = load_workbook(BytesIO(client.get("/board/dispatch?period=week&format=xlsx").data))
    assert book.active.cell(2, 1).value == "分指挥部" and book.active.max_row == 2 + 7 + 1
    assert client.get("/board/dispatch?period=year").status_code == 400
    app.extensions["gongjian"].close()


def test_a_decision_is_posted_with_csrf_by_the_field_s_sub_commander_only(platform,
                                                                          database_url, clock):
    load_demo(platform)
    app, client = _client(database_url, clock, login="commander_industry", csrf=True)
    page = client.get("/board/agenda?meeting=sub_command:sc_industry").get_data(as_text=True)
    token = _token(page)
    form = {"meeting": "sub_command:sc_industry", "date": "2026-12-01",
            "item_ref": "project:XM-2026-002", "decision": "每周调度一次厂房进度"}
    assert client.post("/board/agenda/decision", data=form).status_code == 400  # no token
    response = client.post("/board/agenda/decision", data=form | {"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/board/agenda?meeting=sub_command:sc_industry").get_data(as_text=True)
    assert "每周调度一次厂房进度" in page
    other = client.post("/board/agenda/decision", data=form | {
        "csrf_token": token, "meeting": "sub_command:sc_energy", "item_ref": "project:XM-2026-004"})
    assert other.status_code == 403
    app.extensions["gongjian"].close()


def test_a_project_sheet_lists_the_open_tasks_of_every_instance_serving_the_project(
        platform, clock):
    from engine.core.identity import Actor
    from engine.county import reports

    load_demo(platform)
    with platform.uow() as uow:
        sheet = reports.project_sheet(uow, Actor.of("county_head", "county_head"), "XM-2026-004")
        others = reports.project_sheet(uow, Actor.of("county_head", "county_head"), "XM-2026-001")
    keys = {t.business_key for t in sheet.tasks}
    # the permit request (its key names the project) and the issue the ledger puts on it (its
    # key names none: a match on the key alone left it out)
    assert "DEMO-PERMIT-XM-2026-004" in keys and "DEMO-ISSUE-4" in keys
    assert not keys & {t.business_key for t in others.tasks}
