"""Backups of the embedded SQLite database, taken online, and their restore.

SQLite's online backup API copies a consistent snapshot page by page while the platform
keeps serving (a WAL database lets readers and the one writer go on). A restore replaces
the database file with the backup after checking the backup's audit chain, so a damaged
or doctored backup is refused before it replaces anything. PostgreSQL databases are
backed up with `pg_dump` / restored with `pg_restore` (see the README); their attachments
are rows of the database and go with it.

On SQLite the attachments (附件) are files in the folder beside the database
(engine/core/attachments.py); the backup copies them to `<backup>.attachments/` after the
database snapshot. Attachment files are written before the row that names them commits and
are never changed or removed, so every file the snapshot names is there to copy. A restore
puts back the files the restored database names (each checked against its SHA-256) and
refuses a backup that lacks one, before it replaces anything.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from sqlalchemy import select

from ..core.attachments import FOLDER, Attachment
from ..core.audit import verify_audit
from ..core.db import make_engine, make_session_factory
from ..core.errors import GongjianError


class BackupError(GongjianError):
    """A backup could not be taken or restored; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    """Where a backup went and what its audit chain holds."""

    path: Path
    bytes: int
    audit_events: int
    attachment_files: int = 0


def sqlite_path(database_url: str) -> Path:
    """The file of an SQLite URL; BackupError for any other database."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        raise BackupError("online backup is for the embedded SQLite database; back up "
                          "PostgreSQL with pg_dump (see the README)")
    return Path(url.database)


def _check_chain(path: Path) -> int:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with make_session_factory(engine)() as session:
            report = verify_audit(session)
    finally:
        engine.dispose()
    if not report.ok:
        raise BackupError(f"{path}: its audit chain is broken ({report.problems[0]}); "
                          "it was not used")
    return report.events


def backup_sqlite(database_url: str, target: str | Path | None,
                  now: datetime) -> BackupResult:
    """Copy the live database to `target` (default: backups/gongjian-<now>.db beside it)."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if target is None:
        stamp = now.strftime("%Y%m%d-%H%M%S")
        target = source.parent / "backups" / f"gongjian-{stamp}.db"
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    with sqlite3.connect(source) as live, sqlite3.connect(partial) as copy:
        live.backup(copy, pages=1024)
    files = _copy_attachments(source.parent / FOLDER, attachments_of_backup(target))
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, _check_chain(target), files)


def attachments_of_backup(backup: Path) -> Path:
    """The folder of a backup's attachment files: `<backup>.attachments`."""
    return backup.with_name(backup.name + ".attachments")


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file atomically (a partial name, fsync'ed, renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(".partial-" + target.name)
    shutil.copyfile(source, partial)
    with open(partial, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)


def _copy_attachments(folder: Path, target: Path) -> int:
    """Copy every attachment file of `folder` (ab/cdef…) to `target`; how many."""
    count = 0
    if not folder.is_dir():
        return 0
    for path in sorted(folder.glob("??/*")):
        if path.name.startswith("."):
            continue  # an upload being written: its row is not in the snapshot
        _copy_file(path, target / path.parent.name / path.name)
        count += 1
    return count


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _restore_attachments(backup: Path, folder: Path) -> int:
    """Put back the files the backup's database names; BackupError (nothing copied) when one
    is neither in the backup's folder nor already in place, or does not match its hash."""
    engine = make_engine(f"sqlite:///{backup}")
    try:
        with make_session_factory(engine)() as session:
            wanted = set(session.execute(select(Attachment.sha256)).scalars())
    finally:
        engine.dispose()
    saved = attachments_of_backup(backup)
    plan = []
    for sha256 in sorted(wanted):
        live, kept = folder / sha256[:2] / sha256[2:], saved / sha256[:2] / sha256[2:]
        if live.exists() and _sha256_of(live) == sha256:
            continue
        if not kept.exists() or _sha256_of(kept) != sha256:
            raise BackupError(f"{backup}: the attachment file {sha256} is missing from "
                              f"{saved} or damaged; the backup was not used")
        plan.append((kept, live))
    for kept, live in plan:
        _copy_file(kept, live)
    return len(wanted)


def restore_sqlite(database_url: str, backup: str | Path) -> BackupResult:
    """Replace the database with a backup whose audit chain is whole (stop the app first).

    The database that is replaced is kept beside it as `<name>.before-restore`.
    """
    backup, target = Path(backup), sqlite_path(database_url)
    if not backup.exists():
        raise BackupError(f"{backup} does not exist")
    events = _check_chain(backup)
    files = _restore_attachments(backup, target.parent / FOLDER)
    if target.exists():
        shutil.copy2(target, target.with_name(target.name + ".before-restore"))
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    partial = target.with_name(target.name + ".restoring")
    shutil.copy2(backup, partial)
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, events, files)
