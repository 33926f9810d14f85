"""Quarterly awards (季度评奖): 羚羊奖 for the best three projects, 蜗牛奖 for the worst three.

The `quarterly_awards` process gives each sub-command a nomination task (its best and worst
project of the quarter), then headquarters names three of each from the nominations. Two
marked elements act through the county's save hook (engine.county.hooks): the nomination task
(`action=record_nomination`) checks that both projects belong to the field and records the
nomination; the script task `action=publish_awards` checks the headquarters' choice against
the nominations and writes `quarter_award`. A refused check raises TaskDataError, so the
completion that carried it rolls back and the form shows the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..bpm import runtime
from ..core.errors import InvalidStateError, TaskDataError
from ..core.identity import Actor
from ..core.models import Base, UTCDateTime
from ..core.organisation import OrgUnit
from .projects import Project
from ..core.uow import UnitOfWork
from ..core.workcalendar import SHANGHAI

AWARD_PROCESS = "quarterly_awards"
AWARDS = {"antelope": "羚羊奖", "snail": "蜗牛奖"}
AWARDS_PER_KIND = 3


class AwardNomination(Base):
    """One sub-command's best and worst project of a quarter."""

    __tablename__ = "award_nomination"

    quarter: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-Q3"
    sub_command: Mapped[str] = mapped_column(String(50), primary_key=True)
    best_project: Mapped[str] = mapped_column(String(50))
    worst_project: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuarterAward(Base):
    """A project's award of a quarter, published by headquarters."""

    __tablename__ = "quarter_award"

    quarter: Mapped[str] = mapped_column(String(7), primary_key=True)
    project_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    award: Mapped[str] = mapped_column(String(20))  # antelope / snail
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class AwardView:
    """An award as the board shows it."""

    quarter: str
    award: str
    label: str
    project_code: str
    project_name: str
    sub_command: str
    by: str
    at: datetime


def quarter_of(day: date | datetime) -> str:
    """The quarter of a day, e.g. '2026-Q4'."""
    if isinstance(day, datetime):
        day = day.astimezone(SHANGHAI).date()
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    """The quarter before, e.g. '2026-Q1' → '2025-Q4'."""
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


def quarter_months(quarter: str) -> list[str]:
    """The three YYYY-MM months of a quarter."""
    year, q = quarter[:4], int(quarter[-1])
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def start_award_round(uow: UnitOfWork, quarter: str, actor: Actor):
    """Start the quarter's award process with one nomination task per sub-command."""
    fields = list(uow.session.execute(select(OrgUnit.code).where(
        OrgUnit.kind == "sub_command").order_by(OrgUnit.sort, OrgUnit.code)).scalars())
    return runtime.start_instance(uow, AWARD_PROCESS, actor, business_key=f"AWARDS-{quarter}",
                                  data={"quarter": quarter, "sub_commands": fields})


def _codes(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value or "").replace("，", ",").replace("、", ",").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def record_nomination(uow: UnitOfWork, quarter: str, sub_command: str, best: str, worst: str,
                      username: str, instance_id: int | None = None) -> AwardNomination:
    """Record a sub-command's nomination; both projects must be of that field and differ."""
    field_projects = set(uow.session.execute(select(Project.code).where(
        Project.sub_command == sub_command)).scalars())
    errors = {}
    for name, code in (("best_project", best), ("worst_project", worst)):
        if code not in field_projects:
            errors[name] = [f"项目 {code or '（空）'} 不属于本分指挥部，可选：{'、'.join(sorted(field_projects))}"]
    if not errors and best == worst and len(field_projects) > 1:
        errors["worst_project"] = ["最差项目不能与最佳项目相同"]
    if errors:
        raise TaskDataError(f"nomination of {sub_command} for {quarter} names projects outside "
                            "the field; choose among the field's project codes", errors)
    row = uow.session.get(AwardNomination, (quarter, sub_command))
    before = None if row is None else [row.best_project, row.worst_project]
    row = row or AwardNomination(quarter=quarter, sub_command=sub_command)
    row.best_project, row.worst_project, row.instance_id = best, worst, instance_id
    row.by, row.at = username, uow.clock.now()
    uow.session.add(row)
    uow.audit.record(username, "award_nominated", subject=f"awards:{quarter}",
                     sub_command=sub_command, best=best, worst=worst, before=before)
    return row


def publish_awards(uow: UnitOfWork, quarter: str, antelope, snail, username: str) -> list:
    """Publish the quarter's 3 + 3 awards, chosen only from the nominations."""
    nominations = list(uow.session.execute(select(AwardNomination).where(
        AwardNomination.quarter == quarter)).scalars())
    if not nominations:
        raise InvalidStateError(f"quarter {quarter} has no nominations; the sub-commands "
                                "nominate before headquarters chooses")
    pools = {"antelope": {n.best_project for n in nominations},
             "snail": {n.worst_project for n in nominations}}
    chosen = {"antelope": _codes(antelope), "snail": _codes(snail)}
    errors = {}
    for kind, field in (("antelope", "antelope_projects"), ("snail", "snail_projects")):
        need = min(AWARDS_PER_KIND, len(pools[kind]))
        codes = chosen[kind]
        outside = [c for c in codes if c not in pools[kind]]
        if outside:
            errors[field] = [f"{'、'.join(outside)} 不在各分指挥部的推荐名单中"]
        elif len(set(codes)) != need or len(codes) != need:
            errors[field] = [f"{AWARDS[kind]}应评出 {need} 个不同的项目"]
    if not errors and set(chosen["antelope"]) & set(chosen["snail"]):
        errors["snail_projects"] = ["同一项目不能同时获得羚羊奖和蜗牛奖"]
    if errors:
        raise TaskDataError(f"awards of {quarter} must be chosen from the nominations", errors)
    for row in uow.session.execute(select(QuarterAward).where(
            QuarterAward.quarter == quarter)).scalars():
        uow.session.delete(row)
    uow.session.flush()
    now = uow.clock.now()
    for kind, codes in chosen.items():
        for code in codes:
            uow.session.add(QuarterAward(quarter=quarter, project_code=code, award=kind,
                                         by=username, at=now))
    uow.audit.record(username, "awards_published", subject=f"awards:{quarter}",
                     antelope=chosen["antelope"], snail=chosen["snail"])
    uow.session.flush()
    return awards_of(uow.session, quarter)


def nominations(session: Session, quarter: str) -> list[AwardNomination]:
    """The quarter's nominations, by sub-command."""
    return list(session.execute(select(AwardNomination).where(
        AwardNomination.quarter == quarter).order_by(AwardNomination.sub_command)).scalars())


def awards_of(session: Session, quarter: str | None = None) -> list[AwardView]:
    """A quarter's awards (every quarter when None), newest quarter first, antelopes first."""
    query = select(QuarterAward, Project).join(Project, Project.code == QuarterAward.project_code)
    if quarter:
        query = query.where(QuarterAward.quarter == quarter)
    rows = session.execute(query).all()
    views = [AwardView(a.quarter, a.award, AWARDS[a.award], a.project_code, p.name,
                       p.sub_command, a.by, a.at) for a, p in rows]
    views.sort(key=lambda v: (v.award != "antelope", v.project_code))
    return sorted(views, key=lambda v: v.quarter, reverse=True)


def latest_award_quarter(session: Session) -> str | None:
    """The most recent quarter with published awards."""
    return session.execute(select(QuarterAward.quarter).order_by(
        QuarterAward.quarter.desc()).limit(1)).scalar()
