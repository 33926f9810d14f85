"""Messages that reach people's phones (issue 19): DingTalk and WeCom group robots and e-mail,
each tried against a receiver of the test's own on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import socketserver
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from engine.core.config import SmtpSettings
from engine.core.errors import NotFoundError, TaskDataError
from engine.core.identity import Actor
from engine.core.models import AuditEvent
from engine.core.notifications import notify
from engine.ops import channels
from engine.ops.channels import ChannelDelivery, dingtalk_sign
from engine.ops.webhooks import TargetPolicy

from ..conftest import add_accounts

LOCAL = TargetPolicy(frozenset({"127.0.0.1"}))
ZHANG = Actor.of("zhang", "specialist", "unit:fgj", "specialist@fgj")
SECRET = "SEC0123456789abcdef"


@pytest.fixture
def county(platform, clock):
    add_accounts(platform, clock.now(), [("fgj", "县发改局", "department")], {
        "zhang": ("张三", "fgj", ["specialist"]), "li": ("李四", "fgj", ["approver"])},
        "mima-2026")
    return platform


class Robot:
    """A group robot on 127.0.0.1: records each request, answers `reply`."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.reply = {"errcode": 0, "errmsg": "ok"}
        robot = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                length = int(self.headers["Content-Length"])
                robot.requests.append((self.path, json.loads(self.rfile.read(length))))
                body = json.dumps(robot.reply).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot():
    server = Robot()
    yield server
    server.close()


class Mailbox(socketserver.ThreadingTCPServer):
    """The smallest SMTP server that takes a message: enough for smtplib."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.messages: list[bytes] = []
        mailbox = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 test ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        data = b""
                        while (chunk := self.rfile.readline()) != b".\r\n":
                            data += chunk
                        mailbox.messages.append(data)
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def mailbox():
    server = Mailbox()
    yield server
    server.shutdown()
    server.server_close()


def _say(platform, **kwargs):
    with platform.uow() as uow:
        uow.begin_write()
        notify(uow, **kwargs)
        uow.commit()


def _run(platform, **kwargs):
    return channels.run_channels(platform.uow, targets=LOCAL, **kwargs)


def test_a_new_task_reaches_a_dingtalk_group_signed_as_dingtalk_checks_it(county, robot, clock):
    with county.uow() as uow:
        channels.add_channel(uow, ZHANG, "dingtalk", f"{robot.url}/robot/send?access_token=T1",
                             secret=SECRET, targets=LOCAL)
    _say(county, kind="assigned", title="新待办：受理申请（XM-001 光伏电站）", users=["zhang"],
         body="请于 12月3日 前办理")
    run = _run(county)
    assert (run.queued, run.delivered, run.failed) == (1, 1, 0)
    ((path, body),) = robot.requests
    query = parse_qs(urlsplit(path).query)
    assert query["access_token"] == ["T1"]
    stamp = query["timestamp"][0]
    assert int(stamp) == int(clock.now().timestamp() * 1000)  # the platform's clock
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]  # parse_qs undid the URL quoting
    assert body["msgtype"] == "markdown"
    assert "受理申请（XM-001 光伏电站）" in body["markdown"]["title"]
    assert "请于 12月3日 前办理" in body["markdown"]["text"]
    assert _run(county).delivered == 0  # each message once


def test_a_wecom_robot_that_refuses_is_retried_after_its_back_off_until_it_takes_it(
        county, robot, clock):
    with county.uow() as uow:
        channels.add_channel(uow, ZHANG, "wecom", f"{robot.url}/cgi-bin/webhook/send?key=K",
                             kinds=["reminder"], targets=LOCAL)
    robot.reply = {"errcode": 93000, "errmsg": "invalid webhook url"}
    _say(county, kind="reminder", title="催办：整改承诺", users=["zhang"])
    run = _run(county)
    assert (run.delivered, run.retried) == (0, 1)
    with county.uow() as uow:
        (view,) = channels.list_channels(uow, ZHANG)
        assert view.last_status == "pending" and "invalid webhook url" in view.last_error
        assert "key=…" in view.target and "key=K" not in view.target  # the key is not shown
    robot.reply = {"errcode": 0, "errmsg": "ok"}
    assert _run(county).delivered == 0  # not before its back-off
    clock.advance(minutes=1)
    assert _run(county).delivered == 1
    assert robot.requests[-1][1]["markdown"]["content"].startswith("**【攻坚指挥平台】催办：整改承诺**")


def test_a_message_to_a_group_reaches_each_members_email(county, mailbox):
    smtp = SmtpSettings("127.0.0.1", mailbox.server_address[1], sender="gongjian@lingchuan.gov.cn")
    with county.uow() as uow:
        channels.add_channel(uow, ZHANG, "email", "zhang@lingchuan.gov.cn", smtp=smtp)
    _say(county, kind="escalated", title="问题已提级至分指挥部", groups=["specialist@fgj"])
    _say(county, kind="escalated", title="别的单位的事", groups=["specialist@other"])
    assert _run(county, smtp=smtp).delivered == 1
    (raw,) = mailbox.messages
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["To"] == "zhang@lingchuan.gov.cn" and mail["From"] == "gongjian@lingchuan.gov.cn"
    assert mail["Subject"] == "【攻坚指挥平台】问题已提级至分指挥部"


def test_only_the_chosen_kinds_new_messages_and_live_accounts_go_out(county, robot, clock):
    _say(county, kind="assigned", title="添加渠道之前的旧消息", users=["zhang"])
    clock.advance(seconds=1)
    with county.uow() as uow:
        channels.add_channel(uow, ZHANG, "dingtalk", f"{robot.url}/robot/send?access_token=T",
                             kinds=["assigned"], targets=LOCAL)
    _say(county, kind="cc", title="抄送：不想在手机上收到", users=["zhang"])
    _say(county, kind="assigned", title="给李四的", users=["li"])
    assert _run(county).queued == 0
    with county.uow() as uow:
        uow.begin_write()
        uow.session.execute(select(channels.UserAccount).where(
            channels.UserAccount.username == "zhang")).scalar_one().active = False
        uow.commit()
    _say(county, kind="assigned", title="停用后的消息", users=["zhang"])
    assert _run(county).queued == 0 and robot.requests == []


def test_bad_channels_are_refused_at_their_field_and_nothing_is_written(county):
    cases = [
        ("dingtalk", "http://10.0.0.5/robot/send?access_token=x", None, "target"),  # private
        ("dingtalk", "ftp://example.com/x", None, "target"),
        ("email", "zhang@lingchuan.gov.cn", None, "kind"),  # no mail server configured
        ("wecom", "http://127.0.0.1/x", "secret-for-dingtalk-only", "secret"),
        ("pager", "x", None, "kind"),
    ]
    for kind, target, secret, field in cases:
        with county.uow() as uow, pytest.raises(TaskDataError) as refused:
            channels.add_channel(uow, ZHANG, kind, target, secret=secret, targets=LOCAL)
        assert field in refused.value.field_errors, (kind, target)
    with county.uow() as uow:
        assert channels.list_channels(uow, ZHANG) == []
        assert uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "channel_added")).first() is None


def test_adding_and_removing_are_audited_and_only_the_owner_may(county, robot):
    with county.uow() as uow:
        view = channels.add_channel(uow, ZHANG, "dingtalk", f"{robot.url}/r?access_token=SECRET",
                                    targets=LOCAL)
    with county.uow() as uow, pytest.raises(NotFoundError):
        channels.remove_channel(uow, Actor.of("li", "approver"), view.id)
    with county.uow() as uow:
        channels.send_test(uow, ZHANG, view.id)
    assert _run(county).delivered == 1
    with county.uow() as uow:
        channels.remove_channel(uow, ZHANG, view.id)
    with county.uow() as uow:
        actions = [e.action for e in uow.session.execute(select(AuditEvent)).scalars()]
        assert actions.count("channel_added") == actions.count("channel_removed") == 1
        details = " ".join(e.detail or "" for e in uow.session.execute(select(AuditEvent)).scalars())
        assert "access_token=SECRET" not in details  # the token is never written to the log
        assert uow.session.execute(select(ChannelDelivery)).scalars().all()[0].status == "delivered"


def test_the_signature_matches_dingtalks_published_example():
    # DingTalk's documentation: quote(base64(hmac_sha256(secret, "timestamp\nsecret"))).
    mac = hmac.new(b"SECxyz", b"1700000000000\nSECxyz", hashlib.sha256).digest()
    assert dingtalk_sign("SECxyz", 1700000000000) == \
        base64.b64encode(mac).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_back_off_grows_and_gives_up(county, robot, clock):
    robot.reply = {"errcode": 310000, "errmsg": "sign not match"}
    with county.uow() as uow:
        channels.add_channel(uow, ZHANG, "dingtalk", f"{robot.url}/r?access_token=T",
                             targets=LOCAL)
    _say(county, kind="assigned", title="x", users=["zhang"])
    failed = 0
    for _ in range(14):
        failed += _run(county).failed
        clock.advance(timedelta(hours=2))
    assert failed == 1
    with county.uow() as uow:
        (view,) = channels.list_channels(uow, ZHANG)
        assert view.last_status == "failed" and "sign not match" in view.last_error


def test_a_message_that_cannot_be_written_as_mail_fails_alone_and_the_pass_goes_on(
        county, mailbox):
    smtp = SmtpSettings("127.0.0.1", mailbox.server_address[1])
    with county.uow() as uow:
        channels.add_channel(uow, ZHANG, "email", "zhang@lingchuan.gov.cn", smtp=smtp)
    _say(county, kind="assigned", title="标题\r\nBcc: everyone@example.com", users=["zhang"])
    _say(county, kind="assigned", title="第二条", users=["zhang"])
    run = _run(county, smtp=smtp)
    assert run.delivered == 1 and run.retried == 1  # the header injection is refused, not sent
    assert len(mailbox.messages) == 1 and b"Bcc" not in mailbox.messages[0]
