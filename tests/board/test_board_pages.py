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


def test_the_battle_map_a_page_at_a_time_with_every_field_s_counts(platform, database_url,
                                                                   clock, monkeypatch):
    """Pages of 3: together they list each project of the map once, in the order of the
    whole board; every page carries every field's counts; ?field= pages one field; a field
    out of scope (or unknown) shows all fields."""
    from engine.core.identity import Actor
    from engine.county import reports

    load_demo(platform)
    monkeypatch.setattr(reports, "MAP_PAGE_SIZE", 3)
    head = Actor.of("county_head", "county_head")
    with platform.uow() as uow:
        first = reports.battle_map(uow, head)
        listed = []
        for page in range(1, first.pages + 1):
            board = reports.battle_map(uow, head, page=page)
            assert [(f.code, f.counts) for f in board.fields] == [
                (f.code, f.counts) for f in first.fields]
            assert board.totals == first.totals
            listed += [(g.code, p.code) for g in board.groups for p in g.projects]
        assert listed == sorted(listed) and len(set(listed)) == len(listed)
        assert len(listed) == sum(first.totals.values()) > 3
        assert first.pages == -(-len(listed) // 3)
        assert reports.battle_map(uow, head, page=99).page == first.pages  # the last page
        culture = reports.battle_map(uow, head, field_code="sc_culture")
        assert {g.code for g in culture.groups} == {"sc_culture"}
        assert [p.code for g in culture.groups for p in g.projects] == [
            code for field, code in listed if field == "sc_culture"]
        sub = Actor.of("deputy", "sub_commander@sc_industry")
        elsewhere = reports.battle_map(uow, sub, field_code="sc_culture")
        assert elsewhere.field_code is None and {f.code for f in elsewhere.fields} == {
            "sc_industry"}
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database_url,
                      "CLOCK": clock, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/auth/login", data={"username": "county_head", "password": DEMO_PASSWORD})
    page = client.get("/board/?page=2").get_data(as_text=True)
    assert f"第 2 / {first.pages} 页" in page and "?page=3" in page and "?page=1" in page
    assert 'href="/board/?field=sc_culture"' in page and "本领域共" in page
    assert client.get("/board/?page=x&field=nope").status_code == 200
    app.extensions["gongjian"].close()


def test_the_bulletin_names_the_first_projects_of_a_colour_and_the_xlsx_all(platform):
    """A bulletin's page names the first projects of each list of plates (by code) and says
    how many more; the .xlsx lists every one; the counts are the same either way."""
    from datetime import date
    from io import BytesIO

    from openpyxl import load_workbook

    from engine.county import dispatch

    load_demo(platform)
    with platform.uow() as uow:
        whole = dispatch.dispatch_report(uow, "month", date(2026, 11, 1), names_limit=None)
        short = dispatch.dispatch_report(uow, "month", date(2026, 11, 1), names_limit=1)
    blue = [line for line in whole.highlights["亮成绩"] if line.endswith("（蓝牌）")]
    count = sum(r.plates["blue"] for r in whole.rows)
    assert len(blue) == count > 1
    assert short.highlights["亮成绩"][:2] == [
        blue[0], f"……另有 {count - 1} 个蓝牌项目，全部名单见导出的 Excel"]
    assert [r.cells() for r in short.rows] == [r.cells() for r in whole.rows]
    lists = load_workbook(BytesIO(dispatch.to_xlsx(whole)))["通报要点"]
    assert [row[1] for row in lists.iter_rows(min_row=2, values_only=True)] == [
        line for lines in whole.highlights.values() for line in lines]
