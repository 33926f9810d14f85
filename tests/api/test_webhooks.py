"""Webhooks against a real receiver on 127.0.0.1: signature, retry, no loss while it is down;
targets: private, loopback and link-local addresses refused unless the host is allowed by name,
checked again at delivery, connected to as checked, redirects never followed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.county import supervision
from engine.ops import webhooks
from engine.ops.webhooks import TargetPolicy, TargetRefused, deliver_due_webhooks

from .conftest import ADMIN, ISSUE
from .test_auth import assert_problem


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers with `status`."""

    def __init__(self, port: int = 0):
        self.received: list[dict] = []
        self.status = 200
        self.location: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):  # noqa: N802 (a followed redirect would arrive as a GET)
                receiver.received.append({"headers": dict(self.headers), "body": b""})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def app_config():
    """The receivers run on 127.0.0.1, which an administrator must allow by name, as with
    GONGJIAN_WEBHOOK_ALLOW_HOSTS=127.0.0.1 (any other loopback spelling stays refused)."""
    return {"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
def served(app):
    """The app's platform: it carries the allow-list handed in through the app's config."""
    return app.extensions["gongjian"]


def deliver(served, **options):
    """One pass of the delivery worker as `gongjian worker` runs it, with the platform's policy."""
    return deliver_due_webhooks(served.uow, targets=served.webhook_targets, **options)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def issue(client, supervisor):
    return client.post("/api/v1/issues", headers=supervisor, json=ISSUE).get_json()


def subscribe(client, admin, url, kind="reminder"):
    response = client.post("/api/v1/admin/webhooks", headers=admin,
                           json={"url": url, "event_kind": kind})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(platform):
    """Every delivery, oldest first, as the administrator sees them."""
    with platform.uow() as uow:
        return list(reversed(webhooks.list_deliveries(uow, ADMIN)))


def test_a_reminder_is_delivered_signed(client, platform, admin, supervisor, issue, receiver,
                                        served):
    hook = subscribe(client, admin, receiver.url)
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor,
                json={"message": "请加快"})
    # queued with the reminder, before any worker ran
    assert [d.status for d in deliveries(platform)] == ["pending"]
    run = deliver(served)
    assert run.delivered == 1 and len(receiver.received) == 1
    got = receiver.received[0]
    expected = "sha256=" + hmac.new(hook["secret"].encode(),
                                    got["headers"]["X-Gongjian-Timestamp"].encode() + b"."
                                    + got["body"], hashlib.sha256).hexdigest()
    assert got["headers"]["X-Gongjian-Signature"] == expected
    payload = json.loads(got["body"])
    assert payload["event"] == "reminder" and payload["detail"]["why"] == "请加快"
    assert payload["instance_id"] == issue["id"]
    listed = client.get(f"/api/v1/admin/webhooks/{hook['id']}/deliveries",
                        headers=admin).get_json()
    assert [(d["status"], d["attempts"], d["last_status"]) for d in listed] == [
        ("delivered", 1, 200)]


def test_a_failed_delivery_is_retried_after_its_back_off(client, platform, clock, admin,
                                                         supervisor, issue, receiver, served):
    subscribe(client, admin, receiver.url)
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    receiver.status = 500
    assert deliver(served).retried == 1
    [row] = deliveries(platform)
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, 500)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    receiver.status = 200
    assert deliver(served).delivered == 0  # not due yet
    clock.advance(timedelta(seconds=31))
    assert deliver(served).delivered == 1
    assert len(receiver.received) == 2
    assert receiver.received[0]["headers"]["X-Gongjian-Delivery"] == \
        receiver.received[1]["headers"]["X-Gongjian-Delivery"]


def test_nothing_is_lost_while_the_receiver_is_down(client, platform, clock, admin, supervisor,
                                                    issue, receiver, served):
    subscribe(client, admin, receiver.url)
    port = receiver.port
    receiver.stop()
    for n in range(3):
        client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor,
                    json={"message": f"第{n + 1}次"})
    for _ in range(4):  # down for a while: every attempt fails, nothing is dropped
        run = deliver(served)
        assert run.delivered == 0 and run.failed == 0
        clock.advance(timedelta(minutes=10))
    assert {d.status for d in deliveries(platform)} == {"pending"}
    back = Receiver(port)
    try:
        assert deliver(served).delivered == 3
        messages = [json.loads(r["body"])["detail"]["why"] for r in back.received]
        assert sorted(messages) == ["第1次", "第2次", "第3次"]
        assert deliver(served).delivered == 0
    finally:
        back.stop()


def test_a_delivery_gives_up_after_the_last_attempt(client, platform, clock, admin, supervisor,
                                                    issue, served):
    subscribe(client, admin, "http://127.0.0.1:9/closed")
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    for _ in range(webhooks.MAX_ATTEMPTS):
        deliver(served, send=lambda *a: 503)
        clock.advance(webhooks.LONGEST_WAIT)
    [row] = deliveries(platform)
    assert (row.status, row.attempts) == ("failed", webhooks.MAX_ATTEMPTS)


def test_work_that_is_rolled_back_sends_nothing(client, platform, admin, supervisor, issue,
                                                receiver):
    subscribe(client, admin, receiver.url)
    with platform.uow() as uow:
        uow.begin_write()
        supervision.record_reminder(uow, "issue", "XM-1", "ducha1", [], "草稿", automatic=False)
        uow.audit.flush(uow.clock.now())
        uow.session.flush()
        uow.rollback()
    assert deliveries(platform) == []


def test_a_failing_receiver_never_blocks_the_platform(client, platform, admin, supervisor,
                                                      issue, served):
    subscribe(client, admin, "http://127.0.0.1:9/closed")

    def explode(*args):
        raise ConnectionError("receiver down")
    reminded = client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    assert reminded.status_code == 201
    assert deliver(served, send=explode).retried == 1
    assert "receiver down" in deliveries(platform)[0].last_error


def test_task_assignment_is_an_event_too(client, platform, admin, make_token, receiver, served):
    subscribe(client, admin, receiver.url, kind="task_assigned")
    specialist = make_token(("specialist",), "fgj")
    client.post("/api/v1/instances", headers=specialist,
                json={"process_key": "approval", "data": {"project_name": "风电"}})
    deliver(served)
    assert json.loads(receiver.received[0]["body"])["detail"]["name"] == "准备材料"


def test_webhook_administration(client, admin, specialist, receiver):
    assert_problem(client.get("/api/v1/admin/webhooks", headers=specialist), 403)
    body = assert_problem(client.post("/api/v1/admin/webhooks", headers=admin,
                                      json={"url": "ftp://x", "event_kind": "reminder"}), 422)
    assert "url" in body["errors"]
    assert_problem(client.post("/api/v1/admin/webhooks", headers=admin,
                               json={"url": receiver.url, "event_kind": "weather"}), 422)
    hook = subscribe(client, admin, receiver.url, kind="escalation")
    assert client.get("/api/v1/admin/webhooks", headers=admin).get_json()[0]["secret"] is None
    assert client.delete(f"/api/v1/admin/webhooks/{hook['id']}",
                         headers=admin).get_json()["active"] is False
    assert_problem(client.delete("/api/v1/admin/webhooks/999", headers=admin), 404)
    assert_problem(client.get("/api/v1/admin/webhooks/999/deliveries", headers=admin), 404)


# ---------------------------------------------------------------- targets

HOSTILE = [
    "http://127.0.0.1:8000/", "http://localhost/", "http://127.0.0.2/", "http://127.1/",
    "http://169.254.169.254/latest/meta-data/", "http://0x7f000001/", "http://2130706433/",
    "http://017700000001/", "http://0x7f.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/",
    "http://[fe80::1]/", "http://[fc00::1]/", "http://[ff02::1]/", "http://[::]/",
    "http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://0.0.0.0/", "http://0/", "http://224.0.0.1/", "http://240.0.0.1/",
    "http://255.255.255.255/", "https://192.0.2.1/", "http://127.0.0.1.nip.io.invalid/",
    "ftp://example.com/", "file:///etc/passwd", "gopher://127.0.0.1:25/", "//example.com/",
    "http://user:secret@example.com/", "http://example.com:0/", "http://example.com:99999/",
    "http://exa mple.com/", "http://example.com/\r\nX-Injected: 1",
]


@pytest.mark.parametrize("app_config", [{"WEBHOOK_ALLOW_HOSTS": ""}])
def test_hostile_urls_are_refused_at_registration(client, admin, app_config):
    for url in HOSTILE:
        body = assert_problem(client.post("/api/v1/admin/webhooks", headers=admin,
                                          json={"url": url, "event_kind": "reminder"}), 422)
        assert list(body["errors"]) == ["url"], url
    assert client.get("/api/v1/admin/webhooks", headers=admin).get_json() == []


def test_a_host_allowed_by_name_does_not_allow_its_address_under_another_name(
        client, admin, receiver):
    # 127.0.0.1 is allowed (app_config); these name the same address and stay refused
    port = receiver.port
    for url in (f"http://localhost:{port}/hook", f"http://0x7f000001:{port}/hook",
                f"http://2130706433:{port}/hook", f"http://127.0.0.2:{port}/hook",
                f"http://[::ffff:127.0.0.1]:{port}/hook"):
        body = assert_problem(client.post("/api/v1/admin/webhooks", headers=admin,
                                          json={"url": url, "event_kind": "reminder"}), 422)
        assert "GONGJIAN_WEBHOOK_ALLOW_HOSTS" in body["errors"]["url"][0], url
    subscribe(client, admin, receiver.url)


def test_a_host_no_longer_allowed_is_refused_at_delivery(client, platform, admin, supervisor,
                                                         issue, receiver, served):
    subscribe(client, admin, receiver.url)  # allowed when it was registered
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    run = deliver_due_webhooks(platform.uow, targets=TargetPolicy())  # the allow-list emptied
    assert run.retried == 1 and receiver.received == []
    [row] = deliveries(platform)
    assert row.last_status is None and "not sent" in row.last_error
    assert "127.0.0.1" in row.last_error and "内网" in row.last_error


def test_a_redirect_is_a_failed_delivery_and_is_never_followed(client, platform, admin,
                                                               supervisor, issue, receiver,
                                                               served):
    elsewhere = Receiver()
    try:
        subscribe(client, admin, receiver.url)
        client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
        receiver.status, receiver.location = 302, elsewhere.url
        assert deliver(served).retried == 1
        [row] = deliveries(platform)
        assert (row.status, row.attempts, row.last_status) == ("pending", 1, 302)
        assert "redirects are never followed" in row.last_error and "重定向" in row.last_error
        assert len(receiver.received) == 1 and elsewhere.received == []
    finally:
        elsewhere.stop()


def test_dns_rebinding_after_registration_is_refused_at_delivery(client, platform, clock, admin,
                                                                 supervisor, issue, receiver):
    answers = {"hooks.example.com": "93.184.216.34"}  # public when it is registered

    def resolve(host, port, **kwargs):
        return [(2, 1, 6, "", (answers[host], port))]

    policy = TargetPolicy(resolve=resolve)
    with platform.uow() as uow:
        webhooks.create_subscription(uow, ADMIN, f"http://hooks.example.com:{receiver.port}/h",
                                     "reminder", targets=policy)
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    answers["hooks.example.com"] = "127.0.0.1"  # then the name points inside
    sent = []
    assert deliver_due_webhooks(platform.uow, send=lambda *a: sent.append(a) or 200,
                                targets=policy).retried == 1
    assert sent == [] and "resolves to 127.0.0.1" in deliveries(platform)[0].last_error


def test_the_worker_connects_to_the_address_it_checked(client, platform, admin, supervisor,
                                                       issue, receiver):
    # The name exists only for this resolver: a second look-up by the sender would fail.
    looked_up = []

    def resolve(host, port, **kwargs):
        looked_up.append(host)
        return [(2, 1, 6, "", ("127.0.0.1", port))]

    policy = TargetPolicy(frozenset({"Hooks.Intranet.Example."}), resolve=resolve)
    with platform.uow() as uow:
        webhooks.create_subscription(uow, ADMIN, f"http://hooks.intranet.example:{receiver.port}"
                                     "/hook?x=1", "reminder", targets=policy)
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    assert deliver_due_webhooks(platform.uow, targets=policy).delivered == 1
    assert looked_up == ["hooks.intranet.example"] * 2  # once at registration, once to send
    assert receiver.received[0]["headers"]["Host"] == f"hooks.intranet.example:{receiver.port}"


def test_every_address_of_a_name_is_checked():
    def resolve(host, port, **kwargs):
        return [(2, 1, 6, "", ("93.184.216.34", port)), (10, 1, 6, "", ("::1", port, 0, 0))]

    with pytest.raises(TargetRefused, match="::1"):
        TargetPolicy(resolve=resolve).check("https://both.example.com/")
    target = TargetPolicy(resolve=lambda h, p, **k: [(2, 1, 6, "", ("93.184.216.34", p))]) \
        .check("HTTPS://Public.Example.com/a/b?c=d#frag")
    assert (target.scheme, target.host, target.port, target.path, target.addresses) == (
        "https", "public.example.com", 443, "/a/b?c=d", ("93.184.216.34",))
