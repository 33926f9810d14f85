"""The board's projections kept at save equal what the base tables say, after real service
calls: each field's investment per month (schedules set and replaced, progress reported
through the process and corrected, a project moved to another field) and each field's plates
per month (plates evaluated and evaluated again, a project moved, off the map and back)."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.bpm import inbox, runtime, task_actions
from engine.core.identity import Actor
from engine.county import field_months, plates, projects, registry
from engine.county.field_months import FieldInvestment, FieldPlates
from engine.county.projects import (Project, ProgressReport, ProjectPlate, ScheduleMonth,
                                    add_project, on_battle_map, record_progress, set_schedule)
from engine.county.reports import battle_map

OFFICE = Actor.of("office1", "office")
UNIT = Actor.of("unit_materials", "unit:co_materials")


def _kept(session) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.sub_command, r.month): (r.planned, r.actual)
            for r in session.execute(select(FieldInvestment)).scalars()
            if r.planned or r.actual}


def _recomputed(session) -> dict[tuple[str, str], tuple[int, int]]:
    """Each field's months summed from the schedules and reports, by the projects' field now."""
    sums: dict[tuple[str, str], list[int]] = {}
    for n, (model, column) in enumerate(((ScheduleMonth, ScheduleMonth.planned_investment),
                                         (ProgressReport, ProgressReport.actual_investment))):
        for field, month, amount in session.execute(
                select(Project.sub_command, model.month, func.sum(column))
                .join(Project, Project.code == model.project_code)
                .group_by(Project.sub_command, model.month)):
            sums.setdefault((field, month), [0, 0])[n] += int(amount)
    return {key: tuple(value) for key, value in sums.items() if any(value)}


def _write(platform, act) -> None:
    with platform.uow() as uow:
        uow.begin_write()
        act(uow)
        uow.commit()


def _report_through_the_process(platform, month: str, amount: int) -> None:
    with platform.uow() as uow:
        runtime.start_instance(uow, "progress_report", OFFICE, business_key=f"PROGRESS-{month}",
                               data={"project_code": "P-1", "project_name": "新材料项目",
                                     "project_unit": "co_materials",
                                     "sub_command": "sc_industry", "month": month})
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, UNIT)[0]
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, UNIT, {"actual_investment": amount,
                                                   "milestone_done": False,
                                                   "progress_text": "主体施工"})


def _history(platform) -> None:
    """Schedules set, replaced and emptied; reports filed, by the process too, and corrected;
    P-1 moved to another field by the registry and back by the seed."""
    _write(platform, lambda uow: set_schedule(uow, "P-1", [
        ("2026-10", 100, "基础完工"), ("2026-11", 200, None), ("2026-12", 300, None)], "office1"))
    _write(platform, lambda uow: set_schedule(uow, "P-2", [("2026-10", 50, None)], "office1"))
    _write(platform, lambda uow: record_progress(uow, "P-1", "2026-10", 120, True, None,
                                                 "unit_materials"))
    _report_through_the_process(platform, "2026-11", 80)
    _write(platform, lambda uow: record_progress(uow, "P-1", "2026-11", 95, False, "更正",
                                                 "office1"))  # a correction
    _write(platform, lambda uow: record_progress(uow, "P-2", "2026-10", 40, False, None,
                                                 "unit_materials"))
    _write(platform, lambda uow: set_schedule(uow, "P-1", [  # replaced: one month gone
        ("2026-10", 100, "基础完工"), ("2026-11", 250, None), ("2027-01", 400, None)], "office1"))
    _write(platform, lambda uow: registry.update_project(uow, OFFICE, "P-1",
                                                         {"sub_command": "sc_infra"}))
    _write(platform, lambda uow: record_progress(uow, "P-1", "2026-12", 60, False, None,
                                                 "office1"))
    _write(platform, lambda uow: add_project(  # seeded again, in its first field
        uow.session, "P-1", "新材料项目", sub_command="sc_industry", stage="construction",
        township="t_fucheng", lead_department="gxj", project_unit="co_materials",
        specialist=None, key_level="city", planned_investment=1200))
    _write(platform, lambda uow: set_schedule(uow, "P-2", [], "office1"))


def test_field_investment_equals_the_schedules_and_reports_after_service_calls(county):
    _history(county)
    with county.uow() as uow:
        kept = _kept(uow.session)
        assert kept == _recomputed(uow.session)
        assert kept[("sc_industry", "2026-11")] == (250, 95)  # the correction, not both
        assert kept[("sc_industry", "2026-12")] == (0, 60)  # reported in sc_infra, moved back
        assert kept[("sc_infra", "2026-10")] == (0, 40)  # P-2's schedule emptied
        assert field_months.field_investment_to_date(uow.session, "2026-11") == {
            "sc_industry": (350, 215), "sc_infra": (0, 40)}


def test_the_rebuild_gives_what_was_kept(county):
    _history(county)
    with county.uow() as uow:
        kept = _kept(uow.session)
        assert field_months.rebuild(uow.session)[0] >= len(kept)
        assert _kept(uow.session) == kept


def test_without_the_upkeep_the_projection_would_differ(county, monkeypatch):
    """The comparison above can fail: with the upkeep switched off it does."""
    monkeypatch.setattr(projects, "add_investment", lambda *args: None)
    _history(county)
    with county.uow() as uow:
        assert _kept(uow.session) != _recomputed(uow.session)


# ---------------------------------------------------------------- each field's plates

def _plates_kept(session) -> dict[tuple[str, str, bool, str], int]:
    return {(r.month, r.sub_command, r.on_map, r.plate): r.projects
            for r in session.execute(select(FieldPlates)).scalars() if r.projects}


def _plates_recomputed(session) -> dict[tuple[str, str, bool, str], int]:
    """The plate rows counted by month, their project's field and place on the map now."""
    counts: dict[tuple[str, str, bool, str], int] = {}
    for row, project in session.execute(select(ProjectPlate, Project).join(
            Project, Project.code == ProjectPlate.project_code)):
        if row.plate is not None:
            key = (row.month, project.sub_command, on_battle_map(project), row.plate)
            counts[key] = counts.get(key, 0) + 1
    return counts


def _board_counts(platform, username: str, *groups: str) -> dict[str, dict[str, int]]:
    with platform.uow() as uow:
        board = battle_map(uow, Actor.of(username, *groups), "2026-11")
        return {f.code: f.counts for f in board.fields}


def _plate_history(platform) -> None:
    """Plates of two months evaluated, one again after P-1 fell behind; P-1 moved to another
    field, P-2 taken off the map and put back on, P-3 (an enterprise's) put on the map."""
    _write(platform, lambda uow: set_schedule(uow, "P-1", [("2026-10", 100, None),
                                                           ("2026-11", 100, None)], "office1"))
    _write(platform, lambda uow: set_schedule(uow, "P-2", [("2026-10", 50, None)], "office1"))
    _write(platform, lambda uow: record_progress(uow, "P-1", "2026-10", 100, True, None,
                                                 "unit_materials"))
    _write(platform, lambda uow: record_progress(uow, "P-1", "2026-11", 100, True, None,
                                                 "unit_materials"))
    for month in ("2026-10", "2026-11"):
        _write(platform, lambda uow: plates.evaluate_plates(uow, month, "timer"))
    _write(platform, lambda uow: record_progress(uow, "P-1", "2026-11", 10, False, "更正",
                                                 "office1"))
    _write(platform, lambda uow: plates.evaluate_plates(uow, "2026-11", "timer"))  # again
    _write(platform, lambda uow: registry.update_project(uow, OFFICE, "P-1",
                                                         {"sub_command": "sc_infra"}))
    _write(platform, lambda uow: registry.update_project(uow, OFFICE, "P-2",
                                                         {"funding": "enterprise"}))
    _write(platform, lambda uow: add_project(  # seeded again: on the map, in sc_industry
        uow.session, "P-2", "供热管网", sub_command="sc_industry", stage="construction",
        township="t_fucheng", lead_department="zj", project_unit="co_materials",
        specialist=None, funding="government", planned_investment=600))
    _write(platform, lambda uow: registry.update_project(uow, OFFICE, "P-2",
                                                         {"sub_command": "sc_infra"}))
    _write(platform, lambda uow: registry.update_project(uow, OFFICE, "P-2",
                                                         {"key_level": "none",
                                                          "funding": "enterprise"}))
    _write(platform, lambda uow: registry.update_project(uow, OFFICE, "P-3",
                                                         {"key_level": "county"}))


def test_field_plates_equal_the_plate_rows_after_service_calls(county):
    _plate_history(county)
    with county.uow() as uow:
        kept = _plates_kept(uow.session)
        assert kept == _plates_recomputed(uow.session)
        assert kept[("2026-11", "sc_infra", True, "under_reminder")] == 1  # P-1, moved
        assert kept[("2026-11", "sc_infra", False, "under_reminder")] == 1  # P-2, off the map
        assert field_months.rebuild(uow.session)[1] == len(kept)
        assert _plates_kept(uow.session) == kept
    # the board counts the map's projects of each field; P-3 has no plate yet
    none = {"blue": 0, "yellow": 0, "red": 0, "under_reminder": 0}
    assert _board_counts(county, "supervisor1", "supervisor") == {
        "sc_industry": {**none, "none": 1}, "sc_infra": {**none, "under_reminder": 1, "none": 0}}
    # a sub-commander sees its field whole, and another field's project of its own unit
    assert _board_counts(county, "deputy", "sub_commander@sc_industry",
                         "unit:co_materials") == {
        "sc_industry": {**none, "none": 1}, "sc_infra": {**none, "under_reminder": 1, "none": 0}}
    assert _board_counts(county, "deputy", "sub_commander@sc_infra") == {
        "sc_infra": {**none, "under_reminder": 1, "none": 0}}
    assert _board_counts(county, "materials", "unit:co_materials") == {
        "sc_industry": {**none, "none": 1}, "sc_infra": {**none, "under_reminder": 1, "none": 0}}


def test_without_the_upkeep_the_plate_counts_would_differ(county, monkeypatch):
    monkeypatch.setattr(plates, "count_plates", lambda *args: None)
    monkeypatch.setattr(projects, "count_plates", lambda *args: None)
    _plate_history(county)
    with county.uow() as uow:
        assert _plates_kept(uow.session) != _plates_recomputed(uow.session)
