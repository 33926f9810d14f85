"""The audit log: every change of state as an append-only, hash-chained event.

Each event's hash covers its own fields and the previous event's hash, so editing,
deleting or reordering any row breaks the chain at that row. Appends take the lock of the
single `audit_head` row first, which orders concurrent writers on SQLite and PostgreSQL
alike; events are buffered during a service call and appended just before its commit, so
that lock is held only briefly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64

# Called with (session, appended events) inside the appending transaction, e.g. to queue
# webhook deliveries that then commit or roll back with the events themselves. The
# platform hands its subscribers to every unit of work (engine.ops.platform).
AppendSubscriber = Callable[[Session, list[SimpleNamespace]], None]


# One encoder for every call: json.dumps with these options builds a new one each time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=str)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spacing, so equal data always hashes the same."""
    return _CANONICAL.encode(value)


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str,
               subject: str | None, instance_id: int | None, task_id: str | None,
               detail: str) -> str:
    """The chain hash of one event."""
    payload = canonical_json([prev_hash, seq, at.isoformat(), actor, action, subject,
                              instance_id, task_id, detail])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    actor: str
    action: str
    subject: str | None
    instance_id: int | None
    task_id: str | None
    detail: dict[str, Any]


class AuditTrail:
    """Collects the audit events of one unit of work and appends them at commit.

    `on_behalf_of`: the user for whom the actor acts in this call (a stand-in's 委托, set
    by the task-action check); every event recorded until the commit or rollback names
    them beside the actor.
    """

    def __init__(self, session: Session, subscribers: Sequence[AppendSubscriber] = ()):
        self.session = session
        self._subscribers = tuple(subscribers)
        self._pending: list[_Pending] = []
        self.on_behalf_of: str | None = None

    def record(self, actor: str, action: str, *, subject: str | None = None,
               instance_id: int | None = None, task_id: str | None = None,
               **detail: Any) -> None:
        """Buffer one event; `detail` holds why, before/after and any data that matters."""
        if self.on_behalf_of is not None:
            detail.setdefault("on_behalf_of", self.on_behalf_of)
        self._pending.append(_Pending(actor, action, subject, instance_id, task_id,
                                      {k: v for k, v in detail.items() if v is not None}))

    def discard(self) -> None:
        """Forget buffered events (the transaction is being rolled back)."""
        self._pending.clear()
        self.on_behalf_of = None

    def flush(self, now: datetime) -> None:
        """Append the buffered events to the chain inside the current transaction."""
        self.on_behalf_of = None  # the call is over; the next one says for whom it acts
        if not self._pending:
            return
        count = len(self._pending)
        # Every other row is written first, so the head's lock is always the last one a
        # transaction takes (no two appenders can wait on each other's rows).
        self.session.flush()
        # Straight to the tables (no ORM bookkeeping: this runs at every commit). Writing
        # the head row first takes its lock, which orders concurrent appenders; the same
        # statement returns the sequence and hash the new events follow.
        connection = self.session.connection()
        last_seq, prev = connection.execute(_TAKE_HEAD, {"count": count}).one()
        seq = last_seq - count
        rows = []
        for item in self._pending:
            seq += 1
            detail = canonical_json(item.detail)
            digest = event_hash(prev, seq, now, item.actor, item.action, item.subject,
                                item.instance_id, item.task_id, detail)
            rows.append({"seq": seq, "at": now, "actor": item.actor, "action": item.action,
                         "subject": item.subject, "instance_id": item.instance_id,
                         "task_id": item.task_id, "detail": detail, "prev_hash": prev,
                         "hash": digest})
            prev = digest
        connection.execute(_APPEND, rows)
        connection.execute(_MOVE_HEAD, {"last_hash": prev})
        self._pending.clear()
        appended = [SimpleNamespace(**row) for row in rows]
        for subscriber in self._subscribers:
            subscriber(self.session, appended)


# The three statements of every append, built once (SQLAlchemy finds them compiled in its
# cache instead of building and hashing new statements at every commit).
_HEAD, _EVENTS = AuditHead.__table__, AuditEvent.__table__
_TAKE_HEAD = (update(_HEAD).where(_HEAD.c.id == 1)
              .values(seq=_HEAD.c.seq + bindparam("count", type_=Integer()))
              .returning(_HEAD.c.seq, _HEAD.c.hash))
_APPEND = insert(_EVENTS)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("last_hash"))


@dataclass
class AuditReport:
    """The result of checking the chain: how many events, and each break found."""

    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain is whole."""
        return not self.problems


VERIFY_BATCH = 10_000  # events read at a time: memory stays flat however long the chain


def verify_audit(session: Session, *, after: tuple[int, str] | None = None) -> AuditReport:
    """Walk the chain in sequence order and report every edited, missing or moved event.

    `after` (a sequence number and its hash, from a signed checkpoint) checks only the events
    after it, and that the first of them links to that hash: the day's events of a long
    chain in the time they take, not the time the whole history takes. The rows are streamed
    in batches, so a full walk of millions of events needs no more memory than one batch.
    """
    report = AuditReport()
    prev_hash, expected_seq = (after[1], after[0] + 1) if after else (GENESIS_HASH, 1)
    columns = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor,
               AuditEvent.action, AuditEvent.subject, AuditEvent.instance_id,
               AuditEvent.task_id, AuditEvent.detail, AuditEvent.prev_hash, AuditEvent.hash)
    query = select(*columns).order_by(AuditEvent.id)
    if after is not None:
        query = query.where(AuditEvent.seq > after[0])
        # Rows are appended in sequence order, so the events after the checkpoint's are also
        # those after its row: a range of the primary key, read in order, instead of a walk
        # of the whole table for the few that pass the filter. A later event moved before it
        # is missed here, and so reported as a gap in the sequence.
        anchor = session.execute(select(AuditEvent.id).where(AuditEvent.seq == after[0])).scalar()
        if anchor is not None:
            query = query.where(AuditEvent.id > anchor)
    # Core rows on the session's connection: the ORM's row loading added a third to the walk.
    rows = session.connection().execute(query.execution_options(yield_per=VERIFY_BATCH))
    for row in rows:
        report.events += 1
        if row.seq != expected_seq:
            report.problems.append(
                f"event #{row.id}: sequence {row.seq} where {expected_seq} was expected "
                "(an event was deleted, inserted or moved)")
        if row.prev_hash != prev_hash:
            report.problems.append(
                f"event #{row.id} (seq {row.seq}): does not follow the event before it "
                "(the chain was cut or reordered here)")
        digest = event_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject,
                            row.instance_id, row.task_id, row.detail)
        if digest != row.hash:
            report.problems.append(f"event #{row.id} (seq {row.seq}): contents were changed "
                                   "after it was written")
        prev_hash, expected_seq = row.hash, row.seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        report.problems.append(
            f"the chain ends at seq {expected_seq - 1} but its head says {head.seq}: "
            "events at the end were deleted")
    return report


def history(session: Session, *, instance_id: int | None = None,
            subject: str | None = None) -> list[AuditEvent]:
    """The events of one instance or subject, oldest first."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if instance_id is not None:
        query = query.where(AuditEvent.instance_id == instance_id)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    return list(session.execute(query).scalars())
