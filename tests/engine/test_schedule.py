"""The schedule: the county's recurring work, counted in working days, run once per period."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from engine.bpm import inbox
from engine.core import calendar_admin, organisation
from engine.core.identity import Actor
from engine.core.models import AuditEvent, ProcessInstance
from engine.core.notifications import notifications_for
from engine.core.workcalendar import SHANGHAI, WorkingCalendar
from engine.county import plates
from engine.county.projects import add_project
from engine.ops import recurring, schedule, worker
from engine.ops.recurring import JOBS
from engine.ops.schedule import ScheduleEntry

from ..processes.helpers import deploy_all

ADMIN = Actor.of("admin1", "admin")
# 2026-12-25 (Friday) 09:00: the fifth-last working day of December, the month's requests
DECEMBER_REQUESTS = datetime(2026, 12, 25, 9, 0, tzinfo=SHANGHAI)
# 2027-01-04 (Monday) 09:00: the first working day of January, of the quarter, of the week
NEW_YEAR = datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def county(platform):
    """Two sub-commands, a company, and projects at every stage that matters to the requests."""
    deploy_all(platform)
    with platform.uow() as uow:
        s = uow.session
        for code, name, kind in [("sc_industry", "工业分指挥部", "sub_command"),
                                 ("sc_infra", "基础设施分指挥部", "sub_command"),
                                 ("gxj", "县工信局", "department"), ("t_fucheng", "附城镇", "township"),
                                 ("co_materials", "示例新材料公司", "company"),
                                 ("co_heat", "示例热力公司", "company")]:
            organisation.add_unit(s, code, name, kind)
        s.flush()
        common = dict(township="t_fucheng", lead_department="gxj", specialist=None)
        add_project(s, "P-1", "新材料项目", sub_command="sc_industry", stage="construction",
                    project_unit="co_materials", key_level="city", **common)
        add_project(s, "P-2", "一般在建项目", sub_command="sc_industry", stage="construction",
                    project_unit="co_heat", **common)
        add_project(s, "P-3", "挂图前期项目", sub_command="sc_infra", stage="prework",
                    project_unit="co_heat", funding="government", **common)
        add_project(s, "P-4", "一般前期项目", sub_command="sc_infra", stage="prework",
                    project_unit="co_heat", **common)
        add_project(s, "P-5", "谋划项目", sub_command="sc_infra", stage="planning",
                    project_unit="co_heat", key_level="county", **common)
        uow.commit()
    with platform.uow() as uow:
        schedule.ensure_schedule(uow)
        uow.commit()
    return platform


def _entry(platform, name) -> ScheduleEntry:
    with platform.uow() as uow:
        row = uow.session.get(ScheduleEntry, name)
        uow.session.expunge(row)
        return row


def _instances(platform, key) -> list[str]:
    with platform.uow() as uow:
        return [row.business_key for row in uow.session.execute(
            select(ProcessInstance).where(ProcessInstance.process_key == key)
            .order_by(ProcessInstance.business_key)).scalars()]


def _actions(platform, action) -> list[AuditEvent]:
    with platform.uow() as uow:
        events = list(uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())
        uow.session.expunge_all()
        return events


# ---------------------------------------------------------------- run days

@pytest.mark.parametrize("job, after, run_day, period", [
    # the National Day week: October's first working day is the 8th, for September
    ("monthly_plates", at(2026, 9, 15, 12), date(2026, 10, 8), "2026-09"),
    ("award_round", at(2026, 9, 15, 12), date(2026, 10, 8), "2026-Q3"),
    # New Year's Day on a Friday: the quarter starts on Monday the 4th
    ("award_round", at(2026, 12, 1, 10), date(2027, 1, 4), "2026-Q4"),
    # the fifth-last working day of December 2026 (28-31 follow it)
    ("progress_reports", at(2026, 12, 1, 10), date(2026, 12, 25), "2026-12"),
    # a run day's own 09:00 passed: the next one
    ("monthly_plates", at(2026, 12, 1, 9), date(2027, 1, 4), "2026-12"),
    # the Spring Festival week (02-16..22) is off: the week after reports the week before it
    ("weekly_dispatch", at(2026, 2, 10, 12), date(2026, 2, 24), "2026-02-09"),
    ("weekly_dispatch", at(2026, 2, 24, 12), date(2026, 3, 2), "2026-02-23"),
])
def test_runs_are_counted_in_working_days_over_holidays(job, after, run_day, period):
    calendar = WorkingCalendar()
    run_at = recurring.next_run_after(JOBS[job], after, calendar)
    assert run_at == datetime.combine(run_day, recurring.RUN_AT, tzinfo=SHANGHAI)
    assert JOBS[job].period_of(run_day, calendar) == period


def test_an_override_of_the_calendar_moves_the_next_run(county, clock):
    platform = county
    assert _entry(platform, "progress_reports").next_run_at == DECEMBER_REQUESTS
    with platform.uow() as uow:  # a local day off on the 25th
        calendar_admin.set_override(uow, date(2026, 12, 25), False, ADMIN, "县里调休")
    report = schedule.run_due(platform.uow)
    assert report.moved == 1 and report.results == []
    moved = _entry(platform, "progress_reports")
    assert moved.next_run_at == at(2026, 12, 24, 9) and moved.next_period == "2026-12"
    [event] = _actions(platform, "schedule_rescheduled")
    assert event.subject == "schedule:progress_reports"
    assert schedule.run_due(platform.uow).moved == 0  # counted once


def _county_work(results):
    """The runs of the county's work, without the daily clean-up of attachments."""
    return [r for r in results if r.name != "attachment_purge"]


def test_setting_up_the_schedule_twice_adds_nothing(county):
    platform = county
    with platform.uow() as uow:
        assert schedule.ensure_schedule(uow) == []
        uow.commit()
    with platform.uow() as uow:
        views = schedule.list_entries(uow.session)
    assert [v.name for v in views] == list(JOBS)
    assert [v.title for v in views] == ["月度进度填报", "三色牌月度评定", "季度评奖", "周调度",
                                        "清理未提交的附件"]
    assert all(v.last_run_at is None for v in views)
    assert len(_actions(platform, "schedule_created")) == 5


# ---------------------------------------------------------------- runs

def test_the_progress_reports_reach_each_project_unit_once(county, clock):
    platform = county
    clock.set(DECEMBER_REQUESTS)
    report = schedule.run_due(platform.uow)
    assert [(r.name, r.period, r.outcome) for r in _county_work(report.results)] == [
        ("weekly_dispatch", "2026-12-14", "done"), ("progress_reports", "2026-12", "done")]
    # in construction, and on the battle map in pre-work; not P-4 (pre-work, not on the map)
    # nor P-5 (planning)
    assert _instances(platform, "progress_report") == [
        "PROGRESS-P-1-2026-12", "PROGRESS-P-2-2026-12", "PROGRESS-P-3-2026-12"]
    with platform.uow() as uow:
        [task] = inbox.list_tasks(uow, Actor.of("unit_materials", "unit:co_materials"))
    assert task.process_key == "progress_report" and task.business_key == "PROGRESS-P-1-2026-12"
    entry = _entry(platform, "progress_reports")
    assert entry.last_outcome == "done" and "已为 3 个项目向其项目单位发出2026年12月进度填报" in entry.last_result
    assert entry.next_run_at == at(2027, 1, 25, 9) and entry.next_period == "2027-01"

    assert schedule.run_due(platform.uow).results == []  # a second pass, a second worker
    again = schedule.run_entry(platform.uow, "progress_reports", ADMIN, manual=True)
    assert again.outcome == "nothing" and "已运行过" in again.message
    with platform.uow() as uow:  # the work itself is keyed by period too
        did, message = recurring.request_progress_reports(uow, "2026-12", ADMIN)
    assert not did and "未重复发出" in message
    assert len(_instances(platform, "progress_report")) == 3
    runs = [e for e in _actions(platform, "schedule_run")
            if e.subject == "schedule:progress_reports"]
    assert [(e.actor, json.loads(e.detail).get("manual")) for e in runs] == [
        ("system", None), ("admin1", True)]


def test_the_new_year_brings_plates_awards_and_the_dispatch(county, clock):
    platform = county
    clock.set(NEW_YEAR)
    report = schedule.run_due(platform.uow)
    outcomes = {r.name: (r.period, r.outcome) for r in _county_work(report.results)}
    assert outcomes == {"progress_reports": ("2026-12", "done"),
                        "monthly_plates": ("2026-12", "done"),
                        "award_round": ("2026-Q4", "done"),
                        "weekly_dispatch": ("2026-12-28", "done")}
    with platform.uow() as uow:
        december = plates.plates_of_month(uow.session, "2026-12")
    assert set(december) == {"P-1", "P-3"}  # the battle map, not in planning
    assert _instances(platform, "quarterly_awards") == ["AWARDS-2026-Q4"]
    with platform.uow() as uow:
        [note] = notifications_for(uow.session, Actor.of("office1", "office"))
    assert note.title == "周调度报告（2026-12-28 至 2027-01-03）已生成"
    assert "2 个分指挥部、5 个项目" in note.body
    # the award round again, by hand: already started, nothing new
    again = schedule.run_entry(platform.uow, "award_round", ADMIN, manual=True)
    assert again.outcome == "nothing"
    assert _instances(platform, "quarterly_awards") == ["AWARDS-2026-Q4"]


def test_a_failing_run_is_recorded_in_chinese_and_retried(platform, clock):
    with platform.uow() as uow:  # nothing deployed yet
        schedule.ensure_schedule(uow)
        uow.commit()
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "sc_infra", "基础设施分指挥部", "sub_command")
        uow.commit()
    clock.set(NEW_YEAR)
    report = schedule.run_due(platform.uow)
    assert [r.name for r in report.failed] == ["progress_reports", "monthly_plates",
                                               "award_round"]
    entry = _entry(platform, "award_round")
    assert entry.last_outcome == "failed" and entry.failures == 1
    assert entry.last_result.startswith("2026年第四季度运行失败：季度评奖流程尚未部署")
    assert "将于 2027-01-04 09:05 自动重试" in entry.last_result
    assert entry.next_period == "2026-Q4"  # still due, for the same quarter
    failed = {e.subject: e for e in _actions(platform, "schedule_run_failed")}
    assert json.loads(failed["schedule:award_round"].detail)["failures"] == 1

    clock.advance(minutes=1)  # not yet: the retry waits
    assert schedule.run_due(platform.uow).results == []
    deploy_all(platform)
    clock.advance(minutes=5)  # no project yet: nothing to request or evaluate
    report = schedule.run_due(platform.uow)
    assert [(r.name, r.period, r.outcome) for r in report.results] == [
        ("progress_reports", "2026-12", "nothing"), ("monthly_plates", "2026-12", "nothing"),
        ("award_round", "2026-Q4", "done")]
    entry = _entry(platform, "award_round")
    assert entry.failures == 0 and entry.retry_at is None and entry.next_period == "2027-Q1"


def test_a_run_is_one_transaction(county, clock, monkeypatch):
    platform = county
    started = []
    real = recurring.runtime.start_instance

    def start_two_then_fail(uow, key, actor, **kwargs):
        if len(started) == 2:
            raise RuntimeError("disk full")
        started.append(kwargs["business_key"])
        return real(uow, key, actor, **kwargs)

    monkeypatch.setattr(recurring.runtime, "start_instance", start_two_then_fail)
    clock.set(DECEMBER_REQUESTS)
    result = schedule.run_entry(platform.uow, "progress_reports")
    assert result.outcome == "failed" and "系统内部错误" in result.message
    assert len(started) == 2 and _instances(platform, "progress_report") == []
    assert _actions(platform, "instance_started") == []
    assert _entry(platform, "progress_reports").last_error == "RuntimeError: disk full"


def test_two_workers_at_once_start_the_work_once(county, clock):
    platform = county
    clock.set(DECEMBER_REQUESTS)
    results, errors = [], []

    def one_pass():
        try:
            results.extend(schedule.run_due(platform.uow).results)
        except Exception as exc:  # a lost race must be a clean skip, not an error
            errors.append(exc)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(r.name for r in results) == ["attachment_purge", "progress_reports",
                                               "weekly_dispatch"]
    assert len(_instances(platform, "progress_report")) == 3


def test_the_worker_runs_the_due_entries(county, clock):
    platform = county
    clock.set(DECEMBER_REQUESTS)
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(platform.uow, clock),
                              kwargs={"poll": 0.05, "stop": stop, "log": lines.append})
    thread.start()
    deadline = time.monotonic() + 30
    while not any(line.startswith("schedule ") for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    assert "schedule progress_reports 2026-12: done" in lines
    with platform.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(ProcessInstance)).scalar() == 3


def test_a_county_set_up_before_a_piece_of_work_existed_gets_its_entry_at_the_next_pass(county):
    platform = county
    with platform.uow() as uow:
        uow.begin_write()
        uow.session.delete(uow.session.get(ScheduleEntry, "attachment_purge"))
        uow.commit()
    report = schedule.run_due(platform.uow)
    assert report.added == ["attachment_purge"]
    assert _entry(platform, "attachment_purge").next_run_at is not None
    assert schedule.run_due(platform.uow).added == []
