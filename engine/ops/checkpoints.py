"""The worker's checkpoint duty and the export file (engine/core/checkpoints.py says what they are).

Each pass of the worker signs a checkpoint when one is due, then appends every checkpoint
not yet exported to the export file (`GONGJIAN_AUDIT_EXPORT`), one JSON line each, flushed to
disk before the rows are marked exported. The file is meant to live where the database
cannot reach (another disk, a mounted share, a log shipper's folder); a checkpoint written
twice after a failure is harmless, since verifying reads each statement once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from ..core.audit_keys import AuditKeyError, load_signing_key
from ..core.checkpoints import (
    AuditCheckpoint, Checkpoint, CheckpointPolicy, checkpoint_due, write_checkpoint,
)
from ..core.uow import UnitOfWork

EXPORT_SETTING = "GONGJIAN_AUDIT_EXPORT"


def export_checkpoints(make_uow: Callable[[], UnitOfWork], path: Path) -> int:
    """Append the checkpoints not yet exported to `path` and mark them; how many were written."""
    with make_uow() as uow:
        uow.begin_write()
        rows = list(uow.session.execute(
            select(AuditCheckpoint).where(AuditCheckpoint.exported_at.is_(None))
            .order_by(AuditCheckpoint.id).with_for_update(skip_locked=True)).scalars())
        if not rows:
            return 0
        lines = "".join(json.dumps(Checkpoint(r.seq, r.hash, r.at, r.key_id, r.signature)
                                   .as_dict(), sort_keys=True) + "\n" for r in rows)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        now = uow.clock.now()
        for row in rows:
            row.exported_at = now
        uow.commit()
        return len(rows)


def read_export(path: Path) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints of an export file, and a problem for each line that is not one."""
    checkpoints, problems = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                checkpoints.append(Checkpoint.from_dict(json.loads(line)))
            except ValueError as exc:
                problems.append(f"{path}, line {number}: not a checkpoint ({exc})")
    return checkpoints, problems


class CheckpointDuty:
    """What the worker does for the checkpoints at each pass; `run` returns lines to log.

    A missing or unusable key stops only the signing, and is logged once (and again when
    the complaint changes), so the worker's other work goes on and its log stays readable.
    """

    def __init__(self, policy: CheckpointPolicy):
        self.policy = policy
        self._key: Ed25519PrivateKey | None = None
        self._complaints: dict[str, str] = {}

    def _complain(self, topic: str, message: str, lines: list[str]) -> None:
        if self._complaints.get(topic) != message:
            self._complaints[topic] = message
            lines.append(message)

    def run(self, make_uow: Callable[[], UnitOfWork]) -> list[str]:
        """Sign a checkpoint if one is due, export what is not exported yet."""
        lines: list[str] = []
        policy = self.policy
        try:
            self._key = self._key or load_signing_key(policy.key_path)
            self._complaints.pop("key", None)
        except AuditKeyError as exc:
            self._complain("key", f"audit checkpoints are not signed: {exc}", lines)
        if self._key is not None:
            with make_uow() as uow:
                due = checkpoint_due(uow.session, uow.clock.now(), every=policy.every,
                                     interval=policy.interval)
            if due:
                with make_uow() as uow:
                    signed = write_checkpoint(uow, self._key, every=policy.every,
                                              interval=policy.interval)
                if signed is not None:
                    lines.append(f"audit checkpoint signed: event {signed.seq}, hash "
                                 f"{signed.hash[:16]}…")
        if policy.export_path is not None:
            try:
                exported = export_checkpoints(make_uow, policy.export_path)
                self._complaints.pop("export", None)
            except OSError as exc:
                self._complain("export", f"audit checkpoints not exported to "
                               f"{policy.export_path}: {exc}", lines)
            else:
                if exported:
                    lines.append(f"audit checkpoints exported to {policy.export_path}: "
                                 f"{exported}")
        return lines
