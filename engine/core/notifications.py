"""Notifications: messages to a user or a candidate group, and who has read them.

A message to a group is stored once and read per member (`notification_read`), so a user
who joins the group later sees it too. Creating and reading notifications is not audited:
the change that caused one (a reminder, an escalation, an assignment) is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ForeignKey, Index, Integer, String, Text, and_, exists, func, insert, or_, select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .clock import as_utc
from .identity import Actor
from .models import Base, UTCDateTime
from .uow import UnitOfWork

KINDS = ("assigned", "reminder", "cc", "returned", "escalated", "transferred", "delegated",
         "withdrawn", "info")


class Notification(Base):
    """One message to a user (`recipient_kind` 'user') or to every member of a group ('group')."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_recipient", "recipient_kind", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_kind: Mapped[str] = mapped_column(String(10))  # "user" or "group"
    recipient: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # assigned, reminder, cc, returned, escalated
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationRead(Base):
    """That one user has read one notification (a group message is read per member)."""

    __tablename__ = "notification_read"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class NotificationView:
    """A notification as one user sees it (read_at is that user's)."""

    id: int
    recipient_kind: str
    recipient: str
    kind: str
    title: str
    body: str | None
    instance_id: int | None
    task_id: str | None
    created_at: datetime
    read_at: datetime | None


def notify(uow: UnitOfWork, *, kind: str, title: str, users: Iterable[str] = (),
           groups: Iterable[str] = (), body: str | None = None, instance_id: int | None = None,
           task_id: str | None = None) -> int:
    """Add one notification per user and per group inside the caller's transaction; how many.

    One INSERT straight to the table: notifications are written at nearly every save, and
    nobody holds them as objects in the session.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; one of {KINDS}")
    now = uow.clock.now()
    rows = [{"recipient_kind": recipient_kind, "recipient": name, "kind": kind, "title": title,
             "body": body, "instance_id": instance_id, "task_id": task_id, "created_at": now}
            for recipient_kind, names in (("user", users), ("group", groups))
            for name in dict.fromkeys(names)]
    if rows:
        uow.session.connection().execute(_INSERT, rows)
    return len(rows)


_INSERT = insert(Notification.__table__)  # built once: found compiled in SQLAlchemy's cache


def _addressed_to(actor: Actor):
    mine = and_(Notification.recipient_kind == "user", Notification.recipient == actor.username)
    if not actor.groups:
        return mine
    return or_(mine, and_(Notification.recipient_kind == "group",
                          Notification.recipient.in_(sorted(actor.groups))))


def _read_by(actor: Actor):
    return exists().where(NotificationRead.notification_id == Notification.id,
                          NotificationRead.username == actor.username)


def notifications_for(session: Session, actor: Actor, *, unread_only: bool = True,
                      limit: int = 50) -> list[NotificationView]:
    """The actor's notifications (to them or their groups), newest first."""
    read_at = (select(NotificationRead.read_at)
               .where(NotificationRead.notification_id == Notification.id,
                      NotificationRead.username == actor.username)
               .scalar_subquery())
    query = (select(Notification, read_at).where(_addressed_to(actor))
             .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    if unread_only:
        query = query.where(~_read_by(actor))
    return [NotificationView(n.id, n.recipient_kind, n.recipient, n.kind, n.title, n.body,
                             n.instance_id, n.task_id, n.created_at,
                             None if at is None else as_utc(at))
            for n, at in session.execute(query)]


def unread_count(session: Session, actor: Actor, *, cap: int | None = None) -> int:
    """How many notifications the actor has not read; with `cap`, at most that many (the
    badge's "99+" reads no further)."""
    if cap is None:
        return session.execute(select(func.count(Notification.id))
                               .where(_addressed_to(actor), ~_read_by(actor))).scalar_one()
    unread = select(Notification.id).where(_addressed_to(actor), ~_read_by(actor)).limit(cap)
    return session.execute(select(func.count()).select_from(unread.subquery())).scalar_one()


def mark_read(uow: UnitOfWork, actor: Actor, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the actor's notifications read (all unread ones when no ids); returns how many."""
    uow.begin_write()
    query = select(Notification.id).where(_addressed_to(actor), ~_read_by(actor))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    ids = list(uow.session.execute(query).scalars())
    now = uow.clock.now()
    uow.session.add_all([NotificationRead(notification_id=i, username=actor.username, read_at=now)
                         for i in ids])
    uow.commit()
    return len(ids)
