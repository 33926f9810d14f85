"""The battle map and a project sheet render from the demo county."""

from __future__ import annotations

from engine.ops.demo import DEMO_PASSWORD, load_demo
from webapp import create_app


def test_battle_map_shows_all_three_colours_and_a_project_sheet(platform, database_url, clock):
    load_demo(platform)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database_url,
                      "CLOCK": clock, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/auth/login", data={"username": "county_head", "password": DEMO_PASSWORD})
    page = client.get("/board/").get_data(as_text=True)
    for label in ("蓝牌", "黄牌", "红牌", "催办中", "装备制造产业园标准化厂房"):
        assert label in page
    sheet = client.get("/board/project/XM-2026-002").get_data(as_text=True)
    assert "<svg" in sheet and "任务清单" in sheet and "责任清单" in sheet and "问题清单" in sheet
    assert client.get("/board/project/NOPE").status_code == 404
    app.extensions["gongjian"].close()
