"""Three-colour plates: the decision table row by row, and a project walked through 4 months."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.bpm import inbox, runtime, task_actions
from engine.county import plates
from engine.ops import schedule
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.county.projects import record_progress, set_schedule
from engine.county.supervision import remind_subject
from engine.core.workcalendar import SHANGHAI

OFFICE = Actor.of("office1", "office")


@pytest.mark.parametrize("on_schedule, reminders, in_a_row, plate", [
    (True, 0, 0, "blue"),
    (True, 5, 3, "blue"),
    (False, 0, 0, "under_reminder"),
    (False, 1, 2, "under_reminder"),
    (False, 2, 0, "yellow"),
    (False, 3, 0, "yellow"),
    (False, 2, 1, "red"),
    (False, 4, 2, "red"),
])
def test_plate_table_gives_each_situation_its_colour(on_schedule, reminders, in_a_row, plate):
    out = plates.decide_plate({"on_schedule": on_schedule, "reminders_last_two_months": reminders,
                               "yellow_months_in_a_row": in_a_row})
    assert out["plate"] == plate
    assert out["plate_name"] == plates.PLATES[plate]


def test_plate_table_matches_nothing_for_a_project_without_schedule():
    assert plates.decide_plate({"on_schedule": None, "reminders_last_two_months": 0,
                                "yellow_months_in_a_row": 0}) == {}


def _open_tasks(platform, element_id):
    with platform.uow() as uow:
        rows = uow.session.execute(select(HumanTask).where(
            HumanTask.element_id == element_id, HumanTask.state.in_(("open", "claimed")))
        ).scalars()
        return [(t.business_key, {c.name for c in t.candidates}) for t in rows]


def _report(platform, code, month, amount):
    with platform.uow() as uow:
        uow.begin_write()
        record_progress(uow, code, month, amount, False, "按计划推进", "unit_materials")
        uow.commit()


def _remind(platform, code, times):
    for _ in range(times):
        with platform.uow() as uow:
            remind_subject(uow, "project", code, "supervisor1", "请加快进度")


def _next_first_working_day(platform, clock):
    """Move the clock to the schedule's next plates run and let the worker's pass run it."""
    with platform.uow() as uow:
        due = uow.session.get(schedule.ScheduleEntry, "monthly_plates").next_run_at
    clock.set(due)
    assert schedule.run_entry(platform.uow, "monthly_plates").outcome == "done"


def test_a_project_goes_blue_under_reminder_yellow_then_red(county, clock):
    platform = county
    # 2026-10-09, after the National Day holiday: the schedule starts, evaluating October first
    clock.advance(days=-53)
    with platform.uow() as uow:
        uow.begin_write()
        set_schedule(uow, "P-1", [("2026-10", 100, "基础完工"), ("2026-11", 200, "主体封顶"),
                                  ("2026-12", 300, "设备进场"), ("2027-01", 300, "试生产")],
                     "office1")
        set_schedule(uow, "P-2", [("2026-10", 50, None)], "office1")
        uow.commit()
    with platform.uow() as uow:
        schedule.ensure_schedule(uow)
        uow.commit()

    _report(platform, "P-1", "2026-10", 120)          # October: ahead of plan
    _report(platform, "P-2", "2026-10", 50)
    _next_first_working_day(platform, clock)
    with platform.uow() as uow:
        october = plates.plates_of_month(uow.session, "2026-10")
    assert october["P-1"].plate == "blue" and october["P-2"].plate == "blue"
    assert "P-3" not in october  # an ordinary enterprise project is not on the battle map

    _report(platform, "P-1", "2026-11", 50)           # November: behind, reminded once
    _remind(platform, "P-1", 1)
    _next_first_working_day(platform, clock)
    with platform.uow() as uow:
        assert plates.plates_of_month(uow.session, "2026-11")["P-1"].plate == "under_reminder"
    assert _open_tasks(platform, "interview") == []

    _remind(platform, "P-1", 2)                        # December: reminded twice, still behind
    _next_first_working_day(platform, clock)
    with platform.uow() as uow:
        december = plates.plates_of_month(uow.session, "2026-12")["P-1"]
    assert december.plate == "yellow"
    assert december.inputs["reminders_last_two_months"] >= 2
    interviews = _open_tasks(platform, "interview")
    assert interviews == [("PLATE-P-1-2026-12", {"sub_commander@sc_industry"})]

    _remind(platform, "P-1", 2)                        # January: yellow again → red
    _next_first_working_day(platform, clock)
    with platform.uow() as uow:
        history = [p.plate for p in plates.plate_history(uow.session, "P-1")]
        assert history == ["blue", "under_reminder", "yellow", "red"]
    assert _open_tasks(platform, "make_statement") == [("PLATE-P-1-2027-01",
                                                        {"department_head@gxj"})]


def test_progress_report_task_records_the_month(county):
    platform = county
    with platform.uow() as uow:
        view = runtime.start_instance(uow, "progress_report", OFFICE, business_key="PROGRESS-P-1",
                                      data={"project_code": "P-1", "project_name": "新材料项目",
                                            "project_unit": "co_materials",
                                            "sub_command": "sc_industry", "month": "2026-11"})
    unit = Actor.of("unit_materials", "unit:co_materials")
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, unit)[0]
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, unit, {"actual_investment": 80,
                                                   "milestone_done": True,
                                                   "progress_text": "主体施工"})
    with platform.uow() as uow:
        from engine.county.projects import ProgressReport
        row = uow.session.get(ProgressReport, ("P-1", "2026-11"))
        assert (row.actual_investment, row.milestone_done, row.reported_by) == (
            80, True, "unit_materials")
    assert view.id


def test_a_progress_report_for_another_company_s_project_is_refused_and_nothing_is_written(
        county):
    """The forged start of the security issue (finding 1), had it got in: the task reaches the
    forging company, and its report of another company's project must not be recorded."""
    from engine.core.errors import PermissionDeniedError
    from engine.county.projects import ProgressReport

    platform = county
    with platform.uow() as uow:
        runtime.start_instance(uow, "progress_report", OFFICE, business_key="PROGRESS-P-1",
                               data={"project_code": "P-1", "project_name": "新材料项目",
                                     "project_unit": "co_solar", "sub_command": "sc_industry",
                                     "month": "2026-11"})
    forger = Actor.of("unit_solar", "unit:co_solar")
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, forger)[0]
    with platform.uow() as uow, pytest.raises(PermissionDeniedError, match="project unit"):
        task_actions.complete(uow, task.id, forger, {"actual_investment": 0,
                                                     "milestone_done": False,
                                                     "progress_text": "伪造"})
    with platform.uow() as uow:
        assert uow.session.get(ProgressReport, ("P-1", "2026-11")) is None
