"""The organisation workbook: plan (added, changed, unchanged, errors at their cells), preview
kept server-side, confirm writes what was shown, the same file twice changes nothing."""

from __future__ import annotations

import io
import time

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.core import imports, org_admin, org_import, organisation
from engine.core.errors import PermissionDeniedError
from engine.core.identity import Actor
from engine.core.models import AuditEvent

ADMIN = Actor.of("admin1", "admin")
UNITS_HEADER = ["单位编码", "单位名称", "类别", "上级单位", "排序", "指挥长（用户名）", "副指挥长（用户名）"]
ACCOUNTS_HEADER = ["用户名", "姓名", "所在单位", "角色"]


def workbook(units=(), accounts=()) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in (("单位", UNITS_HEADER, units), ("账户", ACCOUNTS_HEADER, accounts)):
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def county(platform, clock):
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "hq", "县项目攻坚指挥部", "headquarters")
        uow.session.flush()
        organisation.add_user(uow.session, "admin1", "系统管理员", "mima-2026-admin", unit="hq",
                              roles=["admin"], now=clock.now())
        uow.commit()
    return platform


COUNTY = dict(
    units=[("office", "指挥部办公室（设在县发改局）", "指挥部办公室", "hq", "1", "", ""),
           ("sc_industry", "产业分指挥部", "分指挥部", "县项目攻坚指挥部", "10", "cmd", "dep"),
           ("gxj", "县工信局", "县直部门", "", "20", "", ""),
           ("t_liyi", "礼义镇", "乡镇", "", "30", "", "")],
    accounts=[("cmd", "分指挥长（产业）", "sc_industry", "分指挥长"),
              ("dep", "副指挥长（产业）", "gxj", "部门主要负责人"),
              ("head_head", "总指挥", "hq", "总指挥（县长）"),
              ("approver_gxj", "县工信局审批人", "县工信局", "审批人、项目专员（礼义镇）")])


def preview(platform, data: bytes, actor=ADMIN):
    with platform.uow() as uow:
        return org_import.preview(uow, actor, "county.xlsx", data)


def confirm(platform, batch_id: str, actor=ADMIN):
    with platform.uow() as uow:
        return org_import.confirm(uow, actor, batch_id)


def test_a_county_is_planned_then_written_on_confirmation(county):
    batch_id, plan = preview(county, workbook(**COUNTY))
    assert plan.ok and plan.summary() == {"add": 8, "change": 0, "unchanged": 0, "errors": 0}
    with county.uow() as uow:  # nothing written yet
        assert uow.session.get(organisation.OrgUnit, "gxj") is None
    rows = {(r.sheet, r.row): r for r in plan.rows}
    industry = rows[("单位", 3)]
    assert industry.what == "产业分指挥部（分指挥部）"
    assert [(c.label, c.after) for c in industry.changes] == [
        ("上级单位", "县项目攻坚指挥部"), ("指挥长", "分指挥长（产业）（产业分指挥部）"),
        ("副指挥长", "副指挥长（产业）（县工信局）")]
    assert rows[("账户", 3)].changes[1].after == "分指挥长（产业分指挥部）、部门主要负责人"
    result = confirm(county, batch_id)
    assert [p[0] for p in result.passwords] == ["cmd", "dep", "head_head", "approver_gxj"]
    with county.uow() as uow:
        groups = organisation.actor_for(uow.session, "dep").groups
        assert {"sub_commander@sc_industry", "department_head@gxj"} <= groups
        assert "specialist@t_liyi" in organisation.actor_for(uow.session, "approver_gxj").groups
        assert "county_head" in organisation.actor_for(uow.session, "head_head").groups
        assert org_admin.posts_of_unit(uow.session, "sc_industry") == {"commander": "cmd",
                                                                      "deputy": "dep"}
        actions = dict(uow.session.execute(select(AuditEvent.action, func.count())
                                           .group_by(AuditEvent.action)).all())
    assert actions["unit_created"] == 4 and actions["account_created"] == 4
    assert actions["unit_post_set"] == 2 and actions["organisation_imported"] == 1
    # the same file again changes nothing
    again_id, again = preview(county, workbook(**COUNTY))
    assert again.summary() == {"add": 0, "change": 0, "unchanged": 8, "errors": 0}


def test_a_changed_row_shows_before_and_after_by_name(county):
    confirm(county, preview(county, workbook(**COUNTY))[0])
    units = [list(r) for r in COUNTY["units"]]
    units[2][1] = "县工业和信息化局"
    units[1][6] = "approver_gxj"  # a new deputy
    accounts = [list(r) for r in COUNTY["accounts"]]
    accounts[1][3] = "部门主要负责人"
    accounts[3][2] = "gxj"  # its old name is gone
    batch_id, plan = preview(county, workbook(units, accounts))
    assert plan.ok, plan.errors
    changed = {(r.sheet, r.row): r.changes for r in plan.rows if r.action == "change"}
    assert changed[("单位", 4)] == (imports.Change("单位名称", "县工信局", "县工业和信息化局"),)
    assert changed[("单位", 3)] == (imports.Change(
        "副指挥长", "副指挥长（产业）（县工信局）", "县工信局审批人（县工业和信息化局）"),)
    confirm(county, batch_id)
    with county.uow() as uow:  # the post's role went with the post
        assert "sub_commander@sc_industry" not in organisation.actor_for(uow.session,
                                                                         "dep").groups
        assert "sub_commander@sc_industry" in organisation.actor_for(uow.session,
                                                                     "approver_gxj").groups
    assert preview(county, workbook(units, accounts))[1].summary()["unchanged"] == 8


def test_every_error_is_named_by_sheet_row_and_column_and_nothing_is_written(county):
    data = workbook(
        units=[("gxj", "县工信局", "县直部门", "", "", "", ""),
               ("a", "甲", "县直部门", "b", "", "", ""),
               ("b", "乙", "县直部门", "a", "", "", ""),
               ("c", "丙", "县直部门", "", "", "cmd", ""),
               ("d d", "丁", "星球", "", "x", "", "")],
        accounts=[("zhang", "张三", "gxj", "审批人（没有的单位）"),
                  ("zhang", "张三", "gxj", "审批人"),
                  ("li", "", "县发改局", ""),
                  ("admin1", "系统管理员", "hq", "指挥部办公室")])
    batch_id, plan = preview(county, data)
    assert not plan.ok and plan.count("add") == 1  # only 县工信局 is clean
    got = {(e.sheet, e.row, e.column) for e in plan.errors}
    assert got == {
        ("单位", 3, "上级单位"), ("单位", 4, "上级单位"), ("单位", 5, "指挥长（用户名）"),
        ("单位", 6, "单位编码"), ("单位", 6, "类别"), ("单位", 6, "排序"),
        ("账户", 2, "角色"), ("账户", 3, "用户名"), ("账户", 4, "姓名"), ("账户", 4, "角色"),
        ("账户", 4, "所在单位"), ("账户", 5, "角色")}
    reasons = {(e.sheet, e.row, e.column): e.reason for e in plan.errors}
    assert "循环" in reasons[("单位", 3, "上级单位")]
    assert reasons[("单位", 5, "指挥长（用户名）")] == "只有分指挥部设指挥长和副指挥长"
    assert reasons[("账户", 5, "角色")] == "不能取消自己的系统管理员角色"
    with county.uow() as uow:
        with pytest.raises(org_admin.OrgInputError):
            org_import.confirm(uow, ADMIN, batch_id)
        assert uow.session.get(organisation.OrgUnit, "gxj") is None


def test_a_preview_is_confirmed_once_by_whoever_uploaded_it_and_only_as_shown(county, clock):
    batch_id, _plan = preview(county, workbook(**COUNTY))
    with county.uow() as uow:
        with pytest.raises(PermissionDeniedError):
            org_import.confirm(uow, Actor.of("admin2", "admin"), batch_id)
        with pytest.raises(PermissionDeniedError):
            org_import.confirm(uow, Actor.of("clerk", "office"), batch_id)
    with county.uow() as uow:  # the data changed since the preview
        org_admin.create_unit(uow, ADMIN, "gxj", "县工信局（先建）", "department")
    with county.uow() as uow:
        with pytest.raises(imports.PreviewOutdatedError):
            org_import.confirm(uow, ADMIN, batch_id)
        assert uow.session.get(organisation.UserAccount, "cmd") is None
    fresh, _plan = preview(county, workbook(**COUNTY))
    confirm(county, fresh)
    with county.uow() as uow:
        with pytest.raises(imports.PreviewGoneError):
            org_import.confirm(uow, ADMIN, fresh)
    late, _plan = preview(county, workbook(**COUNTY))
    clock.advance(imports.PREVIEW_LIFETIME + imports.timedelta(minutes=1))
    with county.uow() as uow:
        with pytest.raises(imports.PreviewGoneError):
            org_import.confirm(uow, ADMIN, late)


def test_a_five_thousand_row_file_is_previewed_in_seconds(county, record_property):
    units = [("hq2", "第二指挥部", "指挥部", "", "", "", "")]
    units += [(f"u{n:04d}", f"单位{n:04d}", "县直部门", "hq2", str(n), "", "") for n in range(999)]
    accounts = [(f"user{n:04d}", f"人员{n:04d}", f"u{n % 999:04d}", "审批人、项目专员（hq2）")
                for n in range(4000)]
    data = workbook(units, accounts)
    started = time.perf_counter()
    _batch_id, plan = preview(county, data)
    elapsed = time.perf_counter() - started
    record_property("preview_seconds_5000_rows", round(elapsed, 2))
    print(f"\n5,000-row preview ({len(data) // 1024} KB): {elapsed:.2f} s")
    assert plan.ok and plan.summary()["add"] == 5000
