"""The battle map in a real browser: the demo county with history, all three colours, a
project sheet, the awards and the dispatch report; screenshots at 1280 and 390 px.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
"""

from __future__ import annotations


import pytest

from engine.ops.demo import DEMO_PASSWORD, load_demo
from webapp import create_app

from .browser import OUTPUT, chromium, log_in, needs_chromium, serve

pytestmark = needs_chromium


@pytest.fixture
def live_url(platform, database_url, clock):
    """The demo county (21 days of history) served by werkzeug on a free loopback port."""
    load_demo(platform, history_days=21)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database_url,
                      "CLOCK": clock})
    with serve(app) as url:
        yield url
    app.extensions["gongjian"].close()


@pytest.fixture
def browser():
    """Headless Debian chromium."""
    with chromium() as browser:
        yield browser


def _log_in(page, live_url):
    log_in(page, live_url, "county_head", DEMO_PASSWORD)


def test_the_battle_map_shows_all_three_colours_and_leads_to_sheets_awards_and_dispatch(
        live_url, browser):
    OUTPUT.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _log_in(page, live_url)
    page.goto(f"{live_url}/board/")
    for colour in ("blue", "yellow", "red"):
        assert page.locator(f".map-project .plate-{colour}").count() >= 1, colour
    assert page.locator(".awards-box").is_visible()
    page.screenshot(path=str(OUTPUT / "battle-map.png"), full_page=True)
    page.locator(".map-project a", has_text="装备制造产业园标准化厂房").click()
    assert page.locator("svg").first.is_visible() and "问题清单" in page.content()
    page.goto(f"{live_url}/board/awards")
    assert page.locator(".award-antelope li").count() == 3
    assert page.locator(".award-snail li").count() == 3
    page.goto(f"{live_url}/board/dispatch?period=week")
    assert page.locator("svg.bar-chart rect").count() == 14
    assert page.locator(".dispatch-table tbody tr").count() == 8
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = phone.new_page()
    _log_in(page, live_url)
    page.goto(f"{live_url}/board/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(OUTPUT / "battle-map-390.png"), full_page=True)
    for path in ("/board/dispatch?period=week", "/board/agenda?meeting=headquarters",
                 "/board/assessment"):
        page.goto(f"{live_url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    phone.close()
