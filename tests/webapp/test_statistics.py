"""统计 (issue 19): per process, step, unit and person, in working days, with charts and Excel."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from engine.bpm.statistics import Durations, Period, percentile, statistics
from engine.bpm.statistics_days import OpenStep, ProcessDay, StepDay, rebuild_day_tallies
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


# ---------------------------------------------------------------- counted in the database

def _recount(uow, period, process_key=None):
    """The figures as 统计 counted them before the database grouped them: every instance
    and task row of the period read and counted one by one (steps keyed without names)."""
    from collections import defaultdict

    from sqlalchemy import select

    from engine.bpm.statistics import NO_UNIT, Durations
    from engine.core.calendar_admin import current_calendar
    from engine.core.models import HumanTask, ProcessInstance
    from engine.core.organisation import OrgUnit, UserAccount

    s, now, calendar = uow.session, uow.clock.now(), current_calendar()
    instances = [r for r in s.execute(select(ProcessInstance)).scalars()
                 if (not process_key or r.process_key == process_key) and (
                     r.status == "running"
                     or period.start <= r.started_at < period.end
                     or (r.ended_at is not None and period.start <= r.ended_at < period.end))]
    tasks = [r for r in s.execute(select(HumanTask)).scalars()
             if (not process_key or r.process_key == process_key) and r.state != "cancelled"
             and (r.state in ("open", "claimed")
                  or (r.ended_at is not None and period.start <= r.ended_at < period.end))]
    people = {u: (d, c) for u, d, c in s.execute(
        select(UserAccount.username, UserAccount.display_name, UserAccount.unit_code))}
    unit_names = dict(s.execute(select(OrgUnit.code, OrgUnit.name)).all())

    def inside(moment):
        return moment is not None and period.start <= moment < period.end

    def took(start, end):
        return max(calendar.working_days_between(start, end), 0)

    def ended_of(rows):
        return [r for r in rows if r.state == "completed" and inside(r.ended_at)]

    def late(rows):
        with_due = [r for r in rows if r.due_at is not None]
        return (sum(r.ended_at > r.due_at for r in with_due) / len(with_due)
                if with_due else None)

    def held(rows):
        rows = [r for r in rows if r.state in ("open", "claimed")]
        return len(rows), sum(r.due_at is not None and r.due_at < now for r in rows)

    def unit_of(username):
        return people.get(username, (None, None))[1] if username else None

    processes = defaultdict(list)
    for r in instances:
        processes[r.process_key].append(r)
    steps, units_ended, units_held = defaultdict(list), defaultdict(list), defaultdict(list)
    people_ended, people_held = defaultdict(int), defaultdict(list)
    for r in tasks:
        steps[(r.process_key, r.element_id)].append(r)
        if r.state in ("open", "claimed") and r.assignee:
            units_held[unit_of(r.assignee)].append(r)
        if r.state in ("open", "claimed") and r.assignee in people:
            people_held[r.assignee].append(r)
    for r in ended_of(tasks):
        units_ended[unit_of(r.ended_by)].append(r)
        if r.ended_by in people:
            people_ended[r.ended_by] += 1
    return {
        "processes": {key: (
            sum(inside(r.started_at) for r in rows),
            len([r for r in rows if r.status == "completed" and inside(r.ended_at)]),
            sum(r.status == "cancelled" and inside(r.ended_at) for r in rows),
            sum(r.status == "running" for r in rows),
            Durations.of(took(r.started_at, r.ended_at) for r in rows
                         if r.status == "completed" and inside(r.ended_at)))
            for key, rows in processes.items()},
        "steps": {step: (len(ended_of(rows)),
                         Durations.of(took(r.created_at, r.ended_at) for r in ended_of(rows)),
                         late(ended_of(rows)), *held(rows))
                  for step, rows in steps.items()},
        "units": {code: (unit_names.get(code, NO_UNIT) if code else NO_UNIT,
                         len(ended_of(units_ended[code])),
                         Durations.of(took(r.created_at, r.ended_at) for r in units_ended[code]),
                         late(units_ended[code]), *held(units_held[code]))
                  for code in set(units_ended) | set(units_held)},
        "people": {u: (people[u][0], people_ended.get(u, 0), *held(people_held[u]))
                   for u in set(people_ended) | set(people_held)},
    }


def _as_counted(figures):
    return {
        "processes": {p.key: (p.started, p.completed, p.cancelled, p.running_now, p.duration)
                      for p in figures.processes},
        "steps": {(s.process_key, s.element_id): (s.ended, s.duration, s.overdue_rate,
                                                  s.open_now, s.overdue_now)
                  for s in figures.steps},
        "units": {u.code: (u.name, u.ended, u.duration, u.overdue_rate, u.open_now,
                           u.overdue_now) for u in figures.units},
        "people": {p.username: (p.name, p.ended, p.open_now, p.overdue_now)
                   for p in figures.people},
    }


def test_the_database_counts_what_reading_every_row_counts(app, platform, clock):
    from engine.bpm import task_actions
    from engine.core.organisation import actor_for

    def act(username, fn, *args):
        with platform.uow() as uow:
            return fn(uow, *args, actor_for(uow.session, username))

    def prepare(instance, username="zhuanyuan1"):
        task = open_task(platform, instance.id)
        with platform.uow() as uow:
            actor = actor_for(uow.session, username)
            task_actions.claim(uow, task.id, actor)
        with platform.uow() as uow:
            task_actions.complete(uow, task.id, actor, {"title": "光伏电站", "amount": "150"})

    def review(instance, decision):
        task = open_task(platform, instance.id, "review")
        with platform.uow() as uow:
            task_actions.complete(uow, task.id, actor_for(uow.session, "shenpi1"),
                                  {"decision": decision, "opinion": "请核实"})

    clock.advance(days=-40)  # from late October into December
    made = []
    for n in range(12):
        instance = start(platform, business_key=f"XM-{n:03d}")
        made.append(instance)
        clock.advance(hours=9 + 17 * (n % 4))
        if n % 3 != 2:
            prepare(instance, "zhuanyuan1" if n % 2 else "zhuanyuan2")
            clock.advance(days=n % 5)
        if n % 3 == 0:
            review(instance, "return" if n % 2 else "approve")
        clock.advance(hours=20)
    with platform.uow() as uow:  # one cancelled, one claimed and then handed on
        task_actions.cancel(uow, made[5].id, actor_for(uow.session, "zhuanyuan1"), "重复申报")
    done = _done_task(platform, made[10].id, "prepare")
    with platform.uow() as uow:  # recalled: the review it led to ends as withdrawn
        task_actions.withdraw(uow, done, actor_for(uow.session, "zhuanyuan2"), "材料有误")
    waiting = open_task(platform, made[8].id)
    with platform.uow() as uow:
        task_actions.claim(uow, waiting.id, actor_for(uow.session, "zhuanyuan1"))
    with platform.uow() as uow:
        task_actions.transfer(uow, waiting.id, actor_for(uow.session, "zhuanyuan1"),
                              "zhuanyuan2")
    clock.advance(days=3)

    periods = [PERIOD, Period(date(2026, 10, 1), date(2026, 12, 31)),
               Period(date(2026, 11, 1), date(2026, 11, 30)),
               Period(date(2026, 11, 20), date(2026, 11, 20)),
               Period(date(2025, 1, 1), date(2025, 12, 31))]
    with platform.uow() as uow:
        for period in periods:
            for key in (None, "approval", "nothing_of_that_name"):
                figures = statistics(uow, period, process_key=key)
                assert _as_counted(figures) == _recount(uow, period, key), (period, key)
        everything = _as_counted(statistics(uow, periods[1]))
    assert everything["processes"]["approval"][1:4] == (2, 1, 9)  # completed, cancelled, running
    assert sum(s[0] for s in everything["steps"].values()) >= 12
    assert any(s[4] for s in everything["steps"].values())  # some open task is overdue

    # the day tallies kept at each save are what counting the rows again makes of them
    with platform.uow() as uow:
        kept = _tallies(uow)
        rebuild_day_tallies(uow.session)
        assert _tallies(uow) == kept
    assert {row[2] for row in kept[0]} == {"started", "completed", "cancelled"}
    assert {row[3] for row in kept[1]} == {"completed", "withdrawn"}
    assert sum(row[2] for row in kept[2]) == 9  # one open task per running instance
    assert {row[6] for row in kept[1]} == {0, 1, 2}  # no deadline, in time, late


def _done_task(platform, instance_id, element_id):
    from sqlalchemy import select

    from engine.core.models import HumanTask

    with platform.uow() as uow:
        return uow.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element_id,
            HumanTask.state == "completed")).scalar_one()


def _tallies(uow):
    from sqlalchemy import select

    return tuple(sorted(tuple(row) for row in uow.session.execute(select(table)).all()
                        if row[-1])  # a step's open tally may stay at 0 after its last task
                 for table in (ProcessDay.__table__, StepDay.__table__, OpenStep.__table__))


def test_a_step_is_named_as_drawn_not_by_one_of_its_task_titles(app, platform, auth):
    instance = start(platform)
    auth.login()
    claim_and_prepare(platform, auth, instance)
    with platform.uow() as uow:
        names = {s.element_id: s.name for s in statistics(uow, PERIOD).steps}
    assert names == {"prepare": "准备材料", "review": "审批"}
