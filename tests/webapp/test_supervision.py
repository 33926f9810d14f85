"""督办台 through the web: board contents by role, actions audited and notified, ledger export."""

from __future__ import annotations

import html
import re
from datetime import datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.core.audit import history
from engine.county.issue_ledger import IssueLedgerRow
from engine.core.notifications import Notification
from engine.county.supervision import Reminder
from webapp import create_app

from ..conftest import SHANGHAI, add_accounts
from ..processes.helpers import SUPERVISOR, deploy_all, fire, start
from .conftest import PASSWORD, AuthActions

DESK_USERS = {
    # username: (display name, unit, roles)
    "duban1": ("督办人员", "wg_supervision", ["supervisor"]),
    "xianzhang": ("总指挥（县长）", "hq", ["county_head"]),
    "wenlv": ("分指挥长（文旅康养）", "sc_culture", ["sub_commander"]),
    "magedang": ("马圪当乡主要负责人", "t_magedang", ["township_head"]),
    "pingcheng": ("平城镇主要负责人", "t_pingcheng", ["township_head"]),
}
UNITS = [("hq", "指挥部", "headquarters"), ("wg_supervision", "督办监督小组", "working_group"),
         ("sc_culture", "文旅康养分指挥部", "sub_command"), ("sc_rural", "乡村振兴分指挥部", "sub_command"),
         ("t_magedang", "马圪当乡", "township"), ("t_pingcheng", "平城镇", "township")]


@pytest.fixture
def desk(platform, database_url, clock):
    """The app with the headquarters' processes, desk accounts and four issues on four rungs."""
    add_accounts(platform, clock.now(), UNITS, DESK_USERS, PASSWORD)
    deploy_all(platform)
    ids = {}
    for key, scope, severity, unit, field in (
            ("Q-1", "site", "minor", "t_magedang", "sc_culture"),
            ("Q-2", "unit", "normal", "t_magedang", "sc_culture"),
            ("Q-3", "cross", "normal", "t_pingcheng", "sc_rural"),
            ("Q-4", "county", "major", "t_pingcheng", "sc_rural")):
        ids[key] = start(platform, "issue_lifecycle", {
            "title": f"问题{key}", "project_code": "XM-2026-006", "scope": scope,
            "severity": severity, "responsible_unit": unit, "sub_command": field,
            "township": unit}, business_key=key, actor=SUPERVISOR).id
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                      "CLOCK": clock})
    yield app, ids
    app.extensions["gongjian"].close()


@pytest.fixture
def web(desk):
    app, _ids = desk
    client = app.test_client()
    return client, AuthActions(client)


def board_refs(page: str) -> set[str]:
    return set(re.findall(r'id="item-issue-(\d+)"', page))


def late_refs(page: str) -> set[str]:
    return board_refs(page.split('id="late"', 1)[1].split('id="by-unit"', 1)[0])


def late_in_order(page: str) -> list[str]:
    """The late lines of a desk page as listed, most urgent first."""
    part = page.split('id="late"', 1)[1].split('id="by-unit"', 1)[0]
    return re.findall(r'id="item-issue-(\d+)"', part)


def test_the_board_shows_late_issues_by_rung_unit_and_field_per_role(desk, web, clock):
    _app, ids = desk
    client, auth = web
    clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=SHANGHAI))  # every rung's deadline has passed
    auth.login("duban1")
    page = client.get("/supervision/").get_data(as_text=True)
    assert late_refs(page) == {str(ids[k]) for k in ("Q-1", "Q-2", "Q-3", "Q-4")}
    assert 'id="count-overdue">4<' in page
    assert "第4级" in page and "县长亲自解决" in page and "马圪当乡" in page and "乡村振兴分指挥部" in page
    assert late_refs(client.get("/supervision/?rung=4").get_data(as_text=True)) == {str(ids["Q-4"])}
    assert late_refs(client.get("/supervision/?sub_command=sc_culture").get_data(as_text=True)) \
        == {str(ids["Q-1"]), str(ids["Q-2"])}
    auth.logout()
    auth.login("wenlv")
    assert late_refs(client.get("/supervision/").get_data(as_text=True)) == {str(ids["Q-1"]), str(ids["Q-2"])}
    assert client.get(f"/supervision/issues/{ids['Q-3']}").status_code == 404
    assert client.get(f"/supervision/issues/{ids['Q-2']}").status_code == 200
    auth.logout()
    auth.login("pingcheng")
    page = client.get("/supervision/").get_data(as_text=True)
    assert late_refs(page) == {str(ids["Q-3"]), str(ids["Q-4"])}
    assert "提级理由" not in page  # a unit sees its own work but does not push it
    assert client.get(f"/supervision/issues/{ids['Q-1']}").status_code == 404
    ledger = client.get("/supervision/ledger").get_data(as_text=True)
    assert "问题Q-3" in ledger and "问题Q-1" not in ledger


def test_the_board_pages_the_late_lines_most_urgent_first_and_counts_them_all(
        desk, web, clock, monkeypatch):
    """A county's desk can hold thousands of late lines: BOARD_LINES a page, most overdue
    first, while the counts cover every line; a page past the end shows the last."""
    from webapp import supervision as pages

    _app, ids = desk
    client, auth = web
    clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=SHANGHAI))
    auth.login("duban1")
    everything = late_in_order(client.get("/supervision/").get_data(as_text=True))
    assert len(everything) == 4
    monkeypatch.setattr(pages, "BOARD_LINES", 3)
    page = client.get("/supervision/").get_data(as_text=True)
    assert late_in_order(page) == everything[:3] and 'id="count-overdue">4<' in page
    assert 'id="more-late"' in page and "第 1 / 2 页" in page and "每页 3 条" in page
    assert "page=2" in page and "上一页" not in page
    second = client.get("/supervision/?page=2").get_data(as_text=True)
    assert late_in_order(second) == everything[3:] and "第 2 / 2 页" in second
    assert 'id="count-overdue">4<' in second and "下一页" not in second
    assert late_in_order(client.get("/supervision/?page=9").get_data(as_text=True)) == everything[3:]
    assert late_in_order(client.get("/supervision/?page=x").get_data(as_text=True)) == everything[:3]
    monkeypatch.setattr(pages, "BOARD_LINES", 4)
    page = client.get("/supervision/").get_data(as_text=True)
    assert late_in_order(page) == everything and 'id="more-late"' not in page


def test_remind_escalate_list_and_lift_through_the_board(desk, web, platform, clock):
    _app, ids = desk
    client, auth = web
    issue = ids["Q-2"]
    clock.set(datetime(2026, 12, 16, 10, 0, tzinfo=SHANGHAI))
    auth.login("duban1")
    board = "/supervision/"
    response = auth.post(f"/supervision/remind/issue/{issue}", {"message": "请尽快整改"}, page=board)
    assert response.status_code == 302
    response = auth.post(f"/supervision/issues/{issue}/escalate", {"reason": " "}, page=board)
    assert response.status_code == 400 and "请填写提级理由" in response.get_data(as_text=True)
    response = auth.post(f"/supervision/issues/{issue}/list", {"reason": "群众反映强烈",
                                                              "due": "2026-12-18"}, page=board)
    assert response.status_code == 302
    page = client.get(board).get_data(as_text=True)
    listed = page.split('id="listed"', 1)[1].split('id="late"', 1)[0]
    assert board_refs(listed) == {str(issue)} and "2026-12-18 23:59" in listed
    response = auth.post(f"/supervision/issues/{issue}/escalate", {"reason": "涉及两乡镇"}, page=board)
    assert response.status_code == 302
    response = auth.post(f"/supervision/issues/{issue}/lift", {"reason": "分指挥部已牵头"}, page=board)
    assert response.status_code == 302
    with platform.uow() as uow:
        row = uow.session.get(IssueLedgerRow, issue)
        assert (row.rung, row.listed) == (3, False)
        actions = [(e.actor, e.action) for e in history(uow.session, instance_id=issue)]
        notes = {(n.kind, n.recipient) for n in uow.session.execute(
            select(Notification).where(Notification.instance_id == issue)).scalars()}
        reminders = [(r.by, r.message) for r in uow.session.execute(
            select(Reminder).where(Reminder.instance_id == issue)).scalars()]
    for action in ("reminded", "issue_listed", "issue_escalation_requested", "escalated",
                   "issue_listing_lifted"):
        assert ("duban1", action) in actions
    assert ("reminder", "unit:t_magedang") in notes and ("escalated", "sub_commander@sc_culture") in notes
    assert ("duban1", "请尽快整改") in reminders
    detail = client.get(f"/supervision/issues/{issue}").get_data(as_text=True)
    assert "涉及两乡镇" in detail and "分指挥部已牵头" in detail


def test_a_sub_commander_may_remind_but_not_list_and_a_unit_may_not_remind(desk, web, platform):
    _app, ids = desk
    client, auth = web
    auth.login("wenlv")
    assert auth.post(f"/supervision/remind/issue/{ids['Q-2']}", page="/supervision/").status_code == 302
    assert auth.post(f"/supervision/issues/{ids['Q-2']}/list", {"reason": "x"},
                     page="/supervision/").status_code == 403
    assert auth.post(f"/supervision/issues/{ids['Q-3']}/escalate", {"reason": "x"},
                     page="/supervision/").status_code == 404
    auth.logout()
    auth.login("magedang")
    assert auth.post(f"/supervision/remind/issue/{ids['Q-2']}", page="/supervision/").status_code == 403


def cells_of(page: str) -> tuple[list[str], list[list[str]]]:
    table = page.split('id="ledger"', 1)[1].split("</table>", 1)[0]
    strip = lambda cell: html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()  # noqa: E731
    headers = [strip(c) for c in re.findall(r"<th>(.*?)</th>", table)]
    rows = [[strip(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)]
    return headers, rows


def test_the_excel_export_holds_the_rows_of_the_screen(desk, web, clock):
    client, auth = web
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI))
    fire(desk[0].extensions["gongjian"])
    auth.login("duban1")
    for query in ("", "?sub_command=sc_rural"):
        headers, rows = cells_of(client.get(f"/supervision/ledger{query}").get_data(as_text=True))
        response = client.get(f"/supervision/ledger.xlsx{query}")
        assert response.status_code == 200
        sheet = load_workbook(BytesIO(response.data)).active
        values = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
        assert values[0] == headers and "责任单位" in headers and "清零率" not in headers
        assert values[1:] == rows
    assert len(rows) == 2


def test_the_desk_pages_render_for_the_county_head(desk, web):
    _app, ids = desk
    client, auth = web
    auth.login("xianzhang")
    page = client.get("/supervision/county-head").get_data(as_text=True)
    assert f'id="top-{ids["Q-4"]}"' in page and f'id="top-{ids["Q-3"]}"' not in page
    assert client.get("/supervision/13710").status_code == 200
    ledger = client.get("/supervision/ledger").get_data(as_text=True)
    assert "清零率" in ledger and "各分指挥部清零情况" in ledger
