"""查账 pages: a project's and an issue's audit trail for supervisors — who, when, what, why,
filters, the chain badge and the Excel export; nobody else reads them."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from engine.county import audit_trails, projects
from engine.core.models import AuditEvent
from webapp import create_app
from webapp.history import ACTIONS

from ..conftest import add_accounts
from ..processes.helpers import (
    OFFICE, SPECIALIST, SUPERVISOR, approver, complete, deploy_all, start,
)
from .conftest import PASSWORD, AuthActions

USERS = {
    # username: (display name, unit, roles)
    "duban1": ("督办人员甲", "wg_supervision", ["supervisor"]),
    "xianzhang": ("总指挥（县长）", "hq", ["county_head"]),
    "gongye": ("分指挥长（工业）", "sc_industry", [("sub_commander", "sc_industry")]),
    "jichu": ("分指挥长（基础设施）", "sc_infra", [("sub_commander", "sc_infra")]),
    "zhuanyuan9": ("其他单位专员", "sc_infra", ["specialist"]),
}
UNITS = [("hq", "指挥部", "headquarters"), ("wg_supervision", "督办监督小组", "working_group"),
         ("sc_industry", "工业分指挥部", "sub_command"), ("sc_infra", "基础设施分指挥部", "sub_command"),
         ("gxj", "县工信局", "department"), ("t_a", "甲镇", "township"), ("co_x", "示例公司", "company")]
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def county(platform, database_url, clock):
    """Two projects; for P-1 a permit request (an approver's opinion with markup) and an
    issue with a hostile title, a stage move; for P-2 an issue and a progress report."""
    deploy_all(platform)
    add_accounts(platform, clock.now(), UNITS, USERS, PASSWORD)
    with platform.uow() as uow:
        for code, field in (("P-1", "sc_industry"), ("P-2", "sc_infra")):
            projects.add_project(uow.session, code, f"项目{code}", sub_command=field,
                                 stage="prework", township="t_a", lead_department="gxj",
                                 project_unit="co_x", specialist=None)
        uow.commit()
    ids = {"permit": start(platform, "permit_approval", {
        "project_code": "P-1", "project_name": "项目P-1", "funding": "enterprise",
        "project_unit": "co_x", "sub_command": "sc_industry"}, actor=OFFICE).id}
    complete(platform, OFFICE, "receive_request", {
        "need_planning": True, "need_land": False, "need_energy": False,
        "need_environment": False, "need_construction": False})
    complete(platform, SPECIALIST, "file_for_unit", {"filing_note": "代办材料"})
    complete(platform, approver("zrzy"), "approval", {
        "approval_decision": "return", "approval_opinion": f"=HYPERLINK(\"x\") {HOSTILE}"})
    for key, code, field, title in (("issue1", "P-1", "sc_industry", HOSTILE),
                                    ("issue2", "P-2", "sc_infra", "P-2的问题")):
        ids[key] = start(platform, "issue_lifecycle", {
            "title": title, "project_code": code, "scope": "unit", "severity": "normal",
            "responsible_unit": "t_a", "sub_command": field}, business_key=key.upper(),
            actor=SUPERVISOR).id
    clock.advance(timedelta(days=1))
    with platform.uow() as uow:
        projects.move_stage(uow, "P-1", "construction", "xianzhang", "施工许可已办结")
        projects.record_progress(uow, "P-2", "2026-12", 50, False, "P-2进展", "unit_p2")
        uow.commit()
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                      "CLOCK": clock})
    yield app, ids
    app.extensions["gongjian"].close()


def browser(app, username):
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return client


def seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr id="e-(\d+)">', page)]


def test_a_supervisor_reads_who_when_what_and_why_of_a_project(county):
    app, ids = county
    page = browser(app, "duban1").get("/audit/projects/P-1").get_data(as_text=True)
    assert "审计记录" in page and "项目P-1" in page
    assert "链校验通过" in page
    row = page.split('id="trail"', 1)[1]
    # who: the person by name (never the login name); when: county time; what: the
    # Chinese action; why.
    assert "总指挥（县长）" in row and "xianzhang" not in row
    assert "2026-12-02 09:00" in row and "项目转阶段" in row and "施工许可已办结" in row
    assert "原为：前期" in row and "改为：建设" in row
    assert "发起流程" in row and "办理" in row and "限时审批" in row
    assert "审批结论：退回补正" in row and "分指挥部：工业分指挥部" in row
    # every instance of the project, permit items called as subprocesses included
    assert f"#{ids['permit']}" in row and f"#{ids['issue1']}" in row
    assert f"#{ids['issue2']} " not in row and "P-2进展" not in row and "P-2的问题" not in row


def test_the_trail_is_escaped(county):
    app, ids = county
    client = browser(app, "duban1")
    for url in ("/audit/projects/P-1", f"/audit/instances/{ids['issue1']}"):
        page = client.get(url).get_data(as_text=True)
        assert HOSTILE not in page
        assert "&lt;script&gt;" in page


def test_filters_order_and_dates_choose_what_is_shown(county):
    app, ids = county
    client = browser(app, "duban1")
    whole = seqs(client.get("/audit/projects/P-1").get_data(as_text=True))
    assert whole == sorted(whole) and len(whole) > 5
    newest = seqs(client.get("/audit/projects/P-1?order=newest").get_data(as_text=True))
    assert newest == sorted(whole, reverse=True)
    page = client.get("/audit/projects/P-1?kind=project").get_data(as_text=True)
    assert len(seqs(page)) == 1 and "施工许可已办结" in page
    page = client.get(f"/audit/projects/P-1?instance={ids['issue1']}").get_data(as_text=True)
    assert seqs(page) and "限时审批" not in page.split('id="trail"', 1)[1]
    page = client.get("/audit/projects/P-1?actor=approver_zrzy").get_data(as_text=True)
    rows = page.split('id="trail"', 1)[1].split("<tr id=")[1:]
    assert rows and len(rows) < len(whole) and all("approver_zrzy" in r for r in rows)
    assert seqs(client.get("/audit/projects/P-1?since=2026-12-02").get_data(as_text=True)) \
        == whole[-1:]
    assert client.get("/audit/projects/P-1?since=yesterday").status_code == 400
    # the export link keeps the filters
    assert 'href="/audit/projects/P-1?kind=project&amp;format=xlsx"' in \
        client.get("/audit/projects/P-1?kind=project&page=1").get_data(as_text=True)


def test_a_long_trail_is_paged(county, monkeypatch):
    app, _ids = county
    client = browser(app, "duban1")
    whole = seqs(client.get("/audit/projects/P-1").get_data(as_text=True))
    monkeypatch.setattr(audit_trails, "PAGE_SIZE", 3)
    first = client.get("/audit/projects/P-1?order=newest").get_data(as_text=True)
    assert seqs(first) == sorted(whole, reverse=True)[:3]
    assert 'href="/audit/projects/P-1?order=newest&amp;page=2"' in first
    second = client.get("/audit/projects/P-1?order=newest&page=2").get_data(as_text=True)
    assert seqs(second) == sorted(whole, reverse=True)[3:6]


def test_the_excel_export_holds_every_filtered_row_as_text(county):
    app, _ids = county
    client = browser(app, "duban1")
    shown = seqs(client.get("/audit/projects/P-1").get_data(as_text=True))
    response = client.get("/audit/projects/P-1?format=xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(BytesIO(response.data))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("序号", "时间", "操作人", "操作", "事项")  # no login names
    assert [int(r[0]) for r in rows[1:]] == shown
    opinion = next(c for row in sheet.iter_rows() for c in row
                   if isinstance(c.value, str) and c.value.startswith("=HYPERLINK"))
    assert opinion.data_type == "s"
    assert list(book.worksheets[1].iter_rows(values_only=True))[1] == ("结果", "完整")


def test_a_changed_event_turns_the_badge_red(county, platform):
    app, ids = county
    with platform.uow() as uow:
        uow.session.execute(update(AuditEvent).where(
            AuditEvent.instance_id == ids["issue1"], AuditEvent.action == "instance_started")
            .values(actor="nobody"))
        uow.session.commit()
    page = browser(app, "duban1").get("/audit/projects/P-1").get_data(as_text=True)
    assert "链校验发现异常" in page and "写入后内容被改动" in page
    assert "contents were changed" not in page  # the engine's finding, told in Chinese
    assert "链校验通过" not in page


def test_only_supervisors_commanders_and_the_field_s_sub_commander_read_trails(county):
    app, ids = county
    for username in ("duban1", "xianzhang", "gongye"):
        client = browser(app, username)
        assert client.get("/audit/projects/P-1").status_code == 200, username
        assert client.get(f"/audit/instances/{ids['issue1']}").status_code == 200, username
    for username in ("jichu", "zhuanyuan9"):
        client = browser(app, username)
        assert client.get("/audit/projects/P-1").status_code == 404, username
        assert client.get(f"/audit/instances/{ids['issue1']}").status_code == 404, username
        assert client.get(f"/audit/instances/{ids['permit']}").status_code == 404, username
    assert browser(app, "jichu").get("/audit/projects/P-2").status_code == 200
    assert browser(app, "duban1").get("/audit/projects/NO-SUCH").status_code == 404
    anonymous = app.test_client().get("/audit/projects/P-1")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_the_project_sheet_and_the_issue_page_link_to_the_trails(county):
    app, ids = county
    client = browser(app, "duban1")
    sheet = client.get("/board/project/P-1").get_data(as_text=True)
    assert 'id="audit-trail" href="/audit/projects/P-1"' in sheet
    issue = client.get(f"/supervision/issues/{ids['issue1']}").get_data(as_text=True)
    assert f'id="audit-trail" href="/audit/instances/{ids["issue1"]}"' in issue
    assert 'href="/audit/projects/P-1"' in issue
    trail = client.get(f"/audit/instances/{ids['issue1']}").get_data(as_text=True)
    assert f'href="/supervision/issues/{ids["issue1"]}"' in trail
    assert 'href="/audit/projects/P-1"' in trail
    other = browser(app, "zhuanyuan9").get("/board/project/P-1").get_data(as_text=True)
    assert 'id="audit-trail"' not in other


def test_the_trail_reads_in_english_when_chosen(county):
    app, _ids = county
    client = browser(app, "duban1")
    client.get("/lang/en")
    page = client.get("/audit/projects/P-1").get_data(as_text=True)
    assert "Audit trail" in page and "Chain verified" in page and "Project stage moved" in page


def test_every_action_the_engine_audits_has_a_chinese_label():
    engine = Path(__file__).parents[2] / "engine"
    source = "\n".join(p.read_text(encoding="utf-8") for p in engine.rglob("*.py"))
    recorded = set(re.findall(r'\.record\(\s*[\w.]+,\s*"([a-z_]+)"', source))
    recorded |= set(re.findall(r'_record\(uow, actor, "([a-z_]+)"', source))
    recorded |= set(re.findall(r'action = "([a-z_]+)"', source))
    # actions named from a table or a state: instance_suspended, deadline_extension_approved…
    recorded |= set(re.findall(r'"(instance_(?:suspended|resumed))"', source))
    recorded |= {f"deadline_extension_{state}" for state in ("approved", "refused")}
    assert {"instance_started", "task_decided", "project_stage_moved", "timer_failed"} <= recorded
    assert sorted(recorded - set(ACTIONS)) == []
