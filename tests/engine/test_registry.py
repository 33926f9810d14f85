"""The project registry kept by people: register, edit, schedule and stage moves — checked
against the organisation, refused at the field in Chinese, kept by the office, the
administrators and the field's sub-commander, and audited before → after."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.core import organisation
from engine.core.errors import (
    ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, TaskDataError,
)
from engine.core.identity import Actor
from engine.core.models import AuditEvent
from engine.county import registry
from engine.county.projects import Project, ScheduleMonth

OFFICE = Actor.of("office1", "office", "unit:office")
ADMIN = Actor.of("admin1", "admin")
COMMANDER = Actor.of("fenzhi1", "sub_commander", "sub_commander@sc_industry", "unit:sc_industry")
OTHER_COMMANDER = Actor.of("fenzhi2", "sub_commander", "sub_commander@sc_infra")
SUPERVISOR = Actor.of("ducha1", "supervisor")
COMPANY = Actor.of("qiye1", "project_unit", "unit:co_a")

VALUES = {
    "code": "XM-2027-001", "name": "新材料产业园二期", "stage": "prework",
    "sub_command": "sc_industry", "lead_department": "gxj", "township": "t_a",
    "project_unit": "co_a", "specialist": "zhuanyuan1", "key_level": "city",
    "funding": "enterprise", "planned_investment": "12000",
}


@pytest.fixture
def county(platform, clock):
    """Two fields, a department, a township, the zone, two companies (one inactive) and two
    specialists (one inactive), an approver who is no specialist."""
    with platform.uow() as uow:
        s = uow.session
        for code, name, kind in [("sc_industry", "工业分指挥部", "sub_command"),
                                 ("sc_infra", "基础设施分指挥部", "sub_command"),
                                 ("gxj", "县工信局", "department"), ("t_a", "甲镇", "township"),
                                 ("zone", "示范区管委会", "zone"), ("co_a", "甲公司", "company"),
                                 ("co_gone", "已注销公司", "company"), ("office", "指挥部办公室", "office")]:
            organisation.add_unit(s, code, name, kind)
        s.flush()
        s.get(organisation.OrgUnit, "co_gone").active = False
        for username, display, roles in [("zhuanyuan1", "项目专员一", ["specialist"]),
                                         ("zhuanyuan9", "离职专员", ["specialist"]),
                                         ("shenpi1", "审批人", ["approver"])]:
            organisation.add_user(s, username, display, "mima-2026-x", unit="gxj", roles=roles,
                                  now=clock.now())
        s.flush()
        s.get(organisation.UserAccount, "zhuanyuan9").active = False
        uow.commit()
    return platform


def register(platform, actor=OFFICE, **changes):
    with platform.uow() as uow:
        project = registry.register_project(uow, actor, {**VALUES, **changes})
        uow.commit()
        return project.code


def events(platform, action):
    with platform.uow() as uow:
        return [(e.actor, json.loads(e.detail)) for e in uow.session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
            .scalars()]


def field_errors(platform, call) -> dict[str, list[str]]:
    with platform.uow() as uow, pytest.raises(TaskDataError) as refused:
        call(uow)
    return refused.value.field_errors


def test_the_office_registers_a_project_and_it_is_audited(county):
    register(county)
    with county.uow() as uow:
        project = uow.session.get(Project, "XM-2027-001")
        assert (project.stage, project.planned_investment, project.specialist) == (
            "prework", 12000, "zhuanyuan1")
        assert project.row_version == 1
    [(actor, detail)] = events(county, "project_registered")
    assert actor == "office1" and detail["after"]["township"] == "t_a"


def test_a_reserve_project_needs_its_class_and_track(county):
    errors = field_errors(county, lambda uow: registry.register_project(
        uow, OFFICE, {**VALUES, "stage": "reserve"}))
    assert errors == {"reserve_class": ["储备项目必须选择储备类别"],
                      "reserve_track": ["储备项目必须选择储备方向"]}
    register(county, stage="reserve", reserve_class="negotiating", reserve_track="signing")
    with county.uow() as uow:
        project = uow.session.get(Project, "XM-2027-001")
        assert (project.reserve_class, project.reserve_track) == ("negotiating", "signing")


def test_class_and_track_are_kept_only_for_a_reserve_project(county):
    register(county, reserve_class="intent", reserve_track="study")
    with county.uow() as uow:
        project = uow.session.get(Project, "XM-2027-001")
        assert (project.reserve_class, project.reserve_track) == (None, None)


def test_every_bad_value_is_refused_at_its_field_in_chinese(county):
    errors = field_errors(county, lambda uow: registry.register_project(uow, OFFICE, {
        "code": "XM 2027/1", "name": "", "stage": "launch", "sub_command": "gxj",
        "lead_department": "t_a", "township": "no_such", "project_unit": "co_gone",
        "specialist": "shenpi1", "key_level": "national", "funding": "",
        "planned_investment": "12.5"}))
    assert errors == {
        "code": ["项目编号只能由字母、数字和 - _ . 组成，最多 50 个字符"],
        "name": ["此项必填"], "stage": ["请从选项中选择"], "key_level": ["请从选项中选择"],
        "funding": ["此项必填"],
        "sub_command": ["没有这个分指挥部（或已停用），请从列表中选择"],
        "lead_department": ["没有这个主管部门（或已停用），请从列表中选择"],
        "township": ["没有这个属地乡镇（或已停用），请从列表中选择"],
        "project_unit": ["没有这个项目单位（或已停用），请从列表中选择"],
        "specialist": ["没有这个项目专员，请从列表中选择"],
        "planned_investment": ["请填写整数（万元）"],
    }
    assert field_errors(county, lambda uow: registry.register_project(
        uow, OFFICE, {**VALUES, "specialist": "zhuanyuan9"})) == {
        "specialist": ["没有这个项目专员，请从列表中选择"]}
    assert events(county, "project_registered") == []


def test_a_code_is_registered_once(county):
    register(county)
    assert field_errors(county, lambda uow: registry.register_project(uow, OFFICE, VALUES)) \
        == {"code": ["该项目编号已被使用"]}


def test_a_sub_commander_registers_in_the_field_only_and_others_not_at_all(county):
    assert field_errors(county, lambda uow: registry.register_project(
        uow, COMMANDER, {**VALUES, "sub_command": "sc_infra"})) == {
        "sub_command": ["只能登记您所在分指挥部的项目"]}
    register(county, actor=COMMANDER)
    for actor in (SUPERVISOR, COMPANY):
        with county.uow() as uow, pytest.raises(PermissionDeniedError):
            registry.register_project(uow, actor, {**VALUES, "code": "XM-2027-002"})


def test_an_edit_changes_what_it_names_and_audits_only_the_changes(county):
    register(county)
    with county.uow() as uow:
        changes = registry.update_project(uow, COMMANDER, "XM-2027-001",
                                          {"name": "新材料产业园（二期）", "township": "zone",
                                           "specialist": ""}, row_version=1)
        uow.commit()
    assert changes == {"name": ("新材料产业园二期", "新材料产业园（二期）"),
                       "township": ("t_a", "zone"), "specialist": ("zhuanyuan1", None)}
    [(actor, detail)] = events(county, "project_updated")
    assert actor == "fenzhi1"
    assert detail["before"] == {"name": "新材料产业园二期", "township": "t_a",
                                "specialist": "zhuanyuan1"}
    assert detail["after"] == {"name": "新材料产业园（二期）", "township": "zone",
                               "specialist": None}
    with county.uow() as uow:
        assert registry.update_project(uow, OFFICE, "XM-2027-001",
                                       {"name": "新材料产业园（二期）"}) == {}
        uow.commit()
    assert len(events(county, "project_updated")) == 1


def test_an_edit_on_a_stale_copy_is_a_conflict(county):
    register(county)
    with county.uow() as uow:
        registry.update_project(uow, OFFICE, "XM-2027-001", {"name": "甲"}, row_version=1)
        uow.commit()
    with county.uow() as uow, pytest.raises(ConflictError):
        registry.update_project(uow, OFFICE, "XM-2027-001", {"name": "乙"}, row_version=1)


def test_an_edit_keeps_a_unit_no_longer_offered_but_refuses_choosing_one(county):
    register(county)
    with county.uow() as uow:
        uow.session.get(Project, "XM-2027-001").project_unit = "co_gone"  # deactivated since
        uow.commit()
    with county.uow() as uow:
        assert registry.update_project(uow, OFFICE, "XM-2027-001", {"name": "甲"})
        uow.commit()
    with county.uow() as uow:
        uow.session.get(Project, "XM-2027-001").project_unit = "co_a"
        uow.commit()
    assert field_errors(county, lambda uow: registry.update_project(
        uow, OFFICE, "XM-2027-001", {"project_unit": "co_gone"})) == {
        "project_unit": ["没有这个项目单位（或已停用），请从列表中选择"]}


def test_an_edit_does_not_move_the_stage_nor_take_unknown_fields(county):
    register(county)
    assert field_errors(county, lambda uow: registry.update_project(
        uow, OFFICE, "XM-2027-001", {"stage": "construction"})) == {
        "stage": ["阶段请通过“转阶段”变更并填写理由"]}
    assert field_errors(county, lambda uow: registry.update_project(
        uow, OFFICE, "XM-2027-001", {"row_version": 3})) == {"row_version": ["未知字段"]}


def test_who_may_not_keep_the_project_is_refused_or_does_not_even_see_it(county):
    register(county)
    with county.uow() as uow, pytest.raises(NotFoundError):
        registry.update_project(uow, OTHER_COMMANDER, "XM-2027-001", {"name": "甲"})
    with county.uow() as uow, pytest.raises(PermissionDeniedError):
        registry.update_project(uow, SUPERVISOR, "XM-2027-001", {"name": "甲"})
    with county.uow() as uow, pytest.raises(NotFoundError):
        registry.update_project(uow, OFFICE, "XM-0000", {"name": "甲"})
    assert field_errors(county, lambda uow: registry.update_project(
        uow, COMMANDER, "XM-2027-001", {"sub_command": "sc_infra"})) == {
        "sub_command": ["只能登记您所在分指挥部的项目"]}


def test_a_stage_moves_with_a_reason_and_is_audited(county):
    register(county)
    assert field_errors(county, lambda uow: registry.move_project_stage(
        uow, COMMANDER, "XM-2027-001", "construction", "  ")) == {"reason": ["请填写转阶段的理由"]}
    assert field_errors(county, lambda uow: registry.move_project_stage(
        uow, COMMANDER, "XM-2027-001", "prework", "原地")) == {
        "stage": ["项目已在前期阶段，请选择另一个阶段"]}
    with county.uow() as uow:
        registry.move_project_stage(uow, COMMANDER, "XM-2027-001", "construction",
                                    "施工许可已取得，正式开工")
        uow.commit()
    [(actor, detail)] = events(county, "project_stage_moved")
    assert actor == "fenzhi1" and detail == {"before": "prework", "after": "construction",
                                             "why": "施工许可已取得，正式开工"}
    with county.uow() as uow, pytest.raises(PermissionDeniedError):
        registry.move_project_stage(uow, SUPERVISOR, "XM-2027-001", "completion", "竣工")


def test_moving_into_the_reserve_needs_class_and_track_and_moving_out_clears_them(county):
    register(county)
    assert field_errors(county, lambda uow: registry.move_project_stage(
        uow, OFFICE, "XM-2027-001", "reserve", "暂缓，退回储备库")) == {
        "reserve_class": ["转入储备须选择储备类别"], "reserve_track": ["转入储备须选择储备方向"]}
    with county.uow() as uow:
        registry.move_project_stage(uow, OFFICE, "XM-2027-001", "reserve", "暂缓，退回储备库",
                                    reserve_class="proposed", reserve_track="study")
        uow.commit()
    with county.uow() as uow:
        registry.move_project_stage(uow, OFFICE, "XM-2027-001", "planning", "重新启动谋划")
        uow.commit()
        project = uow.session.get(Project, "XM-2027-001")
        assert (project.stage, project.reserve_class, project.reserve_track) == (
            "planning", None, None)
    moves = [d for _a, d in events(county, "project_stage_moved")]
    assert moves[0]["reserve_class"] == "proposed" and "reserve_class" not in moves[1]


def test_the_schedule_is_replaced_checked_and_audited_only_when_it_changes(county):
    register(county)
    rows = [{"month": "2027-02", "planned": "200", "milestone": "主体封顶"},
            {"month": "2027-01", "planned": "100", "milestone": ""},
            {"month": "", "planned": "", "milestone": ""}]
    with county.uow() as uow:
        assert registry.replace_schedule(uow, OFFICE, "XM-2027-001", rows)
        uow.commit()
    with county.uow() as uow:
        assert not registry.replace_schedule(uow, OFFICE, "XM-2027-001", rows)
        months = [(r.month, r.planned_investment, r.milestone) for r in uow.session.execute(
            select(ScheduleMonth).order_by(ScheduleMonth.month)).scalars()]
    assert months == [("2027-01", 100, None), ("2027-02", 200, "主体封顶")]
    assert len(events(county, "schedule_set")) == 1
    assert field_errors(county, lambda uow: registry.replace_schedule(
        uow, OFFICE, "XM-2027-001", [{"month": "2027-13", "planned": "-1"},
                                     {"month": "2027-01", "planned": "1"},
                                     {"month": "2027-01", "planned": "x", "milestone": "长" * 201}])) \
        == {"schedule-0-month": ["请填写月份，如 2027-03"], "schedule-0-planned": ["不能小于 0"],
            "schedule-2-month": ["该月份已填写过"], "schedule-2-planned": ["请填写数字（万元）"],
            "schedule-2-milestone": ["最多 200 个字"]}


def test_the_pickers_offer_active_units_of_the_right_kind_and_active_specialists(county):
    with county.uow() as uow:
        picks = registry.choices(uow.session)
    assert [o.value for o in picks.options["sub_command"]] == ["sc_industry", "sc_infra"]
    assert [o.value for o in picks.options["township"]] == ["t_a", "zone"]
    assert "co_gone" not in [o.value for o in picks.options["project_unit"]]
    assert [(o.value, o.label) for o in picks.options["specialist"]] == [
        ("zhuanyuan1", "项目专员一（县工信局）")]
    assert picks.resolve("specialist", "项目专员一") == "zhuanyuan1"
    assert picks.resolve("specialist", "项目专员一（县工信局）") == "zhuanyuan1"
    assert picks.resolve("township", "甲镇") == "t_a" and picks.resolve("township", "乙镇") is None
