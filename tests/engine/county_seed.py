"""A small county for the tests of starting, pickers and registering: units, people, projects."""

from __future__ import annotations

from pathlib import Path

from engine.bpm import definitions
from engine.core.organisation import actor_for, add_unit, add_user
from engine.county.projects import add_project

ROOT = Path(__file__).resolve().parents[2]

UNITS = [
    ("office", "指挥部办公室", "office"), ("duban", "督办监督组", "working_group"),
    ("sc_culture", "文旅康养分指挥部", "sub_command"),
    ("sc_industry", "工业分指挥部", "sub_command"),
    ("wlj", "县文旅局", "department"), ("gxj", "县工信局", "department"),
    ("xzsp", "县行政审批局", "department"),
    ("t_magedang", "马家庄乡", "township"), ("t_fucheng", "附城镇", "township"),
    ("zone", "示范区管委会", "zone"),
    ("co_solar", "示例光伏公司", "company"), ("co_steel", "示例新材料公司", "company"),
]
USERS = {
    # username: (display name, unit, roles)
    "office1": ("窗口受理员", "office", ["office"]),
    "supervisor1": ("督办员甲", "duban", ["supervisor"]),
    "head_magedang": ("马家庄乡乡长", "t_magedang", ["township_head"]),
    "head_wlj": ("文旅局局长", "wlj", ["department_head"]),
    "specialist1": ("专员甲", "xzsp", ["specialist"]),
    "specialist2": ("专员乙", "xzsp", ["specialist"]),
    "approver_wlj": ("文旅局审批员", "wlj", ["approver"]),
    "unit_solar": ("光伏公司联络员", "co_solar", ["project_unit"]),
    "commander_culture": ("文旅分指挥长", "sc_culture", ["sub_commander"]),
}
# P-1 on the township's ground, led by wlj, served by specialist1; P-2 elsewhere altogether.
PROJECTS = [
    dict(code="P-1", name="马家庄光伏电站", sub_command="sc_culture", stage="prework",
         township="t_magedang", lead_department="wlj", project_unit="co_solar",
         specialist="specialist1"),
    dict(code="P-2", name="附城新材料产业园", sub_command="sc_industry", stage="construction",
         township="t_fucheng", lead_department="gxj", project_unit="co_steel", specialist=None),
]


def seed_county(platform) -> None:
    """The units, accounts and projects above."""
    with platform.uow() as uow:
        for code, name, kind in UNITS:
            add_unit(uow.session, code, name, kind)
        uow.session.flush()
        for username, (display, unit, roles) in USERS.items():
            add_user(uow.session, username, display, "mima-2026-x", unit=unit, roles=roles,
                     now=uow.clock.now())
        uow.session.flush()
        for project in PROJECTS:
            add_project(uow.session, **project)
        uow.session.commit()


def deploy_repository(platform) -> None:
    """Every decision table and process of the repository."""
    with platform.uow() as uow:
        definitions.deploy_path(uow, ROOT / "rules", "designer")
    with platform.uow() as uow:
        definitions.deploy_path(uow, ROOT / "bpmn", "designer")


def actor(platform, username: str):
    """The actor of a seeded account."""
    with platform.uow() as uow:
        return actor_for(uow.session, username)
