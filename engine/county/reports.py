"""The battle map (挂图作战) and a project's sheet (一图三单), read from tables only.

The map shows every key and government-invested project grouped by sub-command, with its
stage, its cumulative progress against the schedule (序时进度) and its plate of the month;
the sheet adds the progress chart's points and the three lists: open tasks, the people and
units responsible, and the project's issues from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from .issue_ledger import IssueLedgerRow
from ..core.models import HumanTask
from ..core.organisation import OrgUnit, UserAccount
from .plates import PLATES, PlateView, latest_plate_month, on_battle_map, plate_history
from .plates import plates_of_month
from .projects import (FUNDING, KEY_LEVELS, STAGES, Project, ProgressPoint, month_of,
                       progress_curve)
from ..bpm.projection import OPEN_STATES
from ..core.uow import UnitOfWork


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


def _map_project(session, project: Project, plates: dict[str, PlateView], month: str | None):
    points = progress_curve(session, project.code, until=month)
    planned = points[-1].planned if points else 0
    actual = points[-1].actual if points else 0
    plate = plates.get(project.code)
    return MapProject(project.code, project.name, project.stage, project.key_level,
                      project.funding, planned, actual,
                      round(actual * 100 / planned) if planned else None,
                      plate.plate if plate else None, plate.label if plate else "未评定")


def battle_map(uow: UnitOfWork, month: str | None = None) -> BattleMap:
    """Key and government-invested projects by sub-command, with the month's plates."""
    session = uow.session
    month = month or latest_plate_month(session)
    plates = plates_of_month(session, month) if month else {}
    names = _names(session)
    grouped: dict[str, list[MapProject]] = {}
    for project in session.execute(select(Project).order_by(Project.code)).scalars():
        if on_battle_map(project):
            grouped.setdefault(project.sub_command, []).append(
                _map_project(session, project, plates, month))
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


def project_sheet(uow: UnitOfWork, code: str) -> ProjectSheet | None:
    """A project's sheet, or None when there is no such project."""
    session = uow.session
    project = session.get(Project, code)
    if project is None:
        return None
    names = _names(session)
    specialist = session.get(UserAccount, project.specialist) if project.specialist else None
    responsibilities = [
        ("分指挥部（分指挥长）", names.get(project.sub_command, project.sub_command)),
        ("主管部门（主要负责人）", names.get(project.lead_department, project.lead_department)),
        ("属地乡镇（第一责任人）", names.get(project.township, project.township)),
        ("项目单位", names.get(project.project_unit, project.project_unit)),
        ("项目专员", specialist.display_name if specialist else "未指定"),
    ]
    facts = [("重点级别", KEY_LEVELS.get(project.key_level, project.key_level)),
             ("投资性质", FUNDING.get(project.funding, project.funding)),
             ("计划总投资（万元）", str(project.planned_investment))]
    tasks = [SheetTask(t.name, t.business_key, t.process_key,
                       t.assignee or "、".join(c.name for c in t.candidates), t.due_at)
             for t in session.execute(select(HumanTask).where(
                 HumanTask.state.in_(OPEN_STATES),
                 or_(HumanTask.business_key.like(f"%{code}%"))).order_by(HumanTask.created_at)
             ).scalars()]
    issues = [SheetIssue(r.instance_id, r.title, r.step, r.rung_name,
                         names.get(r.responsible_unit or "", r.responsible_unit), r.due_at)
              for r in session.execute(select(IssueLedgerRow).where(
                  IssueLedgerRow.project_code == code).order_by(IssueLedgerRow.opened_at)
              ).scalars()]
    return ProjectSheet(project.code, project.name, project.stage, STAGES[project.stage], facts,
                        progress_curve(session, code), plate_history(session, code), tasks,
                        responsibilities, issues)


def current_month(uow: UnitOfWork) -> str:
    """The month of the engine's clock."""
    return month_of(uow.clock.now())
