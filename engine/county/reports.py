"""The battle map (挂图作战) and a project's sheet (一图三单), read from tables only.

The map shows every key and government-invested project grouped by sub-command, with its
stage, its cumulative progress against the schedule (序时进度) and its plate of the month;
the sheet adds the progress chart's points and the three lists: open tasks, the people and
units responsible, and the project's issues from the ledger. The registry's views for
systems (the API's project list and one project's record) are here too.

Every view is the actor's: the map lists the projects in the actor's scope, and a project
out of scope is not found (engine/county/policy.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, union

from .names import ISSUE_STEPS, Names
from ..bpm.projection import OPEN_STATES
from ..core.errors import NotFoundError
from ..core.identity import Actor
from ..core.models import AuditEvent, HumanTask, ProcessInstance
from ..core.organisation import OrgUnit, UserAccount
from ..core.uow import UnitOfWork
from .audit_trails import ProjectInstance
from .issue_ledger import IssueLedgerRow
from .plates import PLATES, PlateView, latest_plate_month, on_battle_map, plate_history
from .plates import plates_of_month
from .policy import COUNTY, scope_of
from .projects import (FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGES, Project,
                       ProgressPoint, investment_to_date, month_of, progress_curve,
                       schedule_of)
from .supervision_desk import IssueRecord, OpenTask, issue_records


@dataclass(frozen=True)
class MapProject:
    """One project on the battle map."""

    code: str
    name: str
    stage: str
    key_level: str
    funding: str
    planned_to_date: int
    actual_to_date: int
    percent: int | None  # actual / planned to date
    plate: str | None
    plate_label: str
    stage_moved_at: datetime | None = None  # the last stage move, if any


@dataclass(frozen=True)
class MapGroup:
    """The projects of one sub-command."""

    code: str
    name: str
    projects: list[MapProject]
    counts: dict[str, int]


@dataclass(frozen=True)
class BattleMap:
    """The whole county on one page, for one month's plates."""

    month: str | None
    groups: list[MapGroup]
    totals: dict[str, int]


def _names(session) -> dict[str, str]:
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())


def _map_project(project: Project, plates: dict[str, PlateView],
                 to_date: dict[str, tuple[int, int]], moved: dict[str, datetime]):
    planned, actual = to_date.get(project.code, (0, 0))
    plate = plates.get(project.code)
    return MapProject(project.code, project.name, project.stage, project.key_level,
                      project.funding, planned, actual,
                      round(actual * 100 / planned) if planned else None,
                      plate.plate if plate else None, plate.label if plate else "未评定",
                      moved.get(project.code))


def _last_stage_moves(session) -> dict[str, datetime]:
    """Project code → when its stage last moved (from the audit log, one query)."""
    rows = session.execute(select(AuditEvent.subject, func.max(AuditEvent.seq)).where(
        AuditEvent.action == "project_stage_moved").group_by(AuditEvent.subject)).all()
    if not rows:
        return {}
    at = dict(session.execute(select(AuditEvent.seq, AuditEvent.at).where(
        AuditEvent.seq.in_([seq for _subject, seq in rows]))).all())
    return {subject.removeprefix("project:"): at[seq] for subject, seq in rows
            if subject and subject.startswith("project:")}


def battle_map(uow: UnitOfWork, actor: Actor, month: str | None = None) -> BattleMap:
    """Key and government-invested projects in the actor's scope by sub-command, with the
    month's plates."""
    session = uow.session
    month = month or latest_plate_month(session)
    plates = plates_of_month(session, month) if month else {}
    names = _names(session)
    moved = _last_stage_moves(session)
    to_date = investment_to_date(session, month)
    grouped: dict[str, list[MapProject]] = {}
    for project in session.execute(select(Project).where(scope_of(actor).project_condition())
                                   .order_by(Project.code)).scalars():
        if on_battle_map(project):
            grouped.setdefault(project.sub_command, []).append(
                _map_project(project, plates, to_date, moved))
    groups, totals = [], {key: 0 for key in [*PLATES, "none"]}
    for code in sorted(grouped):
        counts = {key: 0 for key in [*PLATES, "none"]}
        for item in grouped[code]:
            counts[item.plate or "none"] += 1
            totals[item.plate or "none"] += 1
        groups.append(MapGroup(code, names.get(code, code), grouped[code], counts))
    return BattleMap(month, groups, totals)


@dataclass(frozen=True)
class SheetTask:
    """An open task of the project."""

    name: str
    business_key: str | None
    process_key: str
    handlers: str
    due_at: datetime | None


@dataclass(frozen=True)
class SheetIssue:
    """An issue of the project, from the ledger."""

    instance_id: int
    title: str
    step: str
    rung_name: str | None
    responsible_unit: str | None
    due_at: datetime | None


@dataclass(frozen=True)
class StageMove:
    """One stage move of the project: when, from and to (in Chinese), who, why."""

    at: datetime
    before: str
    after: str
    actor: str
    why: str | None
    instance_id: int | None


@dataclass(frozen=True)
class ProjectSheet:
    """一图三单: the chart's points and the lists of tasks, responsibilities and issues."""

    code: str
    name: str
    stage: str
    stage_label: str
    facts: list[tuple[str, str]]
    points: list[ProgressPoint]
    plates: list[PlateView]
    tasks: list[SheetTask]
    responsibilities: list[tuple[str, str]]
    issues: list[SheetIssue]
    stage_moves: list[StageMove] = field(default_factory=list)
    sub_command: str = ""


def stage_moves(session, code: str) -> list[StageMove]:
    """The project's stage moves, oldest first, from the audit log."""
    names = dict(session.execute(select(UserAccount.username, UserAccount.display_name)).all())
    moves = []
    for event in session.execute(select(AuditEvent).where(
            AuditEvent.subject == f"project:{code}", AuditEvent.action == "project_stage_moved")
            .order_by(AuditEvent.seq)).scalars():
        detail = json.loads(event.detail or "{}")
        actor = "系统" if event.actor == "system" else names.get(event.actor, event.actor)
        moves.append(StageMove(event.at, STAGES.get(detail.get("before"), "") or "",
                               STAGES.get(detail.get("after"), "") or "", actor,
                               detail.get("why"), event.instance_id))
    return moves


def visible_project(uow: UnitOfWork, actor: Actor, code: str) -> Project:
    """The project when the actor may see it; NotFoundError otherwise (codes reveal nothing)."""
    project = uow.session.get(Project, code)
    if project is None or not scope_of(actor).sees_project(project):
        raise NotFoundError(f"project {code} does not exist or is not yours to see")
    return project


def _open_tasks(session, code: str) -> list[HumanTask]:
    """The project's open tasks (任务清单): those of the instances that serve it — named at
    their start (`project_instance`), put there by the issue ledger, or keyed by the code
    itself — read by instance from the task index (a match of the code anywhere in the
    business key read every task row of the county: 185 ms at five years' size)."""
    serving = union(
        select(ProjectInstance.instance_id).where(ProjectInstance.project_code == code),
        select(IssueLedgerRow.instance_id).where(IssueLedgerRow.project_code == code),
        select(ProcessInstance.id).where(ProcessInstance.business_key == code))
    return list(session.execute(select(HumanTask).where(
        HumanTask.instance_id.in_(select(serving.subquery().c[0])),
        HumanTask.state.in_(OPEN_STATES))
        .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)).scalars())


def project_sheet(uow: UnitOfWork, actor: Actor, code: str) -> ProjectSheet:
    """A project's sheet; NotFoundError when there is no such project or it is out of scope."""
    session = uow.session
    project = visible_project(uow, actor, code)
    names = _names(session)
    specialist = session.get(UserAccount, project.specialist) if project.specialist else None
    responsibilities = [
        ("分指挥部（分指挥长）", names.get(project.sub_command, project.sub_command)),
        ("主管部门（主要负责人）", names.get(project.lead_department, project.lead_department)),
        ("属地乡镇（第一责任人）", names.get(project.township, project.township)),
        ("项目单位", names.get(project.project_unit, project.project_unit)),
        ("项目专员", Names(session).person(specialist.username) if specialist else "未指定"),
    ]
    facts = [("重点级别", KEY_LEVELS.get(project.key_level, project.key_level)),
             ("投资性质", FUNDING.get(project.funding, project.funding)),
             ("总投资（万元）", str(project.planned_investment))]
    if project.stage == "reserve":
        facts += [("储备类别", RESERVE_CLASSES.get(project.reserve_class or "", "未填")),
                  ("储备方向", RESERVE_TRACKS.get(project.reserve_track or "", "未填"))]
    shown = Names(session)
    tasks = [SheetTask(t.name, t.business_key, t.process_key,
                       shown.person(t.assignee) if t.assignee
                       else shown.groups([c.name for c in t.candidates]), t.due_at)
             for t in _open_tasks(session, code)]
    issues = [SheetIssue(r.instance_id, r.title, ISSUE_STEPS.get(r.step, r.step), r.rung_name,
                         names.get(r.responsible_unit or "", r.responsible_unit), r.due_at)
              for r in session.execute(select(IssueLedgerRow).where(
                  IssueLedgerRow.project_code == code).order_by(IssueLedgerRow.opened_at)
              ).scalars()]
    return ProjectSheet(project.code, project.name, project.stage, STAGES[project.stage], facts,
                        progress_curve(session, code), plate_history(session, code), tasks,
                        responsibilities, issues, stage_moves(session, code),
                        project.sub_command)


def current_month(uow: UnitOfWork) -> str:
    """The month of the engine's clock."""
    return month_of(uow.clock.now())


# ---------------------------------------------------------------- the registry, for systems

@dataclass(frozen=True)
class ProjectView:
    """A project of the registry as callers see it."""

    code: str
    name: str
    sub_command: str
    stage: str
    township: str
    lead_department: str
    project_unit: str
    specialist: str | None
    key_level: str
    funding: str
    planned_investment: int
    reserve_class: str | None = None
    reserve_track: str | None = None


@dataclass(frozen=True)
class ScheduleLine:
    """One month of a project's schedule."""

    month: str
    planned_investment: int
    milestone: str | None


@dataclass(frozen=True)
class ProjectRecord:
    """One project with its issues (问题清单), open tasks (任务清单) and monthly schedule."""

    project: ProjectView
    issues: list[IssueRecord]
    open_tasks: list[OpenTask]
    schedule: list[ScheduleLine] = field(default_factory=list)


def _view(project: Project) -> ProjectView:
    return ProjectView(project.code, project.name, project.sub_command, project.stage,
                       project.township, project.lead_department, project.project_unit,
                       project.specialist, project.key_level, project.funding,
                       project.planned_investment, project.reserve_class, project.reserve_track)


def project_list(uow: UnitOfWork, actor: Actor, *, sub_command: str | None = None,
                 stage: str | None = None, after: str | None = None,
                 limit: int | None = None) -> list[ProjectView]:
    """Projects in the actor's scope by code, of one field or stage, after the code `after`."""
    query = select(Project).where(scope_of(actor).project_condition())
    if sub_command:
        query = query.where(Project.sub_command == sub_command)
    if stage:
        query = query.where(Project.stage == stage)
    if after is not None:
        query = query.where(Project.code > after)
    query = query.order_by(Project.code)
    if limit is not None:
        query = query.limit(limit)
    return [_view(p) for p in uow.session.execute(query).scalars()]


def project_record(uow: UnitOfWork, actor: Actor, code: str) -> ProjectRecord:
    """A project in the actor's scope with every issue and open task of it (they are lines
    of its sheet); NotFoundError otherwise."""
    project = visible_project(uow, actor, code)
    tasks = [OpenTask(t.id, t.name, t.assignee, t.due_at) for t in _open_tasks(uow.session, code)]
    schedule = [ScheduleLine(m.month, m.planned_investment, m.milestone)
                for m in schedule_of(uow.session, code)]
    return ProjectRecord(_view(project), issue_records(uow, COUNTY, project_code=code), tasks,
                         schedule)
