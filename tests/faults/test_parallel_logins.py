"""Thirty wrong passwords for one account at once, through gunicorn as deployed (issue 21).

Several worker processes, each with threads, count the failures in the database: each
failure is one atomic insert-or-update in a transaction that declares its write first, so
no count is lost (no sixth try gets through) and no request meets a busy database (503).
Runs on SQLite in the suite's first pass and on PostgreSQL in its second.
"""

from __future__ import annotations

import re
import sys
import threading
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from engine.core import organisation
from engine.ops.platform import Platform

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import load_bench  # noqa: E402

PASSWORD = "Lingchuan-2026-right"
CALLERS = 30


class Browser:
    """One client with its own session cookie and the login form's CSRF token."""

    def __init__(self, port: int):
        self.port = port
        status, body, cookies, _ = load_bench.request(port, "GET", "/auth/login")
        assert status == 200
        self.cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
        self.token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body).group(1).decode()

    def login(self, password: str) -> tuple[int, str]:
        """POST the login form; (status, body)."""
        form = urllib.parse.urlencode({"username": "zhuanyuan1", "password": password,
                                       "csrf_token": self.token}).encode()
        status, body, _, _ = load_bench.request(self.port, "POST", "/auth/login", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})
        return status, body.decode("utf-8", "replace")


def test_thirty_parallel_wrong_passwords_through_gunicorn_give_four_wrongs_and_the_rest_locked(
        database_url, tmp_path):
    platform = Platform(database_url)
    with platform.uow() as uow:
        organisation.add_user(uow.session, "zhuanyuan1", "王代办", PASSWORD, unit=None,
                              roles=["specialist"], now=datetime.now(UTC))
        uow.commit()
    platform.close()

    with load_bench.Gunicorn(database_url, str(tmp_path), workers=3) as server:
        server.wait()
        browsers = [Browser(server.port) for _ in range(CALLERS)]
        start, answers = threading.Barrier(CALLERS), [None] * CALLERS

        def wrong(i):
            start.wait()
            answers[i] = browsers[i].login("wrong-password")

        threads = [threading.Thread(target=wrong, args=(i,)) for i in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        right = browsers[0].login(PASSWORD)
    log = server.log_text()

    statuses = Counter(status for status, _ in answers)
    # The fifth failure is the one that locks: it is answered "locked", as every later try.
    assert statuses == {401: 4, 429: 26}, (statuses, log[-3000:])
    assert all("用户名或密码不正确" in body for status, body in answers if status == 401)
    assert all("已暂时锁定" in body for status, body in answers if status == 429)
    assert right[0] == 429 and "已暂时锁定" in right[1]  # the right password is locked out too
    assert "Traceback" not in log, log[-3000:]

    platform = Platform(database_url)
    with platform.uow() as uow:
        # The account from this address (gunicorn sees every client as 127.0.0.1): every
        # try that got past the lock check before the lock was set was counted, none lost.
        row = uow.session.get(organisation.LoginThrottle, "pair:127.0.0.1|zhuanyuan1")
        assert 5 <= row.failures <= CALLERS and row.locked_until is not None
        account = uow.session.get(organisation.LoginThrottle, "user:zhuanyuan1")
        assert account.failures == row.failures
    platform.close()
