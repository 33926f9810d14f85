"""Signed checkpoints of the audit chain: what someone holding only the database cannot forge.

The hash chain (engine/core/audit.py) reveals an edited row to anyone who trusts the last
hash, but whoever can write the database can edit a row and recompute every later hash. A
checkpoint is the chain head's sequence number and hash at a moment, signed with the audit
key, which is kept outside the database (engine/core/audit_keys.py). The worker signs one
every `every` events and at least daily (engine/ops/checkpoints.py). Each is kept in
`audit_checkpoint`, recorded in the chain itself as an `audit_checkpoint` event (which the
webhook of that kind carries to an outside system), appended to an export file outside the
database folder, and printed on the monthly bulletin. `verify_checkpoints` compares the
chain with every checkpoint it is given and says from which event on it cannot be trusted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit_keys import key_id_of
from .clock import as_utc
from .identity import SYSTEM
from .models import AuditEvent, AuditHead, Base, UTCDateTime
from .uow import UnitOfWork

SIGNED_FORMAT = "gongjian-audit-checkpoint/1"
ACTION = "audit_checkpoint"
EVERY = 1000
INTERVAL = timedelta(days=1)


class AuditCheckpoint(Base):
    """One signed checkpoint: the chain's head (sequence, hash) at a time, and its signature."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(100))  # base64 of the 64-byte Ed25519 signature
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to the export file


@dataclass(frozen=True)
class CheckpointPolicy:
    """Where the key and the export file are, and how often the worker signs a checkpoint."""

    key_path: Path
    export_path: Path | None = None
    every: int = EVERY
    interval: timedelta = INTERVAL


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: "the chain's event `seq` had hash `hash` at `at`"."""

    seq: int
    hash: str
    at: datetime
    key_id: str
    signature: str = ""

    def message(self) -> bytes:
        """The exact bytes signed."""
        return "\n".join([SIGNED_FORMAT, str(self.seq), self.hash, self.at.isoformat(),
                          self.key_id]).encode("ascii")

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        """Whether the signature is this key's over these contents."""
        try:
            key.verify(base64.b64decode(self.signature, validate=True), self.message())
            return True
        except (InvalidSignature, ValueError):
            return False

    def as_dict(self) -> dict[str, Any]:
        """The checkpoint as exported, sent and recorded (JSON-ready)."""
        return {"format": SIGNED_FORMAT, "seq": self.seq, "hash": self.hash,
                "at": self.at.isoformat(), "key_id": self.key_id, "signature": self.signature}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """A checkpoint read back from `as_dict`; ValueError when it is not one."""
        if not isinstance(data, Mapping) or data.get("format") != SIGNED_FORMAT:
            raise ValueError(f"not a {SIGNED_FORMAT} checkpoint")
        try:
            return cls(int(data["seq"]), str(data["hash"]), as_utc(str(data["at"])),
                       str(data["key_id"]), str(data["signature"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"checkpoint without {exc}") from None


def sign(key: Ed25519PrivateKey, seq: int, digest: str, at: datetime) -> Checkpoint:
    """A checkpoint of (seq, digest) at `at` (whole seconds, UTC) signed with `key`."""
    unsigned = Checkpoint(seq, digest, as_utc(at).replace(microsecond=0),
                          key_id_of(key.public_key()))
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    return Checkpoint(unsigned.seq, unsigned.hash, unsigned.at, unsigned.key_id, signature)


def _from_row(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(row.seq, row.hash, row.at, row.key_id, row.signature)


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The newest checkpoint kept in the database, if any."""
    row = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                          .limit(1)).scalar()
    return None if row is None else _from_row(row)


def _due(head_seq: int, last: tuple[int, datetime] | None, now: datetime, every: int,
         interval: timedelta) -> bool:
    if head_seq == 0:
        return False  # nothing to vouch for yet
    if last is None:
        return True
    return head_seq - last[0] >= every or now - last[1] >= interval


def _last(session: Session) -> tuple[int, datetime] | None:
    table = AuditCheckpoint.__table__
    row = session.execute(select(table.c.seq, table.c.at).order_by(table.c.id.desc())
                          .limit(1)).first()
    return None if row is None else (row.seq, as_utc(row.at))


def checkpoint_due(session: Session, now: datetime, *, every: int = EVERY,
                   interval: timedelta = INTERVAL) -> bool:
    """Whether `every` events or `interval` have passed since the last checkpoint."""
    head = AuditHead.__table__
    head_seq = session.execute(select(head.c.seq).where(head.c.id == 1)).scalar() or 0
    return _due(head_seq, _last(session), now, every, interval)


def write_checkpoint(uow: UnitOfWork, key: Ed25519PrivateKey, *, every: int | None = None,
                     interval: timedelta | None = None) -> Checkpoint | None:
    """Sign the chain's head now; given `every` and `interval`, only when one is due.

    The head row is locked first, so no event is appended while it is read and signed, and
    two workers deciding at once write one checkpoint. The checkpoint is kept in its table
    and recorded in the chain (the next checkpoint covers that record too).
    """
    uow.begin_write()
    session, head = uow.session, AuditHead.__table__
    seq, digest = session.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1)
                                  .with_for_update()).one()
    now = uow.clock.now()
    if every is not None and not _due(seq, _last(session), now, every, interval or INTERVAL):
        uow.rollback()
        return None
    checkpoint = sign(key, seq, digest, now)
    session.add(AuditCheckpoint(seq=checkpoint.seq, hash=checkpoint.hash, at=checkpoint.at,
                                key_id=checkpoint.key_id, signature=checkpoint.signature))
    uow.audit.record(SYSTEM, ACTION, subject=f"audit_checkpoint:{seq}",
                     why=f"审计链签名检查点：第 {seq} 号事件", **checkpoint.as_dict())
    uow.commit()
    return checkpoint


def stored_checkpoints(session: Session) -> list[Checkpoint]:
    """Every checkpoint the database holds: its table, and the chain's own records of them."""
    found = [_from_row(row) for row in session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars()]
    for detail in session.execute(select(AuditEvent.detail).where(
            AuditEvent.action == ACTION).order_by(AuditEvent.seq)).scalars():
        try:
            found.append(Checkpoint.from_dict(json.loads(detail)))
        except ValueError:
            continue  # an edited record: the chain itself reports it
    return found


@dataclass
class CheckpointReport:
    """The chain checked against signed checkpoints.

    `trusted_through`: events 1 … that number match a checkpoint signed with the key;
    `first_untrusted`: set when a checkpoint disagrees with the chain — from that event on
    the chain cannot be trusted (which of the later events was changed, the recomputed
    hashes no longer tell).
    """

    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    trusted_through: int = 0
    first_untrusted: int | None = None
    last_event: int = 0
    latest: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        """True when every checkpoint is genuine and agrees with the chain."""
        return not self.problems


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def verify_checkpoints(session: Session, keys: Mapping[str, Ed25519PublicKey],
                       checkpoints: Iterable[Checkpoint]) -> CheckpointReport:
    """Check each checkpoint's signature with `keys` (by fingerprint), then the chain against it."""
    report = CheckpointReport()
    report.last_event = session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    genuine: list[Checkpoint] = []
    for checkpoint in sorted(set(checkpoints), key=lambda c: (c.seq, c.at)):
        key = keys.get(checkpoint.key_id)
        where = f"checkpoint of event {checkpoint.seq} ({_when(checkpoint.at)})"
        if key is None:
            report.problems.append(
                f"{where} names key {checkpoint.key_id}, which is not the audit key "
                f"({', '.join(keys) or 'none given'}): forged, or signed with another key "
                "(give its public key with --public-key)")
        elif not checkpoint.signed_by(key):
            report.problems.append(f"{where}: the signature does not match its contents "
                                   "(forged or altered without the key)")
        else:
            genuine.append(checkpoint)
    report.checkpoints = len(genuine)
    wanted = {c.seq for c in genuine}
    hashes = dict(session.execute(select(AuditEvent.seq, AuditEvent.hash).where(
        AuditEvent.seq.in_(wanted))).all()) if wanted else {}
    disagreeing = None
    for checkpoint in genuine:
        actual = hashes.get(checkpoint.seq)
        where = f"checkpoint of event {checkpoint.seq} ({_when(checkpoint.at)})"
        if actual == checkpoint.hash:
            if disagreeing is None:
                report.trusted_through = checkpoint.seq
                report.latest = checkpoint
            continue
        disagreeing = disagreeing or checkpoint
        if actual is None:
            report.problems.append(
                f"{where}: the chain has no event {checkpoint.seq} (it ends at "
                f"{report.last_event}): events were deleted, or the database was restored "
                "from an older backup")
        else:
            report.problems.append(f"{where}: event {checkpoint.seq} now has hash "
                                   f"{actual[:16]}…, the signed hash is {checkpoint.hash[:16]}…")
    if disagreeing is not None:
        report.first_untrusted = report.trusted_through + 1
    elif not genuine:
        report.notes.append("no signed checkpoint yet: the chain is vouched for by its own "
                            "hashes alone")
    elif report.last_event > report.trusted_through:
        first, last = report.trusted_through + 1, report.last_event
        events = f"event {last} comes" if first == last else f"events {first}–{last} come"
        report.notes.append(f"{events} after the last checkpoint ({_when(report.latest.at)}), "
                            "not yet vouched for by a signature")
    return report
