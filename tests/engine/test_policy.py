"""The county's one policy: scopes from groups, which projects an actor sees (in Python and in
SQL alike), who reads the headquarters' papers and the audit trails."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core import organisation
from engine.core.identity import Actor
from engine.county import policy
from engine.county.projects import Project, add_project

SUPERVISOR = Actor.of("ducha", "supervisor", "unit:duban")
ADMIN = Actor.of("admin1", "admin")
COMPANY = Actor.of("qiye", "project_unit", "unit:co_a", "project_unit@co_a")
OTHER_COMPANY = Actor.of("qiye2", "project_unit", "unit:co_b", "project_unit@co_b")
TOWNSHIP = Actor.of("zhen", "township_head", "unit:t_a", "township_head@t_a")
DEPARTMENT = Actor.of("zj1", "approver", "unit:zj", "approver@zj")
COMMANDER = Actor.of("fenzhi", "sub_commander", "unit:sc_a", "sub_commander@sc_a")
DEPUTY = Actor.of("fu", "department_head", "sub_commander@sc_b", "unit:sc_b",
                  "department_head@zj")
SPECIALIST = Actor.of("zhuanyuan", "specialist", "unit:xzsp")
TOKEN = Actor.of("api:zhuanyuan", "specialist", "unit:xzsp")

# code → field, township, lead department, project unit, specialist
PROJECTS = {
    "P-A1": ("sc_a", "t_a", "zj", "co_a", None),
    "P-A2": ("sc_a", "t_b", "gxj", "co_b", "zhuanyuan"),
    "P-B1": ("sc_b", "t_b", "zj", "co_b", None),
}
SEES = {
    SUPERVISOR: {"P-A1", "P-A2", "P-B1"}, ADMIN: {"P-A1", "P-A2", "P-B1"},
    COMPANY: {"P-A1"}, OTHER_COMPANY: {"P-A2", "P-B1"}, TOWNSHIP: {"P-A1"},
    DEPARTMENT: {"P-A1", "P-B1"}, COMMANDER: {"P-A1", "P-A2"}, DEPUTY: {"P-B1"},
    SPECIALIST: {"P-A2"}, TOKEN: set(),
}


@pytest.fixture
def registry(platform):
    """Three projects of two fields, two townships, two departments and two companies."""
    with platform.uow() as uow:
        for code, kind in (("sc_a", "sub_command"), ("sc_b", "sub_command"), ("t_a", "township"),
                           ("t_b", "township"), ("zj", "department"), ("gxj", "department"),
                           ("co_a", "company"), ("co_b", "company"), ("xzsp", "department")):
            organisation.add_unit(uow.session, code, code, kind)
        organisation.add_user(uow.session, "zhuanyuan", "项目专员", "x" * 12, unit="xzsp",
                              roles=["specialist"], now=uow.clock.now())
        uow.session.flush()
        for code, (field, township, lead, unit, specialist) in PROJECTS.items():
            add_project(uow.session, code, code, sub_command=field, stage="construction",
                        township=township, lead_department=lead, project_unit=unit,
                        specialist=specialist)
        uow.commit()
    return platform


def test_scopes_come_from_the_groups_of_accounts_and_tokens():
    assert policy.scope_of(SUPERVISOR).everything and policy.scope_of(ADMIN).everything
    assert policy.scope_of(COMMANDER).sub_commands == {"sc_a"}
    assert policy.scope_of(DEPUTY).sub_commands == {"sc_b"}
    assert policy.scope_of(COMPANY).units == {"co_a"} and not policy.scope_of(COMPANY).everything
    assert policy.scope_of(COMMANDER).may_remind and not policy.scope_of(COMMANDER).may_list
    assert not policy.scope_of(TOWNSHIP).may_remind and policy.scope_of(SUPERVISOR).may_list


@pytest.mark.parametrize("actor", list(SEES), ids=lambda a: a.username)
def test_each_actor_sees_its_projects_in_python_and_in_sql_alike(registry, actor):
    with registry.uow() as uow:
        rows = list(uow.session.execute(select(Project)).scalars())
        in_python = {p.code for p in rows if policy.may_see_project(actor, p)}
        in_sql = set(uow.session.execute(select(Project.code).where(
            policy.scope_of(actor).project_condition())).scalars())
    assert in_python == in_sql == SEES[actor]


def test_the_headquarters_papers_are_for_oversight_and_commanders():
    readers = [a for a in SEES if policy.may_read_headquarters(a)]
    assert readers == [SUPERVISOR, ADMIN, COMMANDER, DEPUTY]
    assert policy.may_read_headquarters(Actor.of("xz", "county_head"))
    assert policy.may_read_meeting(COMMANDER, "sc_a") and not policy.may_read_meeting(COMMANDER,
                                                                                      "sc_b")
    assert policy.may_read_meeting(SUPERVISOR, "sc_b") and not policy.may_read_meeting(COMPANY,
                                                                                       None)


def test_decisions_are_recorded_by_the_office_the_county_head_and_the_field_s_commander():
    assert policy.may_decide_meeting(Actor.of("o", "office"), None)
    assert policy.may_decide_meeting(COMMANDER, "sc_a")
    assert not policy.may_decide_meeting(COMMANDER, "sc_b")
    assert not policy.may_decide_meeting(COMMANDER, None)
    assert not policy.may_decide_meeting(SUPERVISOR, None)


def test_trails_are_read_by_oversight_and_a_sub_commander_for_the_field():
    assert policy.may_read_trail(ADMIN, {None}) and policy.may_read_trail(SUPERVISOR, {"sc_b"})
    assert policy.may_read_trail(COMMANDER, {"sc_a"})
    assert not policy.may_read_trail(COMMANDER, {"sc_b", None})
    assert not policy.may_read_trails(COMPANY) and policy.may_read_trails(DEPUTY)
