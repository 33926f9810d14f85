"""Messages that reach people's phones: each user's channels besides the in-app messages.

A user chooses, for the kinds of message that matter (new task, reminder, escalation …),
where else they go: a DingTalk group robot (with its 加签 secret: `timestamp` + `sign`), a
WeCom (企业微信) group robot, or an e-mail address (SMTP set in the configuration). The
worker takes the in-app messages written since its last pass (a cursor on the notification
table, so nothing that writes messages needs to know about channels), queues one delivery
per channel that wants it, and sends due deliveries with the webhooks' retries and back-off.
Robot URLs pass the webhooks' address policy (no private addresses unless allowed by name),
checked again right before each send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.config import SmtpSettings
from ..core.errors import NotFoundError, TaskDataError
from ..core.identity import Actor
from ..core.models import Base, UTCDateTime
from ..core.notifications import KINDS as NOTIFICATION_KINDS
from ..core.notifications import Notification
from ..core.organisation import UserAccount, groups_of
from ..core.uow import UnitOfWork
from .webhooks import (
    SEND_TIMEOUT, Target, TargetPolicy, TargetRefused, http_post, lease_due, settle,
)

CHANNELS = {"dingtalk": "钉钉群机器人", "wecom": "企业微信群机器人", "email": "电子邮件"}
# The kinds a new channel carries unless the user chooses others: what asks them to act.
DEFAULT_KINDS = ("assigned", "reminder", "escalated", "returned")
KIND_LABELS = {"assigned": "新待办", "reminder": "催办", "cc": "抄送", "returned": "退回",
               "escalated": "提级", "transferred": "转办", "delegated": "委派",
               "withdrawn": "撤回", "info": "通知"}
MAX_CHANNELS = 5  # per user
BATCH = 500  # messages taken from the table in one pass
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")


class MessageChannel(Base):
    """One way to reach one user, for some kinds of message."""

    __tablename__ = "message_channel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("user_account.username"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # dingtalk, wecom, email
    target: Mapped[str] = mapped_column(String(1000))  # the robot's URL, or the address
    secret: Mapped[str | None] = mapped_column(String(200))  # DingTalk's 加签 secret
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelDelivery(Base):
    """One message to send on one channel, retried until delivered or given up."""

    __tablename__ = "channel_delivery"
    __table_args__ = (Index("ix_channel_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("message_channel.id", ondelete="CASCADE"))
    notification_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[MessageChannel] = relationship(lazy="joined")


class ChannelCursor(Base):
    """The last in-app message the worker has fanned out to the channels (one row)."""

    __tablename__ = "channel_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class ChannelView:
    """A channel as its owner sees it (the secret never again, only whether there is one)."""

    id: int
    kind: str
    label: str
    target: str
    signed: bool
    kinds: tuple[str, ...]
    last_status: str | None = None
    last_error: str | None = None


@dataclass
class ChannelRun:
    """What one pass did."""

    queued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- a user's channels

def _shown_target(row: MessageChannel) -> str:
    """The address without the robot's access token (a password in all but name)."""
    if row.kind == "email":
        return row.target
    return re.sub(r"((?:access_token|key)=)[^&]+", r"\1…", row.target)


def list_channels(uow: UnitOfWork, actor: Actor) -> list[ChannelView]:
    """The actor's channels, each with the outcome of its latest delivery."""
    rows = uow.session.execute(select(MessageChannel).where(
        MessageChannel.username == actor.username, MessageChannel.active)
        .order_by(MessageChannel.id)).scalars().all()
    views = []
    for row in rows:
        last = uow.session.execute(select(ChannelDelivery).where(
            ChannelDelivery.channel_id == row.id).order_by(ChannelDelivery.id.desc())
            .limit(1)).scalar_one_or_none()
        views.append(ChannelView(row.id, row.kind, CHANNELS[row.kind], _shown_target(row),
                                 bool(row.secret), tuple(row.kinds),
                                 last.status if last else None, last.last_error if last else None))
    return views


def add_channel(uow: UnitOfWork, actor: Actor, kind: str, target: str, *,
                secret: str | None = None, kinds: list[str] | tuple[str, ...] = DEFAULT_KINDS,
                targets: TargetPolicy = TargetPolicy(),
                smtp: SmtpSettings = SmtpSettings()) -> ChannelView:
    """Add a channel for the actor; bad fields are refused by name and nothing is written."""
    uow.begin_write()
    target, secret = (target or "").strip(), (secret or "").strip() or None
    errors: dict[str, list[str]] = {}
    if kind not in CHANNELS:
        errors["kind"] = ["请选择钉钉群机器人、企业微信群机器人或电子邮件"]
    elif kind == "email":
        if smtp.host is None:
            errors["kind"] = ["本平台未配置邮件服务器，暂不能用电子邮件接收，请联系系统管理员"]
        elif not EMAIL.match(target):
            errors["target"] = ["请填写有效的电子邮件地址，例如 zhangsan@lingchuan.gov.cn"]
    else:
        try:
            targets.check(target)
        except TargetRefused as exc:
            errors["target"] = [f"机器人地址不可用：{str(exc).split(' / ')[0]}"]
    if secret is not None and (kind != "dingtalk" or len(secret) > 200):
        errors["secret"] = ["加签密钥只用于钉钉机器人，且不超过 200 个字符"]
    chosen = [k for k in kinds if k in NOTIFICATION_KINDS]
    if not chosen or len(chosen) != len(list(kinds)):
        errors["kinds"] = ["请至少选择一类消息"]
    count = len(uow.session.execute(select(MessageChannel.id).where(
        MessageChannel.username == actor.username, MessageChannel.active)).all())
    if count >= MAX_CHANNELS:
        errors["kind"] = [f"每人最多 {MAX_CHANNELS} 个接收渠道，请先删除不用的"]
    if errors:
        raise TaskDataError("the channel has errors", errors)
    row = MessageChannel(username=actor.username, kind=kind, target=target, secret=secret,
                         kinds=chosen, active=True, created_at=uow.clock.now())
    uow.session.add(row)
    uow.session.flush()
    uow.audit.record(actor.username, "channel_added", subject=f"user:{actor.username}",
                     channel=row.id, kind=kind, target=_shown_target(row), kinds=chosen)
    uow.commit()
    return list_channel(uow, actor, row.id)


def list_channel(uow: UnitOfWork, actor: Actor, channel_id: int) -> ChannelView:
    """One of the actor's channels; NotFoundError for anyone else's."""
    for view in list_channels(uow, actor):
        if view.id == channel_id:
            return view
    raise NotFoundError(f"channel {channel_id} does not exist or is not yours")


def remove_channel(uow: UnitOfWork, actor: Actor, channel_id: int) -> None:
    """Stop a channel of the actor's (kept, inactive, so its deliveries stay on record)."""
    uow.begin_write()
    row = uow.session.get(MessageChannel, channel_id)
    if row is None or row.username != actor.username or not row.active:
        raise NotFoundError(f"channel {channel_id} does not exist or is not yours")
    row.active = False
    uow.audit.record(actor.username, "channel_removed", subject=f"user:{actor.username}",
                     channel=row.id, kind=row.kind, target=_shown_target(row))
    uow.commit()


def send_test(uow: UnitOfWork, actor: Actor, channel_id: int) -> None:
    """Queue a test message on one of the actor's channels (the worker sends it)."""
    uow.begin_write()
    row = uow.session.get(MessageChannel, channel_id)
    if row is None or row.username != actor.username or not row.active:
        raise NotFoundError(f"channel {channel_id} does not exist or is not yours")
    now = uow.clock.now()
    uow.session.add(ChannelDelivery(channel_id=row.id, title="【攻坚指挥平台】测试消息",
                                    body="收到这条消息，说明此渠道可以接收平台的待办、催办和提级提醒。",
                                    status="pending", attempts=0, next_attempt_at=now,
                                    created_at=now))
    uow.commit()


# ---------------------------------------------------------------- the worker's pass

def fan_out(make_uow: Callable[[], UnitOfWork], *, batch: int = BATCH) -> int:
    """Queue the in-app messages written since the last pass on the channels that want them."""
    with make_uow() as uow:
        uow.begin_write()
        cursor = uow.session.get(ChannelCursor, 1, with_for_update=True)
        if cursor is None:
            cursor = ChannelCursor(id=1, notification_id=0)
            uow.session.add(cursor)
            uow.session.flush()
        messages = uow.session.execute(select(Notification).where(
            Notification.id > cursor.notification_id).order_by(Notification.id)
            .limit(batch)).scalars().all()
        if not messages:
            return 0
        cursor.notification_id = messages[-1].id
        channels = uow.session.execute(select(MessageChannel, UserAccount).join(
            UserAccount, UserAccount.username == MessageChannel.username).where(
            MessageChannel.active, UserAccount.active)).all()
        reach = [(channel, account.username, groups_of(account)) for channel, account in channels]
        now, queued = uow.clock.now(), 0
        for message in messages:
            for channel, username, groups in reach:
                addressed = (message.recipient == username if message.recipient_kind == "user"
                             else message.recipient in groups)
                # Only what was written after the channel was added: no flood of old news.
                if (addressed and message.kind in channel.kinds
                        and message.created_at >= channel.created_at):
                    uow.session.add(ChannelDelivery(
                        channel_id=channel.id, notification_id=message.id,
                        title=f"【攻坚指挥平台】{message.title}", body=message.body,
                        status="pending", attempts=0, next_attempt_at=now, created_at=now))
                    queued += 1
        uow.commit()
        return queued


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    target: str
    secret: str | None
    title: str
    body: str
    now: datetime


def _claim_due(make_uow: Callable[[], UnitOfWork], limit: int) -> list[_Claimed]:
    with make_uow() as uow:
        uow.begin_write()
        now = uow.clock.now()
        claimed = [_Claimed(row.id, row.channel.kind, row.channel.target, row.channel.secret,
                            row.title, row.body or "", now)
                   for row in lease_due(uow, ChannelDelivery, limit)]
        uow.commit()
        return claimed


def _record(make_uow: Callable[[], UnitOfWork], item: _Claimed, error: str | None) -> str:
    with make_uow() as uow:
        uow.begin_write()
        outcome = settle(uow.session.get(ChannelDelivery, item.id), error, uow.clock.now())
        uow.commit()
        return outcome


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256 over "timestamp\\nsecret", URL-quoted."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"),
                   hashlib.sha256).digest()
    return quote(base64.b64encode(mac).decode("ascii"), safe="")


def _robot_error(status: int, answer: bytes) -> str | None:
    """None when a robot took the message: HTTP 200 and `errcode` 0 in its JSON answer."""
    if status != 200:
        return f"机器人答复 HTTP {status}"
    try:
        reply = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "机器人的答复不是 JSON"
    if not isinstance(reply, dict) or reply.get("errcode") != 0:
        detail = reply.get("errmsg") if isinstance(reply, dict) else None
        return f"机器人拒收：{str(detail)[:200] if detail else reply}"[:500]
    return None


Post = Callable[..., tuple[int, bytes]]


def _send_robot(item: _Claimed, targets: TargetPolicy, post: Post) -> str | None:
    url = item.target
    if item.kind == "dingtalk":
        body = {"msgtype": "markdown", "markdown": {
            "title": item.title[:100], "text": f"#### {item.title}\n\n{item.body}"}}
        if item.secret:
            stamp = int(item.now.timestamp() * 1000)
            url += ("&" if "?" in url else "?") + \
                f"timestamp={stamp}&sign={dingtalk_sign(item.secret, stamp)}"
    else:
        body = {"msgtype": "markdown", "markdown": {"content": f"**{item.title}**\n{item.body}"}}
    target: Target = targets.check(url)
    status, answer = post(target, json.dumps(body, ensure_ascii=False).encode("utf-8"),
                          {"Content-Type": "application/json; charset=utf-8",
                           "User-Agent": "Gongjian-Messages/1"}, SEND_TIMEOUT, read=65536)
    return _robot_error(status, answer)


def send_email(smtp: SmtpSettings, to: str, subject: str, body: str) -> None:
    """One plain-text e-mail through the configured server."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, subject
    message.set_content(body or subject)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=SEND_TIMEOUT) as server:
        if smtp.starttls:
            server.starttls(context=ssl.create_default_context())
        if smtp.user:
            server.login(smtp.user, smtp.password or "")
        server.send_message(message)


def deliver_due(make_uow: Callable[[], UnitOfWork], *, limit: int = 50,
                targets: TargetPolicy = TargetPolicy(), smtp: SmtpSettings = SmtpSettings(),
                post: Post = http_post,
                mail: Callable[[SmtpSettings, str, str, str], None] = send_email) -> ChannelRun:
    """Send each due delivery once; a failure waits its back-off, then is tried again."""
    run = ChannelRun()
    for item in _claim_due(make_uow, limit):
        try:
            if item.kind == "email":
                if smtp.host is None:
                    raise OSError("本平台未配置邮件服务器（GONGJIAN_SMTP_HOST）")
                mail(smtp, item.target, item.title, item.body)
                error = None
            else:
                error = _send_robot(item, targets, post)
        except TargetRefused as exc:
            error = f"机器人地址不可用：{exc}"
        except (OSError, ValueError, smtplib.SMTPException) as exc:  # ValueError: a header
            error = f"{type(exc).__name__}: {exc}"[:500]
        status = _record(make_uow, item, error)
        if status == "delivered":
            run.delivered += 1
        elif status == "failed":
            run.failed += 1
            run.errors.append(error or "")
        else:
            run.retried += 1
    return run


def run_channels(make_uow: Callable[[], UnitOfWork], *, targets: TargetPolicy = TargetPolicy(),
                 smtp: SmtpSettings = SmtpSettings()) -> ChannelRun:
    """The worker's pass: fan the new messages out, then send what is due."""
    queued = fan_out(make_uow)
    run = deliver_due(make_uow, targets=targets, smtp=smtp)
    run.queued = queued
    return run
