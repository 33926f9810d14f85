"""附件: content-addressed storage, types judged by content, limits, and the `file` form field
bound to its instance and task (engine/core/attachments.py, engine/bpm/form_files.py)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpm import definitions, inbox, start_forms, task_actions
from engine.core import attachments
from engine.core.attachments import AttachmentRefused
from engine.core.errors import TaskDataError
from engine.core.identity import Actor
from engine.core.models import AuditEvent
from engine.ops import schedule

from ..conftest import FIXTURES

SPECIALIST = Actor.of("zhuanyuan1", "specialist")
OTHER = Actor.of("zhuanyuan2", "specialist")
APPROVER = Actor.of("shenpi1", "approver")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def store(platform, name, data, actor=SPECIALIST, field="papers"):
    with platform.uow() as uow:
        row = attachments.store(uow, actor.username, name, data, field=field)
        uow.commit()
        return row


@pytest.mark.parametrize("name, data, content_type", [
    ("报告.pdf", PDF, "application/pdf"),
    ("现场.png", PNG, "image/png"),
    ("照片.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
    ("方案.docx", DOCX, attachments.DOCX.content_type),
    ("台账.xlsx", zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}),
     attachments.XLSX.content_type),
    ("批复.ofd", zipped({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<d/>"}),
     "application/ofd"),
    ("旧表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "application/vnd.ms-excel"),
    ("说明.txt", "项目进度说明：已完成七成。\n".encode(), "text/plain; charset=utf-8"),
])
def test_accepted_types_are_judged_by_their_content(name, data, content_type):
    assert attachments.check(name, data) == (name, content_type)


@pytest.mark.parametrize("name, data, rule", [
    ("发票.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100, "type_refused"),
    ("图.png", b"<html><script>alert(1)</script></html>", "type_refused"),
    ("图.txt", b"  <svg onload=alert(1)>", "type_refused"),
    ("报告.png", PDF, "name_mismatch"),
    ("报告.exe", PDF, "name_mismatch"),
    ("压缩.zip", zipped({"a.txt": b"x"}), "type_refused"),
    ("坏.docx", b"PK\x03\x04 not really a zip", "zip_damaged"),
    ("passwd", b"root:x:0:0:root:/root:/bin/bash\n", "name_mismatch"),
    ("a\x00.pdf", PDF, "name_unfit"),
    ("报告\u202efdp.exe", PDF, "name_unfit"),
    ("../..", PDF, "name_missing"),
    ("空.txt", b"", "empty"),
])
def test_hostile_files_are_refused_by_content_and_name(name, data, rule):
    with pytest.raises(AttachmentRefused) as refused:
        attachments.check(name, data)
    assert refused.value.rule == rule


def test_a_zip_bomb_disguised_as_a_docx_is_refused_without_extracting_it():
    bomb = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * 5_000_000})
    assert len(bomb) < 50_000
    with pytest.raises(AttachmentRefused, match="expands") as refused:
        attachments.check("方案.docx", bomb)
    assert refused.value.rule == "zip_bomb"
    crowd = zipped({"[Content_Types].xml": b"<Types/>",
                    **{f"word/media/{n}.xml": b"x" for n in range(attachments.MAX_ZIP_ENTRIES)}})
    with pytest.raises(AttachmentRefused, match="entries"):
        attachments.check("方案.docx", crowd)


def test_an_oversized_file_is_refused(platform):
    with pytest.raises(AttachmentRefused) as refused:
        store(platform, "大.pdf", PDF + b"\0" * attachments.MAX_BYTES)
    assert refused.value.rule == "too_large"


def test_a_path_name_keeps_only_its_last_part_and_a_long_name_its_extension():
    assert attachments.clean_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert attachments.clean_name("C:\\Users\\张三\\报告.pdf") == "报告.pdf"
    long = attachments.clean_name("长" * 300 + ".pdf")
    assert len(long) == attachments.MAX_NAME and long.endswith(".pdf")


def test_content_is_kept_once_by_its_hash_beside_an_sqlite_database(platform):
    first = store(platform, "../../etc/报告.pdf", PDF)
    second = store(platform, "副本.pdf", PDF)
    digest = hashlib.sha256(PDF).hexdigest()
    assert first.sha256 == second.sha256 == digest and first.id != second.id
    assert first.filename == "报告.pdf"
    with platform.uow() as uow:
        folder = attachments.folder_of(uow.session)
        if folder is not None:  # SQLite in a file: the instance folder
            path = folder / digest[:2] / digest[2:]
            assert path.read_bytes() == PDF
            assert [p.name for p in path.parent.iterdir()] == [digest[2:]]  # no temp left
        else:                   # PostgreSQL: one blob row in the database
            blobs = uow.session.execute(select(attachments.AttachmentBlob)).scalars().all()
            assert [b.sha256 for b in blobs] == [digest]
        assert attachments.content(uow.session, first) == PDF
        events = [json.loads(e.detail) for e in uow.session.execute(select(AuditEvent)).scalars()
                  if e.action == "attachment_added"]
    assert len(events) == 2 and events[0]["sha256"] == digest


def test_eleven_files_in_one_field_are_refused_and_nothing_is_kept(platform):
    with platform.uow() as uow:
        with pytest.raises(AttachmentRefused) as refused:
            attachments.store_field(uow, "zhuanyuan1", "papers",
                                    [(f"{n}.pdf", PDF) for n in range(11)])
    assert refused.value.rule == "too_many"
    with platform.uow() as uow:
        assert uow.session.execute(select(attachments.Attachment)).first() is None


@pytest.fixture
def deployed(platform):
    with platform.uow() as uow:
        path = FIXTURES / "engine" / "attachments.bpmn"
        definitions.deploy_files(uow, [(path.name, path.read_bytes())], "designer")


def start(platform, data, actor=SPECIALIST):
    with platform.uow() as uow:
        return start_forms.start_with_form(uow, "attachments", actor, business_key="CL-1",
                                           data=data)


def test_a_file_field_binds_the_uploaders_files_to_the_instance_and_task(platform, deployed):
    papers = [store(platform, "报告.pdf", PDF).id, store(platform, "现场.png", PNG).id]
    instance = start(platform, {"title": "报送", "papers": papers})
    with platform.uow() as uow:
        bound = attachments.of_instance(uow.session, instance.id)
        assert sorted(a.id for a in bound) == sorted(papers)
        assert {a.field for a in bound} == {"papers"} and {a.task_id for a in bound} == {None}
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, APPROVER)
    reply = store(platform, "批复.pdf", PDF, actor=APPROVER, field="reply").id
    with platform.uow() as uow:
        task_actions.decide(uow, task[0].id, APPROVER, "approve", "同意", {"reply": [reply]})
    with platform.uow() as uow:
        row = uow.session.get(attachments.Attachment, reply)
        assert (row.instance_id, row.task_id, row.field) == (instance.id, task[0].id, "reply")
        bound = [e.instance_id for e in uow.session.execute(select(AuditEvent)).scalars()
                 if e.action == "attachment_bound"]
    assert bound == [instance.id] * 3


def test_a_file_field_refuses_ids_not_the_submitters_or_already_bound(platform, deployed):
    theirs = store(platform, "报告.pdf", PDF, actor=OTHER).id
    with pytest.raises(TaskDataError) as refused:
        start(platform, {"title": "报送", "papers": [theirs]})
    assert "papers" in refused.value.field_errors
    mine = store(platform, "报告.pdf", PDF).id
    with pytest.raises(TaskDataError):
        start(platform, {"title": "报送", "papers": [mine, mine]})
    with pytest.raises(TaskDataError) as refused:
        start(platform, {"title": "报送", "papers": []})          # required
    assert "papers" in refused.value.field_errors
    with pytest.raises(TaskDataError):
        start(platform, {"title": "报送", "papers": "not-a-list"})
    start(platform, {"title": "报送", "papers": [mine]})
    with pytest.raises(TaskDataError):                            # bound already
        start(platform, {"title": "报送", "papers": [mine]})
    with platform.uow() as uow:
        assert uow.session.get(attachments.Attachment, theirs).instance_id is None


def test_a_single_file_field_takes_one_file(platform, deployed):
    instance = start(platform, {"title": "报送", "papers": [store(platform, "a.pdf", PDF).id]})
    with platform.uow() as uow:
        task = inbox.list_tasks(uow, APPROVER)[0]
    two = [store(platform, f"{n}.pdf", PDF, actor=APPROVER).id for n in range(2)]
    with platform.uow() as uow, pytest.raises(TaskDataError) as refused:
        task_actions.decide(uow, task.id, APPROVER, "approve", "", {"reply": two})
    assert "reply" in refused.value.field_errors
    with platform.uow() as uow:
        assert len(attachments.of_instance(uow.session, instance.id)) == 1


def test_two_submissions_racing_for_one_file_bind_it_once(platform, deployed):
    if platform.database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock orders the two writers before either reads")
    import threading
    import time

    from engine.core.errors import ConflictError
    first = start(platform, {"title": "一", "papers": [store(platform, "a.pdf", PDF).id]})
    second = start(platform, {"title": "二", "papers": [store(platform, "b.pdf", PDF).id]})
    contested = store(platform, "c.pdf", PDF).id
    barrier, outcomes = threading.Barrier(2), {}

    def holder():
        with platform.uow() as uow:
            attachments.bind(uow, SPECIALIST.username, [contested], instance_id=first.id,
                             task_id=None, field="papers")
            barrier.wait()
            time.sleep(0.5)       # the other has read the file as unbound and waits on it
            uow.commit()
            outcomes["holder"] = "bound"

    def latecomer():
        barrier.wait()
        try:
            with platform.uow() as uow:
                attachments.bind(uow, SPECIALIST.username, [contested], instance_id=second.id,
                                 task_id=None, field="papers")
                uow.commit()
                outcomes["latecomer"] = "bound"
        except ConflictError:
            outcomes["latecomer"] = "conflict"

    threads = [threading.Thread(target=holder), threading.Thread(target=latecomer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"holder": "bound", "latecomer": "conflict"}
    with platform.uow() as uow:
        assert uow.session.get(attachments.Attachment, contested).instance_id == first.id


# ---------------------------------------------------------------- the clean-up of unbound uploads

def _kept(platform, digest) -> bool:
    """Whether the content of `digest` is still kept (a file, or a blob row)."""
    with platform.uow() as uow:
        folder = attachments.folder_of(uow.session)
        if folder is not None:
            return (folder / digest[:2] / digest[2:]).exists()
        return uow.session.get(attachments.AttachmentBlob, digest) is not None


def _purge(platform):
    with platform.uow() as uow:
        purged = attachments.purge_unbound(uow, "system")
        uow.commit()
    return purged


def test_uploads_whose_form_never_came_are_deleted_after_a_day_with_their_content(
        platform, deployed, clock):
    abandoned = store(platform, "草稿.png", PNG)
    shared = store(platform, "报告.pdf", PDF)                     # same content as a bound one
    start(platform, {"title": "报送", "papers": [store(platform, "报告.pdf", PDF).id]})
    assert _purge(platform) == attachments.Purged(0, 0, 0)       # not a day old yet
    clock.advance(attachments.UNBOUND_KEPT + timedelta(minutes=1))
    recent = store(platform, "刚上传.pdf", PDF)
    assert _purge(platform) == attachments.Purged(rows=2, contents=1, bytes=len(PNG))
    with platform.uow() as uow:
        left = {row.id for row in uow.session.execute(select(attachments.Attachment)).scalars()}
        [event] = [json.loads(e.detail) for e in uow.session.execute(select(AuditEvent)).scalars()
                   if e.action == "attachments_purged"]
    assert abandoned.id not in left and shared.id not in left and recent.id in left
    assert not _kept(platform, abandoned.sha256)
    assert _kept(platform, shared.sha256)                        # the bound one keeps it
    assert (event["rows"], event["contents"], event["bytes"]) == (2, 1, len(PNG))
    again = store(platform, "草稿.png", PNG)                      # the same file uploaded anew
    assert _kept(platform, again.sha256)
    with platform.uow() as uow:
        assert attachments.content(uow.session, again) == PNG


def test_an_upload_older_than_a_day_can_no_longer_be_attached(platform, deployed, clock):
    old = store(platform, "报告.pdf", PDF).id
    clock.advance(attachments.UNBOUND_KEPT + timedelta(seconds=1))
    with pytest.raises(TaskDataError) as refused:
        start(platform, {"title": "报送", "papers": [old]})
    assert "papers" in refused.value.field_errors


def test_the_schedule_cleans_up_once_a_day(platform, deployed, clock):
    store(platform, "草稿.png", PNG)
    with platform.uow() as uow:
        schedule.ensure_schedule(uow)
        uow.commit()
    clock.advance(timedelta(days=1, hours=1))
    result = schedule.run_entry(platform.uow, "attachment_purge")
    assert result.outcome == "done" and "已清理 1 个" in result.message
    assert schedule.run_entry(platform.uow, "attachment_purge") is None  # not due again today
