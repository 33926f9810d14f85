"""The supervision desk over the projected ledger: board, ledger, 13710 desk, county head, actions."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.bpm import task_actions
from engine.bpm.changes import finished_ids, summarise
from engine.county import desk_actions, supervision_desk
from engine.core.audit import history
from engine.core.errors import InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError
from engine.county.issue_ledger import (
    InstructionDeskRow, IssueLedgerRow, IssueView, project_supervision, view_of, refresh_projections,
    stale_instances, IssueClearance, clearance_missing,
)
from engine.core.models import ProcessInstance
from engine.county.policy import scope_of
from engine.core.notifications import Notification
from engine.bpm.runtime import restore
from engine.core.workcalendar import WorkingCalendar

from ..conftest import SHANGHAI
from ..processes.helpers import (
    COUNTY_HEAD, SUPERVISOR, complete, deploy_all, fire, start, sub_commander, unit_member,
)

CALENDAR = WorkingCalendar()
TOWNSHIP = unit_member("t_magedang")
PINGCHENG = unit_member("t_pingcheng")
CULTURE = sub_commander("sc_culture")
RURAL = sub_commander("sc_rural")
COMMIT = {"plan": "明确责任人，限期完成补偿", "promised_date": "2026-12-10"}


def register(platform, key, scope="unit", unit="t_magedang", field="sc_culture", severity="normal"):
    """Register an issue and bring the ledger up to date."""
    issue = start(platform, "issue_lifecycle", {
        "title": f"问题{key}", "project_code": "XM-2026-006", "scope": scope, "severity": severity,
        "responsible_unit": unit, "sub_command": field, "township": unit},
        business_key=key, actor=SUPERVISOR)
    refresh(platform)
    return issue.id


def refresh(platform):
    with platform.uow() as uow:
        return refresh_projections(uow)


def board(platform, actor, **filters):
    refresh(platform)
    with platform.uow() as uow:
        return supervision_desk.overdue_board(uow, actor, supervision_desk.BoardFilters(**filters), CALENDAR)


def row_of(platform, instance_id) -> IssueView:
    with platform.uow() as uow:
        return view_of(uow.session.get(IssueLedgerRow, instance_id), IssueView)


@pytest.fixture
def desk(platform):
    deploy_all(platform)
    return platform


def test_the_ledger_row_follows_the_issue_through_its_four_steps(desk, clock):
    issue = register(desk, "I-1")
    row = row_of(desk, issue)
    assert (row.step, row.rung, row.responsible_unit, row.sub_command) == (
        "assigned", 2, "t_magedang", "sc_culture")
    assert row.due_at == datetime(2026, 12, 15, 23, 59, 59, tzinfo=SHANGHAI)
    complete(desk, TOWNSHIP, "commit_plan", COMMIT)
    refresh(desk)
    row = row_of(desk, issue)
    assert (row.step, str(row.promised_date)) == ("committed", "2026-12-10")
    complete(desk, TOWNSHIP, "report_resolution", {"resolution": "已发放", "evidence": "清单"})
    refresh(desk)
    assert row_of(desk, issue).step == "reported"
    clock.set(datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI))
    complete(desk, SUPERVISOR, "verify_issue", {"verify_decision": "cleared", "verify_opinion": "已核实"})
    refresh(desk)
    row = row_of(desk, issue)
    assert row.step == "cleared" and row.cleared_at is not None
    with desk.uow() as uow:
        assert stale_instances(uow.session) == []


def test_the_board_after_a_scripted_sequence_of_overdue_events(desk, clock):
    on_site = register(desk, "I-site", scope="site", severity="minor")  # rung 1, one day
    own = register(desk, "I-unit")  # rung 2, ten days
    cross = register(desk, "I-cross", scope="cross", unit="t_pingcheng", field="sc_rural")  # rung 3
    county = register(desk, "I-county", scope="county")  # rung 4
    # Wednesday: the rung-1 issue is due today (due soon), nothing overdue yet.
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    items = board(desk, SUPERVISOR).items
    assert [(i.ref, i.sla) for i in items] == [(str(on_site), "due_soon")]
    # Thursday: overdue by one working day, the timer reminds the unit.
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI))
    fire(desk)
    current = board(desk, SUPERVISOR)
    (item,) = current.items
    assert (item.rung, item.sla, item.overdue_days, item.reminder_count) == (1, "overdue", 1, 1)
    # Friday: past the grace the issue climbs to rung 2 with a new deadline: off the board.
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI))
    fire(desk)
    assert board(desk, SUPERVISOR).items == []
    assert row_of(desk, on_site).rung == 2
    # 2026-12-16: the rung-2 issue is a working day late, the escalated one due tomorrow.
    clock.set(datetime(2026, 12, 16, 10, 0, tzinfo=SHANGHAI))
    current = board(desk, SUPERVISOR)
    assert [(int(i.ref), i.sla, i.overdue_days) for i in current.items] == [
        (own, "overdue", 1), (on_site, "due_soon", 0)]
    # Christmas: everything overdue; groupings by unit and by field.
    clock.set(datetime(2026, 12, 24, 10, 0, tzinfo=SHANGHAI))
    current = board(desk, SUPERVISOR)
    by_ref = {int(i.ref): i for i in current.items}
    assert set(by_ref) == {on_site, own, cross} and by_ref[own].overdue_days == 7
    assert {(i.ref, i.rung) for i in current.items} >= {(str(own), 2), (str(cross), 3)}
    assert {g.code: g.total for g in current.by_unit} == {"t_magedang": 2, "t_pingcheng": 1}
    assert {g.code: g.overdue for g in current.by_sub_command} == {"sc_culture": 2, "sc_rural": 1}
    assert county not in by_ref  # twenty days at the county-head rung
    # Filters and scopes.
    assert [int(i.ref) for i in board(desk, SUPERVISOR, rung=3).items] == [cross]
    assert {int(i.ref) for i in board(desk, SUPERVISOR, sub_command="sc_culture").items} == {on_site, own}
    assert [int(i.ref) for i in board(desk, RURAL).items] == [cross]
    assert {int(i.ref) for i in board(desk, CULTURE).items} == {on_site, own}
    assert {int(i.ref) for i in board(desk, PINGCHENG).items} == {cross}
    assert board(desk, unit_member("nyj")).items == []


def test_remind_escalate_list_and_lift_are_audited_and_notified(desk, clock):
    issue = register(desk, "I-2")
    with desk.uow() as uow:
        with pytest.raises(TaskDataError):
            desk_actions.escalate_issue(uow, SUPERVISOR, issue, "  ")
    with desk.uow() as uow:
        with pytest.raises(NotFoundError):
            desk_actions.escalate_issue(uow, RURAL, issue, "不归我管")
    with desk.uow() as uow:
        with pytest.raises(PermissionDeniedError):
            desk_actions.list_issue(uow, CULTURE, issue, "分指挥长不挂牌")
    with desk.uow() as uow:
        desk_actions.remind_item(uow, SUPERVISOR, "issue", str(issue), "请加快")
    with desk.uow() as uow:
        period = desk_actions.list_issue(uow, SUPERVISOR, issue, "群众反映强烈")
    row = row_of(desk, issue)
    assert row.listed and row.listed_due_at == period.due_at == datetime(
        2026, 12, 8, 23, 59, 59, tzinfo=SHANGHAI)
    assert [i.ref for i in board(desk, SUPERVISOR).listed] == [str(issue)]
    with desk.uow() as uow:
        with pytest.raises(InvalidStateError):
            desk_actions.list_issue(uow, SUPERVISOR, issue, "再挂一次")
    with desk.uow() as uow:
        assert desk_actions.escalate_issue(uow, SUPERVISOR, issue, "跨乡镇协调") == 3
    row = row_of(desk, issue)
    assert row.rung == 3 and row.handler == "sub_commander@sc_culture" and row.listed
    with desk.uow() as uow:
        desk_actions.lift_listing(uow, SUPERVISOR, issue, "已明确分指挥部牵头")
    assert not row_of(desk, issue).listed
    assert board(desk, SUPERVISOR).listed == []
    with desk.uow() as uow:
        actions = [e.action for e in history(uow.session, instance_id=issue)]
        kinds = [n.kind for n in uow.session.execute(
            select(Notification).where(Notification.instance_id == issue)).scalars()]
    for action in ("reminded", "issue_listed", "issue_escalation_requested", "escalated",
                   "issue_listing_lifted"):
        assert action in actions
    assert {"reminder", "info", "escalated"} <= set(kinds)


def test_the_county_head_sees_what_reached_the_top_with_its_history(desk):
    issue = register(desk, "I-3", scope="cross")
    with desk.uow() as uow:
        desk_actions.escalate_issue(uow, SUPERVISOR, issue, "需县长协调省电力公司")
    with desk.uow() as uow:
        with pytest.raises(InvalidStateError):
            desk_actions.escalate_issue(uow, SUPERVISOR, issue, "已到顶")
    register(desk, "I-4")
    with desk.uow() as uow:
        (detail,) = supervision_desk.county_head_issues(uow, COUNTY_HEAD)
    assert detail.row.instance_id == issue and detail.row.rung == 4
    assert [(e.from_rung, e.to_rung) for e in detail.escalations] == [("3", "4")]
    assert any(h.action == "issue_escalation_requested" for h in detail.history)


def test_ledger_clearance_rate_and_average_working_days(desk, clock):
    first, second = register(desk, "I-5"), register(desk, "I-6")
    register(desk, "I-7", scope="cross", unit="t_pingcheng", field="sc_rural")
    complete(desk, TOWNSHIP, "commit_plan", COMMIT, instance_id=first)
    complete(desk, TOWNSHIP, "report_resolution", {"resolution": "已完成", "evidence": "照片"},
             instance_id=first)
    clock.set(datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))  # five working days later
    complete(desk, SUPERVISOR, "verify_issue", {"verify_decision": "cleared", "verify_opinion": "好"})
    refresh(desk)
    with desk.uow() as uow:
        rows = supervision_desk.ledger(uow, SUPERVISOR)
        assert len(rows) == 3
        stats = {s.code: s for s in supervision_desk.clearance(rows, CALENDAR, lambda r: r.responsible_unit)}
        assert (stats["t_magedang"].total, stats["t_magedang"].cleared) == (2, 1)
        assert stats["t_magedang"].rate == 0.5 and stats["t_magedang"].average_days == 5
        assert stats["t_pingcheng"].rate == 0 and stats["t_pingcheng"].average_days is None
        # the page's figures come from the tally kept at each save: the same as from the rows
        for by, key in (("unit", lambda r: r.responsible_unit), ("field", lambda r: r.sub_command)):
            assert supervision_desk.ledger_clearance(
                uow, SUPERVISOR, supervision_desk.BoardFilters(), by) == \
                supervision_desk.clearance(rows, CALENDAR, key)
        township = supervision_desk.BoardFilters(township="t_pingcheng")  # counted from the rows
        assert supervision_desk.ledger_clearance(uow, SUPERVISOR, township, "unit") == \
            supervision_desk.clearance([r for r in rows if r.township == "t_pingcheng"],
                                       CALENDAR, lambda r: r.responsible_unit)
        assert supervision_desk.ledger_clearance(uow, TOWNSHIP, supervision_desk.BoardFilters(),
                                                 "unit") == [stats["t_magedang"]]
        assert supervision_desk.ledger_count(uow, SUPERVISOR) == 3
        assert [r.instance_id for r in supervision_desk.ledger(uow, SUPERVISOR, limit=1, offset=1)] \
            == [second]
    cancelled = register(desk, "I-7c", unit="t_pingcheng", field="sc_rural")
    with desk.uow() as uow:
        task_actions.cancel(uow, cancelled, SUPERVISOR, "重复登记")
    refresh(desk)
    with desk.uow() as uow:  # the count (tally + cancelled rows) is what the ledger lists
        for filters in (supervision_desk.BoardFilters(),
                        supervision_desk.BoardFilters(unit="t_pingcheng"),
                        supervision_desk.BoardFilters(sub_command="sc_rural"),
                        supervision_desk.BoardFilters(step="cancelled"),
                        supervision_desk.BoardFilters(township="t_magedang")):
            for who in (SUPERVISOR, TOWNSHIP):
                assert supervision_desk.ledger_count(uow, who, filters) == \
                    len(supervision_desk.ledger(uow, who, filters)), (who, filters)
        assert supervision_desk.ledger_count(uow, SUPERVISOR) == 4
        assert [r.instance_id for r in supervision_desk.ledger(uow, TOWNSHIP)] == [second, first]
        assert len(supervision_desk.ledger(uow, SUPERVISOR, supervision_desk.BoardFilters(step="cleared"))) == 1
        with pytest.raises(NotFoundError):
            supervision_desk.issue_detail(uow, RURAL, first)


def test_the_13710_desk_shows_clocks_next_deadline_and_rating(desk, clock):
    item = start(desk, "instruction_13710", {
        "title": "县长批示：供热管网改造入冬前完工", "source": "county_head", "instruction": "入冬前完工",
        "complexity": "ordinary", "responsible_unit": "zj"}, business_key="13710-1", actor=SUPERVISOR)
    refresh(desk)
    with desk.uow() as uow:
        (entry,) = supervision_desk.instruction_desk(uow, SUPERVISOR, CALENDAR)
    assert entry.next_clock.name == "assign" and entry.row.step == "registered"
    complete(desk, SUPERVISOR, "assign_instruction", {"assign_note": "按时限办理"})
    zj = unit_member("zj")
    complete(desk, zj, "report_progress", {"progress": "80%"})
    refresh(desk)
    with desk.uow() as uow:
        (entry,) = supervision_desk.instruction_desk(uow, zj, CALENDAR)
        assert supervision_desk.instruction_desk(uow, unit_member("wlj"), CALENDAR) == []
    assert entry.next_clock.name == "result" and entry.clocks[1].done_at is not None
    complete(desk, zj, "report_result", {"result_kind": "result", "report": "已完工"})
    complete(desk, SUPERVISOR, "review_report", {"review_decision": "close", "rating": "good",
                                                 "review_opinion": "按期办结"})
    refresh(desk)
    with desk.uow() as uow:
        (entry,) = supervision_desk.instruction_desk(uow, SUPERVISOR, CALENDAR)
        closed_at = uow.session.get(InstructionDeskRow, item.id).closed_at
    assert (entry.row.step, entry.row.rating, entry.next_clock) == ("closed", "good", None)
    assert closed_at is not None


def test_the_projection_called_at_save_keeps_the_ledger_current(desk):
    issue = start(desk, "issue_lifecycle", {
        "title": "t", "project_code": "XM-2026-006", "scope": "unit", "severity": "normal",
        "responsible_unit": "t_magedang", "sub_command": "sc_culture"}, actor=SUPERVISOR)
    with desk.uow() as uow:
        uow.begin_write()
        row = uow.session.get(ProcessInstance, issue.id)
        workflow = restore(uow.session, row)
        project_supervision(uow.session, summarise(row, workflow, finished_ids(workflow), (),
                                                   uow.clock.now()))
        uow.commit()
    with desk.uow() as uow:
        assert stale_instances(uow.session) == []


def test_scopes_come_from_groups():
    assert scope_of(SUPERVISOR).everything and scope_of(COUNTY_HEAD).everything
    assert scope_of(CULTURE).sub_commands == {"sc_culture"} and not scope_of(CULTURE).may_list
    assert scope_of(TOWNSHIP).units == {"t_magedang"} and not scope_of(TOWNSHIP).may_remind


def test_the_clearance_tally_is_filled_again_when_it_never_was(desk, clock):
    first = register(desk, "I-8")
    register(desk, "I-9", scope="cross", unit="t_pingcheng", field="sc_rural")
    complete(desk, TOWNSHIP, "commit_plan", COMMIT, instance_id=first)
    complete(desk, TOWNSHIP, "report_resolution", {"resolution": "已完成", "evidence": "照片"},
             instance_id=first)
    clock.set(datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))
    complete(desk, SUPERVISOR, "verify_issue", {"verify_decision": "cleared", "verify_opinion": "好"})
    with desk.uow() as uow:
        kept = supervision_desk.ledger_clearance(uow, SUPERVISOR, supervision_desk.BoardFilters(),
                                                 "unit")
    with desk.uow() as uow:  # as right after the migration: no tally, no days
        uow.session.execute(IssueClearance.__table__.delete())
        uow.session.execute(IssueLedgerRow.__table__.update().values(clear_days=None))
        uow.session.commit()
    with desk.uow() as uow:
        assert clearance_missing(uow.session)
    assert refresh(desk) == 0  # no instance was behind; the tally is filled
    with desk.uow() as uow:
        assert not clearance_missing(uow.session)
        assert supervision_desk.ledger_clearance(
            uow, SUPERVISOR, supervision_desk.BoardFilters(), "unit") == kept
        assert kept[0].average_days == 5
