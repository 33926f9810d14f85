"""The office features in a real browser (issue 19): the statistics with their charts and
workbook, and an instance's approval sheet with its PDF.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
Screenshots go to test-output/ (statistics.png is the README's).
"""

from __future__ import annotations

import pytest

from ..webapp.conftest import PASSWORD, AuthActions, accounts, app  # noqa: F401  (fixtures)
from ..webapp.test_tasks import claim_and_prepare, open_task, start
from .browser import OUTPUT, log_in, needs_chromium, open_page, serve

pytestmark = needs_chromium


@pytest.fixture
def worked(platform, app, clock):
    """Five applications: some prepared, some approved, one returned, over two weeks."""
    client = app.test_client()
    auth = AuthActions(client)
    instances = []
    for n in range(5):
        instance = start(platform, business_key=f"XM-{n:03}",
                         data={"project_name": f"第{n + 1}号光伏项目"})
        instances.append(instance)
        auth.login()
        claim_and_prepare(platform, auth, instance)
        clock.advance(days=n + 1)
        if n % 2 == 0:
            auth.login("shenpi1")
            review = open_task(platform, instance.id)
            decision = "return" if n == 2 else "approve"
            auth.post(f"/tasks/{review.id}/complete",
                      {"decision": decision, "opinion": "材料齐全，同意" if n != 2 else "补充用地证明"},
                      page=f"/tasks/{review.id}")
    return instances


@pytest.fixture
def live_url(app, worked):
    with serve(app) as url:
        yield url


def test_the_statistics_show_four_charts_and_export_what_is_on_screen(live_url):
    OUTPUT.mkdir(exist_ok=True)
    with open_page(1280, 900) as page:
        log_in(page, live_url, "ducha1", PASSWORD)
        page.click("nav.nav >> text=统计")
        page.wait_for_url(f"{live_url}/statistics/")
        page.select_option("#f-range", "month")
        page.click("#period button[type=submit]")
        assert page.locator("svg.chart").count() == 4
        assert page.locator("#by-step").inner_text().count("准备材料") >= 1
        page.screenshot(path=str(OUTPUT / "statistics.png"), full_page=True)
        with page.expect_download() as download:
            page.click("#export")
        assert download.value.suggested_filename.endswith(".xlsx")
        page.fill("#f-from", "2026-12-31")
        page.fill("#f-to", "2026-12-01")
        page.click("#period button[type=submit]")
        assert "结束日期不能早于开始日期" in page.locator("#field-to").inner_text()
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_url}/statistics/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(OUTPUT / "statistics-390.png"), full_page=True)


def test_the_approval_sheet_prints_and_downloads_as_a_pdf(live_url, worked):
    instance = worked[0]
    with open_page(1280, 900) as page:
        log_in(page, live_url, "zhuanyuan1", PASSWORD)
        page.goto(f"{live_url}/processes/instances/{instance.id}/sheet")
        assert "审批单" in page.locator("h1").inner_text()
        assert "材料齐全，同意" in page.locator("body").inner_text()
        # its own styles apply (the page's Content-Security-Policy lets them in by nonce)
        assert page.eval_on_selector("td", "e => getComputedStyle(e).borderTopStyle") == "solid"
        page.screenshot(path=str(OUTPUT / "approval-sheet.png"), full_page=True)
        with page.expect_download() as download:
            page.click("text=下载 PDF")
        path = download.value.path()
        assert open(path, "rb").read(5) == b"%PDF-"


def test_the_search_box_in_the_header_finds_applications_by_their_number(live_url):
    with open_page(1280, 900) as page:
        log_in(page, live_url, "ducha1", PASSWORD)
        page.fill(".nav-search input[name=q]", "XM-00")
        page.press(".nav-search input[name=q]", "Enter")
        page.wait_for_url(f"{live_url}/search/?q=*")
        hits = page.locator("#hits-instances li")
        assert hits.count() == 5
        page.screenshot(path=str(OUTPUT / "search.png"), full_page=True)
        hits.first.locator("a").click()
        assert "/processes/instances/" in page.url
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_url}/search/?q=XM-00")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
