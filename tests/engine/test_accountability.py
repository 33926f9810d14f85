"""查账: a project's and an instance's audit trail — what belongs, in what order, filtered, and
checked against the hash chain."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from engine.core import organisation
from engine.county import audit_trails, policy, projects
from engine.county.audit_trails import TrailFilters
from engine.county.awards import record_nomination
from engine.core.errors import NotFoundError
from engine.core.identity import Actor
from engine.core.models import AuditEvent

from ..conftest import SHANGHAI
from ..processes.helpers import (
    OFFICE, SPECIALIST, SUPERVISOR, approver, complete, deploy_all, start, sub_commander,
)

READER = Actor.of("duban1", "supervisor")


def _project_data(code: str, field: str) -> dict:
    return {"project_code": code, "project_name": f"项目{code}", "funding": "enterprise",
            "project_unit": "co_x", "sub_command": field}


@pytest.fixture
def county(platform, clock):
    """Two projects of two fields, a permit request and an issue each, a 13710 instruction
    with no project, and project events (stage move, progress) on both."""
    deploy_all(platform)
    with platform.uow() as uow:
        for code, name, kind in [("sc_industry", "工业分指挥部", "sub_command"),
                                 ("sc_infra", "基础设施分指挥部", "sub_command"),
                                 ("gxj", "县工信局", "department"), ("t_a", "甲镇", "township"),
                                 ("co_x", "示例公司", "company")]:
            organisation.add_unit(uow.session, code, name, kind)
        uow.session.flush()
        organisation.add_user(uow.session, "duban1", "督办人员甲", "mima-2026-x", unit=None,
                              roles=["supervisor"], now=clock.now())
        for code, field in (("P-1", "sc_industry"), ("P-2", "sc_infra")):
            projects.add_project(uow.session, code, f"项目{code}", sub_command=field,
                                 stage="prework", township="t_a", lead_department="gxj",
                                 project_unit="co_x", specialist=None)
        uow.commit()
    ids = {}
    ids["permit1"] = start(platform, "permit_approval", _project_data("P-1", "sc_industry"),
                           business_key="PERMIT-P-1", actor=OFFICE).id
    complete(platform, OFFICE, "receive_request", {
        "need_planning": True, "need_land": False, "need_energy": False,
        "need_environment": False, "need_construction": False}, instance_id=ids["permit1"])
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, approver("zrzy"), "approval",
             {"approval_decision": "return", "approval_opinion": "总平面图需补正"})
    ids["permit2"] = start(platform, "permit_approval", _project_data("P-2", "sc_infra"),
                           business_key="PERMIT-P-2", actor=OFFICE).id
    for key, code, field in (("issue1", "P-1", "sc_industry"), ("issue2", "P-2", "sc_infra")):
        ids[key] = start(platform, "issue_lifecycle", {
            "title": f"{code}的问题", "project_code": code, "scope": "unit", "severity": "normal",
            "responsible_unit": "t_a", "sub_command": field}, business_key=key.upper(),
            actor=SUPERVISOR).id
    ids["order"] = start(platform, "instruction_13710", {
        "title": "县长批示", "source": "county_head", "instruction": "加快进度",
        "complexity": "ordinary", "responsible_unit": "gxj"}, business_key="13710-1",
        actor=SUPERVISOR).id
    clock.advance(timedelta(days=2))
    with platform.uow() as uow:
        projects.move_stage(uow, "P-1", "construction", "office1", "施工许可已办结")
        projects.record_progress(uow, "P-2", "2026-12", 50, False, "P-2进展", "unit_p2")
        uow.commit()
    return ids


def trail_of(platform, code, filters=TrailFilters(), actor=READER, **kw):
    with platform.uow() as uow:
        return audit_trails.project_trail(uow, actor, code, filters, **kw)


def test_a_project_trail_holds_its_instances_and_its_own_events_and_nothing_of_another(
        platform, county):
    trail = trail_of(platform, "P-1")
    assert [i.id for i in trail.instances] == sorted([county["permit1"], county["issue1"]])
    seen = {e.instance_id for e in trail.events}
    assert seen == {county["permit1"], county["issue1"], None}
    assert not seen & {county["permit2"], county["issue2"], county["order"]}
    assert all(e.subject != "project:P-2" for e in trail.events)
    moved = [e for e in trail.events if e.action == "project_stage_moved"]
    assert len(moved) == 1 and moved[0].why == "施工许可已办结" and moved[0].kind == "project"
    assert moved[0].actor == "office1"
    other = trail_of(platform, "P-2")
    assert {e.action for e in other.events if e.instance_id is None} == {"progress_reported"}
    assert all(e.instance_id in (county["permit2"], county["issue2"], None) for e in other.events)


def test_the_permit_items_called_as_subprocesses_are_in_the_request_trail_with_labels(
        platform, county):
    trail = trail_of(platform, "P-1", TrailFilters(instance_id=county["permit1"]))
    assert {e.instance_id for e in trail.events} == {county["permit1"]}
    decided = [e for e in trail.events if e.action == "task_completed"
               and e.task_name.startswith("限时审批：")]
    assert len(decided) == 1
    assert decided[0].why == "总平面图需补正"
    assert ("审批结论", "退回补正") in [(f.label, f.value) for f in decided[0].facts]
    assert decided[0].actor == "approver_zrzy" and decided[0].kind == "permit_approval"


def test_events_come_oldest_first_or_newest_first(platform, county):
    oldest = [e.seq for e in trail_of(platform, "P-1").events]
    assert oldest == sorted(oldest) and len(oldest) > 5
    newest = [e.seq for e in trail_of(platform, "P-1", TrailFilters(newest_first=True)).events]
    assert newest == sorted(oldest, reverse=True)


def test_filters_by_kind_action_actor_and_county_dates(platform, county):
    assert {e.action for e in trail_of(platform, "P-1", TrailFilters(kind="project")).events} \
        == {"project_stage_moved"}
    issues = trail_of(platform, "P-1", TrailFilters(kind="issue_lifecycle")).events
    assert issues and {e.instance_id for e in issues} == {county["issue1"]}
    assert trail_of(platform, "P-1", TrailFilters(kind="instruction_13710")).events == []
    by_approver = trail_of(platform, "P-1", TrailFilters(actor="approver_zrzy")).events
    assert by_approver and {e.actor for e in by_approver} == {"approver_zrzy"}
    started = trail_of(platform, "P-1", TrailFilters(action="instance_started")).events
    assert {e.instance_id for e in started} == {county["permit1"], county["issue1"]}
    # The instances started on 2026-12-01, the stage moved on 2026-12-03 (county time).
    later = trail_of(platform, "P-1", TrailFilters(since=date(2026, 12, 2))).events
    assert [e.action for e in later] == ["project_stage_moved"]
    first_day = trail_of(platform, "P-1", TrailFilters(until=date(2026, 12, 1))).events
    assert first_day and "project_stage_moved" not in {e.action for e in first_day}
    assert all(e.at.astimezone(SHANGHAI).date() == date(2026, 12, 1) for e in first_day)


def test_the_filter_choices_list_every_actor_action_and_kind_of_the_whole_trail(
        platform, county):
    trail = trail_of(platform, "P-1", TrailFilters(kind="project"))
    assert ("duban1", "督办人员甲") not in trail.actors  # duban1 did nothing in P-1
    assert ("approver_zrzy", "approver_zrzy") in trail.actors
    assert {"permit_approval", "issue_lifecycle", "project"} == set(trail.kinds)
    assert "task_completed" in trail.actions and "progress_reported" not in trail.actions


def test_pages_split_a_long_trail(platform, county):
    whole = [e.seq for e in trail_of(platform, "P-1").events]
    first = trail_of(platform, "P-1", page_size=4)
    second = trail_of(platform, "P-1", page=2, page_size=4)
    assert first.total == len(whole) and first.pages == -(-len(whole) // 4)
    assert [e.seq for e in first.events + second.events] == whole[:8]


def test_awards_and_meeting_decisions_naming_the_project_are_in_its_trail(platform, county):
    with platform.uow() as uow:
        record_nomination(uow, "2026Q4", "sc_industry", "P-1", "P-1", "commander_sc_industry")
        uow.audit.record("office1", "meeting_decision_recorded",
                         subject="meeting:headquarters@2026Q4", item="project:P-1",
                         decision="限期整改")
        uow.audit.record("office1", "meeting_decision_recorded",
                         subject="meeting:headquarters@2026Q4", item=f"issue:{county['issue1']}",
                         decision="由分指挥部协调")
        uow.audit.record("office1", "meeting_decision_recorded",
                         subject="meeting:headquarters@2026Q4", item="project:P-2", decision="x")
        uow.commit()
    trail = trail_of(platform, "P-1")
    assert [e.why for e in trail.events if e.kind == "meeting"] == ["限期整改", "由分指挥部协调"]
    assert [e.action for e in trail.events if e.kind == "awards"] == ["award_nominated"]
    assert [e.why for e in trail_of(platform, "P-2").events if e.kind == "meeting"] == ["x"]
    with platform.uow() as uow:
        issue = audit_trails.instance_trail(uow, READER, county["issue1"])
    assert [e.why for e in issue.events if e.kind == "meeting"] == ["由分指挥部协调"]
    assert trail_of(platform, "P-1", TrailFilters(kind="meeting")).total == 2


def test_only_readers_and_the_field_s_sub_commander_read_a_trail(platform, county):
    assert trail_of(platform, "P-1", actor=sub_commander("sc_industry")).events
    with pytest.raises(NotFoundError):
        trail_of(platform, "P-1", actor=sub_commander("sc_infra"))
    with pytest.raises(NotFoundError):
        trail_of(platform, "P-1", actor=SPECIALIST)
    with pytest.raises(NotFoundError):
        trail_of(platform, "NO-SUCH")
    with platform.uow() as uow:
        with pytest.raises(NotFoundError):
            audit_trails.instance_trail(uow, sub_commander("sc_infra"), county["permit1"])
        with pytest.raises(NotFoundError):
            audit_trails.instance_trail(uow, sub_commander("sc_industry"), county["order"])
        assert audit_trails.instance_trail(uow, sub_commander("sc_industry"),
                                             county["issue1"]).events
        assert audit_trails.instance_trail(uow, Actor.of("a", "admin"), county["order"]).events
    assert policy.may_read_trails(READER)
    assert policy.may_read_trails(sub_commander("sc_infra"))
    assert not policy.may_read_trails(SPECIALIST)


def test_a_code_named_only_by_an_instance_has_a_trail_titled_by_its_start_data(
        platform, county):
    instance = start(platform, "issue_lifecycle", {
        "title": "无登记项目的问题", "project_code": "XM-OFF-BOOK", "project_name": "未入库项目",
        "scope": "unit", "severity": "normal", "responsible_unit": "t_a",
        "sub_command": "sc_industry"}, actor=SUPERVISOR)
    trail = trail_of(platform, "XM-OFF-BOOK")
    assert trail.title == "未入库项目" and [i.id for i in trail.instances] == [instance.id]


def test_a_code_that_is_a_prefix_or_a_pattern_matches_nothing_else(platform, county):
    with pytest.raises(NotFoundError):
        trail_of(platform, "P-")
    with pytest.raises(NotFoundError):
        trail_of(platform, "P_1")
    with pytest.raises(NotFoundError):
        trail_of(platform, "%")


def test_the_shown_events_are_checked_against_the_chain(platform, county):
    assert trail_of(platform, "P-1").chain.ok
    events = trail_of(platform, "P-1").events
    edited, gone = events[3].seq, events[6].seq
    with platform.uow() as uow:
        uow.session.execute(update(AuditEvent).where(AuditEvent.seq == edited)
                            .values(actor="someone_else"))
        uow.session.commit()
    chain = trail_of(platform, "P-1").chain
    assert not chain.ok and any(f"seq {edited}: contents were changed" in p for p in chain.problems)
    with platform.uow() as uow:
        uow.session.execute(delete(AuditEvent).where(AuditEvent.seq == gone - 1))
        uow.session.commit()
    problems = trail_of(platform, "P-1").chain.problems
    assert f"event seq {gone}: the event before it (seq {gone - 1}) is missing" in problems


def test_a_deleted_event_of_another_trail_between_shown_events_is_found_missing(
        platform, county):
    shown = {e.seq for e in trail_of(platform, "P-1").events}
    with platform.uow() as uow:
        others = uow.session.scalars(select(AuditEvent.seq).where(
            AuditEvent.seq > min(shown), AuditEvent.seq < max(shown))).all()
    # Neither shown nor right before a shown event: only the count of the span can miss it.
    hidden = [s for s in others if s not in shown and s + 1 not in shown]
    assert hidden, "P-2's events lie between P-1's"
    with platform.uow() as uow:
        uow.session.execute(delete(AuditEvent).where(AuditEvent.seq == hidden[0]))
        uow.session.commit()
    chain = trail_of(platform, "P-1").chain
    assert chain.problems == [f"1 events between seq {min(shown)} and {max(shown)} are missing"]


def test_an_empty_page_checks_nothing_and_is_whole(platform, county):
    trail = trail_of(platform, "P-1", TrailFilters(since=date(2030, 1, 1)))
    assert trail.events == [] and trail.total == 0 and trail.chain.ok and trail.chain.checked == 0
    assert trail.pages == 1


def test_the_clock_s_county_day_decides_the_date_filter(platform, county, clock):
    # 00:30 on the 6th in the county is still the 5th in UTC.
    clock.set(datetime(2026, 12, 6, 0, 30, tzinfo=SHANGHAI))
    with platform.uow() as uow:
        projects.move_stage(uow, "P-1", "completion", "office1", "竣工")
        uow.commit()
    on_sixth = trail_of(platform, "P-1", TrailFilters(since=date(2026, 12, 6),
                                                      until=date(2026, 12, 6))).events
    assert [e.why for e in on_sixth] == ["竣工"]
    assert trail_of(platform, "P-1", TrailFilters(since=date(2026, 12, 5),
                                                  until=date(2026, 12, 5))).events == []


def test_the_ledger_s_word_joins_an_issue_to_a_project_and_a_longer_code_is_another_project(
        platform, county):
    from engine.county.issue_ledger import IssueLedgerRow

    p10 = start(platform, "issue_lifecycle", {
        "title": "P-10的问题", "project_code": "P-10", "scope": "unit", "severity": "normal",
        "responsible_unit": "t_a", "sub_command": "sc_industry"}, actor=SUPERVISOR).id
    assert p10 not in {i.id for i in trail_of(platform, "P-1").instances}
    with platform.uow() as uow:  # e.g. the project was named later, in a task of the issue
        uow.session.execute(update(IssueLedgerRow).where(
            IssueLedgerRow.instance_id == county["issue2"]).values(project_code="P-1"))
        uow.session.commit()
    trail = trail_of(platform, "P-1")
    assert county["issue2"] in {i.id for i in trail.instances}
    assert county["issue2"] in {e.instance_id for e in trail.events}
    with platform.uow() as uow:
        assert audit_trails.instance_project(uow.session, county["issue2"]) == "P-1"
