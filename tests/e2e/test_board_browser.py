"""The supervision board in a real browser: overdue issues on every rung, escalate with a reason.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
Screenshots go to test-output/.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from ..conftest import SHANGHAI
from ..webapp.conftest import PASSWORD

from .browser import OUTPUT, log_in, needs_chromium, open_page, serve

pytestmark = needs_chromium

from ..webapp.test_supervision import desk  # noqa: E402,F401  (app with four issues)


@pytest.fixture
def live_url(desk):
    """The desk app served by werkzeug on a free loopback port, in a thread."""
    app, _ids = desk
    with serve(app) as url:
        yield url


@pytest.fixture
def page():
    """A phone-sized chromium page."""
    with open_page(390, 844) as page:
        yield page


def test_the_board_shows_every_rung_and_escalates_with_a_reason(desk, live_url, page, clock):
    _app, ids = desk
    OUTPUT.mkdir(exist_ok=True)
    clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=SHANGHAI))
    log_in(page, live_url, "duban1", PASSWORD)
    page.click("nav.nav >> text=督办台")
    page.wait_for_url(f"{live_url}/supervision/")
    assert page.locator("#count-overdue").inner_text() == "4"
    for rung in (1, 2, 3, 4):
        assert page.locator(f"#late .chip.rung-{rung}").count() == 1
    # No horizontal scrolling on a 390-px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(OUTPUT / "board-390.png"), full_page=True)

    item = page.locator(f"#item-issue-{ids['Q-2']}")
    item.locator("summary:has-text('提级')").click()
    page.locator(f"#reason-e-{ids['Q-2']}").fill("涉及两个乡镇，需分指挥部协调")
    item.locator("button:has-text('提级至第3级')").click()
    page.wait_for_url(f"{live_url}/supervision/")
    assert page.locator(".flash.success").is_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(OUTPUT / "battle_map.png"), full_page=True)
    page.goto(f"{live_url}/supervision/issues/{ids['Q-2']}")
    assert "涉及两个乡镇" in page.locator("body").inner_text()
    page.goto(f"{live_url}/supervision/ledger")
    page.screenshot(path=str(OUTPUT / "ledger.png"), full_page=True)


@pytest.mark.parametrize("path", ["/supervision/ledger", "/supervision/",
                                  "/supervision/county-head", "/supervision/13710"])
def test_the_desk_pages_do_not_scroll_sideways_on_a_phone(desk, live_url, page, clock, path):
    _app, ids = desk
    OUTPUT.mkdir(exist_ok=True)
    clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=SHANGHAI))
    log_in(page, live_url, "duban1", PASSWORD)
    for target in (path, f"/supervision/issues/{ids['Q-2']}"):
        page.goto(f"{live_url}{target}")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        name = target.strip("/").replace("/", "-") or "board"
        page.screenshot(path=str(OUTPUT / f"{name}-390.png"), full_page=True)
        assert width <= 390, (target, width)
