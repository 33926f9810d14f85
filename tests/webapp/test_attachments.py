"""附件 on pages: a start form and a task form take files, refused files are named at their
field and nothing is kept, the instance and task pages list them, and the download is an
attachment with nosniff for readers of the instance only (404 otherwise)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from engine.core import attachments
from engine.core.models import AuditEvent, ProcessInstance

from ..conftest import FIXTURES
from .conftest import csrf_token_of, deploy
from .test_tasks import open_task

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def with_files(platform, app):
    deploy(platform, FIXTURES / "engine" / "attachments.bpmn")
    return app


def post_files(client, url, fields: dict, files: list[tuple[str, str, bytes]], page: str):
    token = csrf_token_of(client.get(page).get_data(as_text=True))
    data = {**fields, "csrf_token": token}
    for field, name, content in files:
        data.setdefault(field, [])
        data[field].append((io.BytesIO(content), name))
    return client.post(url, data=data, content_type="multipart/form-data")


def start_with(client, files, title="报送用地材料"):
    return post_files(client, "/processes/attachments/start", {"title": title}, files,
                      "/processes/attachments/start")


def counts(platform):
    with platform.uow() as uow:
        return (len(uow.session.execute(select(ProcessInstance)).all()),
                len(uow.session.execute(select(attachments.Attachment)).all()),
                len(uow.session.execute(select(AuditEvent)).all()))


def test_the_start_form_is_multipart_and_takes_files_listed_on_the_instance(
        with_files, platform, client, auth):
    auth.login()
    page = client.get("/processes/attachments/start").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="papers"' in page
    assert "multiple" in page
    response = start_with(client, [("papers", "用地预审意见.pdf", PDF),
                                   ("papers", "说明.txt", "补充说明".encode())])
    assert response.status_code == 302, response.get_data(as_text=True)
    instance_url = response.headers["Location"]
    page = client.get(instance_url).get_data(as_text=True)
    assert "用地预审意见.pdf" in page and "说明.txt" in page and "项目专员一" in page
    assert "提交附件" in page and "申报材料：用地预审意见.pdf、说明.txt" in page
    link = page.split('href="/attachments/')[1].split('"')[0]
    download = client.get(f"/attachments/{link}")
    assert download.status_code == 200
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype in ("application/pdf", "text/plain")
    # The approver sees them on the task, the history names the files, never their ids.
    auth.login("shenpi1")
    with platform.uow() as uow:
        instance_id = uow.session.execute(select(ProcessInstance.id)).scalar_one()
    task = open_task(platform, instance_id)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "用地预审意见.pdf" in page and link not in page.split('id="attachments"')[0]
    assert 'enctype="multipart/form-data"' in page
    # Someone who may not read the instance gets 404, like an unknown id.
    auth.login("xiangzhen1")
    assert client.get(f"/attachments/{link}").status_code == 404
    assert client.get("/attachments/not-an-id").status_code == 404


@pytest.mark.parametrize("files, message", [
    ([("papers", "发票.pdf", b"MZ\x90\x00" + b"\x00" * 64)], "不支持的文件类型"),
    ([("papers", "现场.png", b"<html><script>alert(1)</script></html>")], "不支持的文件类型"),
    ([("papers", "../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")], "扩展名不符"),
    ([("papers", f"{n}.pdf", PDF) for n in range(11)], "最多上传 10 个文件"),
    ([("papers", "大.pdf", PDF + b"\0" * attachments.MAX_BYTES)], "超过 20 MB"),
])
def test_refused_files_are_named_at_their_field_and_nothing_changes(
        with_files, platform, client, auth, files, message):
    auth.login()
    before = counts(platform)
    response = start_with(client, files)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and 'id="field-papers"' in page
    at_field = page.split('id="field-papers"')[1].split("</div>")[0]
    assert re.search(r'<p class="error" role="alert">[^<]*' + message, at_field)
    assert counts(platform) == before


def test_a_zip_bomb_disguised_as_a_docx_is_refused_on_the_task_form(
        with_files, platform, client, auth):
    auth.login()
    assert start_with(client, [("papers", "a.pdf", PDF)]).status_code == 302
    with platform.uow() as uow:
        instance_id = uow.session.execute(select(ProcessInstance.id)).scalar_one()
    task = open_task(platform, instance_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * 5_000_000)
    auth.login("shenpi1")
    before = counts(platform)
    response = post_files(client, f"/tasks/{task.id}/complete",
                          {"decision": "approve", "opinion": "同意"},
                          [("reply", "批复.docx", buffer.getvalue())], f"/tasks/{task.id}")
    assert response.status_code == 400 and "压缩炸弹" in response.get_data(as_text=True)
    assert counts(platform) == before
    response = post_files(client, f"/tasks/{task.id}/complete",
                          {"decision": "approve", "opinion": "同意"},
                          [("reply", "批复.pdf", PDF)], f"/tasks/{task.id}")
    assert response.status_code == 302
    with platform.uow() as uow:
        reply = uow.session.execute(select(attachments.Attachment).where(
            attachments.Attachment.field == "reply")).scalar_one()
        assert (reply.instance_id, reply.task_id) == (instance_id, task.id)


def test_a_file_name_with_markup_is_shown_as_text_and_downloads_under_a_clean_name(
        with_files, platform, client, auth):
    auth.login()
    name = "<img src=x onerror=alert(1)>报告.pdf"
    response = start_with(client, [("papers", name, PDF)])
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    link = page.split('href="/attachments/')[1].split('"')[0]
    download = client.get(f"/attachments/{link}")
    disposition = download.headers["Content-Disposition"]
    assert "<" not in disposition and ">" not in disposition and disposition.endswith(".pdf")
    assert download.get_data() == PDF


def test_the_audit_trail_shows_the_files_attached_in_words(with_files, platform, client, auth):
    auth.login()
    response = start_with(client, [("papers", "用地预审意见.pdf", PDF)])
    instance_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    auth.login("ducha1")
    page = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    row = page.split('id="trail"')[1].split("提交附件")[1].split("</tr>")[0]
    assert "用地预审意见.pdf" in row and "申报材料" in row
    for code in ("sha256", "content_type", "papers", "size", "field", "application/pdf"):
        assert code not in row, code
