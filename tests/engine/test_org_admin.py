"""Changing the organisation: units as a tree, sub-command posts, accounts — each audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import org_admin, organisation
from engine.core.audit import verify_audit
from engine.core.errors import NotFoundError, PermissionDeniedError
from engine.core.identity import Actor
from engine.core.models import AuditEvent
from engine.core.org_admin import OrgInputError

ADMIN = Actor.of("admin1", "admin")
CLERK = Actor.of("clerk", "office")


@pytest.fixture
def county(platform, clock):
    """A small county: headquarters, a sub-command, two departments, an administrator."""
    with platform.uow() as uow:
        s = uow.session
        organisation.add_unit(s, "hq", "县项目攻坚指挥部", "headquarters")
        s.flush()
        organisation.add_unit(s, "sc_industry", "产业分指挥部", "sub_command", "hq")
        organisation.add_unit(s, "gxj", "县工信局", "department")
        organisation.add_unit(s, "zrzy", "县自然资源局", "department")
        s.flush()
        organisation.add_user(s, "admin1", "系统管理员", "mima-2026-admin", unit="hq",
                              roles=["admin"], now=clock.now())
        uow.commit()
    return platform


def events(platform, action: str) -> list[dict]:
    with platform.uow() as uow:
        rows = uow.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.seq)).scalars()
        return [{"actor": r.actor, "subject": r.subject, **json.loads(r.detail)} for r in rows]


def test_an_administrator_creates_renames_and_moves_units_as_a_tree(county):
    with county.uow() as uow:
        org_admin.create_unit(uow, ADMIN, "wg_prework", "项目前期小组", "working_group", "hq")
    with county.uow() as uow:
        org_admin.change_unit(uow, ADMIN, "wg_prework", name="项目前期作战小组",
                              why="按通知更名")
    with county.uow() as uow:
        org_admin.change_unit(uow, ADMIN, "gxj", parent_code="sc_industry")
    with county.uow() as uow:
        tree = org_admin.unit_tree(uow.session)
        assert verify_audit(uow.session).ok
    order = [(n.code, n.depth) for n in tree]
    assert order.index(("hq", 0)) < order.index(("sc_industry", 1)) < order.index(("gxj", 2))
    assert ("wg_prework", 1) in order
    assert next(n.name for n in tree if n.code == "wg_prework") == "项目前期作战小组"
    assert [e["subject"] for e in events(county, "unit_created")] == ["unit:wg_prework"]
    changed = events(county, "unit_changed")
    assert changed[0]["before"] == {"name": "项目前期小组"}
    assert changed[0]["after"] == {"name": "项目前期作战小组"} and changed[0]["why"] == "按通知更名"
    assert changed[1]["after"] == {"parent": "sc_industry"}


def test_bad_unit_input_is_refused_at_its_field_in_chinese(county):
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as refused:
            org_admin.create_unit(uow, ADMIN, "gxj", "", "planet", "nowhere")
    errors = refused.value.field_errors
    assert set(errors) == {"code", "name", "kind", "parent_code"}
    assert "已被使用" in errors["code"][0] and errors["name"] == ["请填写单位名称"]
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as loop:
            org_admin.change_unit(uow, ADMIN, "hq", parent_code="sc_industry")
    assert "下级" in loop.value.field_errors["parent_code"][0]
    assert events(county, "unit_created") == [] and events(county, "unit_changed") == []


def test_only_administrators_change_the_organisation(county):
    with county.uow() as uow:
        with pytest.raises(PermissionDeniedError):
            org_admin.create_unit(uow, CLERK, "x1", "某单位", "department")
        with pytest.raises(PermissionDeniedError):
            org_admin.create_account(uow, CLERK, "zhangsan", "张三", "gxj", [("approver", None)])


def test_a_unit_with_active_accounts_is_not_deactivated_until_they_move(county):
    with county.uow() as uow:
        org_admin.create_account(uow, ADMIN, "zhangsan", "张三", "zrzy", [("approver", None)])
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as refused:
            org_admin.set_unit_active(uow, ADMIN, "zrzy", False, "机构改革")
    assert "1 个启用的账户" in refused.value.field_errors["active"][0]
    with county.uow() as uow:
        org_admin.change_account(uow, ADMIN, "zhangsan", "张三", "gxj", [("approver", None)])
    with county.uow() as uow:
        org_admin.set_unit_active(uow, ADMIN, "zrzy", False, "机构改革")
    with county.uow() as uow:
        assert not uow.session.get(organisation.OrgUnit, "zrzy").active
        with pytest.raises(OrgInputError):  # nothing new goes to an inactive unit
            org_admin.create_account(uow, ADMIN, "lisi", "李四", "zrzy", [("approver", None)])
    with county.uow() as uow:
        org_admin.set_unit_active(uow, ADMIN, "zrzy", True, "恢复")
    assert [e["why"] for e in events(county, "unit_deactivated")] == ["机构改革"]
    assert len(events(county, "unit_activated")) == 1


def test_a_new_account_gets_a_one_time_password_it_must_change_at_first_login(county, clock):
    with county.uow() as uow:
        password = org_admin.create_account(uow, ADMIN, "zhangsan", "张三", "zrzy",
                                            [("approver", None), ("specialist", "gxj")])
    assert len(password) == 19
    with county.uow() as uow:
        account = uow.session.get(organisation.UserAccount, "zhangsan")
        assert account.must_change_password
        actor = organisation.authenticate(uow.session, "zhangsan", password)
        assert actor.groups == {"unit:zrzy", "approver", "approver@zrzy", "specialist",
                                "specialist@gxj"}
        organisation.change_password(uow.session, "zhangsan", password, "一个好记的新密码2026",
                                     clock.now())
        uow.commit()
    with county.uow() as uow:
        account = uow.session.get(organisation.UserAccount, "zhangsan")
        assert not account.must_change_password
        assert account.password_hash.startswith("scrypt$")
    created = events(county, "account_created")
    assert created[0]["after"]["roles"] == ["approver", "specialist@gxj"]
    assert password not in json.dumps(created, ensure_ascii=False)


def test_bad_account_input_is_refused_at_its_field(county):
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as refused:
            org_admin.create_account(uow, ADMIN, "Admin 1", "", "nowhere",
                                     [("wizard", None), ("integration", None)])
    errors = refused.value.field_errors
    assert set(errors) == {"username", "display_name", "unit_code", "roles"}
    assert "没有“wizard”这个角色" in errors["roles"][0]
    assert "没有“integration”这个角色" in errors["roles"][1]  # a token's role, not a person's


def test_editing_an_account_changes_its_name_unit_and_roles(county):
    with county.uow() as uow:
        org_admin.create_account(uow, ADMIN, "zhangsan", "张三", "zrzy", [("approver", None)])
    with county.uow() as uow:
        assert org_admin.change_account(uow, ADMIN, "zhangsan", "张三丰", "gxj",
                                        [("department_head", None)], why="调任")
    with county.uow() as uow:
        assert not org_admin.change_account(uow, ADMIN, "zhangsan", "张三丰", "gxj",
                                            [("department_head", None)])
        row = org_admin.get_account(uow.session, "zhangsan")
        assert organisation.actor_for(uow.session, "zhangsan").groups == {
            "unit:gxj", "department_head", "department_head@gxj"}
    assert row.label == "张三丰（县工信局）" and row.role_labels == ("部门主要负责人",)
    changed = events(county, "account_changed")
    assert len(changed) == 1
    assert changed[0]["before"] == {"display_name": "张三", "unit": "zrzy", "roles": ["approver"]}
    assert changed[0]["after"]["roles"] == ["department_head"]


def test_an_administrator_cannot_lock_themselves_out(county):
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as demote:
            org_admin.change_account(uow, ADMIN, "admin1", "系统管理员", "hq", [("office", None)])
    assert "不能取消自己的系统管理员角色" in demote.value.field_errors["roles"]
    with county.uow() as uow:
        with pytest.raises(OrgInputError) as disable:
            org_admin.mark_disabled(uow, ADMIN, "admin1", "离职")
    assert "不能停用自己的账户" in disable.value.field_errors["username"]


def test_the_commander_and_deputy_of_a_sub_command_act_in_its_group(county):
    with county.uow() as uow:
        org_admin.create_account(uow, ADMIN, "commander", "分指挥长甲", "sc_industry",
                                 [("sub_commander", None)])
        org_admin.create_account(uow, ADMIN, "deputy", "副指挥长乙", "gxj",
                                 [("department_head", None)])
        org_admin.create_account(uow, ADMIN, "deputy2", "副指挥长丙", "gxj",
                                 [("department_head", None)])
    with county.uow() as uow:
        org_admin.set_post(uow, ADMIN, "sc_industry", "commander", "commander")
    with county.uow() as uow:
        org_admin.set_post(uow, ADMIN, "sc_industry", "deputy", "deputy", why="任命")
    with county.uow() as uow:
        assert "sub_commander@sc_industry" in organisation.actor_for(uow.session, "deputy").groups
        node = next(n for n in org_admin.unit_tree(uow.session) if n.code == "sc_industry")
        assert (node.commander, node.deputy) == ("分指挥长甲（产业分指挥部）", "副指挥长乙（县工信局）")
        with pytest.raises(OrgInputError):  # one person, one post
            org_admin.set_post(uow, ADMIN, "sc_industry", "deputy", "commander")
        with pytest.raises(OrgInputError):  # a department has no commander
            org_admin.set_post(uow, ADMIN, "gxj", "commander", "deputy2")
    with county.uow() as uow:  # the deputy is replaced: the role goes with the post
        org_admin.set_post(uow, ADMIN, "sc_industry", "deputy", "deputy2")
    with county.uow() as uow:
        assert "sub_commander@sc_industry" not in organisation.actor_for(uow.session,
                                                                         "deputy").groups
        assert "sub_commander@sc_industry" in organisation.actor_for(uow.session,
                                                                     "deputy2").groups
        with pytest.raises(OrgInputError) as keep:  # the post needs its role
            org_admin.change_account(uow, ADMIN, "deputy2", "副指挥长丙", "gxj",
                                     [("department_head", None)])
    assert "副指挥长" in keep.value.field_errors["roles"][0]
    posts = events(county, "unit_post_set")
    assert [(p["post"], p.get("before"), p["after"]) for p in posts] == [
        ("commander", None, "commander"), ("deputy", None, "deputy"), ("deputy", "deputy", "deputy2")]


def test_resetting_a_password_ends_the_sessions_and_asks_for_a_change(county, clock):
    from engine.core import login_sessions
    with county.uow() as uow:
        first = org_admin.create_account(uow, ADMIN, "zhangsan", "张三", "zrzy",
                                         [("approver", None)])
    with county.uow() as uow:
        login_sessions.start_session(uow.session, "zhangsan", clock.now(), timedelta(hours=1))
        uow.commit()
    with county.uow() as uow:
        second = org_admin.reset_password(uow, ADMIN, "zhangsan", why="忘记密码")
    assert second != first
    with county.uow() as uow:
        assert organisation.authenticate(uow.session, "zhangsan", first) is None
        assert organisation.authenticate(uow.session, "zhangsan", second) is not None
        assert uow.session.scalar(select(login_sessions.LoginSession.id)) is None
        assert uow.session.get(organisation.UserAccount, "zhangsan").must_change_password
    assert [e["why"] for e in events(county, "account_password_reset")] == ["忘记密码"]


def test_accounts_are_searched_and_filtered(county):
    with county.uow() as uow:
        for n in range(3):
            org_admin.create_account(uow, ADMIN, f"shenpi{n}", f"审批人{n}", "zrzy",
                                     [("approver", None)])
        org_admin.create_account(uow, ADMIN, "zhuanyuan", "项目专员", "gxj", [("specialist", None)])
    with county.uow() as uow:
        found, total = org_admin.list_accounts(uow.session, q="审批")
        assert total == 3 and [a.username for a in found] == ["shenpi0", "shenpi1", "shenpi2"]
        found, total = org_admin.list_accounts(uow.session, unit="gxj")
        assert [a.username for a in found] == ["zhuanyuan"]
        found, total = org_admin.list_accounts(uow.session, role="admin")
        assert [a.username for a in found] == ["admin1"]
        found, total = org_admin.list_accounts(uow.session, q="%")
        assert total == 0
        found, total = org_admin.list_accounts(uow.session, limit=2, offset=2)
        assert total == 5 and len(found) == 2
        with pytest.raises(NotFoundError):
            org_admin.get_account(uow.session, "nobody")


def test_the_same_username_twice_in_one_transaction_is_refused(county):
    with county.uow() as uow:
        uow.begin_write()
        org_admin.add_account(uow, ADMIN, "zhangsan", "张三", "gxj", [("approver", None)])
        with pytest.raises(OrgInputError) as twice:
            org_admin.add_account(uow, ADMIN, "zhangsan", "张三", "gxj", [("approver", None)])
        uow.rollback()
    assert "已被使用" in twice.value.field_errors["username"][0]
    with county.uow() as uow:  # nothing was written, so the name is free again
        org_admin.create_account(uow, ADMIN, "zhangsan", "张三", "gxj", [("approver", None)])
