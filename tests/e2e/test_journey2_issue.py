"""Journey 2 in a real browser, from a clean county: an issue from the ledger to zero (四制)
with the escalation ladder.

A township head registers an issue for a project on its ground, choosing the responsible unit
and the sub-command from lists; rules/issue_routing.dmn puts it on rung 2 (the unit); the unit
commits a plan and a date; the supervisor reminds (催办) from the issue page, escalates one rung
at a time from the issue page — whatever the due state, with a reason (an empty one refused at
its field) — to the sub-command and to the county head, lists it (挂牌督办) and lifts the
listing. Each rung's holder sees the issue, its history and the reasons; the county head
decides and hands it to the unit, which reports; the supervisor sends it back once, then clears
it (销号). The ledger's clearance rates, the desk, the county head's view and the meeting
agenda agree with that, on screen and in the ledger's Excel. Every page passed: no 5xx,
Chinese, no username, code or enum value in the visible text. Screenshots (desktop and 390 px)
go to test-output/journey2/.
"""

from __future__ import annotations

import re
from io import BytesIO

from openpyxl import load_workbook

from ..county_setup import ACCOUNTS, county  # noqa: F401  (fixture)
from .browser import OUTPUT, needs_chromium
from .journey import log_in, page, page_rules, site, submit  # noqa: F401  (fixtures)

pytestmark = needs_chromium

SHOTS = OUTPUT / "journey2"
TOWNSHIP, UNIT, SUPERVISOR = "head_magedang", "unit_tourism", "supervisor1"
COMMANDER, COUNTY_HEAD = "commander_culture", "county_head"
KEY = "WT-J2-001"
TITLE = "康养度假区进场道路征地补偿未落实"
PROJECT = "太行山康养旅游度假区"
UNIT_NAME = "陵川县王莽岭文旅发展有限公司"
TO_SUB_COMMAND = "涉及两个乡镇的道路走向，需分指挥部协调"
TO_COUNTY_HEAD = "需协调省交通厅调整路线，报县长研究"
# Identifiers that must never reach a page: usernames, group and unit codes, process,
# element and enum codes.
FORBIDDEN = [a[0] for a in ACCOUNTS] + [
    "unit:", "issue_lifecycle", "sub_commander", "commit_plan", "decide_issue",
    "report_resolution", "verify_issue", "carry_out_unit", "responsible_unit", "sub_command",
    "co_tourism", "sc_culture", "t_magedang", "assigned", "committed", "reported", "cleared",
    "returned", "minor", "normal", "major", "timer"]
check_page = page_rules(SHOTS, FORBIDDEN)


def open_task(page, base: str, name: str) -> None:
    """Open the issue's task of this name: claim it from 待认领, or find it in 我的待办."""
    page.goto(f"{base}/tasks/group")
    item = page.locator("li.task", has_text=KEY).filter(has_text=name)
    if item.count():
        item.locator("button:has-text('认领')").click()
    else:
        page.goto(f"{base}/tasks/")
        page.locator("li.task", has_text=KEY).filter(has_text=name).locator("a.task-link").click()
    page.wait_for_url(re.compile(r".*/tasks/[0-9a-f-]{36}$"))


def xlsx_rows(page, href: str, base: str) -> list[list[str]]:
    """The first sheet of an Excel export the page links to, as texts."""
    export = page.context.request.get(href if href.startswith("http") else base + href)
    assert export.status == 200, href
    sheet = load_workbook(BytesIO(export.body())).active
    rows = [[str(c) if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    for row in rows:
        found = [w for w in FORBIDDEN for cell in row
                 if re.search(rf"(?<![\w:]){re.escape(w)}(?!\w)", cell)]
        assert not found, (href, found)
    return rows


def ledger_row(page) -> str:
    return page.locator("#ledger tbody tr", has_text=TITLE).inner_text()


def test_an_issue_from_the_ledger_to_zero_up_the_ladder(county, site, page):  # noqa: F811
    base, password = site, county.password

    # 1. A township registers the issue, choosing project, unit and sub-command from lists.
    log_in(page, base, TOWNSHIP, password)
    page.goto(f"{base}/processes/issue_lifecycle/start")
    page.fill("#business_key", KEY)
    page.fill("#title", TITLE)
    assert page.locator("#project_code option", has_text=PROJECT).count() == 1
    page.select_option("#project_code", "LC-2027-006")
    page.select_option("#scope", "unit")
    page.select_option("#severity", "normal")
    assert page.locator("#responsible_unit option", has_text=UNIT_NAME).count() == 1
    page.select_option("#responsible_unit", "co_tourism")
    page.select_option("#sub_command", "sc_culture")
    check_page(page, "01-register")
    page.click("button.primary:has-text('发起')")
    page.wait_for_url(re.compile(r".*/processes/instances/\d+$"))
    instance_id = int(page.url.rsplit("/", 1)[1])
    issue_url = f"{base}/supervision/issues/{instance_id}"
    check_page(page, "02-registered")

    # 2. Routed to rung 2 (主责单位限期整改): the unit commits a plan and a date.
    log_in(page, base, UNIT, password)
    open_task(page, base, "整改承诺")
    text = check_page(page, "03-commit")
    assert TITLE in text
    page.fill("#plan", "与马圪当乡共同测算补偿标准，分两批发放")
    page.fill("#promised_date", "2020-01-01")  # a date gone by is refused at its field
    page.click("form[action$='/complete'] button.primary")
    page.wait_for_selector("#field-promised_date.has-error")
    assert "2026-12-01" in page.inner_text("#field-promised_date")
    check_page(page, "03-commit-refused")
    page.fill("#plan", "与马圪当乡共同测算补偿标准，分两批发放")
    page.fill("#promised_date", "2026-12-11")
    submit(page)

    # 3. The supervisor finds it in the ledger (not due: off the desk) and reminds.
    log_in(page, base, SUPERVISOR, password)
    page.goto(f"{base}/supervision/ledger")
    assert "2 主责单位限期整改" in ledger_row(page) and "已承诺" in ledger_row(page)
    check_page(page, "04-ledger")
    page.goto(f"{base}/supervision/")
    assert f"item-issue-{instance_id}" not in page.content()
    page.goto(issue_url)
    text = check_page(page, "05-issue")
    assert "第2级 主责单位限期整改" in text and UNIT_NAME in page.inner_text("#now")
    page.fill(f"#message-r-{instance_id}", "请本周内发放第一批补偿款")
    page.click(f"#remind-{instance_id}")
    page.wait_for_selector(".flash.success")
    assert "催办 1 次" in page.inner_text(".ladder")

    # 4. Escalate from the issue page, one rung at a time, whatever the due state: an empty
    # reason is refused at its field and nothing changes.
    page.click(f"#escalate-{instance_id}")
    page.wait_for_selector(f"#field-escalate-reason-{instance_id}.has-error")
    assert "请填写提级理由" in page.inner_text(f"#field-escalate-reason-{instance_id}")
    assert "第2级 主责单位限期整改" in check_page(page, "06-escalate-refused")
    page.fill(f"#reason-e-{instance_id}", TO_SUB_COMMAND)
    page.click(f"#escalate-{instance_id}")
    page.wait_for_selector(".flash.success")
    page.goto(issue_url)
    text = check_page(page, "07-rung3")
    assert "第3级 分指挥部研究解决" in text and TO_SUB_COMMAND in page.inner_text(".ladder")
    # 挂牌督办 on, at this rung.
    page.locator("#supervise summary", has_text="挂牌督办").click()
    page.fill(f"#reason-l-{instance_id}", "群众反映强烈，挂牌督办")
    page.click(f"#list-{instance_id}")
    page.wait_for_selector(".flash.success")

    # The sub-command's holder sees the issue, its history and the reason, and its task.
    log_in(page, base, COMMANDER, password)
    page.goto(issue_url)
    text = check_page(page, "08-commander-issue")
    assert TO_SUB_COMMAND in text and county.label(SUPERVISOR) in text
    assert "研究解决" in page.inner_text("#now")

    # Rung 3 → 4 from the issue page.
    log_in(page, base, SUPERVISOR, password)
    page.goto(issue_url)
    page.fill(f"#reason-e-{instance_id}", TO_COUNTY_HEAD)
    page.click(f"#escalate-{instance_id}")
    page.wait_for_selector(".flash.success")
    page.goto(issue_url)
    text = check_page(page, "09-rung4")
    assert "第4级 县长亲自解决" in text and "已在县长层级，不能再提级" in text
    page.goto(f"{base}/board/agenda?meeting=headquarters")
    assert TITLE in check_page(page, "10-agenda-open")
    assert [TITLE] == [r[2] for r in xlsx_rows(page, page.locator("#export").get_attribute("href"),
                                              base)[2:] if r[2] == TITLE]

    # 5. The county head sees the issue, its history and both reasons; decides and assigns.
    log_in(page, base, COUNTY_HEAD, password)
    page.goto(f"{base}/supervision/county-head")
    text = check_page(page, "11-county-head")
    assert TITLE in text and TO_SUB_COMMAND in text and TO_COUNTY_HEAD in text
    open_task(page, base, "研究解决")
    text = check_page(page, "12-decide")
    assert TITLE in text
    page.fill("#plan", "县长召集交通、文旅部门现场办公，调整道路走向并足额补偿")
    page.fill("#promised_date", "2026-12-18")
    page.select_option("#carry_out_unit", "co_tourism")
    submit(page)

    # Listing off.
    log_in(page, base, SUPERVISOR, password)
    page.goto(issue_url)
    assert "挂牌中" in page.inner_text("dl.facts")
    page.locator("#supervise summary", has_text="摘牌").click()
    page.fill(f"#reason-u-{instance_id}", "县长已现场办公，摘牌")
    page.click(f"#lift-{instance_id}")
    page.wait_for_selector(".flash.success")
    page.goto(issue_url)
    assert "挂牌中" not in page.inner_text("dl.facts")

    # 6. The unit reports; the supervisor sends it back once, then clears it.
    for round_, (result, decision) in enumerate((("第一批补偿款已发放", "returned"),
                                                 ("两批补偿款均已发放到户", "cleared"))):
        log_in(page, base, UNIT, password)
        open_task(page, base, "报告整改结果")
        text = check_page(page, f"13-report-{round_}")
        assert TITLE in text
        page.fill("#resolution", result)
        page.fill("#evidence", "补偿款发放清单及签字")
        submit(page)
        log_in(page, base, SUPERVISOR, password)
        open_task(page, base, "核验销号")
        check_page(page, f"14-verify-{round_}")
        assert result in page.inner_text("body")
        page.select_option("#verify_decision", decision)
        page.fill("#verify_opinion", "第二批尚未发放，退回继续整改" if decision == "returned"
                  else "已现场核实，同意销号")
        submit(page)

    # 7. Everything agrees: ledger (screen and Excel), desk, county head, agenda.
    page.goto(issue_url)
    text = check_page(page, "15-cleared")
    assert "已销号" in text
    page.goto(f"{base}/supervision/ledger")
    text = check_page(page, "16-ledger-cleared")
    row = ledger_row(page)
    assert "已销号" in row and "4 县长亲自解决" in row and "1" in row
    unit_line = page.locator("#clear-unit tr", has_text=UNIT_NAME).inner_text().split()
    assert unit_line == [UNIT_NAME, "1", "1", "100%", unit_line[-1]]
    export = page.context.request.get(f"{base}/supervision/ledger.xlsx")
    assert export.status == 200
    sheet = load_workbook(BytesIO(export.body())).active
    rows = [[str(c) if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    (excel,) = [r for r in rows if TITLE in r]
    on_screen = [c.strip() for c in row.split("\t")]
    assert excel == on_screen
    page.goto(f"{base}/supervision/")
    assert f"item-issue-{instance_id}" not in page.content()
    check_page(page, "17-desk")
    page.goto(f"{base}/board/agenda?meeting=headquarters")
    assert TITLE not in check_page(page, "18-agenda-cleared")
    agenda = xlsx_rows(page, page.locator("#export").get_attribute("href"), base)
    assert not [r for r in agenda if TITLE in r]
    log_in(page, base, COUNTY_HEAD, password)
    page.goto(f"{base}/supervision/county-head")
    section = page.inner_text(f"#top-{instance_id}")
    assert "已销号" in section and TO_COUNTY_HEAD in section
    check_page(page, "19-county-head-cleared")
    (excel,) = [r for r in xlsx_rows(page, "/supervision/county-head.xlsx", base)
                if r[1] == TITLE]
    assert excel[6] == "已销号" and excel[5] == "4 县长亲自解决"
    assert TO_SUB_COMMAND in excel[8] and TO_COUNTY_HEAD in excel[8]
    assert county.label(SUPERVISOR) in excel[8]
    page.goto(f"{base}/notifications/")
    notes = check_page(page, "20-county-head-notes")
    assert notes.count(f"升级：{PROJECT}「{TITLE}」") == 1
