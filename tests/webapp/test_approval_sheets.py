"""审批单: the printable sheet of an instance and its PDF (issue 19)."""

from __future__ import annotations

import http.server
import re
import threading
import zlib
from pathlib import Path

import pytest

from webapp.pdf import html_to_pdf

from .test_tasks import claim_and_prepare, open_task, start

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def _returned_then_approved(platform, client, auth):
    instance = start(platform, data={"project_name": "礼义镇光伏电站"})
    auth.login()
    claim_and_prepare(platform, auth, instance)
    auth.logout()
    auth.login("shenpi1")
    review = open_task(platform, instance.id)
    auth.post(f"/tasks/{review.id}/complete",
              {"decision": "return", "opinion": "投资额需核实<script>alert(1)</script>"},
              page=f"/tasks/{review.id}")
    auth.logout()
    auth.login()
    claim_and_prepare(platform, auth, instance)
    auth.logout()
    auth.login("shenpi1")
    review = open_task(platform, instance.id)
    auth.post(f"/tasks/{review.id}/complete", {"decision": "approve", "opinion": "同意立项"},
              page=f"/tasks/{review.id}")
    return instance


def test_the_sheet_lists_the_matter_and_every_step_by_name_with_decisions_and_opinions(
        platform, client, auth):
    instance = _returned_then_approved(platform, client, auth)
    shown = client.get(f"/processes/instances/{instance.id}").get_data(as_text=True)
    assert f'href="/processes/instances/{instance.id}/sheet"' in shown  # linked from the page
    page = client.get(f"/processes/instances/{instance.id}/sheet")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "审批单" in html and f"第 {instance.id} 号" in html and "XM-001" in html
    assert "项目名称" in html and "礼义镇光伏电站" in html  # the start form's label and value
    assert "项目专员一（县发改局）" in html and "审批人（发改局）（县发改局）" in html
    steps = html.split("审批过程", 1)[1]
    # applied, prepared, returned, prepared again, approved, ended — in that order
    order = [steps.index(word) for word in ("提交申请", "准备材料", "退回", "同意", "办结")]
    assert order == sorted(order)
    assert "投资额需核实&lt;script&gt;" in steps and "同意立项" in steps
    assert "zhuanyuan1" not in html and "shenpi1" not in html
    assert "打印时间：2026-12-01" in html  # the platform's clock, not the wall clock


def test_the_pdf_is_an_a4_attachment_with_the_chinese_font_embedded(platform, client, auth):
    instance = _returned_then_approved(platform, client, auth)
    response = client.get(f"/processes/instances/{instance.id}/sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-")
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "approval-sheet.pdf").write_bytes(pdf)  # to look at
    objects = pdf + b"".join(_streams(pdf))
    assert b"/BaseFont /" in objects and b"WenQuanYi" in objects  # Chinese glyphs, not boxes
    assert re.search(rb"/MediaBox \[0 0 595\.\d* 841\.\d*\]", objects)  # A4, in points


def _streams(pdf: bytes) -> list[bytes]:
    """The PDF's compressed streams, inflated (fonts and pages live in object streams)."""
    inflated = []
    for match in re.finditer(rb"stream\n(.*?)\nendstream", pdf, re.S):
        try:
            inflated.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return inflated


def test_someone_who_neither_started_nor_handled_the_instance_gets_no_sheet(
        platform, client, auth):
    instance = start(platform)
    auth.login("xiangzhen1")
    assert client.get(f"/processes/instances/{instance.id}/sheet").status_code == 404
    assert client.get(f"/processes/instances/{instance.id}/sheet.pdf").status_code == 404
    assert client.get("/processes/instances/999999/sheet").status_code == 404


@pytest.fixture
def listener():
    """A web server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def test_the_pdf_renderer_fetches_no_url_and_reads_no_file(listener, tmp_path):
    url, hits = listener
    secret = tmp_path / "secret.css"
    secret.write_text("body { background: red }")
    pdf = html_to_pdf(f'<link rel="stylesheet" href="{url}/x.css"><img src="{url}/x.png">'
                      f'<link rel="stylesheet" href="file://{secret}">'
                      f'<style>@import url("{url}/y.css");</style>审批单')
    assert pdf.startswith(b"%PDF-") and hits == []
