"""PostgreSQL restarted under load: a server of the test's own (never the machine's shared one)
is stopped as a crash would stop it while users work tasks through gunicorn and a
`gongjian worker` signs checkpoints. During the outage requests are answered 503 (a Chinese
page, a problem document), nothing is half written, the app and the worker come back by
themselves within seconds, and every completion answered 200 is one completed task with one
`task_completed` event (bench/load_bench.py's check)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from engine.core.audit_keys import generate_key, verifying_keys
from engine.core.checkpoints import AuditCheckpoint, stored_checkpoints, verify_checkpoints
from engine.core.models import AuditEvent
from engine.ops.platform import Platform


ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import load_bench  # noqa: E402

USERS = 6
OUTAGE_SECONDS = 3.0
RECOVERY_LIMIT = 10.0  # seconds from the server's return to the app's first 200


class Worker:
    """`gongjian worker` as a child process, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webapp.cli", "worker", "--poll", "0.2"], cwd=ROOT,
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        """Ctrl-C, as an operator stops it; killed if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def text(self) -> str:
        """Its log so far."""
        return self.log.read_text(errors="replace")


def _newest_checkpoint(url: str) -> int:
    platform = Platform(url)
    try:
        with platform.uow() as uow:
            return uow.session.scalar(select(func.max(AuditCheckpoint.seq))) or 0
    finally:
        platform.close()


def _head(url: str) -> int:
    platform = Platform(url)
    try:
        with platform.uow() as uow:
            return uow.session.scalar(select(func.max(AuditEvent.seq))) or 0
    finally:
        platform.close()


def _logged_in_cookie(port: int, user: load_bench.User) -> str:
    """A browser session of the user: the login form's cookie and token, then the login."""
    status, body, cookies, _ = load_bench.request(port, "GET", "/auth/login")
    token = load_bench._CSRF.search(body.decode()).group(1)
    jar = {}
    for header in cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        jar[name] = value
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, _, cookies, _ = load_bench.request(
        port, "POST", "/auth/login",
        urlencode({"username": user.username, "password": load_bench.PASSWORD,
                   "csrf_token": token}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    assert status == 302, status
    for header in cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        jar[name] = value
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _wait_for_200(port: int, token: str, limit: float) -> float:
    """Seconds until the API answers 200 again (fails after `limit`)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            status = load_bench.request(port, "GET", "/api/v1/tasks?limit=1",
                                        headers={"Authorization": f"Bearer {token}"})[0]
        except OSError:
            status = 0
        if status == 200:
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"the app did not answer 200 within {limit:.0f} s of the restart")


def test_a_postgresql_restart_under_load_is_answered_503_and_loses_nothing(postgres, tmp_path):
    url = postgres.url
    key = generate_key(tmp_path / "keys" / "audit_key.pem")
    env = {**os.environ, "DATABASE_URL": url, "GONGJIAN_AUDIT_KEY": str(key.path),
           "GONGJIAN_AUDIT_CHECKPOINT_EVERY": "25",
           "GONGJIAN_AUDIT_EXPORT": str(tmp_path / "export" / "checkpoints.jsonl"),
           "PYTHONPATH": str(ROOT)}
    users = load_bench.prepare(url, USERS, instances=USERS)
    worker = Worker(env, tmp_path / "worker.log")
    phase1: list[tuple[str, int, float]] = []
    try:
        with load_bench.Gunicorn(url, str(tmp_path), workers=2) as server:
            server.wait()
            cookie = _logged_in_cookie(server.port, users[0])
            driving = threading.Thread(target=load_bench.drive,
                                       args=(users, server.port, 4 + OUTAGE_SECONDS + 6))
            driving.start()
            try:
                time.sleep(3)
                head_before = _head(url)
                postgres.stop("immediate")  # as a crash: sessions cut mid-transaction
                time.sleep(0.5)
                api = load_bench.request(server.port, "GET", "/api/v1/tasks", headers={
                    "Authorization": f"Bearer {users[1].token}"})
                page = load_bench.request(server.port, "GET", "/tasks/",
                                          headers={"Cookie": cookie})
                time.sleep(OUTAGE_SECONDS - 0.5)
                postgres.start()
                recovered = _wait_for_200(server.port, users[1].token, RECOVERY_LIMIT)
            finally:
                driving.join(timeout=120)
            phase1 = [s for u in users for s in u.samples]
            after = load_bench.drive(users, server.port, 3)  # (drive clears the samples)
            phase2 = [s for u in users for s in u.samples]
            # the worker came back too: it signs a checkpoint of events after the restart
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _newest_checkpoint(url) <= head_before:
                time.sleep(0.3)
            worker_log = worker.text()
    finally:
        worker.stop()

    # during the outage: a problem document for the API, the Chinese page for a browser
    assert api[0] == 503, api
    problem = json.loads(api[1])
    assert problem["type"].endswith("unavailable") and "nothing was saved" in problem["detail"]
    assert page[0] == 503 and "数据库暂时无法访问" in page[1].decode(), page[:2]
    assert recovered < RECOVERY_LIMIT
    # every error of the load was a 503 (no 500, no broken connection), none once back
    unexpected = [(kind, status) for kind, status, _ms in phase1
                  if status not in (200, 201, 302, 409, 503)]
    log = server.log_text()
    at = log.find("Traceback")  # with the line that logged it
    first_traceback = log[log.rfind("\n", 0, max(at - 1, 0)) + 1:][:4000] if at >= 0 else ""
    assert not unexpected, f"{unexpected[:20]}\n{first_traceback}"
    assert load_bench.figures(phase2, after)["errors"] == 0, load_bench.figures(phase2, after)
    assert server.exit_code == 0
    problems = load_bench.server_problems(log)
    assert problems["tracebacks"] == 0 and problems["worker_timeouts"] == 0, first_traceback
    # the worker logged the outage, went on, and signed after it
    assert "worker error: OperationalError" in worker_log, worker_log[-3000:]
    assert _newest_checkpoint(url) > head_before, worker_log[-3000:]

    # nothing lost, doubled or half written
    completed = [t for u in users for t in u.completed]
    result = load_bench.check(url, completed)
    report = json.dumps({k: v for k, v in result.items() if k != "lost_ids"}, default=str)
    assert result["told_completed"] > 0, report
    assert result["lost"] == result["doubled"] == result["told_twice"] == 0, report
    assert result["rows_completed"] == result["completion_events"], report
    assert result["ended_short"] == 0 and result["chain_ok"], report
    # and the chain still matches every checkpoint the worker signed
    platform = Platform(url)
    try:
        with platform.uow() as uow:
            signed = verify_checkpoints(uow.session, verifying_keys([key.path]),
                                        stored_checkpoints(uow.session))
    finally:
        platform.close()
    assert signed.ok and signed.trusted_through > head_before, signed.problems
