"""Issue 11, load: simulated users working tasks against gunicorn on 127.0.0.1.

A throw-away database (an SQLite file, or a PostgreSQL database created and dropped) gets the
five-step benchmark process, one account and one API token per user, and some running
instances. gunicorn then serves the app with the project's deploy/gunicorn.conf.py, and each
user, one thread each, loops for a while: list my tasks, claim one of them, complete it,
sometimes start a new instance, now and then look at an inbox page with a browser session.
Users do not pause between requests (a closed loop without think time): the figures are
those of a saturated server.

Afterwards, with gunicorn stopped, the database is checked against what the clients saw:
every completion answered 200 is a completed task with exactly one `task_completed` event,
no task was completed twice, no completion happened that no client was told about, and the
audit chain verifies. A 409 (two users claiming one group task) is an expected outcome,
counted apart; a 5xx, any other 4xx, a timeout or a broken connection is an error.

BENCH_LOAD_USERS (default 50) and BENCH_LOAD_SECONDS (default 60) size the run.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from engine.core import organisation
from engine.bpm import runtime
from engine.ops import tokens
from engine.core.audit import verify_audit
from engine.core.identity import Actor
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.ops.platform import Platform

import pg_bench
from common import HERE, ROOT, deploy, tempdir

PROCESS = "five_tasks"
STEPS = 5  # user tasks of five_tasks, one after the other
ADMIN = Actor.of("load-admin", "admin")
STARTER = Actor.of("load-setup", "specialist")
PASSWORD = "Load-bench-2026!"
P_START = 0.15  # chance per round of starting an instance (each brings five tasks)
P_PAGE = 0.10  # chance per round of looking at an inbox page in the browser
PAGES = ("/tasks/", "/tasks/group", "/tasks/done")
KINDS = ("list", "claim", "complete", "start", "login", "page")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class User:
    """One simulated user: an account for the pages and a token for the API."""

    username: str
    token: str
    actor: str  # what the API shows as assignee: the token's service account

    cookies: dict[str, str] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    samples: list[tuple[str, int, float]] = field(default_factory=list)  # kind, status, ms


# ---------------------------------------------------------------- set-up

def prepare(url: str, users: int, instances: int) -> list[User]:
    """Migrate, deploy five_tasks, create the users' accounts and tokens, start instances."""
    platform = Platform(url)
    platform.upgrade()
    deploy(platform, HERE / "five_tasks.bpmn")
    created = []
    with platform.uow() as uow:
        for n in range(users):
            organisation.add_user(uow.session, f"load{n:02}", f"压测用户{n:02}", PASSWORD,
                                  unit=None, roles=["specialist"], now=uow.clock.now())
        uow.commit()
    for n in range(users):
        with platform.uow() as uow:
            issued = tokens.create_token(uow, ADMIN, f"load-{n:02}", ["specialist"])
        created.append(User(f"load{n:02}", issued.secret,
                            tokens.username_of(issued.token.name)))
    for _ in range(instances):
        with platform.uow() as uow:
            runtime.start_instance(uow, PROCESS, STARTER)
    platform.close()
    return created


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn with deploy/gunicorn.conf.py as a child process, its log in `log_path`."""

    def __init__(self, url: str, folder: str, workers: int | None = None):
        self.port = free_port()
        self.log_path = Path(folder) / "gunicorn.log"
        self.env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
                    "GONGJIAN_INSTANCE_DIR": folder, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        if workers:
            self.env["GUNICORN_WORKERS"] = str(workers)
        self.process: subprocess.Popen | None = None
        self.exit_code: int | None = None

    def __enter__(self) -> Gunicorn:
        """Start the server; its workers boot while the caller goes on (see `wait`)."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                 "webapp:create_app()"], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout: float = 90) -> None:
        """Return once the server answers; raise with the log when it exits or never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            try:
                if request(self.port, "GET", "/auth/login")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n" + self.log_tail())

    def __exit__(self, *exc) -> None:
        """Stop gracefully (SIGTERM: requests in flight finish), then record the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.exit_code = self.process.wait()

    def log_text(self) -> str:
        """The whole server log (access lines and errors)."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server log."""
        return "\n".join(self.log_text().splitlines()[-lines:])


# ---------------------------------------------------------------- the users

def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes, list[str], str | None]:
    """One request on a new connection: (status, body, Set-Cookie headers, Location)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return (response.status, data, response.headers.get_all("Set-Cookie") or [],
                response.headers.get("Location"))
    finally:
        connection.close()


class Session:
    """One user's client: API calls with the token, pages with a cookie like a browser's."""

    def __init__(self, user: User, port: int, rng: random.Random):
        self.user, self.port, self.rng = user, port, rng

    def call(self, kind: str, method: str, path: str, *, json_body: dict | None = None,
             form: dict | None = None, token: bool = True) -> tuple[int, bytes, str | None]:
        """Send, time and record one request; status 0 stands for a connection failure."""
        headers, body = {"Connection": "close"}, None
        if token:
            headers["Authorization"] = f"Bearer {self.user.token}"
        elif self.user.cookies:
            # The session cookie is Secure; a browser on the loopback still sends it.
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.user.cookies.items())
        if json_body is not None:
            headers["Content-Type"], body = "application/json", json.dumps(json_body).encode()
        elif form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode()
        t0 = time.perf_counter()
        try:
            status, data, cookies, location = request(self.port, method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            status, data, cookies, location = 0, repr(exc).encode(), [], None
        self.user.samples.append((kind, status, (time.perf_counter() - t0) * 1000))
        for header in cookies:
            for name, morsel in SimpleCookie(header).items():
                self.user.cookies[name] = morsel.value
        return status, data, location

    def work_one_task(self) -> None:
        """List my tasks, claim one that nobody holds (unless I hold one), complete it."""
        status, body, _ = self.call("list", "GET", "/api/v1/tasks")
        if status != 200:
            return
        items = json.loads(body)["items"]
        held = [t for t in items if t["assignee"] == self.user.actor]
        free = [t for t in items if t["assignee"] is None]
        if held:
            task_id = held[0]["id"]
        elif free:
            task_id = self.rng.choice(free)["id"]
            if self.call("claim", "POST", f"/api/v1/tasks/{task_id}/claim")[0] != 200:
                task_id = None  # someone else was first (409): next round
        else:
            task_id = None
        if task_id:
            status, _, _ = self.call("complete", "POST", f"/api/v1/tasks/{task_id}/complete",
                                     json_body={"data": {}})
            if status == 200:
                self.user.completed.append(task_id)
        if len(free) < 5 or self.rng.random() < P_START:
            self.call("start", "POST", "/api/v1/instances", json_body={"process_key": PROCESS})

    def view_page(self) -> None:
        """Look at an inbox page, signing in first when there is no live session."""
        path = self.rng.choice(PAGES)
        if self.user.cookies:
            status, _, location = self.call("page", "GET", path, token=False)
            if not (status == 302 and location and "/auth/login" in location):
                return
        status, body, _ = self.call("login", "GET", "/auth/login", token=False)
        match = _CSRF.search(body.decode("utf-8", "replace")) if status == 200 else None
        if match is None:
            return
        status, _, _ = self.call("login", "POST", "/auth/login", token=False, form={
            "username": self.user.username, "password": PASSWORD, "csrf_token": match.group(1)})
        if status == 302:
            self.call("page", "GET", path, token=False)

    def run(self, deadline: float) -> None:
        """Work until the deadline; a request in flight at the deadline still finishes."""
        while time.monotonic() < deadline:
            self.work_one_task()
            if self.rng.random() < P_PAGE:
                self.view_page()


def drive(users: list[User], port: int, seconds: float) -> float:
    """Run every user in its own thread for `seconds`; returns the wall time of the run."""
    sessions = [Session(u, port, random.Random(n)) for n, u in enumerate(users)]
    for session in sessions:  # one request each first: every worker has loaded the app
        session.call("warm-up", "GET", "/api/v1/tasks?limit=1")
    for user in users:
        user.samples.clear()
    t0 = time.monotonic()
    threads = [threading.Thread(target=s.run, args=(t0 + seconds,), name=s.user.username)
               for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - t0


# ---------------------------------------------------------------- checks and figures

def check(url: str, completed: list[str]) -> dict:
    """Compare the database with the completions the clients were told about."""
    platform = Platform(url)
    with platform.uow() as uow:
        session = uow.session
        events = Counter(dict(session.execute(
            select(AuditEvent.task_id, func.count()).where(AuditEvent.action == "task_completed")
            .group_by(AuditEvent.task_id)).all()))
        states = dict(session.execute(select(HumanTask.id, HumanTask.state)).all())
        done_per_instance = Counter(dict(session.execute(
            select(HumanTask.instance_id, func.count()).where(HumanTask.state == "completed")
            .group_by(HumanTask.instance_id)).all()))
        ended = list(session.execute(select(ProcessInstance.id).where(
            ProcessInstance.status == "completed")).scalars())
        instances = session.execute(select(func.count()).select_from(ProcessInstance)).scalar()
        chain = verify_audit(session)
    platform.close()
    told = Counter(completed)
    lost = [t for t in told if states.get(t) != "completed" or events[t] != 1]
    return {
        "told_completed": len(completed),
        "told_twice": sum(1 for n in told.values() if n > 1),
        "rows_completed": sum(1 for s in states.values() if s == "completed"),
        "completion_events": sum(events.values()),
        "lost": len(lost), "lost_ids": lost[:10],
        "doubled": sum(1 for n in events.values() if n > 1),
        "untold": sum(1 for t in events if t not in told),  # done, but no client saw a 200
        "instances": instances, "instances_ended": len(ended),
        "ended_short": sum(1 for i in ended if done_per_instance[i] != STEPS),
        "chain_ok": chain.ok, "chain_events": chain.events, "chain_problems": chain.problems[:5],
    }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def figures(samples: list[tuple[str, int, float]], seconds: float) -> dict:
    """Counts, outcomes and p50/p95/p99 per kind of request and over all of them."""
    kinds: dict[str, dict] = {}
    for kind in (*KINDS, "all"):
        chosen = [s for s in samples if kind == "all" or s[0] == kind]
        statuses = Counter(s[1] for s in chosen)
        ms = [s[2] for s in chosen]
        kinds[kind] = {
            "requests": len(chosen), "ok": sum(n for c, n in statuses.items() if 200 <= c < 400),
            "conflicts": statuses[409],
            "errors": sum(n for c, n in statuses.items() if c == 0 or (c >= 400 and c != 409)),
            "statuses": {str(c): n for c, n in sorted(statuses.items())},
            "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99), "max_ms": max(ms, default=float("nan"))}
    total = kinds["all"]
    return {"seconds": seconds, "requests": total["requests"],
            "req_per_s": total["requests"] / seconds, "errors": total["errors"],
            "conflicts": total["conflicts"], "p95_ms": total["p95_ms"], "by_kind": kinds}


_PROBLEM_LINE = re.compile(r'" 5\d\d \d|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|database unavailable')


def server_problems(log: str) -> dict:
    """Tracebacks, error lines and worker timeouts in the gunicorn log, with examples."""
    lines = log.splitlines()
    return {"tracebacks": log.count("Traceback (most recent call last)"),
            "examples": [line for line in lines if _PROBLEM_LINE.search(line)][:20],
            "error_lines": sum(1 for line in lines
                               if "[ERROR]" in line or "[CRITICAL]" in line),
            "worker_timeouts": log.count("WORKER TIMEOUT"),
            "worker_boots": log.count("Booting worker")}


# ---------------------------------------------------------------- one run

def run(database: str = "sqlite", users: int | None = None, seconds: float | None = None,
        workers: int | None = None) -> dict:
    """A whole load run on a throw-away SQLite file or PostgreSQL database."""
    users = users or int(os.environ.get("BENCH_LOAD_USERS", "50"))
    seconds = seconds or float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
    with tempdir() as folder:
        if database == "postgresql":
            with pg_bench.ThrowawayDatabase() as url:
                return _run_on(url, folder, users, seconds, workers, "PostgreSQL")
        return _run_on(f"sqlite:///{folder}/load.db", folder, users, seconds, workers, "SQLite")


def _run_on(url: str, folder: str, users: int, seconds: float, workers: int | None,
            label: str) -> dict:
    with Gunicorn(url, folder, workers) as server:
        # The workers import the app meanwhile; they touch the database at the first request.
        simulated = prepare(url, users, instances=users)
        server.wait()
        wall = drive(simulated, server.port, seconds)
    samples = [s for u in simulated for s in u.samples]
    completed = [t for u in simulated for t in u.completed]
    result = {"database": label, "users": users, "planned_seconds": seconds,
              "workers": int(server.env.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1)),
              "threads": int(os.environ.get("GUNICORN_THREADS", "4")),
              **figures(samples, wall), "completions": len(completed),
              "completions_per_s": len(completed) / wall, "server_exit": server.exit_code,
              "server": server_problems(server.log_text()), **check(url, completed)}
    if result["server"]["tracebacks"]:
        result["log_tail"] = server.log_tail(80)
    result["ok"] = (result["errors"] == 0 and result["lost"] == 0 and result["doubled"] == 0
                    and result["told_twice"] == 0                    and result["untold"] == 0 and result["ended_short"] == 0
                    and result["chain_ok"] and result["server_exit"] == 0
                    and result["server"]["tracebacks"] == 0)
    return result


def report(result: dict) -> list[str]:
    """The printed lines of one run."""
    r = result
    lines = [f"load on {r['database']}: gunicorn {r['workers']} workers × {r['threads']} threads, "
             f"{r['users']} users × {r['planned_seconds']:.0f} s, closed loop without think time",
             f"requests {r['requests']} in {r['seconds']:.1f} s = {r['req_per_s']:.1f}/s; "
             f"completions {r['completions']}"
             f" = {r['completions_per_s']:.1f}/s; conflicts (409) {r['conflicts']}; "
             f"errors {r['errors']}; lost {r['lost']}",
             f"{'kind':<10}{'requests':>9}{'ok':>7}{'409':>6}{'errors':>7}"
             f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"]
    for kind, k in r["by_kind"].items():
        if k["requests"]:
            lines.append(f"{kind:<10}{k['requests']:>9}{k['ok']:>7}{k['conflicts']:>6}"
                         f"{k['errors']:>7}{k['p50_ms']:>9.0f}{k['p95_ms']:>9.0f}"
                         f"{k['p99_ms']:>9.0f}{k['max_ms']:>9.0f}")
    errors = {s: n for s, n in r["by_kind"]["all"]["statuses"].items()
              if int(s) == 0 or int(s) >= 400 and int(s) != 409}
    if errors:
        lines.append(f"error statuses: {errors}")
    lines += [f"check: {r['told_completed']} completions answered 200 = {r['rows_completed']} "
              f"tasks completed = {r['completion_events']} task_completed events; "
              f"lost {r['lost']}, doubled {r['doubled']}, done untold {r['untold']}",
              f"instances {r['instances']}, {r['instances_ended']} ended with all {STEPS} tasks "
              f"done ({r['ended_short']} short); audit chain "
              f"{'verifies' if r['chain_ok'] else 'BROKEN'} ({r['chain_events']} events)",
              f"server: exit {r['server_exit']}, {r['server']['worker_boots']} worker boots, "
              f"{r['server']['tracebacks']} tracebacks, {r['server']['error_lines']} error lines, "
              f"{r['server']['worker_timeouts']} worker timeouts"]
    if r["server"]["examples"]:
        lines += ["server log, problem lines:", *r["server"]["examples"]]
    if "log_tail" in r:
        lines += ["server log (end):", r["log_tail"]]
    return lines


def load_runs() -> Iterator[dict]:
    """SQLite, then PostgreSQL when a server answers; each run printed as it finishes."""
    for database in ("sqlite", "postgresql"):
        if database == "postgresql" and not pg_bench.available():
            print(f"     load on PostgreSQL: skipped, no server at {pg_bench.ADMIN_URL}")
            continue
        result = run(database)
        for line in report(result):
            print(f"     {line}", flush=True)
        yield result


if __name__ == "__main__":
    for _ in load_runs():
        pass
