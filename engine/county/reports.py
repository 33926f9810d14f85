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

from sqlalchemy import and_, func, null, select, union
from sqlalchemy.orm import selectinload

from .names import ISSUE_STEPS, Names
from ..bpm.projection import OPEN_STATES
from ..core.errors import NotFoundError
from ..core.identity import Actor
from ..core.models import AuditEvent, HumanTask, ProcessInstance
from ..core.organisation import OrgUnit, UserAccount
from ..core.uow import UnitOfWork
from .audit_trails import ProjectInstance
from .issue_ledger import IssueLedgerRow
from .field_months import field_plate_counts
from .plates import PLATES, PlateView, latest_plate_month, plate_history
from .policy import COUNTY, Scope, scope_of
from .projects import (FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGES, Project,
                       ProgressPoint, ProjectPlate, investment_to_date, month_of,
                       on_battle_map_condition, progress_curve, schedule_of)
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
    """The projects of one sub-command on the page, with the field's counts (all its pages)."""

    code: str
    name: str
    projects: list[MapProject]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """The field's projects on the map (in the reader's scope), on every page."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class BattleMap:
    """The county for one month's plates: every field's counts, one page of projects."""

    month: str | None
    groups: list[MapGroup]  # the fields of this page, with this page's projects
    totals: dict[str, int]  # the plates of every field in scope
    fields: list[MapGroup] = field(default_factory=list)  # every field in scope, no projects
    field_code: str | None = None  # the field asked for (None: all, field after field)
    page: int = 1
    pages: int = 1


MAP_PAGE_SIZE = 50
PLATE_KEYS = (*PLATES, "none")


def _names(session) -> dict[str, str]:
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())


def _map_project(project: Project, plates: dict[str, str | None],
                 to_date: dict[str, tuple[int, int]], moved: dict[str, datetime]):
    planned, actual = to_date.get(project.code, (0, 0))
    plate = plates.get(project.code)
    return MapProject(project.code, project.name, project.stage, project.key_level,
                      project.funding, planned, actual,
                      round(actual * 100 / planned) if planned else None,
                      plate, PLATES.get(plate or "", "未评定"), moved.get(project.code))


def _last_stage_moves(session, codes: list[str]) -> dict[str, datetime]:
    """Project code → when its stage last moved, for the projects `codes` (the audit log)."""
    rows = session.execute(select(AuditEvent.subject, func.max(AuditEvent.seq)).where(
        AuditEvent.action == "project_stage_moved",
        AuditEvent.subject.in_([f"project:{code}" for code in codes]))
        .group_by(AuditEvent.subject)).all()
    if not rows:
        return {}
    at = dict(session.execute(select(AuditEvent.seq, AuditEvent.at).where(
        AuditEvent.seq.in_([seq for _subject, seq in rows]))).all())
    return {subject.removeprefix("project:"): at[seq] for subject, seq in rows}


def _field_counts(session, scope: Scope, shown, month: str | None) -> dict[str, dict[str, int]]:
    """Field → plate (or "none") → how many of the shown projects have it for the month.

    The fields the scope sees whole (all of them for the county) are read from the counts
    kept at evaluation (field_months.FieldPlates) and the number of their projects on the map;
    the projects seen outside them (a unit's, a specialist's) are counted by project."""
    whole = None if scope.everything else sorted(scope.sub_commands)
    on_map = dict(session.execute(select(Project.sub_command, func.count()).where(
        shown).group_by(Project.sub_command)).all())
    kept = (field_plate_counts(session, month, whole, on_map_only=True)
            if month and whole != [] else {})
    counts: dict[str, dict[str, int]] = {}
    for code, total in on_map.items():
        if whole is None or code in whole:
            plated = {plate: kept.get(code, {}).get(plate, 0) for plate in PLATES}
            counts[code] = {**plated, "none": total - sum(plated.values())}
    if whole is None or not on_map.keys() - set(whole):
        return counts
    if month:  # the few projects seen outside the whole fields, by project
        query = select(Project.sub_command, ProjectPlate.plate, func.count()).outerjoin(
            ProjectPlate, and_(ProjectPlate.project_code == Project.code,
                               ProjectPlate.month == month))
        query = query.group_by(Project.sub_command, ProjectPlate.plate)
    else:
        query = select(Project.sub_command, null(), func.count()).group_by(Project.sub_command)
    for code, plate, count in session.execute(query.where(
            shown, Project.sub_command.not_in(whole))):
        counts.setdefault(code, dict.fromkeys(PLATE_KEYS, 0))[plate or "none"] += count
    return counts


def battle_map(uow: UnitOfWork, actor: Actor, month: str | None = None, *,
               field_code: str | None = None, page: int = 1) -> BattleMap:
    """Key and government-invested projects in the actor's scope, field after field (or of
    one field), a page of them at a time, with the month's plates and every field's counts."""
    session = uow.session
    month = month or latest_plate_month(session)
    names = _names(session)
    scope = scope_of(actor)
    shown = and_(scope.project_condition(), on_battle_map_condition())
    counts = _field_counts(session, scope, shown, month)
    totals = dict.fromkeys(PLATE_KEYS, 0)
    for field_counts in counts.values():
        for key, count in field_counts.items():
            totals[key] += count
    fields = [MapGroup(code, names.get(code, code), [], counts[code]) for code in sorted(counts)]
    if field_code is not None and field_code not in counts:
        field_code = None  # a field out of scope (or with no project on the map): all fields
    listed = sum(sum(counts[c].values()) for c in counts if field_code in (None, c))
    pages = max(1, -(-listed // MAP_PAGE_SIZE))
    page = min(max(page, 1), pages)
    query = select(Project).where(shown)
    if field_code is not None:
        query = query.where(Project.sub_command == field_code)
    rows = list(session.execute(query.order_by(Project.sub_command, Project.code)
                                .offset((page - 1) * MAP_PAGE_SIZE).limit(MAP_PAGE_SIZE))
                .scalars())
    codes = [project.code for project in rows]
    plates = dict(session.execute(select(ProjectPlate.project_code, ProjectPlate.plate).where(
        ProjectPlate.month == month, ProjectPlate.project_code.in_(codes))).all()
                  if month and codes else {})
    to_date = investment_to_date(session, month, codes) if codes else {}
    moved = _last_stage_moves(session, codes) if codes else {}
    grouped: dict[str, list[MapProject]] = {}
    for project in rows:
        grouped.setdefault(project.sub_command, []).append(
            _map_project(project, plates, to_date, moved))
    groups = [MapGroup(code, names.get(code, code), grouped[code], counts[code])
              for code in grouped]
    return BattleMap(month, groups, totals, fields, field_code, page, pages)


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


def _open_tasks(session, code: str, *, candidates: bool = False) -> list[HumanTask]:
    """The project's open tasks (任务清单): those of the instances that serve it — named at
    their start (`project_instance`), put there by the issue ledger, or keyed by the code
    itself — read by instance from the task index (a match of the code anywhere in the
    business key read every task row of the county: 185 ms at five years' size)."""
    serving = union(
        select(ProjectInstance.instance_id).where(ProjectInstance.project_code == code),
        select(IssueLedgerRow.instance_id).where(IssueLedgerRow.project_code == code),
        select(ProcessInstance.id).where(ProcessInstance.business_key == code))
    query = select(HumanTask).where(
        HumanTask.instance_id.in_(select(serving.subquery().c[0])),
        HumanTask.state.in_(OPEN_STATES))
    if candidates:  # the sheet names the groups of unclaimed tasks: one query for them all
        query = query.options(selectinload(HumanTask.candidates))
    return list(session.execute(query.order_by(
        HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)).scalars())


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
             for t in _open_tasks(session, code, candidates=True)]
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
