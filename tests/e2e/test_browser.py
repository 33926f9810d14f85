"""One end-to-end walk in a real browser: specialist prepares, approver returns with an opinion.

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

# The webapp fixtures (app, accounts) are shared with the browser test.
from ..webapp.conftest import accounts, app  # noqa: E402,F401


@pytest.fixture
def live_url(app):
    """The app served by werkzeug on a free loopback port, in a thread."""
    with serve(app) as url:
        yield url


@pytest.fixture
def page():
    """A phone-sized chromium page."""
    with open_page(390, 844) as page:
        yield page


def login(page, base: str, username: str) -> None:
    log_in(page, base, username, PASSWORD)


def logout(page) -> None:
    page.click("button.link")


def test_specialist_prepares_and_approver_returns_with_an_opinion(platform, live_url, page):
    OUTPUT.mkdir(exist_ok=True)
    with platform.uow() as uow:
        runtime.start_instance(uow, "approval", Actor.of("zhuanyuan1", "specialist"),
                               business_key="XM-2026-001", data={"project_name": "光伏电站"})

    login(page, live_url, "zhuanyuan1")
    page.click("text=待认领")
    page.click("li.task button:has-text('认领')")  # not the list's 批量认领
    page.goto(f"{live_url}/tasks/")
    assert page.locator(".task .name", has_text="准备材料").is_visible()
    # No horizontal scrolling on a 390-px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(OUTPUT / "inbox-390.png"), full_page=True)

    page.click(".task .name:text-is('准备材料')")
    page.fill("#title", "")
    page.fill("#amount", "-1")
    page.click("button:has-text('提交')")
    assert page.locator("#field-title .error").inner_text() == "此项必填"
    assert "不能小于 0" in page.locator("#field-amount .error").inner_text()
    page.screenshot(path=str(OUTPUT / "task-form-errors-390.png"), full_page=True)

    page.fill("#title", "光伏电站")
    page.fill("#amount", "150")
    page.click("button:has-text('提交')")
    page.wait_for_url(f"{live_url}/tasks/")
    assert page.locator(".flash.success").is_visible()
    logout(page)

    login(page, live_url, "shenpi1")
    page.click("text=待认领")
    page.click(".task .name:text-is('审批')")
    page.fill("#opinion", "投资额需附可研报告")
    page.click("button[value=return]")
    page.wait_for_url(f"{live_url}/tasks/")
    page.click("text=已办")
    page.click(".task .name:text-is('审批')")
    timeline = page.locator(".timeline")
    assert "投资额需附可研报告" in timeline.inner_text()
    assert "退回" in timeline.inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(OUTPUT / "task-history.png"), full_page=True)
