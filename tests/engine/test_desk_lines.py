"""The 督办台's task lines kept at save (engine/county/desk_lines.py): after real service calls
they are what the desk worked out from the tables before it kept them, and the desk's page
of the most urgent lines is the head of the whole list, with the counts of all of it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.bpm import task_actions
from engine.bpm.projection import OPEN_STATES
from engine.core import org_admin
from engine.core.clock import as_utc
from engine.core.identity import Actor
from engine.core.models import HumanTask
from engine.core.organisation import UserAccount, actor_for
from engine.core.workcalendar import WorkingCalendar
from engine.county import registry, supervision_desk
from engine.county.desk_lines import DeskTask, line_field, line_unit, rebuild_desk_lines
from engine.county.issue_ledger import ISSUE_PROCESS
from engine.ops.demo import load_demo

from ..conftest import SHANGHAI
from ..processes.helpers import complete, fire, start

CALENDAR = WorkingCalendar()
ADMIN = Actor.of("admin", "admin")


def recomputed(platform) -> dict:
    """Every open task's line as the desk works it out in Python from the base tables."""
    with platform.uow() as uow:
        session = uow.session
        tasks = list(session.execute(select(HumanTask).where(
            HumanTask.state.in_(OPEN_STATES), HumanTask.process_key != ISSUE_PROCESS,
            HumanTask.due_at.is_not(None)).options(selectinload(HumanTask.candidates)))
            .scalars())
        context = supervision_desk._TaskContext(session, tasks)
        lines = {}
        for task in tasks:
            project, unit = context.project_of(task.business_key), context.unit_of(task)
            field = project.sub_command if project else (
                unit if unit in context.sub_commands else None)
            lines[task.id] = (task.instance_id, task.process_key, as_utc(task.due_at), unit,
                              field, project.township if project else None,
                              project.code if project else None)
        return lines


def kept(platform) -> dict:
    """The lines as the desk reads them from desk_task."""
    with platform.uow() as uow:
        return {row[0]: (row[1], row[2], as_utc(row[3]), *row[4:]) for row in uow.session.execute(
            select(DeskTask.task_id, DeskTask.instance_id, DeskTask.process_key, DeskTask.due_at,
                   line_unit(), line_field(), DeskTask.township, DeskTask.project_code))}


def same(platform) -> dict:
    """The kept lines, checked against the recomputation (and not empty)."""
    lines = kept(platform)
    assert lines == recomputed(platform)
    return lines


def open_lines(platform) -> list[tuple[str, str | None, list[str]]]:
    """The open tasks that have a line: id, assignee and candidate names."""
    with platform.uow() as uow:
        return [(t.id, t.assignee, sorted(c.name for c in t.candidates))
                for t in uow.session.execute(select(HumanTask).where(
                    HumanTask.state.in_(OPEN_STATES), HumanTask.process_key != ISSUE_PROCESS,
                    HumanTask.due_at.is_not(None)).options(selectinload(HumanTask.candidates))
                    .order_by(HumanTask.created_at, HumanTask.id)).scalars()]


@pytest.fixture
def county(platform):
    load_demo(platform)
    return platform


def test_the_lines_follow_service_calls_claims_projects_accounts_and_the_clock(county, clock):
    lines = same(county)
    assert len(lines) >= 5
    # A new instruction for a project (its key ends in the project's code), then assigned:
    # its next step is the responsible unit's, in the project's field.
    instruction = start(county, "instruction_13710", {
        "title": "县长批示：光伏电站并网前完成送出线路", "source": "county_head",
        "instruction": "按期并网", "complexity": "ordinary", "responsible_unit": "nyj"},
        business_key="13710-XM-2026-004", actor=Actor.of("supervisor1", "supervisor"))
    same(county)
    with county.uow() as uow:
        assigner = actor_for(uow.session, "supervisor1")
    complete(county, assigner, "assign_instruction", {"assign_note": "按时限办理"},
             instance_id=instruction.id)
    lines = same(county)
    ((_id, _key, _due, unit, field, _township, project),) = [
        line for line in lines.values() if line[0] == instruction.id]
    assert (unit, field, project) == ("nyj", "sc_energy", "XM-2026-004")
    # A claim (no save): a line whose groups name no unit goes by its holder's unit, and
    # moves when the account changes unit.
    task, _nobody, groups = next(t for t in open_lines(county) if t[1] is None and t[2] and not any(
        name.startswith("unit:") or "@" in name for name in t[2]))
    with county.uow() as uow:
        holder = next(a for a in uow.session.execute(select(UserAccount).where(
            UserAccount.active.is_(True), UserAccount.unit_code.is_not(None))).scalars()
            if groups[0] in actor_for(uow.session, a.username).groups)
        name, unit_before = holder.username, holder.unit_code
        task_actions.claim(uow, task, actor_for(uow.session, name))
    assert same(county)[task][3] == unit_before
    with county.uow() as uow:
        account = uow.session.get(UserAccount, name)
        grants = [(g.role, g.unit_code) for g in account.grants]
        org_admin.change_account(uow, ADMIN, name, account.display_name, "zj", grants)
    assert same(county)[task][3] == "zj"
    # The project moves to another field: its lines follow.
    with county.uow() as uow:
        registry.update_project(uow, ADMIN, "XM-2026-004", {"sub_command": "sc_industry"})
        uow.commit()
    lines = same(county)
    assert {line[4] for line in lines.values() if line[6] == "XM-2026-004"} == {"sc_industry"}
    # Two weeks later: the timers remind and escalate, deadlines pass; work is done.
    clock.set(datetime(2026, 12, 15, 9, 0, tzinfo=SHANGHAI))
    fire(county)
    same(county)
    with county.uow() as uow:
        zj = actor_for(uow.session, next(a.username for a in uow.session.execute(
            select(UserAccount).where(UserAccount.unit_code == "nyj")).scalars()))
    complete(county, zj, "report_progress", {"progress": "80%"}, instance_id=instruction.id)
    lines = same(county)
    # What the migration and the history generator fill is what the hooks kept.
    with county.uow() as uow:
        rebuild_desk_lines(uow.session)
        uow.commit()
    assert kept(county) == lines


def test_the_desk_lists_the_most_urgent_lines_with_the_counts_of_all(county, clock):
    clock.set(datetime(2026, 12, 15, 9, 0, tzinfo=SHANGHAI))
    fire(county)
    supervisor = Actor.of("supervisor1", "supervisor")
    with county.uow() as uow:
        whole = supervision_desk.overdue_board(uow, supervisor, calendar=CALENDAR)
        page = supervision_desk.overdue_board(uow, supervisor, calendar=CALENDAR, limit=3)
    assert len(whole.items) > 3 and page.items == whole.items[:3]
    assert [i.due_at for i in whole.items] == sorted(i.due_at for i in whole.items)
    assert (page.overdue, page.due_soon) == (whole.overdue, whole.due_soon) == (
        sum(i.sla == "overdue" for i in whole.items), sum(i.sla == "due_soon" for i in whole.items))
    assert page.by_unit == whole.by_unit and page.by_sub_command == whole.by_sub_command
    by_unit: dict = {}
    for item in whole.items:
        counts = by_unit.setdefault(item.responsible_unit, [0, 0])
        counts[item.sla != "overdue"] += 1
    assert {g.code: [g.overdue, g.due_soon] for g in whole.by_unit} == by_unit
    assert {i.kind for i in whole.items} == {"issue", "task"}


def test_the_lines_follow_an_instance_moved_to_another_version(county):
    """A new version of the 13710 process gives the unit's step five more working days: the
    instances moved to it have their desk lines' deadlines moved too."""
    from engine.bpm import definitions
    from engine.bpm.instance_migration import migrate_instances
    from engine.core.models import Deployment

    instruction = start(county, "instruction_13710", {
        "title": "县长批示：配套道路年底前通车", "source": "county_head",
        "instruction": "按期通车", "complexity": "ordinary", "responsible_unit": "nyj"},
        business_key="13710-XM-2026-004", actor=Actor.of("supervisor1", "supervisor"))
    with county.uow() as uow:
        assigner = actor_for(uow.session, "supervisor1")
    complete(county, assigner, "assign_instruction", {"assign_note": "按时限办理"},
             instance_id=instruction.id)
    before = {k: v for k, v in same(county).items() if v[0] == instruction.id}
    with county.uow() as uow:
        old = uow.session.execute(select(Deployment).where(
            Deployment.key == "instruction_13710").order_by(Deployment.version.desc())).scalar()
        version, xml = old.version, old.xml
    later = xml.replace('camunda:dueDate="add_working_days(now(), progress_days)"',
                        'camunda:dueDate="add_working_days(now(), progress_days + 5)"')
    assert later != xml
    with county.uow() as uow:
        definitions.deploy_files(uow, [("instruction_13710.bpmn", later.encode())], "designer")
    with county.uow() as uow:
        moved = migrate_instances(uow, "instruction_13710", version, version + 1, "designer",
                                  [instruction.id])
    assert moved.migrated == [instruction.id]
    after = {k: v for k, v in same(county).items() if v[0] == instruction.id}
    assert after.keys() == before.keys() and all(
        after[k][2] > before[k][2] for k in after)  # each line's deadline moved later
