"""The escalation ladder climbed from the issue page, at every rung and whatever the due state;
remind, list and lift there too; the desk's bulk remind and its Excel export (issue 17)."""

from __future__ import annotations

import html
import re
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from engine.core.audit import history
from engine.core.notifications import Notification
from engine.county.issue_ledger import IssueLedgerRow
from engine.county.supervision import Escalation, Reminder

from .test_supervision import desk, web  # noqa: F401  (the fixtures)


def _row(platform, issue):
    with platform.uow() as uow:
        row = uow.session.get(IssueLedgerRow, issue)
        return row.rung, row.step, row.listed, row.handler


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_ladder_is_climbed_from_the_issue_page_to_the_county_head(desk, web, platform):
    _app, ids = desk
    client, auth = web
    issue = ids["Q-2"]  # rung 2, ten working days ahead: not on the desk
    auth.login("duban1")
    assert f'id="item-issue-{issue}"' not in client.get("/supervision/").get_data(as_text=True)
    page = f"/supervision/issues/{issue}"
    for rung, reason, holder in ((3, "涉及两个乡镇", "sub_commander@sc_culture"),
                                 (4, "需县长协调省电力公司", "county_head")):
        shown = client.get(page).get_data(as_text=True)
        assert f'id="escalate-{issue}"' in shown and f"提级至第{rung}级" in shown
        response = auth.post(f"/supervision/issues/{issue}/escalate",
                             {"reason": reason, "origin": "issue", "next": page}, page=page)
        assert response.status_code == 302 and response.headers["Location"].endswith(page)
        assert _row(platform, issue)[0] == rung and _row(platform, issue)[3] == holder
    shown = client.get(page).get_data(as_text=True)
    assert f'id="escalate-{issue}"' not in shown and "已在县长层级，不能再提级" in shown
    text = _text(shown)
    assert "涉及两个乡镇" in text and "需县长协调省电力公司" in text
    assert "督办人员（督办监督小组）" in text and "duban1" not in text
    # Each rung's holder sees the issue, its history and the reasons, and the task to act on.
    auth.logout()
    auth.login("xianzhang")
    shown = client.get(page).get_data(as_text=True)
    assert "需县长协调省电力公司" in shown and "涉及两个乡镇" in shown
    assert "研究解决：问题Q-2" in shown and "总指挥（县长）" in _text(shown.split('id="now"')[1])
    auth.logout()
    auth.login("wenlv")  # the sub-command's holder saw it at rung 3 and still sees it
    assert client.get(page).status_code == 200


def test_an_empty_reason_is_refused_at_its_field_on_the_issue_page_and_nothing_changes(
        desk, web, platform):
    _app, ids = desk
    client, auth = web
    issue = ids["Q-1"]
    auth.login("duban1")
    page = f"/supervision/issues/{issue}"
    with platform.uow() as uow:
        events = len(history(uow.session, instance_id=issue))
    response = auth.post(f"/supervision/issues/{issue}/escalate",
                         {"reason": "  ", "origin": "issue", "next": page}, page=page)
    shown = response.get_data(as_text=True)
    assert response.status_code == 400
    field = shown.split(f'id="field-escalate-reason-{issue}"', 1)[1].split("</div>", 1)[0]
    assert "has-error" in shown.split(f'id="field-escalate-reason-{issue}"')[0][-40:]
    assert "请填写提级理由" in field and 'aria-invalid="true"' in field
    assert "<h1>问题Q-1</h1>" in shown  # the issue's page again, not the desk
    response = auth.post(f"/supervision/issues/{issue}/list",
                         {"reason": "x", "due": "2020-01-01", "origin": "issue", "next": page},
                         page=page)
    field = response.get_data(as_text=True).split(f'id="field-list-due-{issue}"', 1)[1]
    assert response.status_code == 400 and "挂牌办结时限应为今天或以后的日期" in field.split("</div>")[0]
    response = auth.post(f"/supervision/issues/{issue}/list",
                         {"reason": "x", "due": "明天", "origin": "issue", "next": page}, page=page)
    assert response.status_code == 400
    assert _row(platform, issue)[:3] == (1, "assigned", False)
    with platform.uow() as uow:
        assert len(history(uow.session, instance_id=issue)) == events
        assert uow.session.execute(select(Escalation).where(
            Escalation.instance_id == issue)).first() is None


def test_remind_list_and_lift_from_the_issue_page(desk, web, platform):
    _app, ids = desk
    client, auth = web
    issue = ids["Q-3"]  # rung 3, fifteen working days ahead
    page = f"/supervision/issues/{issue}"
    auth.login("duban1")
    assert auth.post(f"/supervision/remind/issue/{issue}", {"message": "请本周内拿出方案",
                                                            "next": page}, page=page).status_code == 302
    assert auth.post(f"/supervision/issues/{issue}/list",
                     {"reason": "群众反映强烈", "origin": "issue", "next": page},
                     page=page).status_code == 302
    assert _row(platform, issue)[2] is True
    shown = client.get(page).get_data(as_text=True)
    assert f'id="lift-{issue}"' in shown and f'id="list-{issue}"' not in shown
    assert auth.post(f"/supervision/issues/{issue}/lift",
                     {"reason": "已召开专题会", "origin": "issue", "next": page},
                     page=page).status_code == 302
    assert _row(platform, issue)[2] is False
    with platform.uow() as uow:
        (reminder,) = uow.session.execute(select(Reminder).where(
            Reminder.instance_id == issue)).scalars()
        assert reminder.message == "请本周内拿出方案"


def test_the_actions_on_the_issue_page_follow_the_policy(desk, web):
    _app, ids = desk
    client, auth = web
    issue = ids["Q-2"]
    page = f"/supervision/issues/{issue}"
    auth.login("wenlv")  # a sub-commander of the field: reminds and escalates, does not list
    shown = client.get(page).get_data(as_text=True)
    assert f'id="remind-{issue}"' in shown and f'id="escalate-{issue}"' in shown
    assert f'id="list-{issue}"' not in shown
    auth.logout()
    auth.login("magedang")  # the responsible unit: sees its issue, supervises nothing
    shown = client.get(page).get_data(as_text=True)
    assert "问题Q-2" in shown and 'id="supervise"' not in shown
    assert auth.post(f"/supervision/issues/{issue}/escalate", {"reason": "x"},
                     page=page).status_code == 403


def test_several_lines_are_reminded_at_once_and_the_export_is_the_screen(desk, web, platform,
                                                                       clock):
    from datetime import datetime

    from ..conftest import SHANGHAI

    _app, ids = desk
    client, auth = web
    clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=SHANGHAI))  # everything late
    auth.login("duban1")
    board = client.get("/supervision/").get_data(as_text=True)
    picked = [ids["Q-1"], ids["Q-3"]]
    for issue in picked:
        assert f'id="pick-issue-{issue}"' in board
    response = auth.post("/supervision/remind", {"item": [f"issue:{i}" for i in picked],
                                                 "message": "今日内反馈", "next": "/supervision/"},
                         page="/supervision/")
    assert response.status_code == 302
    with platform.uow() as uow:
        reminded = {r.instance_id for r in uow.session.execute(select(Reminder)).scalars()}
        notes = [n.title for n in uow.session.execute(
            select(Notification).where(Notification.kind == "reminder")).scalars()]
    assert reminded == set(picked) and len(notes) == 2
    response = auth.post("/supervision/remind", {"next": "/supervision/"}, page="/supervision/")
    assert response.status_code == 400 and "请先勾选要催办的事项" in response.get_data(as_text=True)
    # The export holds the lines of the screen, in its order, with the same filters.
    for query in ("", "?sub_command=sc_rural"):
        board = client.get(f"/supervision/{query}").get_data(as_text=True)
        on_screen = re.findall(r'id="item-issue-(\d+)"',
                               board.split('id="late"', 1)[1].split('id="by-unit"', 1)[0])
        response = client.get(f"/supervision/board.xlsx{query}")
        assert response.status_code == 200
        book = load_workbook(BytesIO(response.data))
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        titles = {f"问题{k}": str(ids[k]) for k in ids}
        assert rows[0][:2] == ("类别", "事项")
        assert [titles[r[1]] for r in rows[1:] if r[0] == "超期与即将到期"] == on_screen
        assert book.sheetnames == ["督办台", "按责任单位", "按分指挥部"]
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for cell in row:
                    assert not re.search(r"\b(sc_|t_)[a-z]+|unit:|duban1", str(cell or ""))


def test_the_county_head_view_in_excel_is_the_screen(desk, web):
    _app, ids = desk
    client, auth = web
    auth.login("duban1")
    page = f"/supervision/issues/{ids['Q-3']}"
    assert auth.post(f"/supervision/issues/{ids['Q-3']}/escalate",
                     {"reason": "需县长协调两镇", "origin": "issue", "next": page},
                     page=page).status_code == 302
    auth.logout()
    auth.login("xianzhang")
    shown = client.get("/supervision/county-head").get_data(as_text=True)
    on_screen = re.findall(r'id="top-(\d+)"', shown)
    assert set(on_screen) == {str(ids["Q-3"]), str(ids["Q-4"])}
    response = client.get("/supervision/county-head.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("编号", "问题") and "提级经过" in rows[0]
    titles = {f"问题{k}": str(ids[k]) for k in ids}
    assert [titles[r[1]] for r in rows[1:]] == on_screen
    (q3,) = [r for r in rows if r[1] == "问题Q-3"]
    assert "督办人员（督办监督小组）" in q3[8] and "第3级 → 第4级：需县长协调两镇" in q3[8]
    assert q3[5] == "4 县长亲自解决" and q3[3] == "平城镇"
    for row in rows:
        assert not re.search(r"duban1|unit:|sc_|t_[a-z]", " ".join(str(c or "") for c in row))
