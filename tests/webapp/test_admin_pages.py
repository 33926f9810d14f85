"""系统管理 pages: the unit tree, accounts, disabling with reassignment, and the workbook import
(preview with errors by sheet, row and column in Chinese; confirm writes; a second upload of the
same file changes nothing)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from engine.bpm import inbox, runtime
from engine.core import organisation
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask

from .conftest import PASSWORD, AuthActions, csrf_token_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def admin(app, platform, clock, client):
    """An administrator of the headquarters, logged in."""
    with platform.uow() as uow:
        organisation.add_unit(uow.session, "hq", "县项目攻坚指挥部", "headquarters")
        uow.session.flush()
        organisation.add_unit(uow.session, "sc_industry", "产业分指挥部", "sub_command", "hq")
        uow.session.flush()
        organisation.add_user(uow.session, "admin1", "系统管理员", PASSWORD, unit="hq",
                              roles=["admin"], now=clock.now())
        uow.commit()
    assert AuthActions(client).login("admin1").status_code == 302
    return client


def post(client, url: str, data: dict, page: str = "/admin/units"):
    token = csrf_token_of(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def text(response) -> str:
    return response.get_data(as_text=True)


def workbook(units=(), accounts=()) -> bytes:
    book = Workbook()
    book.remove(book.active)
    sheet = book.create_sheet("单位")
    sheet.append(["单位编码", "单位名称", "类别", "上级单位", "排序", "指挥长（用户名）",
                  "副指挥长（用户名）"])
    for row in units:
        sheet.append(list(row))
    sheet = book.create_sheet("账户")
    sheet.append(["用户名", "姓名", "所在单位", "角色"])
    for row in accounts:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name: str = "org.xlsx"):
    token = csrf_token_of(text(client.get("/admin/import")))
    return client.post("/admin/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_only_administrators_see_the_pages_and_the_nav_link(app, admin, auth):
    assert "系统管理" in text(admin.get("/tasks/"))
    other = app.test_client()
    AuthActions(other).login("zhuanyuan1")
    assert "系统管理" not in text(other.get("/tasks/"))
    for url in ("/admin/units", "/admin/accounts", "/admin/import", "/admin/log",
                "/admin/accounts/new", "/admin/import/template.xlsx"):
        assert other.get(url).status_code == 403, url
        assert admin.get(url).status_code == 200, url


def test_the_unit_tree_is_built_on_the_page(admin):
    response = post(admin, "/admin/units", {"code": "gxj", "name": "县工信局", "kind": "department",
                                            "parent_code": "sc_industry"})
    assert response.status_code == 302
    page = text(admin.get("/admin/units")).split("单位树")[1]
    assert page.index("县项目攻坚指挥部") < page.index("产业分指挥部") < page.index("县工信局")
    refused = post(admin, "/admin/units", {"code": "gxj", "name": "", "kind": "x"})
    assert refused.status_code == 400
    body = text(refused)
    assert "单位编码“gxj”已被使用" in body and "请填写单位名称" in body
    assert "请从列表中选择单位类别" in body
    huge = post(admin, "/admin/units/gxj", {"name": "县工信局", "kind": "department",
                                            "sort": "9" * 30})
    assert huge.status_code == 400 and "排序应为" in text(huge)
    moved = post(admin, "/admin/units/gxj", {"name": "县工业和信息化局", "kind": "department",
                                             "parent_code": "", "sort": "5", "why": "更名"})
    assert moved.status_code == 302
    page = text(admin.get("/admin/units/gxj"))
    assert "县工业和信息化局" in page and "修改单位" in page and "更名" in page


def test_accounts_are_created_edited_and_searched_by_name(admin, platform):
    response = post(admin, "/admin/accounts/new", {
        "username": "zhangsan", "display_name": "张三", "unit_code": "sc_industry",
        "roles": ["sub_commander", "approver"], "unit_approver": "hq"}, "/admin/accounts/new")
    assert response.status_code == 200
    page = text(response)
    password = re.search(r'<code class="secret">([^<]+)</code>', page)[1]
    assert "张三（产业分指挥部）" in page and "只显示这一次" in page
    with platform.uow() as uow:
        assert organisation.authenticate(uow.session, "zhangsan", password).groups >= {
            "sub_commander@sc_industry", "approver@hq"}
    listed = text(admin.get("/admin/accounts?q=张"))
    assert "张三" in listed and "分指挥长" in listed and "审批人（县项目攻坚指挥部）" in listed
    assert "zhangsan" in listed and "共 1 个账户" in listed
    bad = post(admin, "/admin/accounts/new", {"username": "Zhang San", "display_name": "",
                                              "unit_code": "", "roles": []}, "/admin/accounts/new")
    assert bad.status_code == 400
    for message in ("用户名为 2–60 位", "请填写姓名", "请选择所在单位", "请至少选择一个角色"):
        assert message in text(bad)
    edited = post(admin, "/admin/accounts/zhangsan", {"display_name": "张三丰",
                                                      "unit_code": "hq", "roles": ["office"]},
                  "/admin/accounts/zhangsan")
    assert edited.status_code == 302
    page = text(admin.get("/admin/accounts/zhangsan"))
    assert "张三丰（县项目攻坚指挥部）" in page and "修改账户" in page


def test_a_sub_commands_posts_are_set_on_its_page(admin, platform, clock):
    with platform.uow() as uow:
        organisation.add_user(uow.session, "lisi", "李四", PASSWORD, unit="hq", roles=["office"],
                              now=clock.now())
        uow.commit()
    response = post(admin, "/admin/units/sc_industry/posts", {"commander": "lisi", "deputy": ""})
    assert response.status_code == 302
    assert "指挥长：李四（县项目攻坚指挥部）" in text(admin.get("/admin/units"))
    with platform.uow() as uow:
        assert "sub_commander@sc_industry" in organisation.actor_for(uow.session, "lisi").groups


def test_disabling_lists_the_work_and_reassigns_it_in_one_step(admin, app, platform):
    specialist = organisation_actor(platform, "zhuanyuan1")
    with platform.uow() as uow:
        runtime.start_instance(uow, "approval", specialist, data={"project_name": "光伏"})
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, specialist)[0]
    AuthActions(browser := app.test_client()).login("zhuanyuan1")
    AuthActions(browser).post(f"/tasks/{task.id}/claim")
    page = text(admin.get("/admin/accounts/zhuanyuan1/disable"))
    assert "准备材料" in page and "办理中" in page and "项目专员二（县发改局）" in page
    refused = post(admin, "/admin/accounts/zhuanyuan1/disable", {"why": "调离"},
                   "/admin/accounts/zhuanyuan1/disable")
    assert refused.status_code == 400 and "请选择接手人" in text(refused)
    done = post(admin, "/admin/accounts/zhuanyuan1/disable",
                {"why": "调离", "reassign_to": "zhuanyuan2"}, "/admin/accounts/zhuanyuan1/disable")
    assert done.status_code == 302
    assert "1 项待办已改派" in text(admin.get(done.headers["Location"]))
    with platform.uow() as uow:
        assert uow.session.get(HumanTask, task.id).assignee == "zhuanyuan2"
    # the disabled user's browser is logged out at its next request, and cannot log in again
    assert browser.get("/tasks/").status_code == 302
    assert AuthActions(app.test_client()).login("zhuanyuan1").status_code == 401
    assert "停用账户" in text(admin.get("/admin/log"))


def organisation_actor(platform, username) -> Actor:
    with platform.uow() as uow:
        return organisation.actor_for(uow.session, username)


def test_a_password_reset_shows_a_one_time_password_that_must_be_changed(admin, app):
    response = post(admin, "/admin/accounts/zhuanyuan2/password", {})
    password = re.search(r'<code class="secret">([^<]+)</code>', text(response))[1]
    other = app.test_client()
    assert AuthActions(other).login("zhuanyuan2", PASSWORD).status_code == 401
    assert AuthActions(other).login("zhuanyuan2", password).status_code == 302


def test_the_template_downloads_with_both_sheets_and_the_guide(admin):
    response = admin.get("/admin/import/template.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["单位", "账户", "说明"]
    assert [c.value for c in book["账户"][1]] == ["用户名", "姓名", "所在单位", "角色"]


def test_the_preview_shows_every_error_by_sheet_row_and_column_and_writes_nothing(admin, platform):
    data = workbook(
        units=[("gxj", "县工信局", "县直部门", "", "", "", ""),
               ("gxj", "重复", "县直部门", "", "", "", ""),
               ("t_x", "某镇", "村委会", "nowhere", "abc", "", ""),
               ("sc_energy", "能源分指挥部", "分指挥部", "hq", "", "nobody", "")],
        accounts=[("wang", "王五", "县工信局", "审批人；飞行员"),
                  ("Bad Name", "赵六", "gxj", "审批人")])
    response = upload(admin, data)
    assert response.status_code == 302
    page = text(admin.get(response.headers["Location"]))
    errors = re.findall(r"<tr><td>(单位|账户)</td><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>",
                        page)
    where = {(sheet, int(row), column) for sheet, row, column, _reason in errors}
    assert where == {("单位", 3, "单位编码"), ("单位", 4, "类别"), ("单位", 4, "上级单位"),
                     ("单位", 4, "排序"), ("单位", 5, "指挥长（用户名）"), ("账户", 2, "角色"),
                     ("账户", 3, "用户名")}
    reasons = " ".join(reason for *_x, reason in errors)
    assert "与第 2 行重复" in reasons and "没有“飞行员”这个角色" in reasons
    assert "请填写整数" in reasons and "没有用户名为“nobody”的账户" in reasons
    assert "确认导入" not in page
    with platform.uow() as uow:
        assert uow.session.get(organisation.OrgUnit, "gxj") is None


def test_confirming_writes_and_the_same_file_again_changes_nothing(admin, platform):
    data = workbook(
        units=[("gxj", "县工信局", "县直部门", "", "20", "", ""),
               ("sc_energy", "能源分指挥部", "分指挥部", "县项目攻坚指挥部", "11", "wang", "zhao")],
        accounts=[("wang", "王五", "sc_energy", "分指挥长"),
                  ("zhao", "赵六", "gxj", "部门主要负责人、审批人"),
                  ("zhuanyuan1", "项目专员一", "fgj", "项目专员")])
    first = admin.get(upload(admin, data).headers["Location"])
    page = text(first)
    assert "新增" in page and "县工信局（县直部门）" in page and "王五（能源分指挥部）" in page
    assert "副指挥长：（空缺） → 赵六（县工信局）" in page
    assert "确认导入" in page
    with platform.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(AuditEvent))
    confirm_url = first.request.path
    done = post(admin, confirm_url, {}, confirm_url)
    assert done.status_code == 200
    result = text(done)
    assert "已新增 4 行" in result and len(re.findall(r'<code class="secret">', result)) == 2
    with platform.uow() as uow:
        assert organisation.actor_for(uow.session, "zhao").groups >= {
            "sub_commander@sc_energy", "approver@gxj", "department_head@gxj"}
        assert uow.session.get(organisation.OrgUnit, "sc_energy").parent_code == "hq"
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent)) > before
    # a preview is confirmed once
    assert post(admin, confirm_url, {}, "/admin/import").status_code == 302
    second = text(admin.get(upload(admin, data).headers["Location"]))
    assert "文件中的内容与系统一致，没有需要更改的" in second and "确认导入" not in second
    assert re.search(r'<span class="n">0</span>新增', second)
    assert re.search(r'<span class="n">5</span>无变化', second)


def test_hostile_files_are_refused_with_a_chinese_message(admin):
    for data, message in ((b"not a workbook at all", "不是 Excel 工作簿"),
                          (b"PK\x03\x04broken", "已损坏")):
        response = upload(admin, data)
        assert response.status_code == 400 and message in text(response)


def test_names_with_markup_are_shown_escaped(admin, platform, clock):
    hostile = '<script>alert("x")</script>'
    post(admin, "/admin/units", {"code": "evil", "name": hostile, "kind": "department"})
    response = upload(admin, workbook(accounts=[("evil1", hostile, "evil", "审批人")]))
    for url in ("/admin/units", "/admin/accounts", response.headers["Location"], "/admin/log"):
        page = text(admin.get(url))
        assert hostile not in page and "&lt;script&gt;" in page, url
