"""The project registry's seed: the projects the headquarters drives, one row each.

Kept small on purpose (a later issue extends it with schedules and milestones): what a
project is, its field (the sub-command that owns it), its stage, where it is, who leads,
builds and serves it, its key level and planned investment.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base

STAGES: dict[str, str] = {
    "planning": "谋划", "prework": "前期", "construction": "建设",
    "completion": "竣工", "production": "投产",
}
KEY_LEVELS: dict[str, str] = {"province": "省重点工程", "city": "市重点工程",
                              "county": "县重点工程", "none": "一般项目"}
FUNDING: dict[str, str] = {"government": "政府投资", "enterprise": "企业投资"}


class Project(Base):
    """One investment project of the county."""

    __tablename__ = "project"

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
    planned_investment: Mapped[int] = mapped_column(Integer, default=0)  # 万元


def add_project(session: Session, code: str, name: str, *, sub_command: str, stage: str,
                township: str, lead_department: str, project_unit: str,
                specialist: str | None, key_level: str = "none", funding: str = "enterprise",
                planned_investment: int = 0) -> Project:
    """Create or update a project."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(STAGES)}")
    if key_level not in KEY_LEVELS:
        raise ValueError(f"unknown key level {key_level!r}; one of {sorted(KEY_LEVELS)}")
    if funding not in FUNDING:
        raise ValueError(f"unknown funding {funding!r}; one of {sorted(FUNDING)}")
    project = session.get(Project, code) or Project(code=code)
    project.name, project.sub_command, project.stage = name, sub_command, stage
    project.township, project.lead_department = township, lead_department
    project.project_unit, project.specialist = project_unit, specialist
    project.key_level, project.funding = key_level, funding
    project.planned_investment = planned_investment
    session.add(project)
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
