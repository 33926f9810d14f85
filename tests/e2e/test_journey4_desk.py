"""Journey 4 in a real browser, from a clean county: the supervisor's morning at the desk.

Issues registered through the start form over two weeks; on the morning of 2026-12-16 the
desk (督办台) shows what is overdue or due within a working day, counted by unit and by
sub-command, and nothing that is not; the supervisor narrows it by sub-command, reminds two
lines at once (each unit told, naming the project and the issue), escalates a line due soon
one rung with a reason (an empty one refused at its field), opens a line's whole trail (查账)
and exports what is on the screen to Excel, which holds the lines of the screen in its order.
Every page passed: no 5xx, Chinese, no username, code or enum value in the visible text.
Screenshots (desktop and 390 px) go to test-output/journey4/.
"""

from __future__ import annotations

import re
from datetime import datetime
from io import BytesIO

from openpyxl import load_workbook

from ..county_setup import ACCOUNTS, SHANGHAI, county  # noqa: F401  (fixture)
from .browser import OUTPUT, needs_chromium
from .journey import log_in, page, page_rules, site  # noqa: F401  (fixtures)

pytestmark = needs_chromium

SHOTS = OUTPUT / "journey4"
SUPERVISOR = "supervisor1"
# key, title, project, scope, unit, sub-command, registered on
ISSUES = [
    ("WT-J4-A", "度假区游客中心消防验收未通过", "LC-2027-006", "unit", "co_tourism", "sc_culture", 1),
    ("WT-J4-B", "光伏电站升压站用地手续滞后", "LC-2027-004", "unit", "co_solar", "sc_energy", 3),
    ("WT-J4-C", "高标准农田两镇灌渠走向争议", "LC-2027-009", "cross", "t_pingcheng", "sc_rural", 1),
    ("WT-J4-D", "度假区进场道路征地补偿未落实", "LC-2027-006", "unit", "t_magedang", "sc_culture", 1),
]
FORBIDDEN = [a[0] for a in ACCOUNTS] + [
    "unit:", "issue_lifecycle", "sub_commander", "commit_plan", "decide_issue",
    "responsible_unit", "sub_command", "co_tourism", "co_solar", "sc_culture", "sc_energy",
    "sc_rural", "t_magedang", "t_pingcheng", "assigned", "committed", "overdue", "due_soon",
    "on_time", "minor", "normal", "major", "timer"]
check_page = page_rules(SHOTS, FORBIDDEN)


def register(page, base: str, key, title, project, scope, unit, field) -> int:
    page.goto(f"{base}/processes/issue_lifecycle/start")
    page.fill("#business_key", key)
    page.fill("#title", title)
    page.select_option("#project_code", project)
    page.select_option("#scope", scope)
    page.select_option("#severity", "normal")
    page.select_option("#responsible_unit", unit)
    page.select_option("#sub_command", field)
    page.click("button.primary:has-text('发起')")
    page.wait_for_url(re.compile(r".*/processes/instances/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def late_lines(page) -> list[str]:
    """The instance ids of the desk's 超期与即将到期 lines, in screen order."""
    return [i.rsplit("-", 1)[1] for i in page.locator("#late li.board-item").evaluate_all(
        "items => items.map(i => i.id)")]


def test_the_supervisors_morning_at_the_desk(county, site, page):  # noqa: F811
    base, password, clock = site, county.password, county.clock
    ids = {}
    for key, title, project, scope, unit, field, day in sorted(ISSUES, key=lambda i: i[-1]):
        clock.set(datetime(2026, 12, day, 9, 0, tzinfo=SHANGHAI))
        log_in(page, base, SUPERVISOR, password)  # a session does not outlive the days
        ids[key] = register(page, base, key, title, project, scope, unit, field)
    names = county.units

    # The morning of Wednesday 2026-12-16: A and D are a working day late (10 working days
    # from 12-01), B is due tomorrow (from 12-03), C has until 12-22 on its rung (15 days).
    clock.set(datetime(2026, 12, 16, 8, 30, tzinfo=SHANGHAI))
    log_in(page, base, SUPERVISOR, password)
    page.goto(f"{base}/supervision/")
    text = check_page(page, "01-desk")
    assert page.inner_text("#count-overdue") == "2" and page.inner_text("#count-due-soon") == "1"
    lines = late_lines(page)
    assert set(lines) == {str(ids[k]) for k in ("WT-J4-A", "WT-J4-B", "WT-J4-D")}
    assert lines[-1] == str(ids["WT-J4-B"])  # overdue first, then due soon
    assert "高标准农田两镇灌渠走向争议" not in text
    by_unit = page.inner_text("#by-unit")
    for unit, overdue, soon in (("co_tourism", 1, 0), ("t_magedang", 1, 0), ("co_solar", 0, 1)):
        assert f"{names[unit]}\t{overdue}\t{soon}" in by_unit
    by_field = page.inner_text("#by-field")
    assert f"{names['sc_culture']}\t2\t0" in by_field and f"{names['sc_energy']}\t0\t1" in by_field

    # By sub-command.
    page.select_option("#f-sub", "sc_culture")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*sub_command=sc_culture.*"))
    assert set(late_lines(page)) == {str(ids["WT-J4-A"]), str(ids["WT-J4-D"])}
    check_page(page, "02-desk-culture")

    # Remind several at once: both lines of the field.
    for key in ("WT-J4-A", "WT-J4-D"):
        page.check(f"#pick-issue-{ids[key]}")
    page.fill("#remind-many-message", "请今日内报告整改进展")
    page.click("#remind-selected")
    page.wait_for_selector(".flash.success")
    assert "已催办 2 项" in page.inner_text(".flash.success")
    assert "sub_command=sc_culture" in page.url  # back on the screen it came from
    for key in ("WT-J4-A", "WT-J4-D"):
        assert "催办 1 次" in page.inner_text(f"#late #item-issue-{ids[key]}")
    check_page(page, "03-reminded")

    # Escalate the line due soon from the desk: an empty reason is refused at its field.
    page.goto(f"{base}/supervision/")
    b = ids["WT-J4-B"]
    line = page.locator(f"#late #item-issue-{b}")
    line.locator("summary", has_text="提级").click()
    line.locator(f"#escalate-{b}").click()
    page.wait_for_selector(f"#late #field-escalate-reason-{b}.has-error")
    assert "请填写提级理由" in page.inner_text(f"#late #field-escalate-reason-{b}")
    check_page(page, "04-escalate-refused")
    line = page.locator(f"#late #item-issue-{b}")
    line.locator(f"#reason-e-{b}").fill("升压站用地涉及林地调整，需分指挥部协调")
    line.locator(f"#escalate-{b}").click()
    page.wait_for_selector(".flash.success")
    assert str(b) not in late_lines(page)  # a new rung, a new deadline: off the desk
    page.goto(f"{base}/supervision/issues/{b}")
    assert "第3级 分指挥部研究解决" in check_page(page, "05-escalated")

    # 查账: the whole trail of a line, from the desk.
    page.goto(f"{base}/supervision/")
    a = ids["WT-J4-A"]
    page.locator(f"#late #item-issue-{a} a.button", has_text="查账").click()
    page.wait_for_url(re.compile(rf".*/audit/.*{a}.*"))
    trail = check_page(page, "06-trail")
    assert "催办" in trail and "请今日内报告整改进展" in trail
    assert county.label(SUPERVISOR) in trail or county.name(SUPERVISOR) in trail

    # Export what is on the screen: the same lines, in the same order, by name.
    page.goto(f"{base}/supervision/")
    on_screen = late_lines(page)
    titles = {str(ids[i[0]]): i[1] for i in ISSUES}
    with page.expect_download() as download:
        page.click("#export")
    book = load_workbook(BytesIO(open(download.value.path(), "rb").read()))
    rows = list(book["督办台"].iter_rows(values_only=True))
    assert rows[0][:3] == ("类别", "事项", "流程")
    assert [r[1] for r in rows[1:] if r[0] == "超期与即将到期"] == [titles[i] for i in on_screen]
    first = rows[1]
    assert first[4] in (names["co_tourism"], names["t_magedang"]) and "超期" in first[10]
    units = {r[0]: r[1:] for r in book["按责任单位"].iter_rows(values_only=True)}
    assert units[names["co_tourism"]] == (1, 0) and units[names["t_magedang"]] == (1, 0)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for cell in row:
                assert not any(re.search(rf"(?<![\w:]){re.escape(w)}(?!\w)", str(cell or ""))
                               for w in FORBIDDEN), cell

    # The units reminded were told, naming the project and the issue.
    log_in(page, base, "unit_tourism", password)
    page.goto(f"{base}/notifications/")
    notes = check_page(page, "07-unit-notes")
    assert "催办：太行山康养旅游度假区 · 整改承诺：度假区游客中心消防验收未通过" in notes
    assert "请今日内报告整改进展" in notes
