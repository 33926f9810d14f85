"""Webhooks against a real receiver on 127.0.0.1: signature, retry, no loss while it is down."""

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
from engine.ops.webhooks import deliver_due_webhooks

from .conftest import ADMIN, ISSUE
from .test_auth import assert_problem


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers with `status`."""

    def __init__(self, port: int = 0):
        self.received: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
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
    assert response.status_code == 201
    return response.get_json()


def deliveries(platform):
    """Every delivery, oldest first, as the administrator sees them."""
    with platform.uow() as uow:
        return list(reversed(webhooks.list_deliveries(uow, ADMIN)))


def test_a_reminder_is_delivered_signed(client, platform, admin, supervisor, issue, receiver):
    hook = subscribe(client, admin, receiver.url)
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor,
                json={"message": "请加快"})
    # queued with the reminder, before any worker ran
    assert [d.status for d in deliveries(platform)] == ["pending"]
    run = deliver_due_webhooks(platform.uow)
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
                                                         supervisor, issue, receiver):
    subscribe(client, admin, receiver.url)
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    receiver.status = 500
    assert deliver_due_webhooks(platform.uow).retried == 1
    [row] = deliveries(platform)
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, 500)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    receiver.status = 200
    assert deliver_due_webhooks(platform.uow).delivered == 0  # not due yet
    clock.advance(timedelta(seconds=31))
    assert deliver_due_webhooks(platform.uow).delivered == 1
    assert len(receiver.received) == 2
    assert receiver.received[0]["headers"]["X-Gongjian-Delivery"] == \
        receiver.received[1]["headers"]["X-Gongjian-Delivery"]


def test_nothing_is_lost_while_the_receiver_is_down(client, platform, clock, admin, supervisor,
                                                    issue, receiver):
    subscribe(client, admin, receiver.url)
    port = receiver.port
    receiver.stop()
    for n in range(3):
        client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor,
                    json={"message": f"第{n + 1}次"})
    for _ in range(4):  # down for a while: every attempt fails, nothing is dropped
        run = deliver_due_webhooks(platform.uow)
        assert run.delivered == 0 and run.failed == 0
        clock.advance(timedelta(minutes=10))
    assert {d.status for d in deliveries(platform)} == {"pending"}
    back = Receiver(port)
    try:
        assert deliver_due_webhooks(platform.uow).delivered == 3
        messages = [json.loads(r["body"])["detail"]["why"] for r in back.received]
        assert sorted(messages) == ["第1次", "第2次", "第3次"]
        assert deliver_due_webhooks(platform.uow).delivered == 0
    finally:
        back.stop()


def test_a_delivery_gives_up_after_the_last_attempt(client, platform, clock, admin, supervisor,
                                                    issue):
    subscribe(client, admin, "http://127.0.0.1:9/closed")
    client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    for _ in range(webhooks.MAX_ATTEMPTS):
        deliver_due_webhooks(platform.uow, send=lambda *a: 503)
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
                                                      issue):
    subscribe(client, admin, "http://127.0.0.1:9/closed")

    def explode(*args):
        raise ConnectionError("receiver down")
    reminded = client.post(f"/api/v1/issues/{issue['id']}/remind", headers=supervisor, json={})
    assert reminded.status_code == 201
    assert deliver_due_webhooks(platform.uow, send=explode).retried == 1
    assert "receiver down" in deliveries(platform)[0].last_error


def test_task_assignment_is_an_event_too(client, platform, admin, make_token, receiver):
    subscribe(client, admin, receiver.url, kind="task_assigned")
    specialist = make_token(("specialist",), "fgj")
    client.post("/api/v1/instances", headers=specialist,
                json={"process_key": "approval", "data": {"project_name": "风电"}})
    deliver_due_webhooks(platform.uow)
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
