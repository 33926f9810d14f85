"""Dispatch reports, bulletins, agendas with decisions, and the double assessment."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.county import agendas, assessment, dispatch
from engine.county.awards import QuarterAward
from engine.core.errors import NotFoundError, PermissionDeniedError
from engine.county.issue_ledger import IssueLedgerRow
from engine.core.models import AuditEvent
from engine.county.plates import evaluate_plates
from engine.county.projects import record_progress, set_schedule
from engine.core.workcalendar import SHANGHAI

from ..processes.helpers import OFFICE, sub_commander

DAY = date(2026, 12, 1)


def _at(y, m, d):
    return datetime(y, m, d, 10, tzinfo=SHANGHAI)


def _issue(n, field, rung, opened, cleared=None, due=None, step="assigned"):
    return IssueLedgerRow(instance_id=n, title=f"问题{n}", sub_command=field, rung=rung,
                          project_code="P-1" if field == "sc_industry" else "P-2",
                          project_name="项目", step=step, opened_at=opened, cleared_at=cleared,
                          due_at=due, updated_at=opened, source_version=1)


@pytest.fixture
def seeded(county):
    """Schedules and progress for Oct–Nov, November's plates, issues, last quarter's awards."""
    with county.uow() as uow:
        uow.begin_write()
        for code, plan, done in (("P-1", 100, [100, 120]), ("P-2", 50, [20, 10]),
                                 ("P-3", 10, [10, 10])):
            set_schedule(uow, code, [("2026-10", plan, None), ("2026-11", plan, None)], "office1")
            for month, amount in zip(("2026-10", "2026-11"), done):
                record_progress(uow, code, month, amount, True, None, "unit")
        uow.session.flush()
        evaluate_plates(uow, "2026-11", "timer", start_followups=False)
        uow.session.add_all([
            _issue(1, "sc_industry", 3, _at(2026, 11, 30)),                       # this week, rung 3
            _issue(2, "sc_industry", 2, _at(2026, 11, 2), cleared=_at(2026, 12, 1),
                   step="cleared"),                                               # cleared this week
            _issue(3, "sc_infra", 4, _at(2026, 10, 1), due=_at(2026, 11, 20)),     # overdue, rung 4
            _issue(4, "sc_infra", 3, _at(2026, 10, 1), cleared=_at(2026, 10, 9), step="cleared"),
        ])
        uow.session.add(QuarterAward(quarter="2026-Q3", project_code="P-1", award="antelope",
                                     by="county_head", at=_at(2026, 10, 10)))
        uow.session.add(QuarterAward(quarter="2026-Q3", project_code="P-2", award="snail",
                                     by="county_head", at=_at(2026, 10, 10)))
        uow.commit()
    return county


def test_a_week_dispatch_report_counts_what_was_seeded(seeded):
    with seeded.uow() as uow:
        report = dispatch.dispatch_report(uow, "week", DAY)
    assert (report.start, report.end, report.plate_month) == (date(2026, 11, 30),
                                                               date(2026, 12, 6), "2026-11")
    rows = {r.code: r for r in report.rows}
    industry, infra = rows["sc_industry"], rows["sc_infra"]
    assert (industry.projects, industry.stages["construction"]) == (2, 2)
    assert industry.plates["blue"] == 1 and infra.plates["under_reminder"] == 1
    assert (industry.planned, industry.actual, industry.percent) == (220, 240, 109)
    assert (infra.planned, infra.actual) == (100, 30)
    assert (industry.opened, industry.cleared, industry.overdue) == (1, 1, 0)
    assert (infra.opened, infra.cleared, infra.overdue) == (0, 0, 1)
    assert (industry.antelope, infra.snail) == (1, 1)
    assert report.totals.planned == 320 and report.totals.opened == 1


def test_ten_day_periods_and_the_bulletin_highlights(seeded):
    assert dispatch.period_bounds("tenday", date(2026, 11, 25)) == (date(2026, 11, 21),
                                                                    date(2026, 11, 30))
    assert dispatch.period_bounds("tenday", date(2026, 12, 5))[1] == date(2026, 12, 10)
    with seeded.uow() as uow:
        bulletin = dispatch.dispatch_report(uow, "month", date(2026, 10, 1))
    assert bulletin.title == "月通报" and {"晒工作", "亮成绩", "揭短板"} == set(bulletin.highlights)
    infra = next(r for r in bulletin.rows if r.code == "sc_infra")
    assert (infra.opened, infra.cleared) == (2, 1)
    assert any("供热管网" in line for line in bulletin.highlights["揭短板"])


def test_the_xlsx_has_the_same_rows_as_the_screen(seeded):
    with seeded.uow() as uow:
        report = dispatch.dispatch_report(uow, "week", DAY)
    sheet = load_workbook(BytesIO(dispatch.to_xlsx(report))).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1] == dispatch.HEADERS and "分指挥部" in rows[1][0]
    expected = [[c if c != "" else None for c in r.cells()] for r in [*report.rows, report.totals]]
    assert rows[2:] == expected


def test_agendas_take_escalated_issues_and_plated_projects_of_their_level(seeded):
    with seeded.uow() as uow:
        field = agendas.agenda(uow, "sub_command:sc_industry", DAY)
        hq = agendas.agenda(uow, "headquarters", DAY)
    assert field.meeting_key == "sub_command:sc_industry@2026-12"
    assert [i.ref for i in field.items] == ["issue:1"]
    assert hq.meeting_key == "headquarters@2026-Q4" and [i.ref for i in hq.items] == ["issue:3"]
    with seeded.uow() as uow, pytest.raises(NotFoundError):
        agendas.agenda(uow, "board_of_nobody", DAY)


def test_decisions_are_recorded_audited_and_limited_to_who_chairs(seeded):
    with seeded.uow() as uow:
        agendas.record_decision(uow, sub_commander("sc_industry"), "sub_command:sc_industry",
                                DAY, "issue:1", "限期两周解决")
    with seeded.uow() as uow, pytest.raises(PermissionDeniedError):
        agendas.record_decision(uow, sub_commander("sc_infra"), "sub_command:sc_industry",
                                DAY, "issue:1", "越权")
    with seeded.uow() as uow, pytest.raises(NotFoundError):
        agendas.record_decision(uow, OFFICE, "headquarters", DAY, "issue:1", "不在议程")
    with seeded.uow() as uow:
        item = agendas.agenda(uow, "sub_command:sc_industry", DAY).items[0]
        audit = uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "meeting_decision_recorded")).scalars().all()
    assert [(d.decision, d.by) for d in item.decisions] == [("限期两周解决", "commander_sc_industry")]
    assert len(audit) == 1


def test_the_double_assessment_counts_industrial_projects_per_unit(seeded):
    with seeded.uow() as uow:
        table = assessment.assessment(uow)
    rows = {(r.role, r.code): r for r in table.rows}
    gxj, zj = rows[("主管部门", "gxj")], rows[("主管部门", "zj")]
    assert (gxj.projects, gxj.industrial_projects, gxj.industrial_share) == (2, 2, 100)
    assert gxj.industrial_plates["blue"] == 1 and gxj.actual_to_date == 240
    assert (zj.industrial_projects, zj.industrial_share) == (0, 0)
    town = rows[("属地乡镇", "t_fucheng")]
    assert town.projects == 3 and town.industrial_share == round(1300 * 100 / 1900)
