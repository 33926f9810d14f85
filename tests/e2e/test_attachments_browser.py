"""附件 in a real browser (issue 19): a start form with a file field uploads a PDF, the
instance page lists it and downloads it back byte for byte, the approver adds a reply file on
the task form, and the approval sheet lists both and downloads as a PDF.

Uses Debian's chromium (never `playwright install`); skipped when it or Playwright is missing.
The screenshot goes to test-output/attachments.png.
"""

from __future__ import annotations

import pytest

from ..conftest import FIXTURES
from ..webapp.conftest import PASSWORD, accounts, app, deploy  # noqa: F401  (fixtures)
from .browser import OUTPUT, log_in, needs_chromium, open_page, serve

pytestmark = needs_chromium

# A small but well-formed PDF (one empty page).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture
def live_url(platform, app):
    deploy(platform, FIXTURES / "engine" / "attachments.bpmn")
    with serve(app) as url:
        yield url


def test_a_pdf_uploaded_on_a_form_downloads_back_and_is_on_the_approval_sheet(
        live_url, tmp_path):
    OUTPUT.mkdir(exist_ok=True)
    upload = tmp_path / "用地预审意见.pdf"
    upload.write_bytes(PDF)
    refused = tmp_path / "现场照片.png"
    refused.write_bytes(b"<html><script>alert(1)</script></html>")
    with open_page(1280, 900) as page:
        log_in(page, live_url, "zhuanyuan1", PASSWORD)
        page.goto(f"{live_url}/processes/attachments/start")
        page.fill("#title", "报送光伏电站用地材料")
        # An HTML page named .png is refused at its field; nothing is started.
        page.set_input_files("#papers", [str(refused)])
        page.click("form.form button[type=submit]")
        assert "不支持的文件类型" in page.locator("#field-papers").inner_text()
        assert "/start" in page.url
        page.fill("#title", "报送光伏电站用地材料")
        page.set_input_files("#papers", [str(upload)])
        page.click("form.form button[type=submit]")
        page.wait_for_url(f"{live_url}/processes/instances/*")
        instance_url = page.url
        listed = page.locator("#attachments")
        assert "用地预审意见.pdf" in listed.inner_text() and "项目专员一" in listed.inner_text()
        with page.expect_download() as download:
            listed.locator("a", has_text="用地预审意见.pdf").click()
        assert download.value.suggested_filename == "用地预审意见.pdf"
        assert open(download.value.path(), "rb").read() == PDF

        # The approver adds the reply on the task form and approves.
        page.context.clear_cookies()
        log_in(page, live_url, "shenpi1", PASSWORD)
        page.goto(f"{live_url}/tasks/group")
        page.click("text=审核材料")
        if page.locator("button", has_text="认领").count():
            page.click("button:has-text('认领')")
        assert "用地预审意见.pdf" in page.locator("#attachments").inner_text()
        reply = tmp_path / "批复.pdf"
        reply.write_bytes(PDF)
        page.set_input_files("#reply", [str(reply)])
        page.click("button[name=decision][value=approve]")
        page.wait_for_url(f"{live_url}/tasks/")

        page.context.clear_cookies()
        log_in(page, live_url, "zhuanyuan1", PASSWORD)
        page.goto(instance_url)
        text = page.locator("#attachments").inner_text()
        assert "用地预审意见.pdf" in text and "批复.pdf" in text and "审批人（发改局）" in text
        assert "申报材料：用地预审意见.pdf" in page.locator(".timeline").inner_text()
        page.screenshot(path=str(OUTPUT / "attachments.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(instance_url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(OUTPUT / "attachments-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(instance_url + "/sheet")
        sheet = page.locator("#sheet-attachments").inner_text()
        assert "用地预审意见.pdf" in sheet and "批复.pdf" in sheet
        with page.expect_download() as download:
            page.click("text=下载 PDF")
        assert open(download.value.path(), "rb").read(5) == b"%PDF-"
