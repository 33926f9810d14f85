"""Journey 3 in a real browser, from a clean county: a written instruction under 13710.

The supervisor registers the county head's instruction with its text and sends it to the
responsible unit the same day with the 交办要求; the unit reports progress within 3 working
days and its result within 7; the supervisor sends the result back with an opinion, the unit
reports again, and the supervisor closes it with a rating. On every task the unit sees the
instruction's text, the 交办要求 and, once it came back, why. Every page passed: no 5xx,
Chinese, no username, group code or enum value in the visible text. Screenshots (desktop and
390 px) go to test-output/journey3/; the README's docs/screenshots/task.png is a copy of
08-result-sent-back-top.
"""

from __future__ import annotations

import re


from ..county_setup import ACCOUNTS, county  # noqa: F401  (fixture)
from .browser import OUTPUT, needs_chromium
from .journey import log_in, page, page_rules, site, submit  # noqa: F401  (fixtures)

pytestmark = needs_chromium

SHOTS = OUTPUT / "journey3"
SUPERVISOR, UNIT_HEAD = "supervisor1", "deputy_infra"  # 住建局's head (unit zj)
TEXT = "供热管网改造务必在入冬前完工，确保群众温暖过冬"
REQUIREMENTS = "三日内报送进展，七日内办结，附试压记录"
SENT_BACK = "缺少管网试压报告，请补充后重报"
# Identifiers that must never reach a page: usernames, group codes, process and enum codes.
FORBIDDEN = [a[0] for a in ACCOUNTS] + [
    "unit:", "instruction_13710", "county_head", "secretary", "ordinary", "accept_plan",
    "review_decision", "assign_note", "responsible_unit", "result_kind", "excellent"]
check_page = page_rules(SHOTS, FORBIDDEN, slack=2, top=True, diagrams=True)


def claim(page, base: str, name: str) -> None:
    """Claim the instruction's task of this name from 待认领 and open it."""
    page.goto(f"{base}/tasks/group")
    item = page.locator("li.task", has_text="13710-J3").filter(has_text=name)
    item.locator("button:has-text('认领')").click()
    page.wait_for_url(re.compile(r".*/tasks/[0-9a-f-]{36}$"))


def test_a_written_instruction_from_registration_to_rating(county, site, page):  # noqa: F811
    base, password = site, county.password
    log_in(page, base, SUPERVISOR, password)
    page.goto(f"{base}/processes/instruction_13710/start")
    page.fill("#business_key", "13710-J3")
    page.fill("#title", "县长批示：供热管网改造入冬前完工")
    page.select_option("#source", "county_head")
    page.fill("#instruction", TEXT)
    page.select_option("#complexity", "ordinary")
    page.select_option("#responsible_unit", "zj")
    check_page(page, "01-register")
    page.click("button.primary:has-text('发起')")
    page.wait_for_url(re.compile(r".*/processes/instances/\d+$"))
    instance_url = page.url
    text = check_page(page, "02-instance-registered")
    steps = page.inner_text("#next-steps")
    assert "当天交办" in steps and "「督办人员」" in steps and "时限：当天" in steps
    assert "2026-12-01 23:59" in steps  # assigned the same day

    claim(page, base, "当天交办")
    text = check_page(page, "03-assign")
    assert TEXT in page.inner_text("#matter") and "县住房和城乡建设管理局" in text
    assert "下一步“反馈进展（3日内）”" in page.inner_text("#outcomes")
    page.fill("#assign_note", REQUIREMENTS)
    submit(page)

    page.goto(instance_url)
    steps = page.inner_text("#next-steps")
    assert "反馈进展（3日内）" in steps and "「县住房和城乡建设管理局」" in steps
    assert "时限：3 个工作日" in steps and "2026-12-04 23:59" in steps
    history = page.inner_text(".timeline")
    assert f"{county.label(SUPERVISOR)} 办理「当天交办」" in history
    assert f"交办要求：{REQUIREMENTS}" in history
    assert "流程 生成待办「反馈进展（3日内）」\n交由：「县住房和城乡建设管理局」" in history
    check_page(page, "04-instance-assigned")

    log_in(page, base, UNIT_HEAD, password)
    claim(page, base, "反馈进展")
    check_page(page, "05-progress")
    matter = page.inner_text("#matter")
    assert TEXT in matter and REQUIREMENTS in matter and "县长" in matter
    assert "2026-12-04" in page.inner_text(".badge")
    page.fill("#progress", "管网主体已完成八成")
    submit(page)

    claim(page, base, "报送办理结果")
    check_page(page, "06-result")
    matter = page.inner_text("#matter")
    assert TEXT in matter and REQUIREMENTS in matter and "管网主体已完成八成" in matter
    assert "2026-12-10" in page.inner_text(".badge")  # resolved within 7 working days
    page.select_option("#result_kind", "result")
    page.fill("#report", "管网改造已完工")
    submit(page)

    log_in(page, base, SUPERVISOR, password)
    claim(page, base, "审核办理情况")
    check_page(page, "07-review")
    assert "管网改造已完工" in page.inner_text("#matter")
    outcomes = page.inner_text("#outcomes")
    assert "退回重办 → 回到“报送办理结果或方案”" in outcomes and "办结销号 → 办结" in outcomes
    page.select_option("#review_decision", "back")
    page.fill("#review_opinion", SENT_BACK)
    submit(page)

    log_in(page, base, UNIT_HEAD, password)
    claim(page, base, "报送办理结果")
    check_page(page, "08-result-sent-back")
    back = page.inner_text("#came-back")
    assert "再次办理的原因" in back and SENT_BACK in back and "退回重办" in back
    assert county.label(SUPERVISOR) in back and "管网改造已完工" in back  # what was sent
    matter = page.inner_text("#matter")
    assert TEXT in matter and REQUIREMENTS in matter
    page.select_option("#result_kind", "result")
    page.fill("#report", "管网改造已完工，附试压报告")
    submit(page)

    log_in(page, base, SUPERVISOR, password)
    claim(page, base, "审核办理情况")
    assert "审核结论为“办结销号”时必填" in page.inner_text("#field-rating")
    page.select_option("#review_decision", "close")
    page.fill("#review_opinion", "按时办结")
    page.click("form[action$='/complete'] button.primary")  # closing without a rating
    page.wait_for_selector("#field-rating .error")
    assert page.inner_text("#field-rating .error") == "此项必填"
    page.select_option("#rating", "excellent")
    submit(page)
    page.goto(instance_url)
    text = check_page(page, "09-instance-closed")
    assert "已办结" in text and "流程已结束，没有待办。" in page.inner_text("#next-steps")
    assert "办理评价：优秀" in page.inner_text(".timeline")
