"""The project registry's rows: the projects the headquarters drives, one row each.

What a project is, its field (the sub-command that owns it), its stage (a reserve project
also its class and track), where it is, who leads, builds and serves it, its key level and
total investment; its monthly schedule (序时进度), the progress its unit reports each month,
the plate it is given each month (the colours: engine/county/plates.py) and its audited stage
moves; whether it is on the battle map. Registering and editing by people is
engine/county/registry.py. Its schedule, reports and plates are also kept per field and
month (engine/county/field_months.py), in the transaction that changes them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.errors import InvalidStateError, NotFoundError, TaskDataError
from ..core.models import Base, UTCDateTime
from ..core.workcalendar import SHANGHAI
from .field_months import add_investment, count_plates

STAGES: dict[str, str] = {
    "reserve": "储备", "planning": "谋划", "prework": "前期", "construction": "建设",
    "completion": "竣工", "production": "投产",
}
KEY_LEVELS: dict[str, str] = {"province": "省重点工程", "city": "市重点工程",
                              "county": "县重点工程", "none": "一般项目"}
FUNDING: dict[str, str] = {"government": "政府投资", "enterprise": "企业投资"}
# A project of the reserve library (项目储备库) has a class and a track.
RESERVE_CLASSES: dict[str, str] = {"intent": "意向", "proposed": "动议", "negotiating": "谈判"}
RESERVE_TRACKS: dict[str, str] = {"study": "远期研究", "signing": "近期签约",
                                  "landing": "争取落地", "groundbreaking": "开工建设"}


class Project(Base):
    """One investment project of the county."""

    __tablename__ = "project"
    # the bulletin counts each field's stages, the board its projects on the map, from the index
    __table_args__ = (Index("ix_project_field_cover", "sub_command", "stage", "key_level",
                            "funding"),)

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sub_command: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    township: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    lead_department: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    project_unit: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    specialist: Mapped[str | None] = mapped_column(ForeignKey("user_account.username"))
    key_level: Mapped[str] = mapped_column(String(20), default="none")
    funding: Mapped[str] = mapped_column(String(20), default="enterprise")
    planned_investment: Mapped[int] = mapped_column(Integer, default=0)  # 万元, the total
    reserve_class: Mapped[str | None] = mapped_column(String(20))  # RESERVE_CLASSES
    reserve_track: Mapped[str | None] = mapped_column(String(20))  # RESERVE_TRACKS
    # Raised at every change: an edit made on a stale copy is a conflict, not a lost update.
    row_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}


def add_project(session: Session, code: str, name: str, *, sub_command: str, stage: str,
                township: str, lead_department: str, project_unit: str,
                specialist: str | None, key_level: str = "none", funding: str = "enterprise",
                planned_investment: int = 0, reserve_class: str | None = None,
                reserve_track: str | None = None) -> Project:
    """Create or update a project (unaudited: the demo's and tests' seed; people register
    through engine/county/registry.py)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(STAGES)}")
    if reserve_class is not None and reserve_class not in RESERVE_CLASSES:
        raise ValueError(f"unknown reserve class {reserve_class!r}")
    if reserve_track is not None and reserve_track not in RESERVE_TRACKS:
        raise ValueError(f"unknown reserve track {reserve_track!r}")
    if key_level not in KEY_LEVELS:
        raise ValueError(f"unknown key level {key_level!r}; one of {sorted(KEY_LEVELS)}")
    if funding not in FUNDING:
        raise ValueError(f"unknown funding {funding!r}; one of {sorted(FUNDING)}")
    project = session.get(Project, code) or Project(code=code)
    place = (project.sub_command, on_battle_map(project)) if project.sub_command else None
    project.name, project.sub_command, project.stage = name, sub_command, stage
    project.township, project.lead_department = township, lead_department
    project.project_unit, project.specialist = project_unit, specialist
    project.key_level, project.funding = key_level, funding
    project.planned_investment = planned_investment
    project.reserve_class, project.reserve_track = reserve_class, reserve_track
    session.add(project)
    if place is not None:  # seeded again: its months follow it in the fields' projections
        follow_project(session, code, place, (sub_command, on_battle_map(project)))
    return project


def projects(session: Session, *, sub_command: str | None = None,
             stage: str | None = None) -> list[Project]:
    """Projects, optionally of one field or stage, by code."""
    query = select(Project).order_by(Project.code)
    if sub_command:
        query = query.where(Project.sub_command == sub_command)
    if stage:
        query = query.where(Project.stage == stage)
    return list(session.execute(query).scalars())


def start_data(project: Project) -> dict:
    """The process data a project gives the processes that serve it."""
    return {"project_code": project.code, "project_name": project.name,
            "sub_command": project.sub_command, "township": project.township,
            "lead_department": project.lead_department, "project_unit": project.project_unit,
            "funding": project.funding}


# ---------------------------------------------------------------- schedule, progress, stages
# The schedule (序时进度) is what a project is judged against each month; the progress
# reports are what its unit says it did. Amounts are 万元 for the month, not cumulative.

STAGE_ORDER = list(STAGES)


class ScheduleMonth(Base):
    """One month of a project's plan: the investment planned for it and its milestone."""

    __tablename__ = "project_schedule"
    # investment_to_date sums every project's months from the index alone (no row read).
    __table_args__ = (Index("ix_project_schedule_cover", "project_code", "month",
                            "planned_investment"),)

    project_code: Mapped[str] = mapped_column(ForeignKey("project.code"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    planned_investment: Mapped[int] = mapped_column(Integer, default=0)
    milestone: Mapped[str | None] = mapped_column(String(200))


class ProgressReport(Base):
    """What the project unit reported for one month."""

    __tablename__ = "project_progress"
    __table_args__ = (Index("ix_project_progress_cover", "project_code", "month",
                            "actual_investment"),)

    project_code: Mapped[str] = mapped_column(ForeignKey("project.code"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    actual_investment: Mapped[int] = mapped_column(Integer, default=0)
    milestone_done: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProjectPlate(Base):
    """One project's plate for one month, with the inputs the decision table saw (given by
    engine/county/plates.py, which says what the colours are)."""

    __tablename__ = "project_plate"
    # the bulletin names a month's first projects of a colour from the index alone
    __table_args__ = (Index("ix_project_plate_month_plate", "month", "plate", "project_code"),)

    project_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True, index=True)
    plate: Mapped[str | None] = mapped_column(String(20))  # None: no row of the table matched
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    evaluated_by: Mapped[str] = mapped_column(String(100))
    followup_instance: Mapped[int | None] = mapped_column(Integer)


def on_battle_map(project: Project) -> bool:
    """Key projects (province, city, county) and government-invested ones are on the map."""
    return project.key_level != "none" or project.funding == "government"


def on_battle_map_condition():
    """The same test as `on_battle_map`, as SQL on the project table."""
    return or_(Project.key_level != "none", Project.funding == "government")


@dataclass(frozen=True)
class ProgressPoint:
    """Cumulative planned and actual investment up to and including a month."""

    month: str
    planned: int
    actual: int
    milestone: str | None
    milestone_done: bool | None
    reported: bool


def set_schedule(uow, code: str, months: list[tuple[str, int, str | None]], actor: str) -> bool:
    """Replace a project's monthly schedule: (month, planned investment, milestone) rows.

    Audited when it changes; the same schedule again changes nothing (returns False).
    """
    project = _locked_project(uow.session, code)
    for month, _planned, _milestone in months:
        _check_month(month)
    wanted = sorted((m, int(p), ms or None) for m, p, ms in months)
    rows = list(uow.session.execute(select(ScheduleMonth).where(
        ScheduleMonth.project_code == code)).scalars())
    if sorted((r.month, r.planned_investment, r.milestone) for r in rows) == wanted:
        return False
    change: dict[str, list[int]] = {}
    for row in rows:
        change.setdefault(row.month, [0, 0])[0] -= row.planned_investment
        uow.session.delete(row)
    uow.session.flush()
    for month, planned, milestone in wanted:
        change.setdefault(month, [0, 0])[0] += planned
        uow.session.add(ScheduleMonth(project_code=code, month=month,
                                      planned_investment=planned, milestone=milestone))
    add_investment(uow.session, project.sub_command, change)
    uow.audit.record(actor, "schedule_set", subject=f"project:{project.code}",
                     months=[[m, p, ms] for m, p, ms in wanted])
    return True


def schedule_of(session: Session, code: str) -> list[ScheduleMonth]:
    """A project's monthly schedule, by month."""
    return list(session.execute(select(ScheduleMonth).where(
        ScheduleMonth.project_code == code).order_by(ScheduleMonth.month)).scalars())


def record_progress(uow, code: str, month: str, actual_investment: int, milestone_done: bool,
                    text: str | None, actor: str) -> ProgressReport:
    """Record (or correct) a project unit's progress report for one month."""
    project = _locked_project(uow.session, code)
    _check_month(month)
    if int(actual_investment) < 0:
        raise TaskDataError("actual investment cannot be negative",
                            {"actual_investment": ["must be 0 or more"]})
    row = uow.session.get(ProgressReport, (code, month))
    before = None if row is None else {"actual_investment": row.actual_investment,
                                       "milestone_done": row.milestone_done}
    row = row or ProgressReport(project_code=code, month=month)
    add_investment(uow.session, project.sub_command, {month: [
        0, int(actual_investment) - (before["actual_investment"] if before else 0)]})
    row.actual_investment, row.milestone_done = int(actual_investment), bool(milestone_done)
    row.text, row.reported_by, row.reported_at = text, actor, uow.clock.now()
    uow.session.add(row)
    uow.audit.record(actor, "progress_reported", subject=f"project:{code}", month=month,
                     before=before, actual_investment=row.actual_investment,
                     milestone_done=row.milestone_done, text=text)
    return row


def progress_curve(session: Session, code: str, until: str | None = None) -> list[ProgressPoint]:
    """The project's cumulative planned vs actual investment, month by month."""
    plan = {r.month: r for r in session.execute(select(ScheduleMonth).where(
        ScheduleMonth.project_code == code)).scalars()}
    done = {r.month: r for r in session.execute(select(ProgressReport).where(
        ProgressReport.project_code == code)).scalars()}
    points, planned, actual = [], 0, 0
    for month in sorted(set(plan) | set(done)):
        if until and month > until:
            break
        planned += plan[month].planned_investment if month in plan else 0
        actual += done[month].actual_investment if month in done else 0
        report = done.get(month)
        points.append(ProgressPoint(month, planned, actual,
                                    plan[month].milestone if month in plan else None,
                                    report.milestone_done if report else None, report is not None))
    return points


def investment_to_date(session: Session, until: str | None,
                       codes: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """Every project's (or the projects `codes`') cumulative planned and actual investment up
    to `until` (all months when None): the last point of its `progress_curve`, in two grouped
    queries over the covering indexes."""
    totals: dict[str, list[int]] = {}
    for n, (model, column) in enumerate(((ScheduleMonth, ScheduleMonth.planned_investment),
                                         (ProgressReport, ProgressReport.actual_investment))):
        query = select(model.project_code, func.sum(column)).group_by(model.project_code)
        if until:
            query = query.where(model.month <= until)
        if codes is not None:
            query = query.where(model.project_code.in_(codes))
        for code, amount in session.execute(query):
            totals.setdefault(code, [0, 0])[n] = int(amount or 0)
    return {code: (planned, actual) for code, (planned, actual) in totals.items()}


def follow_project(session: Session, code: str, before: tuple[str, bool],
                   after: tuple[str, bool]) -> None:
    """A project's field or place on the battle map changed — (field, on the map) before and
    after —: its months move with it in the fields' projections (engine/county/field_months.py),
    its investment to the new field, its plates to where it is now. Called after the change
    (engine/county/registry.py `change_project`, `add_project`)."""
    if before == after:
        return
    session.flush()  # the project's row first: a report recorded meanwhile waits for it
    if before[0] != after[0]:
        amounts: dict[str, list[int]] = {}
        for n, (model, column) in enumerate(((ScheduleMonth, ScheduleMonth.planned_investment),
                                             (ProgressReport, ProgressReport.actual_investment))):
            for month, amount in session.execute(select(model.month, column).where(
                    model.project_code == code)):
                amounts.setdefault(month, [0, 0])[n] += amount
        add_investment(session, before[0], {m: [-p, -a] for m, (p, a) in amounts.items()})
        add_investment(session, after[0], amounts)
    change: Counter = Counter()
    for month, plate in session.execute(select(ProjectPlate.month, ProjectPlate.plate).where(
            ProjectPlate.project_code == code, ProjectPlate.plate.is_not(None))):
        change[(month, *before, plate)] -= 1
        change[(month, *after, plate)] += 1
    count_plates(session, change)


def on_schedule(session: Session, code: str, month: str) -> bool | None:
    """Whether cumulative actual investment reaches cumulative plan by `month` (None: no plan)."""
    points = progress_curve(session, code, until=month)
    if not points or points[-1].planned == 0:
        return None
    return points[-1].actual >= points[-1].planned


def move_stage(uow, code: str, to_stage: str, actor: str, reason: str, *,
               instance_id: int | None = None, **detail) -> Project:
    """Move a project to another stage with the reason, audited (before → after, why).

    Projects move on one stage at a time (储备→谋划→前期→建设→竣工→投产); a skip or a move
    back corrects the registry, and its reason says why. `instance_id` and `detail` name the
    process a move was made for.
    """
    project = _project(uow.session, code)
    if to_stage not in STAGES:
        raise TaskDataError(f"unknown stage {to_stage!r}; one of {STAGE_ORDER}",
                            {"stage": ["请从列表中选择阶段"]})
    if to_stage == project.stage:
        raise InvalidStateError(f"project {code} is already at {STAGES[to_stage]}")
    if not (reason or "").strip():
        raise TaskDataError("a stage move needs its reason", {"reason": ["请填写转阶段的理由"]})
    before, project.stage = project.stage, to_stage
    uow.audit.record(actor, "project_stage_moved", subject=f"project:{code}",
                     instance_id=instance_id, before=before, after=to_stage,
                     why=reason.strip(), **detail)
    return project


def _locked_project(session: Session, code: str) -> Project:
    """The project, its row locked until the transaction ends (PostgreSQL; SQLite's writer
    holds the database): its schedule and reports change one writer at a time, so the field
    projection's amounts are added from what the change really replaced."""
    session.flush()  # nothing pending is overwritten by the row read again
    project = session.get(Project, code, with_for_update=True, populate_existing=True)
    if project is None:
        raise NotFoundError(f"project {code} does not exist; check the code in the registry")
    return project


def _project(session: Session, code: str) -> Project:
    project = session.get(Project, code)
    if project is None:
        raise NotFoundError(f"project {code} does not exist; check the code in the registry")
    return project


def _check_month(month: str) -> None:
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise TaskDataError(f"month {month!r} is not YYYY-MM", {"month": ["YYYY-MM"]})


def month_of(moment: date | datetime) -> str:
    """The YYYY-MM month of a date (a datetime in Asia/Shanghai)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(SHANGHAI).date()
    return f"{moment.year:04d}-{moment.month:02d}"


def shift_month(month: str, n: int) -> str:
    """The month n months after (or before, n < 0) `month`."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
