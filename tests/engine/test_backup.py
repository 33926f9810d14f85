"""Online backup of the SQLite database and a verified restore."""

from __future__ import annotations

import shutil
import threading

import pytest
from sqlalchemy import text

from engine.bpm import definitions, inbox, runtime
from engine.ops import backup, cli
from engine.core.audit import verify_audit
from engine.core.identity import Actor
from engine.ops.platform import Platform

from ..conftest import FIXTURES

SPECIALIST = Actor.of("zy", "specialist")


def start_some(platform, count):
    for _ in range(count):
        with platform.uow() as uow:
            runtime.start_instance(uow, "lanes_gateway", SPECIALIST)


@pytest.fixture
def sqlite_platform(platform):
    if not platform.database_url.startswith("sqlite"):
        pytest.skip("online backup is for SQLite; PostgreSQL uses pg_dump")
    with platform.uow() as uow:
        definitions.deploy_path(uow, FIXTURES / "engine" / "lanes_gateway.bpmn", "designer")
    return platform


def test_a_backup_taken_while_the_platform_writes_restores_with_an_intact_chain(
        sqlite_platform, tmp_path, clock):
    start_some(sqlite_platform, 3)
    writer = threading.Thread(target=start_some, args=(sqlite_platform, 20))
    writer.start()
    result = backup.backup_sqlite(sqlite_platform.database_url, tmp_path / "b.db",
                                  sqlite_platform.clock.now())
    writer.join()
    assert result.audit_events >= 4  # the deploy and at least three starts

    start_some(sqlite_platform, 2)  # work after the backup, lost by the restore
    sqlite_platform.close()
    restored = backup.restore_sqlite(sqlite_platform.database_url, tmp_path / "b.db")
    assert restored.audit_events == result.audit_events
    again = Platform(sqlite_platform.database_url, clock)
    with again.uow() as uow:
        report = verify_audit(uow.session)
        assert report.ok and report.events == result.audit_events
        # One deploy, then each start wrote two events (started, task created).
        assert len(inbox.list_tasks(uow, SPECIALIST)) == (result.audit_events - 1) // 2
    again.close()


def test_a_doctored_backup_is_refused_and_replaces_nothing(sqlite_platform, tmp_path):
    start_some(sqlite_platform, 2)
    result = backup.backup_sqlite(sqlite_platform.database_url, tmp_path / "b.db",
                                  sqlite_platform.clock.now())
    doctored = Platform(f"sqlite:///{result.path}")
    with doctored.db.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'nobody' WHERE seq = 2"))
    doctored.close()
    with pytest.raises(backup.BackupError, match="audit chain is broken"):
        backup.restore_sqlite(sqlite_platform.database_url, result.path)
    with sqlite_platform.uow() as uow:
        assert verify_audit(uow.session).ok


def test_backup_and_restore_commands(sqlite_platform, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_platform.database_url)
    assert cli.main(["backup", "--to", str(tmp_path / "c.db")]) == 0
    assert "audit chain intact" in capsys.readouterr().out
    assert cli.main(["backup", "--to", str(tmp_path / "c.db")]) == 2  # never overwrites
    assert cli.main(["restore", str(tmp_path / "c.db")]) == 0


def test_a_backup_keeps_the_attachment_files_and_a_restore_puts_them_back(
        sqlite_platform, tmp_path):
    from engine.core import attachments
    pdf = b"%PDF-1.4\n%%EOF\n"
    with sqlite_platform.uow() as uow:
        row = attachments.store(uow, "zy", "报告.pdf", pdf)
        uow.commit()
        folder = attachments.folder_of(uow.session)
    result = backup.backup_sqlite(sqlite_platform.database_url, tmp_path / "b.db",
                                  sqlite_platform.clock.now())
    assert result.attachment_files == 1
    kept = backup.attachments_of_backup(result.path) / row.sha256[:2] / row.sha256[2:]
    assert kept.read_bytes() == pdf
    shutil.rmtree(folder)                       # the disk with the files is lost
    sqlite_platform.close()
    restored = backup.restore_sqlite(sqlite_platform.database_url, result.path)
    assert restored.attachment_files == 1
    with Platform(sqlite_platform.database_url).uow() as uow:
        assert attachments.content(uow.session, uow.session.get(
            attachments.Attachment, row.id)) == pdf


def test_a_backup_whose_attachment_file_is_damaged_is_refused(sqlite_platform, tmp_path):
    from engine.core import attachments
    with sqlite_platform.uow() as uow:
        row = attachments.store(uow, "zy", "说明.txt", "说明".encode())
        uow.commit()
        folder = attachments.folder_of(uow.session)
    result = backup.backup_sqlite(sqlite_platform.database_url, tmp_path / "b.db",
                                  sqlite_platform.clock.now())
    kept = backup.attachments_of_backup(result.path) / row.sha256[:2] / row.sha256[2:]
    kept.write_bytes(b"doctored")
    shutil.rmtree(folder)
    sqlite_platform.close()
    with pytest.raises(backup.BackupError, match="missing from .* or damaged"):
        backup.restore_sqlite(sqlite_platform.database_url, result.path)
    assert not folder.exists()                  # nothing was put in place
