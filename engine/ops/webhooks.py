"""Outgoing webhooks: subscriptions per event kind, a delivery queue, and the delivery worker.

Deliveries are queued from the audit events of a transaction, in that same transaction (the
audit trail hands each appended batch to `queue_for`), so an event is never lost and never sent
for work that was rolled back. The worker `deliver_due_webhooks` sends due rows
outside any transaction, signs each body with the subscription's secret (HMAC-SHA256 over
`<timestamp>.<body>`), and retries failures with exponential back-off; a failing receiver
delays only its own deliveries and never touches the platform's own work.

Targets are checked twice, at registration and again at each delivery (DNS can change): the
host is resolved like the OS resolver does (so `0x7f000001` is 127.0.0.1) and every address
it has must be public unless an administrator allowed the host by name in
`GONGJIAN_WEBHOOK_ALLOW_HOSTS` (handed in as a `TargetPolicy`). The worker then connects to
the very address it checked, with no second look-up, and never follows a redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..core.config import WEBHOOK_ALLOW_HOSTS, host_list
from ..core.errors import NotFoundError, PermissionDeniedError, TaskDataError
from ..core.identity import Actor
from ..core.models import Base, ProcessInstance, UTCDateTime
from ..core.uow import UnitOfWork

EVENT_KINDS: dict[str, str] = {
    "task_assigned": "待办分派",
    "reminder": "催办",
    "escalation": "升级",
    "plate_changed": "亮牌变化",
    "issue_cleared": "问题销号",
    # a signed checkpoint of the audit chain (engine/core/checkpoints.py), for a system
    # outside that keeps them where the database cannot reach
    "audit_checkpoint": "审计链签名检查点",
}
FORMATS = ("json", "dingtalk")
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
LEASE = timedelta(minutes=5)
SIGNATURE_HEADER = "X-Gongjian-Signature"
ISSUE_PROCESS = "issue_lifecycle"
SCHEMES = {"http": 80, "https": 443}
SEND_TIMEOUT = 10.0  # seconds for the connection and for each read of the answer


class WebhookSubscription(Base):
    """An administrator's request: POST events of one kind to one URL."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))
    event_kind: Mapped[str] = mapped_column(String(30), index=True)
    format: Mapped[str] = mapped_column(String(20), default="json")
    secret: Mapped[str] = mapped_column(String(100))  # kept in clear: HMAC needs it
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event to send to one subscription, with its attempts so far."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id"))
    event_id: Mapped[str] = mapped_column(String(36))  # receivers use it to drop repeats
    event_kind: Mapped[str] = mapped_column(String(30))
    body: Mapped[str] = mapped_column(Text)  # exactly the bytes that are signed and sent
    status: Mapped[str] = mapped_column(String(20))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscription: Mapped[WebhookSubscription] = relationship(lazy="joined")


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as an administrator sees it (the secret only once, at creation)."""

    id: int
    url: str
    event_kind: str
    format: str
    active: bool
    created_by: str
    created_at: datetime
    secret: str | None = None


# ---------------------------------------------------------------- targets: where a webhook may go

class TargetRefused(ValueError):
    """A webhook URL that may not be reached; the message is Chinese, then English."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: its parts and the addresses checked, the only ones connected to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def public_address(address: str) -> bool:
    """Whether an address is public (nor an IPv6 form of a private or special IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not public_address(str(embedded)):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class TargetPolicy:
    """Where webhooks may go: public addresses, and any address of a host allowed by name."""

    allow_hosts: frozenset[str] = frozenset()
    resolve: Callable[..., list] = socket.getaddrinfo

    def __post_init__(self):
        object.__setattr__(self, "allow_hosts", host_list(self.allow_hosts))

    def check(self, url: str) -> Target:
        """Resolve the URL's host: the target with the addresses checked, or TargetRefused."""
        url = (url or "").strip()
        if len(url) > 1000 or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
            raise TargetRefused("地址过长或含空白、控制字符 / the address is too long or has "
                                "blanks or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise TargetRefused(f"地址无法解析 / not a valid address ({exc})") from None
        if port == 0:
            raise TargetRefused("端口不能为 0 / port 0 cannot be reached")
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise TargetRefused("只能是 http:// 或 https:// 地址 / an http:// or https:// address")
        if parts.username is not None or parts.password is not None:
            raise TargetRefused("地址中不能有用户名或密码 / no user name or password in the "
                                "address")
        host = parts.hostname or ""
        if not host:
            raise TargetRefused("地址缺少主机 / the address names no host")
        port = port or SCHEMES[scheme]
        try:
            found = self.resolve(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
            addresses = list(dict.fromkeys(info[4][0] for info in found))
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"主机 {host} 无法解析 / the host {host} does not resolve "
                                f"({exc})") from None
        if not addresses:
            raise TargetRefused(f"主机 {host} 无法解析 / the host {host} does not resolve")
        if host_list([host]).isdisjoint(self.allow_hosts):
            for address in addresses:
                if not public_address(address):
                    raise TargetRefused(
                        f"{host} 指向内网、回环、链路本地、组播或保留地址 {address}，且未在 "
                        f"{WEBHOOK_ALLOW_HOSTS} 中放行 / {host} resolves to {address}, a "
                        "private, loopback, link-local, multicast or reserved address, and "
                        f"the host is not allowed in {WEBHOOK_ALLOW_HOSTS}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return Target(url, scheme, host, port, path, tuple(addresses))


Sender = Callable[[Target, bytes, dict[str, str]], int]


@dataclass(frozen=True)
class DeliveryView:
    """One queued, sent or given-up delivery."""

    id: int
    subscription_id: int
    event_id: str
    event_kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryRun:
    """What one pass of the worker did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _subscription_view(row: WebhookSubscription, secret: str | None = None) -> SubscriptionView:
    return SubscriptionView(row.id, row.url, row.event_kind, row.format, row.active,
                            row.created_by, row.created_at, secret)


def _delivery_view(row: WebhookDelivery) -> DeliveryView:
    return DeliveryView(row.id, row.subscription_id, row.event_id, row.event_kind, row.status,
                        row.attempts, row.next_attempt_at, row.last_attempt_at, row.last_status,
                        row.last_error, row.created_at, row.delivered_at)


def _require_admin(actor: Actor) -> None:
    if "admin" not in actor.groups:
        raise PermissionDeniedError(f"{actor.username} is not an administrator; only "
                                    "administrators manage webhooks")


# ---------------------------------------------------------------- subscriptions

def create_subscription(uow: UnitOfWork, actor: Actor, url: str, event_kind: str, *,
                        format: str = "json",
                        targets: TargetPolicy = TargetPolicy()) -> SubscriptionView:
    """Register a URL for one event kind; the returned view carries the signing secret once."""
    _require_admin(actor)
    url = (url or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        targets.check(url)
    except TargetRefused as exc:
        errors["url"] = [str(exc)]
    if event_kind not in EVENT_KINDS:
        errors["event_kind"] = [f"one of {', '.join(EVENT_KINDS)}"]
    if format not in FORMATS:
        errors["format"] = [f"one of {', '.join(FORMATS)}"]
    if errors:
        raise TaskDataError("the webhook cannot be registered: " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    uow.begin_write()
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = WebhookSubscription(url=url, event_kind=event_kind, format=format, secret=secret,
                              active=True, created_by=actor.username, created_at=uow.clock.now())
    uow.session.add(row)
    uow.session.flush()
    uow.audit.record(actor.username, "webhook_registered", subject=f"webhook:{row.id}",
                     url=url, event_kind=event_kind)
    uow.commit()
    return _subscription_view(row, secret)


def list_subscriptions(uow: UnitOfWork, actor: Actor) -> list[SubscriptionView]:
    """Every subscription, oldest first (administrators only)."""
    _require_admin(actor)
    rows = uow.session.execute(select(WebhookSubscription).order_by(WebhookSubscription.id))
    return [_subscription_view(row) for row in rows.scalars()]


def deactivate_subscription(uow: UnitOfWork, actor: Actor, subscription_id: int) -> SubscriptionView:
    """Stop queueing events for a subscription; what is queued already is still sent."""
    _require_admin(actor)
    uow.begin_write()
    row = uow.session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise NotFoundError(f"webhook {subscription_id} does not exist")
    if row.active:
        row.active = False
        uow.audit.record(actor.username, "webhook_removed", subject=f"webhook:{row.id}",
                         url=row.url, event_kind=row.event_kind)
        uow.commit()
    return _subscription_view(row)


def list_deliveries(uow: UnitOfWork, actor: Actor, *, subscription_id: int | None = None,
                    status: str | None = None, limit: int = 100) -> list[DeliveryView]:
    """Deliveries, newest first, optionally of one subscription or status."""
    _require_admin(actor)
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if subscription_id is not None:
        if uow.session.get(WebhookSubscription, subscription_id) is None:
            raise NotFoundError(f"webhook {subscription_id} does not exist")
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return [_delivery_view(row) for row in uow.session.execute(query).scalars()]


# ---------------------------------------------------------------- queueing, in the event's transaction

def event_kind_of(session: Session, audit) -> str | None:
    """The webhook event kind an audit event amounts to, if any."""
    action = audit.action
    if action in ("task_created", "task_transferred", "task_delegated"):
        return "task_assigned"
    if action == "reminded":
        return "reminder"
    if action == "escalated":
        return "escalation"
    if "plate" in action:
        return "plate_changed"
    if action in ("issue_cleared", "audit_checkpoint"):
        return action
    if action == "instance_completed" and audit.instance_id is not None:
        instance = session.get(ProcessInstance, audit.instance_id)
        if instance is not None and instance.process_key == ISSUE_PROCESS:
            return "issue_cleared"
    return None


def _payload(kind: str, event_id: str, audit) -> dict[str, Any]:
    return {"event": kind, "event_id": event_id, "occurred_at": audit.at.isoformat(),
            "actor": audit.actor, "action": audit.action, "subject": audit.subject,
            "instance_id": audit.instance_id, "task_id": audit.task_id,
            "audit_seq": audit.seq, "detail": json.loads(audit.detail or "{}")}


def _body(subscription: WebhookSubscription, payload: dict[str, Any]) -> str:
    if subscription.format == "dingtalk":
        # A DingTalk group robot takes a text message; the label leads so keyword filters match.
        detail = payload["detail"]
        what = detail.get("name") or detail.get("why") or payload["subject"] or ""
        payload = {"msgtype": "text", "text": {"content": (
            f"【攻坚平台·{EVENT_KINDS[payload['event']]}】{what}"
            f"（{payload['subject'] or ''}，{payload['actor']}）")}}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


_SUBSCRIPTIONS = WebhookSubscription.__table__
_ACTIVE_SUBSCRIPTIONS = select(_SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.event_kind,
                               _SUBSCRIPTIONS.c.format).where(_SUBSCRIPTIONS.c.active.is_(True))


def queue_for(session: Session, audits: list) -> int:
    """Queue a delivery per active subscription for each audit event that is a webhook event."""
    with session.no_autoflush:
        kinds = [(audit, event_kind_of(session, audit)) for audit in audits]
        wanted = {kind for _, kind in kinds if kind}
        if not wanted:
            return 0
        # Read as plain rows by a statement built once (this runs at nearly every commit;
        # no objects are needed); the few active subscriptions are sorted out here.
        subscriptions = [s for s in session.connection().execute(_ACTIVE_SUBSCRIPTIONS)
                         if s.event_kind in wanted]
    queued = 0
    for audit, kind in kinds:
        for subscription in (s for s in subscriptions if s.event_kind == kind):
            event_id = str(uuid.uuid4())
            session.add(WebhookDelivery(
                subscription_id=subscription.id, event_id=event_id, event_kind=kind,
                body=_body(subscription, _payload(kind, event_id, audit)), status="pending",
                attempts=0, next_attempt_at=audit.at, created_at=audit.at))
            queued += 1
    return queued



# ---------------------------------------------------------------- the delivery worker

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: `sha256=` and the HMAC of `<timestamp>.<body>`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP or HTTPS to the checked address, with the URL's host in `Host` and for TLS."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.default_port = SCHEMES[target.scheme]  # no ":443" in the Host header
        self.target = target

    def connect(self):
        """Connect to an address that was checked (no second look-up), TLS for https."""
        sock = None
        for address in self.target.addresses:
            try:
                sock = socket.create_connection((address, self.target.port), self.timeout)
                break
            except OSError:
                if address == self.target.addresses[-1]:
                    raise
        if self.target.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock,
                                                            server_hostname=self.target.host)
        self.sock = sock


def http_post(target: Target, body: bytes, headers: dict[str, str],
              timeout: float = SEND_TIMEOUT, *, read: int = 0) -> tuple[int, bytes]:
    """POST the body to the target's checked address (never redirected); the status and the
    first `read` bytes of the answer."""
    connection = _PinnedConnection(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(read) if read else b""
    finally:
        connection.close()


def http_send(target: Target, body: bytes, headers: dict[str, str],
              timeout: float = SEND_TIMEOUT) -> int:
    """POST the body to the target's checked address and return the status (never redirected)."""
    return http_post(target, body, headers, timeout)[0]


def outcome_of(status: int) -> str | None:
    """The error recorded for an answer: None for 2xx; a redirect is a failure, not followed."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return (f"接收方答复重定向（HTTP {status}），平台从不跟随重定向 / the receiver answered "
                f"a redirect (HTTP {status}); redirects are never followed")
    return f"the receiver answered HTTP {status}"


def backoff(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts: 30 s, 1 min, 2 min … 1 h."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


@dataclass(frozen=True)
class _Claimed:
    id: int
    url: str
    secret: str
    body: str
    event_id: str
    event_kind: str
    timestamp: str


def lease_due(uow: UnitOfWork, model, limit: int) -> list:
    """The due pending rows of a delivery queue (webhooks, message channels), each leased for
    a while so that another worker leaves it alone while this one sends it (the caller
    commits). The model has `status`, `next_attempt_at` and `id`."""
    now = uow.clock.now()
    rows = list(uow.session.execute(
        select(model).where(model.status == "pending", model.next_attempt_at <= now)
        .order_by(model.next_attempt_at, model.id).limit(limit)
        .with_for_update(skip_locked=True, of=model)).scalars())
    for row in rows:
        row.next_attempt_at = now + LEASE
    return rows


def settle(row, error: str | None, now: datetime) -> str:
    """Record one attempt on a queued delivery: delivered, or back off, or give up after
    MAX_ATTEMPTS; the row's status."""
    row.attempts += 1
    row.last_error = error
    if error is None:
        row.status, row.delivered_at = "delivered", now
    elif row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + backoff(row.attempts)
    return row.status


def _claim_due(make_uow: Callable[[], UnitOfWork], limit: int) -> list[_Claimed]:
    with make_uow() as uow:
        uow.begin_write()
        stamp = str(int(uow.clock.now().timestamp()))
        claimed = [_Claimed(row.id, row.subscription.url, row.subscription.secret, row.body,
                            row.event_id, row.event_kind, stamp)
                   for row in lease_due(uow, WebhookDelivery, limit)]
        uow.commit()
        return claimed


def _record(make_uow: Callable[[], UnitOfWork], item: _Claimed, status: int | None,
            error: str | None) -> str:
    with make_uow() as uow:
        uow.begin_write()
        now = uow.clock.now()
        row = uow.session.get(WebhookDelivery, item.id)
        row.last_attempt_at, row.last_status = now, status
        outcome = settle(row, error, now)
        uow.commit()
        return outcome


def deliver_due_webhooks(make_uow: Callable[[], UnitOfWork], send: Sender = http_send, *,
                         limit: int = 50,
                         targets: TargetPolicy = TargetPolicy()) -> DeliveryRun:
    """Send every due delivery once; failures wait their back-off, then are tried again.

    Each URL is checked again against `targets` right before it is sent (DNS can change
    since registration), and `send` gets the address that was checked.
    """
    delivered = retried = failed = 0
    for item in _claim_due(make_uow, limit):
        body = item.body.encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Gongjian-Webhooks/1",
                   "X-Gongjian-Event": item.event_kind,
                   "X-Gongjian-Delivery": item.event_id,
                   "X-Gongjian-Timestamp": item.timestamp,
                   SIGNATURE_HEADER: sign(item.secret, item.timestamp, body)}
        status: int | None = None
        try:
            status = send(targets.check(item.url), body, headers)
            error = outcome_of(status)
        except TargetRefused as exc:
            error = f"未发送 / not sent: {exc}"[:1000]
        except Exception as exc:  # any failure of the receiver is only a failed attempt
            error = f"{type(exc).__name__}: {exc}"[:1000]
        outcome = _record(make_uow, item, status, error)
        delivered += outcome == "delivered"
        retried += outcome == "pending"
        failed += outcome == "failed"
    return DeliveryRun(delivered, retried, failed)

