"""统计 (issue 19): per process, step, unit and person, in working days, with charts and Excel."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from engine.bpm.statistics import Durations, Period, percentile, statistics
from webapp.charts import bar_chart

from .test_tasks import claim_and_prepare, open_task, start

PERIOD = Period(date(2026, 12, 1), date(2026, 12, 31))


def _approve(platform, auth, instance):
    auth.login("shenpi1")  # a login replaces whoever was logged in (or timed out)
    review = open_task(platform, instance.id)
    auth.post(f"/tasks/{review.id}/complete", {"decision": "approve", "opinion": "同意"},
              page=f"/tasks/{review.id}")
    auth.login()


def test_percentiles_are_linear_between_neighbours_and_none_when_empty():
    assert percentile([], 50) is None
    assert percentile([4], 90) == 4
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == 9.1
    assert Durations.of([5, 1, 3]) == Durations(3, 3, 4.6)


def test_the_figures_count_working_days_per_step_unit_and_person(platform, clock, auth):
    auth.login()
    # Tuesday 1 December: prepared the same day, approved on Thursday (2 working days)
    first = start(platform, business_key="XM-001")
    claim_and_prepare(platform, auth, first)
    clock.advance(days=2)
    _approve(platform, auth, first)
    # started Thursday, prepared the next Tuesday: 3 working days, over its 2-day limit
    second = start(platform, business_key="XM-002")
    clock.advance(days=5)
    auth.login()
    claim_and_prepare(platform, auth, second)
    third = start(platform, business_key="XM-003")  # waits to be prepared
    clock.advance(days=3)  # Friday: its 2 working days are over
    with platform.uow() as uow:
        figures = statistics(uow, PERIOD)

    (process,) = figures.processes
    assert (process.started, process.completed, process.running_now) == (3, 1, 2)
    assert process.duration == Durations(1, 2, 2)
    steps = {s.element_id: s for s in figures.steps}
    prepare = steps["prepare"]
    assert prepare.ended == 2 and prepare.duration == Durations(2, 1.5, 2.7)
    assert prepare.overdue_rate == 0.5  # the second was prepared after its deadline
    assert (prepare.open_now, prepare.overdue_now) == (1, 1)  # the third, due Thursday
    assert steps["review"].ended == 1 and steps["review"].open_now == 1
    (unit,) = [u for u in figures.units if u.name == "县发改局"]
    assert unit.ended == 3 and unit.overdue_rate == 0.5
    people = {p.name: p for p in figures.people}
    assert people["项目专员一"].ended == 2 and people["项目专员一"].unit == "县发改局"
    assert people["审批人（发改局）"].ended == 1
    assert third.id not in {s.process_key for s in figures.steps}


def test_the_page_shows_charts_and_tables_to_the_headquarters_and_refuses_others(
        platform, client, auth):
    instance = start(platform)
    auth.login()
    claim_and_prepare(platform, auth, instance)
    page = client.get("/statistics/")
    assert page.status_code in (403, 404)  # a specialist compares no one
    auth.logout()
    auth.login("ducha1")
    page = client.get("/statistics/?range=month")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 4 and "各环节办理用时（工作日）" in html
    assert "准备材料" in html and "项目专员一" in html and "县发改局" in html
    assert "zhuanyuan1" not in html and "fgj" not in html


def test_a_bad_date_is_refused_at_its_field_and_the_page_still_answers(client, auth):
    auth.login("ducha1")
    page = client.get("/statistics/?from=2026-13-01&to=2026-12-31")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'id="field-from"' in html and "请按 年-月-日 填写日期" in html
    backwards = client.get("/statistics/?from=2026-12-31&to=2026-12-01")
    assert "结束日期不能早于开始日期" in backwards.get_data(as_text=True)
    assert client.get("/statistics/?from=2000-01-01&to=2026-12-01").status_code == 400


def test_the_workbook_holds_the_same_figures_one_sheet_each(platform, client, auth):
    instance = start(platform)
    auth.login()
    claim_and_prepare(platform, auth, instance)
    auth.logout()
    auth.login("ducha1")
    response = client.get("/statistics/export.xlsx?range=month")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["流程", "环节", "单位", "个人"]
    steps = [row for row in book["环节"].iter_rows(values_only=True)][1:]
    assert any(row[1] == "准备材料" and row[2] == 1 for row in steps)


def test_chart_labels_are_text_never_markup():
    svg = str(bar_chart("<b>标题</b>", [("<script>alert(1)</script>", (3,))], ("件",)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
