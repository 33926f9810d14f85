"""Journey 7, away from the desk, in a real browser: a specialist going on leave names a
stand-in by name for a period (委托); the open task reaches the stand-in, who completes it
"代 项目专员一"; when the period is over the rest is the specialist's again, by itself.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
Screenshots go to test-output/.
"""

from __future__ import annotations

import pytest

from engine.bpm import runtime
from engine.core.identity import Actor

from ..webapp.conftest import PASSWORD
from .browser import OUTPUT, log_in, needs_chromium, open_page, serve

pytestmark = needs_chromium

from ..webapp.conftest import accounts, app  # noqa: E402,F401


@pytest.fixture
def live_url(app):
    with serve(app) as url:
        yield url


def start_approval(platform, key):
    with platform.uow() as uow:
        runtime.start_instance(uow, "approval", Actor.of("zhuanyuan2", "specialist"),
                               business_key=key, data={"project_name": key})


def test_a_specialist_on_leave_names_a_stand_in_who_acts_for_them_until_it_ends(
        platform, clock, live_url):
    OUTPUT.mkdir(exist_ok=True)
    start_approval(platform, "XM-2026-101")
    start_approval(platform, "XM-2026-102")
    with open_page(390, 844) as page:
        log_in(page, live_url, "zhuanyuan1", PASSWORD)
        for _ in range(2):  # the specialist holds both before leaving
            page.click("text=待认领")
            page.locator("li.task button:has-text('认领')").first.click()  # not 批量认领
        page.click("#nav-delegation")
        search = page.locator("input.picker-search[data-picker-for=stand_in]")
        if search.is_visible():  # the list's search box, where the pickers' script runs
            search.fill("审批")
        else:
            page.select_option("#stand_in", label="审批人（发改局）（县发改局）")
        assert page.locator("#stand_in").input_value() == "shenpi1"  # picked by name
        page.check("#include_open")
        page.fill("#reason", "公休假")
        page.screenshot(path=str(OUTPUT / "delegation-form-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("button:has-text('保存委托')")
        assert page.locator(".flash.success").is_visible()
        assert "审批人（发改局）（县发改局）" in page.locator("#current").inner_text()
        assert page.locator("#handed .task").count() == 2
        page.screenshot(path=str(OUTPUT / "delegation-in-force-390.png"), full_page=True)
        page.goto(f"{live_url}/tasks/")
        assert page.locator(".task").count() == 0  # with the stand-in now

    with open_page(390, 844) as page:
        log_in(page, live_url, "shenpi1", PASSWORD)
        assert page.locator(".chip.behalf", has_text="代 项目专员一（县发改局）").count() == 2
        page.screenshot(path=str(OUTPUT / "delegation-stand-in-inbox-390.png"), full_page=True)
        page.locator(".task .name", has_text="准备材料").first.click()
        assert page.locator("#on-behalf").is_visible()
        page.fill("#title", "光伏电站")
        page.fill("#amount", "150")
        page.click("button:has-text('提交')")
        page.wait_for_url(f"{live_url}/tasks/")
        assert page.locator(".chip.behalf").count() == 1
        page.click("text=已办")
        page.locator(".task .name", has_text="准备材料").first.click()
        assert "审批人（发改局）（县发改局）（代 项目专员一（县发改局））" in page.locator(".timeline").inner_text()
        page.screenshot(path=str(OUTPUT / "delegation-history-390.png"), full_page=True)

    clock.advance(days=7)  # the period is over: nothing to hand back, the rest is theirs again
    with open_page(1280, 900) as page:
        log_in(page, live_url, "zhuanyuan1", PASSWORD)
        assert page.locator(".task .name", has_text="准备材料").count() == 1
        assert page.locator(".chip.behalf").count() == 0
        page.click("#nav-delegation")
        assert page.locator("#current").count() == 0
        page.screenshot(path=str(OUTPUT / "delegation-ended-1280.png"), full_page=True)
