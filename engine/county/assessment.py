"""Double assessment (双考核): per unit, annual indicators and work indicators.

For each lead department and township: its projects and planned investment (annual
indicators), and for the industrial field (sub-command sc_industry) the number of
projects, their quality as plates by colour, and their share of the unit's investment
(work indicators) — one row per unit, read from the registry and the plate history.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..core.organisation import OrgUnit
from .plates import PLATES, latest_plate_month, plates_of_month
from .projects import Project, progress_curve
from ..core.uow import UnitOfWork

INDUSTRY_FIELD = "sc_industry"


@dataclass(frozen=True)
class AssessmentRow:
    """One unit's indicators."""

    code: str
    name: str
    role: str  # 主管部门 / 属地乡镇
    projects: int
    planned_investment: int
    actual_to_date: int
    industrial_projects: int
    industrial_plates: dict[str, int]
    industrial_investment: int

    @property
    def industrial_share(self) -> int | None:
        """Industrial projects' share of the unit's planned investment, in per cent."""
        if not self.planned_investment:
            return None
        return round(self.industrial_investment * 100 / self.planned_investment)


@dataclass(frozen=True)
class Assessment:
    """The table, with the plate month it used."""

    plate_month: str | None
    rows: list[AssessmentRow]


def assessment(uow: UnitOfWork, month: str | None = None) -> Assessment:
    """Every lead department and township with at least one project, in one table."""
    session = uow.session
    month = month or latest_plate_month(session)
    plates = plates_of_month(session, month) if month else {}
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
    projects = list(session.execute(select(Project).order_by(Project.code)).scalars())
    actual = {p.code: (progress_curve(session, p.code, until=month) or [None])[-1]
              for p in projects}
    rows = []
    for role, attr in (("主管部门", "lead_department"), ("属地乡镇", "township")):
        for code in sorted({getattr(p, attr) for p in projects}):
            mine = [p for p in projects if getattr(p, attr) == code]
            industrial = [p for p in mine if p.sub_command == INDUSTRY_FIELD]
            counts = {colour: 0 for colour in PLATES}
            for p in industrial:
                plate = plates.get(p.code)
                if plate and plate.plate in counts:
                    counts[plate.plate] += 1
            rows.append(AssessmentRow(
                code, names.get(code, code), role, len(mine),
                sum(p.planned_investment for p in mine),
                sum(actual[p.code].actual for p in mine if actual[p.code] is not None),
                len(industrial), counts, sum(p.planned_investment for p in industrial)))
    return Assessment(month, rows)
