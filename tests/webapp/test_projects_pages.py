"""项目库 pages: register and edit with pickers of names (bad values refused at their field in
Chinese), stage moves with a reason, the xlsx import's preview and confirmation — for the
office, administrators and the field's sub-commander only."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from engine.core.models import AuditEvent
from engine.county.projects import Project, ScheduleMonth, add_project

from ..conftest import add_accounts
from .conftest import PASSWORD, AuthActions, csrf_token_of

USERS = {
    "bangong1": ("指挥部办公室一", "office", ["office"]),
    "fenzhi1": ("分指挥长（工业）", "sc_industry", ["sub_commander"]),
    "ducha1": ("督办人员", "duban", ["supervisor"]),
    "qiye1": ("项目单位（甲公司）", "co_a", ["project_unit"]),
    "zhuanyuan1": ("项目专员一", "gxj", ["specialist"]),
}
FORM = {"code": "XM-2027-001", "name": "新材料产业园二期", "stage": "prework",
        "sub_command": "sc_industry", "lead_department": "gxj", "township": "t_a",
        "project_unit": "co_a", "specialist": "zhuanyuan1", "key_level": "city",
        "funding": "enterprise", "planned_investment": "12000",
        "schedule-0-month": "2027-01", "schedule-0-planned": "100",
        "schedule-0-milestone": "土地征收", "schedule-1-month": "", "schedule-1-planned": "",
        "schedule-1-milestone": ""}


@pytest.fixture
def accounts(platform, clock):
    """The office, a sub-commander of the industry field, a supervisor, a company, a
    specialist, and one project of the infrastructure field."""
    users = add_accounts(platform, clock.now(), [
        ("office", "指挥部办公室", "office"), ("duban", "督办监督组", "working_group"),
        ("sc_industry", "工业分指挥部", "sub_command"),
        ("sc_infra", "基础设施分指挥部", "sub_command"), ("gxj", "县工信局", "department"),
        ("zj", "县住建局", "department"), ("t_a", "甲镇", "township"),
        ("co_a", "甲公司", "company")], USERS, PASSWORD)
    with platform.uow() as uow:
        add_project(uow.session, "XM-2026-100", "供热管网改造", sub_command="sc_infra",
                    stage="prework", township="t_a", lead_department="zj", project_unit="co_a",
                    specialist=None, key_level="county", funding="government",
                    planned_investment=600)
        uow.commit()
    return users


def browser(app, username):
    client = app.test_client()
    assert AuthActions(client).login(username, PASSWORD).status_code == 302
    return client


def post(client, url, data, page=None):
    token = csrf_token_of(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def field_error(html: str, field: str) -> list[str]:
    """The error messages shown under one field of a page."""
    block = re.search(rf'id="field-{re.escape(field)}".*?</div>', html, re.S)
    assert block, f"no field {field} on the page"
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', block[0])


def audited(platform, action) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action))


def test_the_office_registers_a_project_with_its_schedule_and_sees_its_sheet(app, platform):
    office = browser(app, "bangong1")
    page = office.get("/projects/new").get_data(as_text=True)
    assert 'data-picker' in page and "甲公司" in page and "项目专员一（县工信局）" in page
    response = post(office, "/projects/new", FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/board/project/XM-2027-001"
    with platform.uow() as uow:
        project = uow.session.get(Project, "XM-2027-001")
        assert (project.project_unit, project.specialist) == ("co_a", "zhuanyuan1")
        assert [(m.month, m.planned_investment, m.milestone) for m in uow.session.execute(
            select(ScheduleMonth).where(ScheduleMonth.project_code == "XM-2027-001"))
            .scalars()] == [("2027-01", 100, "土地征收")]
    sheet = office.get("/board/project/XM-2027-001").get_data(as_text=True)
    assert "已登记项目：新材料产业园二期" in sheet and 'id="edit-project"' in sheet
    assert audited(platform, "project_registered") == 1


def test_bad_values_are_refused_at_their_field_in_chinese_and_nothing_is_saved(app, platform):
    office = browser(app, "bangong1")
    response = post(office, "/projects/new", {
        **FORM, "code": "", "stage": "reserve", "township": "no_such_town",
        "project_unit": "co_a'><script>", "specialist": "ducha1", "planned_investment": "-3",
        "schedule-0-month": "2027-13"}, page="/projects/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "code") == ["此项必填"]
    assert field_error(html, "reserve_class") == ["储备项目必须选择储备类别"]
    assert field_error(html, "township") == ["没有这个属地乡镇（或已停用），请从列表中选择"]
    assert field_error(html, "project_unit") == ["没有这个项目单位（或已停用），请从列表中选择"]
    assert field_error(html, "specialist") == ["没有这个项目专员，请从列表中选择"]
    assert field_error(html, "planned_investment") == ["不能小于 0"]
    assert "请填写月份，如 2027-03" in html and "<script>" not in html
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Project)) == 1
    assert audited(platform, "project_registered") == 0


def test_an_edit_saves_the_changes_and_the_schedule_and_a_stale_form_is_a_conflict(app, platform):
    office = browser(app, "bangong1")
    page = office.get("/projects/XM-2026-100/edit").get_data(as_text=True)
    assert 'name="row_version" value="1"' in page and "供热管网改造" in page
    edit = {"name": "供热管网改造（一期）", "sub_command": "sc_infra", "lead_department": "zj",
            "township": "t_a", "project_unit": "co_a", "specialist": "", "key_level": "county",
            "funding": "government", "planned_investment": "650", "row_version": "1",
            "schedule-0-month": "2027-02", "schedule-0-planned": "50", "schedule-0-milestone": ""}
    assert post(office, "/projects/XM-2026-100/edit", edit).status_code == 302
    with platform.uow() as uow:
        project = uow.session.get(Project, "XM-2026-100")
        assert (project.name, project.planned_investment, project.row_version) == (
            "供热管网改造（一期）", 650, 2)
    stale = post(office, "/projects/XM-2026-100/edit", {**edit, "name": "又一个名字"})
    assert stale.status_code == 302 and stale.headers["Location"].endswith("/edit")
    assert "刚被他人修改" in office.get(stale.headers["Location"]).get_data(as_text=True)
    assert audited(platform, "project_updated") == 1 and audited(platform, "schedule_set") == 1


def test_a_stage_moves_with_a_reason_and_shows_on_the_sheet_and_the_battle_map(app, platform):
    office = browser(app, "bangong1")
    page = office.get("/projects/XM-2026-100/stage").get_data(as_text=True)
    assert '<option value="construction" selected>' in page  # the next stage is offered first
    empty = post(office, "/projects/XM-2026-100/stage", {"stage": "construction", "reason": ""})
    assert empty.status_code == 400
    assert field_error(empty.get_data(as_text=True), "reason") == ["请填写转阶段的理由"]
    moved = post(office, "/projects/XM-2026-100/stage",
                 {"stage": "construction", "reason": "施工许可已办结"})
    assert moved.status_code == 302
    sheet = office.get("/board/project/XM-2026-100").get_data(as_text=True)
    assert "已转阶段：前期 → 建设" in sheet and "施工许可已办结" in sheet
    board = office.get("/board/").get_data(as_text=True)
    assert re.search(r'<span class="stage">建设</span>（\d{4}-\d{2}-\d{2} 转入）', board)


def test_the_field_s_sub_commander_keeps_its_projects_and_no_other(app, platform):
    commander = browser(app, "fenzhi1")
    assert commander.get("/projects/XM-2026-100/edit").status_code == 404  # another field
    other_field = post(commander, "/projects/new", {**FORM, "sub_command": "sc_infra"})
    assert field_error(other_field.get_data(as_text=True), "sub_command") == [
        "只能登记您所在分指挥部的项目"]
    assert post(commander, "/projects/new", FORM).status_code == 302
    assert commander.get("/projects/XM-2027-001/stage").status_code == 200


def test_who_does_not_keep_the_registry_sees_it_but_changes_nothing(app, platform):
    for username in ("ducha1", "qiye1", "zhuanyuan1"):
        client = browser(app, username)
        listing = client.get("/projects/").get_data(as_text=True)
        assert 'id="new-project"' not in listing and "/edit" not in listing
        assert client.get("/projects/new").status_code == 403
        assert client.get("/projects/import").status_code == 403
        assert client.get("/projects/import/template").status_code == 403
    assert browser(app, "ducha1").get("/projects/XM-2026-100/edit").status_code == 403
    assert browser(app, "qiye1").get("/projects/XM-2026-100/stage").status_code == 403
    sheet = browser(app, "ducha1").get("/board/project/XM-2026-100").get_data(as_text=True)
    assert 'id="edit-project"' not in sheet


def test_the_list_filters_by_text_field_and_stage(app, platform):
    office = browser(app, "bangong1")
    post(office, "/projects/new", FORM)
    both = office.get("/projects/").get_data(as_text=True)
    assert "XM-2026-100" in both and "XM-2027-001" in both and "共 2 个项目" in both
    assert "XM-2026-100" not in office.get("/projects/?q=新材料").get_data(as_text=True)
    assert "XM-2027-001" not in office.get("/projects/?sub_command=sc_infra").get_data(as_text=True)
    assert "XM-2026-100" not in office.get("/projects/?stage=reserve").get_data(as_text=True)
    company = browser(app, "qiye1").get("/projects/").get_data(as_text=True)
    assert "XM-2026-100" in company  # its own project, read only


# ---------------------------------------------------------------- the import

def upload(client, data: bytes, name="项目.xlsx"):
    token = csrf_token_of(client.get("/projects/import").get_data(as_text=True))
    return client.post("/projects/import", data={"csrf_token": token,
                                                 "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def workbook_with(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "项目"
    sheet.append(["项目编号", "项目名称", "阶段", "储备类别", "储备方向", "分指挥部", "主管部门",
                  "属地乡镇", "项目单位", "项目专员", "重点级别", "投资性质", "总投资（万元）"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


NEW_ROW = ["XM-2027-002", "县城物流园", "储备", "谈判", "近期签约", "工业分指挥部", "县工信局",
           "甲镇", "甲公司", "项目专员一", "一般项目", "企业投资", 8000]


def test_the_template_downloads_and_uploaded_unchanged_changes_nothing(app, platform):
    office = browser(app, "bangong1")
    response = office.get("/projects/import/template")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book["项目"][2]][:3] == ["XM-2026-100", "供热管网改造", "前期"]
    preview = upload(office, response.data).get_data(as_text=True)
    assert 'id="nothing-to-import"' in preview and "confirm-import" not in preview


def test_an_upload_is_previewed_confirmed_and_the_same_file_again_changes_nothing(app, platform):
    office = browser(app, "bangong1")
    data = workbook_with([NEW_ROW])
    preview = upload(office, data)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "县城物流园（XM-2027-002）" in html and "新增" in html
    with platform.uow() as uow:
        assert uow.session.get(Project, "XM-2027-002") is None  # nothing written yet
    action = re.search(r'action="(/projects/import/[^"]+/confirm)"', html)[1]
    confirmed = office.post(action, data={"csrf_token": csrf_token_of(html)})
    assert confirmed.status_code == 302
    assert "已导入：新增 1 个项目" in office.get("/projects/").get_data(as_text=True)
    with platform.uow() as uow:
        project = uow.session.get(Project, "XM-2027-002")
        assert (project.stage, project.reserve_class, project.reserve_track) == (
            "reserve", "negotiating", "signing")
    again = upload(office, data).get_data(as_text=True)
    assert 'id="nothing-to-import"' in again
    twice = office.post(action, data={"csrf_token": csrf_token_of(html)})
    assert twice.status_code == 409 and "该预览已失效" in twice.get_data(as_text=True)
    assert audited(platform, "projects_imported") == 1


def test_rows_in_error_are_listed_with_sheet_row_column_and_reason_and_cannot_be_confirmed(
        app, platform):
    office = browser(app, "bangong1")
    bad = [*NEW_ROW[:7], "乙镇", *NEW_ROW[8:]]
    response = upload(office, workbook_with([NEW_ROW[:2] + ["开工"] + NEW_ROW[3:], bad]))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "confirm-import" not in html
    assert "<td>项目</td><td>2</td><td>阶段</td>" in html
    assert "<td>项目</td><td>3</td><td>项目编号</td><td>与第 2 行的项目编号重复</td>" in html
    assert "没有写入任何内容" in html


def test_what_is_not_a_workbook_is_refused_at_the_file_field(app, platform):
    office = browser(app, "bangong1")
    response = upload(office, b"%PDF-1.4 not a workbook", name="a.xlsx")
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "file") == [
        "文件不是 Excel 工作簿（.xlsx）；请用本页下载的模板填写后上传"]


def test_the_project_s_trail_shows_each_change_by_name_in_chinese(app, platform):
    office = browser(app, "bangong1")
    post(office, "/projects/new", FORM)
    post(office, "/projects/XM-2027-001/edit", {
        **{k: v for k, v in FORM.items() if k not in ("code", "stage")},
        "township": "t_a", "specialist": "", "lead_department": "zj", "row_version": "1"})
    post(office, "/projects/XM-2027-001/stage", {"stage": "construction", "reason": "开工"})
    trail = office.get("/audit/projects/XM-2027-001").get_data(as_text=True)
    for shown in ("登记项目", "修改项目信息", "项目转阶段", "制定月度计划",
                  "原为：主管部门：县工信局；项目专员：项目专员一",
                  "改为：主管部门：县住建局；项目专员：（空）", "市重点工程", "企业投资"):
        assert shown in trail, shown
    cells = re.findall(r"<td>([^<]*)</td>", trail)
    for code in ("sc_industry", "co_a", "zhuanyuan1", "prework", "enterprise", "city"):
        assert not any(code in cell for cell in cells), code


def test_a_workbook_carrying_a_dtd_is_refused_whole_and_nothing_is_kept(app, platform):
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(workbook_with([NEW_ROW])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as hostile:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data
            hostile.writestr(item, data)
    response = upload(browser(app, "bangong1"), out.getvalue())
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "file") == [
        "工作簿中含有 DTD 声明，已拒绝（可能是恶意文件）"]
    with platform.uow() as uow:
        assert uow.session.get(Project, "XM-2027-002") is None
