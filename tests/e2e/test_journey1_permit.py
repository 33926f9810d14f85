"""Journey 1 in a real browser, from a clean county: a permit request through one window
(承诺制 + 全代办).

The office window starts a request for a registered project by picking it; at 受理申请 it
ticks every item (规划, 用地, 能评, 环评, 施工许可) — 能评 and 环评 come out as commitments
for an enterprise project, from rules/permit_items.dmn and the project's data (issue 17:
ticking them broke a request started from 发起流程). The specialist files each agency item
and the project unit signs each commitment (a past date refused at its field); each task
names its item. The planning approver returns the filing for correction (补正) with an
opinion — an empty one refused at its field — and the specialist, seeing why and what was
filed, corrects and resubmits; time limits are working days. The commitments are verified on
their date; the construction permit follows planning and land; the window hands back (一口出)
and the project moves 前期 → 建设 by itself, as the battle map shows. A second request, whose
commitment is not kept, is revoked and becomes an issue of the ledger.

Every page passed: no 5xx, Chinese, no username, group code or enum value in the visible
text, nothing wider than 390 px. Screenshots (desktop and 390 px) go to test-output/journey1/.
"""

from __future__ import annotations

import re
from datetime import datetime


from engine.bpm.timers import fire_due_timers

from ..county_setup import ACCOUNTS, SHANGHAI, county  # noqa: F401  (fixture)
from .browser import OUTPUT, needs_chromium
from .journey import log_in, page, page_rules, site, submit  # noqa: F401  (fixtures)

pytestmark = needs_chromium

SHOTS = OUTPUT / "journey1"
WINDOW, SPECIALIST, UNIT = "office_window", "specialist2", "unit_solar"
PROJECT, PROJECT_NAME = "LC-2027-004", "100MW农光互补光伏电站"
SECOND, SECOND_NAME, SECOND_UNIT = "LC-2027-003", "县域算力中心", "unit_data"
PLANNING, LAND = "建设工程规划许可", "建设用地审批"
ENERGY, ENVIRONMENT = "固定资产投资项目节能审查（能评）", "建设项目环境影响评价审批（环评）"
CONSTRUCTION = "建筑工程施工许可"
CORRECTION = "总平面图缺少消防通道标注，请补正后重新申报"
# Identifiers that must never reach a page: usernames, group codes, process, element, enum
# and variable names.
FORBIDDEN = [a[0] for a in ACCOUNTS] + [
    "unit:", "approver@", "permit_approval", "permit_item", "enterprise", "government",
    "commitment", "agency", "approved", "revoked", "file_for_unit", "sign_commitment",
    "verify_commitment", "approval_decision", "approval_opinion", "filing_note",
    "fulfil_date", "item_name", "need_energy", "co_solar", "co_data", "zrzy", "sthj", "xzsp",
    "prework", "construction"]
check_page = page_rules(SHOTS, FORBIDDEN, slack=2)


def open_task(page, base: str, title: str) -> None:
    """Open the task of this title: from 我的待办, else claimed from 待认领."""
    page.goto(f"{base}/tasks/")
    mine = page.locator("li.task a.task-link", has_text=title)
    if mine.count():
        mine.first.click()
    else:
        page.goto(f"{base}/tasks/group")
        item = page.locator("li.task").filter(has_text=title)
        assert item.count(), (title, page.inner_text("main"))
        item.first.locator("button:has-text('认领')").click()
    page.wait_for_url(re.compile(r".*/tasks/[0-9a-f-]{36}$"))
    assert title in page.inner_text("h1"), (title, page.inner_text("h1"))


def fire_timers(county) -> None:  # noqa: F811
    """What the worker does at its next tick."""
    fire_due_timers(county.platform.uow)


def start_request(page, base: str, code: str, shot: str) -> str:
    """发起流程: the window picks the project; returns the instance page's URL."""
    page.goto(f"{base}/processes/permit_approval/start")
    options = page.inner_text("#project_code")
    assert PROJECT_NAME in options and "年产5万吨高性能碳材料项目" not in options  # 前期 only
    page.select_option("#project_code", code)
    check_page(page, shot)
    page.click("button.primary:has-text('发起')")
    page.wait_for_url(re.compile(r".*/processes/instances/\d+$"))
    return page.url


def test_a_permit_request_through_one_window(county, site, page):  # noqa: F811
    base, password, clock = site, county.password, county.clock

    # 1. 一口进: the window starts the request by choosing the project, and receives it.
    log_in(page, base, WINDOW, password)
    instance_url = start_request(page, base, PROJECT, "01-start")
    check_page(page, "02-instance-started")
    open_task(page, base, f"受理申请（一口进）：{PROJECT_NAME}")
    matter = check_page(page, "03-receive")
    assert "企业投资" in page.inner_text("#matter") and PROJECT_NAME in matter
    for item in ("planning", "land", "energy", "environment", "construction"):
        page.check(f"#need_{item}")
    submit(page)

    # 2. The specialist files each agency item; each task names its item.
    log_in(page, base, SPECIALIST, password)
    page.goto(f"{base}/tasks/group")
    offered = check_page(page, "04-specialist-offered")
    assert f"代办申报：{PLANNING}" in offered and f"代办申报：{LAND}" in offered
    assert f"代办申报：{ENERGY}" not in offered  # a commitment for an enterprise project
    for item in (PLANNING, LAND):
        open_task(page, base, f"代办申报：{item}")
        if item == PLANNING:
            check_page(page, "05-file-planning")
        page.fill("#filing_note", f"{item}申报材料已齐")
        submit(page)

    # The project unit signs each commitment; a date not ahead is refused at its field.
    log_in(page, base, UNIT, password)
    open_task(page, base, f"签署承诺书：{ENERGY}")
    page.fill("#commitment_text", "开工前落实节能措施并报送节能报告")
    page.fill("#fulfil_date", "2020-01-01")
    page.click("form[action$='/complete'] button.primary")
    page.wait_for_selector("#field-fulfil_date .error")
    assert "不能早于 2026-12-02" in page.inner_text("#field-fulfil_date")
    check_page(page, "06-commitment-past-date-refused")
    page.fill("#fulfil_date", "2026-12-10")
    submit(page)
    open_task(page, base, f"签署承诺书：{ENVIRONMENT}")
    page.fill("#commitment_text", "开工前完成环评公示并落实环保措施")
    page.fill("#fulfil_date", "2026-12-10")
    submit(page)

    # 3. The planning approver returns the filing for correction (补正), with an opinion.
    log_in(page, base, "approver_zrzy", password)
    open_task(page, base, f"限时审批：{PLANNING}")
    text = check_page(page, "07-approval")
    assert f"{PLANNING}申报材料已齐" in page.inner_text("#matter")
    assert "2026-12-15" in page.inner_text(".badge")  # 10 working days from 1 December
    page.click("#return summary")
    page.select_option("#return-to", "file_for_unit")
    page.click("#return button.danger")
    page.wait_for_selector("#field-return-opinion .error")
    assert "退回时必须填写退回意见" in page.inner_text("#field-return-opinion")
    check_page(page, "08-return-without-opinion-refused")
    page.fill("#return-opinion", CORRECTION)
    page.click("#return button.danger")
    page.wait_for_selector(".flash.success")
    assert "已退回到：代办申报" in page.inner_text(".flash.success")
    del text

    # The specialist sees why and what was filed, corrects and resubmits.
    log_in(page, base, SPECIALIST, password)
    open_task(page, base, f"代办申报：{PLANNING}")
    text = check_page(page, "09-file-again")
    assert CORRECTION in text
    assert page.input_value("#filing_note") == f"{PLANNING}申报材料已齐"
    page.fill("#filing_note", "已补充消防通道标注的总平面图")
    submit(page)

    # Each approver approves with an opinion.
    for approver, item in (("approver_zrzy", PLANNING), ("approver_zrzy", LAND),
                           ("approver_drc", ENERGY), ("approver_sthj", ENVIRONMENT)):
        log_in(page, base, approver, password)
        open_task(page, base, f"限时审批：{item}")
        if item == PLANNING:
            assert "已补充消防通道标注的总平面图" in page.inner_text("#matter")
        page.select_option("#approval_decision", "approve")
        page.fill("#approval_opinion", "符合要求，准予许可")
        submit(page)

    # 4. The commitments are verified on their date.
    clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI))
    fire_timers(county)
    for approver, item in (("approver_drc", ENERGY), ("approver_sthj", ENVIRONMENT)):
        log_in(page, base, approver, password)
        open_task(page, base, f"核验承诺履行：{item}")
        if item == ENERGY:
            check_page(page, "10-verify-commitment")
            matter = page.inner_text("#matter")
            assert "开工前落实节能措施并报送节能报告" in matter and "2026-12-10" in matter
            assert PROJECT_NAME in matter
        page.select_option("#fulfilled", "yes")
        page.fill("#verify_note", "已按承诺落实")
        submit(page)

    # The construction permit follows planning and land.
    log_in(page, base, SPECIALIST, password)
    open_task(page, base, f"代办申报：{CONSTRUCTION}")
    page.fill("#filing_note", "施工许可申报材料已齐")
    submit(page)
    log_in(page, base, "approver_xzsp", password)
    open_task(page, base, f"限时审批：{CONSTRUCTION}")
    page.select_option("#approval_decision", "approve")
    page.fill("#approval_opinion", "准予施工许可")
    submit(page)

    # 5. 一口出: the window hands back; the project moves 前期 → 建设 by itself.
    log_in(page, base, WINDOW, password)
    open_task(page, base, f"出件（一口出）：{PROJECT_NAME}")
    check_page(page, "11-hand-back")
    results = page.inner_text("#matter")
    for item in (PLANNING, LAND, ENERGY, ENVIRONMENT, CONSTRUCTION):
        assert f"{item}：准予许可" in results, results
    page.fill("#handback_note", "五项手续一次性出件")
    submit(page)
    page.goto(instance_url)
    text = check_page(page, "12-instance-done")
    assert "流程已结束，没有待办。" in page.inner_text("#next-steps")
    assert f"{county.label('approver_zrzy')}" in page.inner_text(".timeline")
    page.goto(f"{base}/board/project/{PROJECT}")
    sheet = check_page(page, "13-project-sheet")
    assert "建设" in page.inner_text("h1") and "前期手续全部办结" in sheet
    page.goto(f"{base}/board/")
    board = check_page(page, "14-battle-map")
    assert f"{PROJECT} · 建设（2026-12-10 转入）" in board


def test_an_unkept_commitment_is_revoked_and_becomes_an_issue(county, site, page):  # noqa: F811
    base, password, clock = site, county.password, county.clock
    log_in(page, base, WINDOW, password)
    start_request(page, base, SECOND, "21-start")
    open_task(page, base, f"受理申请（一口进）：{SECOND_NAME}")
    page.check("#need_environment")
    submit(page)
    log_in(page, base, SECOND_UNIT, password)
    open_task(page, base, f"签署承诺书：{ENVIRONMENT}")
    page.fill("#commitment_text", "开工前完成环评公示")
    page.fill("#fulfil_date", "2026-12-10")
    submit(page)
    log_in(page, base, "approver_sthj", password)
    open_task(page, base, f"限时审批：{ENVIRONMENT}")
    page.select_option("#approval_decision", "approve")
    page.fill("#approval_opinion", "承诺制先行准予")
    submit(page)
    clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI))
    fire_timers(county)
    log_in(page, base, "approver_sthj", password)  # the session ended in nine days
    open_task(page, base, f"核验承诺履行：{ENVIRONMENT}")
    assert "开工前完成环评公示" in page.inner_text("#matter")
    page.select_option("#fulfilled", "no")
    page.fill("#verify_note", "到期未完成环评公示")
    submit(page)

    # Revoked, and an issue of the ledger for the project unit.
    log_in(page, base, SECOND_UNIT, password)
    page.goto(f"{base}/tasks/group")
    offered = check_page(page, "22-unit-issue-offered")
    assert "整改承诺" in offered or "承诺未按期履行" in offered
    log_in(page, base, "supervisor1", password)
    page.goto(f"{base}/supervision/ledger")
    ledger = check_page(page, "23-ledger")
    assert f"{ENVIRONMENT}：承诺未按期履行，审批已撤销" in ledger
    log_in(page, base, WINDOW, password)
    open_task(page, base, f"出件（一口出）：{SECOND_NAME}")
    submit(page)
