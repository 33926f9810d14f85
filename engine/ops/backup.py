"""Backups of the embedded SQLite database, taken online, and their restore.

SQLite's online backup API copies a consistent snapshot page by page while the platform
keeps serving (a WAL database lets readers and the one writer go on). A restore replaces
the database file with the backup after checking the backup's audit chain, so a damaged
or doctored backup is refused before it replaces anything. PostgreSQL databases are
backed up with `pg_dump` / restored with `pg_restore` (see the README).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

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
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, _check_chain(target))


def restore_sqlite(database_url: str, backup: str | Path) -> BackupResult:
    """Replace the database with a backup whose audit chain is whole (stop the app first).

    The database that is replaced is kept beside it as `<name>.before-restore`.
    """
    backup, target = Path(backup), sqlite_path(database_url)
    if not backup.exists():
        raise BackupError(f"{backup} does not exist")
    events = _check_chain(backup)
    if target.exists():
        shutil.copy2(target, target.with_name(target.name + ".before-restore"))
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    partial = target.with_name(target.name + ".restoring")
    shutil.copy2(backup, partial)
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, events)
