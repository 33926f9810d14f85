"""The unit of work: one transaction per service call, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .audit import AppendSubscriber, AuditTrail
from .clock import Clock, SystemClock
from .db import WRITE_IF_FREE, WRITE_INTENT
from .errors import ConflictError


class UnitOfWork:
    """A session, the clock and the audit trail of one service call.

    Use as a context manager; nothing is written unless `commit()` is called inside it.
    `save_hooks` are what the platform hands the BPM runtime to call at every save of an
    instance (engine.bpm.hooks); `audit_subscribers` see every batch of audit events
    appended, inside the same transaction; `oversight` is the domain's rule for who may
    remind (催办) the handlers of a task, `(actor, task) → bool`, which the task-action
    table asks (engine.bpm.task_actions; None: nobody); `choice_sources` are the domain's
    lists for form pickers that the engine cannot answer itself, by what they pick, e.g.
    `project` (engine.bpm.pickers).
    """

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock | None = None, *,
                 save_hooks: Sequence[Callable[..., Any]] = (),
                 audit_subscribers: Sequence[AppendSubscriber] = (),
                 oversight: Callable[..., bool] | None = None,
                 choice_sources: Mapping[str, Any] | None = None):
        self.session_factory = session_factory
        self.clock: Clock = clock or SystemClock()
        self.save_hooks = tuple(save_hooks)
        self.audit_subscribers = tuple(audit_subscribers)
        self.oversight = oversight
        self.choice_sources: Mapping[str, Any] = dict(choice_sources or {})
        self.session: Session
        self.audit: AuditTrail

    def __enter__(self) -> UnitOfWork:
        self.session = self.session_factory()
        self.audit = AuditTrail(self.session, self.audit_subscribers)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()
        self.session.close()
        conflict = _as_conflict(exc) if exc is not None else None
        if conflict is not None:
            # A lost race found at a flush inside a service is the same conflict as one
            # found at commit: say so plainly instead of leaking a database error.
            raise conflict from exc

    def begin_write(self) -> None:
        """Declare that this unit of work will write (on SQLite: take the write lock now)."""
        if not self.session.in_transaction():
            self.session.connection(execution_options={WRITE_INTENT: True})

    def begin_write_if_free(self) -> bool:
        """Declare a write that may be skipped: False (nothing begun) when SQLite's write
        lock is held by another right now, instead of waiting for it (PostgreSQL: True)."""
        if self.session.in_transaction():
            return True
        try:
            self.session.connection(execution_options={WRITE_IF_FREE: True})
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            self.session.rollback()
            return False
        return True

    def commit(self) -> None:
        """Append the buffered audit events and commit, or raise ConflictError."""
        try:
            self.audit.flush(self.clock.now())
            self.session.commit()
        except (StaleDataError, OperationalError) as exc:
            self.rollback()
            conflict = _as_conflict(exc)
            if conflict is None:
                raise
            raise conflict from exc

    def rollback(self) -> None:
        """Discard everything not yet committed.

        A connection that died under us (a database restart, a cut socket) has nothing left
        to roll back: it is discarded and the pool opens a new one at the next use. The
        rollback itself never fails — it is what every error's answer calls first, and an
        error there would turn the 503 being answered into a 500."""
        self.audit.discard()
        try:
            self.session.rollback()
        except DBAPIError:
            self.session.invalidate()


class EnlistedUnitOfWork:
    """The caller's unit of work lent to a service that commits: its commit only flushes.

    For work that must be one transaction although it calls services that each commit
    (the monthly plates starting follow-ups, a scheduled run starting many instances); the
    caller commits or rolls back everything at once."""

    def __init__(self, uow: UnitOfWork):
        self._uow = uow

    def __getattr__(self, name):
        return getattr(self._uow, name)

    def commit(self) -> None:
        """Flush only; the caller commits everything at once."""
        self._uow.session.flush()


def _as_conflict(exc: BaseException) -> ConflictError | None:
    """The ConflictError a lost race or a busy database amounts to, if it is one."""
    if isinstance(exc, StaleDataError):
        return ConflictError("Someone else changed this process instance first; "
                             "reload and try again.")
    message = str(exc).lower()
    if isinstance(exc, OperationalError) and ("locked" in message or "could not serialize"
                                              in message or "deadlock" in message):
        return ConflictError("The database was busy with another change; try again.")
    return None
