"""Issue 20's rows H1–H10: the first page of each county page after five years of history
(bench/county_history.py) against the same page on the demo county, through the Flask test
client as the role that reads it. Each page: ≤ 50 ms and ≤ 2× its cost on the demo county.

BENCH_HISTORY_SCALE (default 0.01) is the generator's scale; its SQLite file stays in
/tmp/gongjian-history/ with a summary beside it, and a later run at the same scale reuses it
(HISTORY_REBUILD=1 generates it again). BENCH_HISTORY_URL measures a database generated
beforehand instead (PostgreSQL: `county_history.py 1 postgresql://…`); the demo county it is
compared with is then made in a throw-away database of the same server (…_demo).

    PYTHONPATH=. python bench/history_bench.py [SCALE]
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import func, select  # noqa: E402

from common import median_ms, tempdir  # noqa: E402
import county_history  # noqa: E402
from county_history import T_END  # noqa: E402
from engine.core.clock import FrozenClock  # noqa: E402
from engine.county.issue_ledger import IssueLedgerRow  # noqa: E402
from engine.ops import demo  # noqa: E402
from engine.ops.platform import Platform  # noqa: E402

TARGET_MS, TARGET_RATIO = 50, 2

# row, page, who reads it; {project} and {instance} are filled per county
PAGES = [
    ("H1", "inbox (待办)", "/tasks/", "supervisor1"),
    ("H2", "督办台 (supervision desk)", "/supervision/", "supervisor1"),
    ("H3", "问题台账 with clearance rates", "/supervision/ledger", "supervisor1"),
    ("H4", "挂图作战 (command board)", "/board/", "county_head"),
    ("H5", "project sheet", "/board/project/{project}", "county_head"),
    ("H6", "查账: a project's trail", "/audit/projects/{project}", "county_head"),
    ("H7", "查账: an instance's trail", "/audit/instances/{instance}", "county_head"),
    ("H8", "monthly bulletin (月度通报)", "/board/bulletin", "county_head"),
    ("H9", "statistics (统计)", "/statistics/", "county_head"),
    ("H10", "search (搜索)", "/search/?q={query}", "county_head"),
]


def history_county(scale: float, log=print) -> tuple[str, dict]:
    """The generated county's URL and summary, generated once per scale (SQLite), or the
    database BENCH_HISTORY_URL names (generated beforehand: county_history.py SCALE URL)."""
    given = os.environ.get("BENCH_HISTORY_URL")
    if given:
        platform = Platform(given, FrozenClock(T_END))
        summary = {"scale": scale, "url": given, **county_history._counts(platform)}
        platform.close()
        return given, summary
    url = county_history.default_url(scale)
    marker = Path(url.removeprefix("sqlite:///") + ".json")
    if marker.exists() and not os.environ.get("HISTORY_REBUILD"):
        return url, json.loads(marker.read_text())
    summary = county_history.build(scale, url, log=log)
    marker.write_text(json.dumps(summary, ensure_ascii=False))
    return url, summary


def demo_county(folder: str) -> str:
    """The demo county (engine/ops/demo.py) in `folder`, at the history's "now" (on the
    server of BENCH_HISTORY_URL when it is PostgreSQL: a fresh `<its database>_demo`)."""
    url = f"sqlite:///{folder}/demo.db"
    given = os.environ.get("BENCH_HISTORY_URL", "")
    if given.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        base, name = given.rsplit("/", 1)
        url = f"{base}/{name}_demo"
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}_demo"'))
            connection.execute(text(f'CREATE DATABASE "{name}_demo"'))
        admin.dispose()
    platform = Platform(url, FrozenClock(T_END))
    platform.upgrade()
    county_history._quiet(demo.load_demo, platform)
    platform.close()
    return url


def _subjects(url: str) -> dict[str, str]:
    """The project with the most issues, its latest finished issue, a word of its title."""
    platform = Platform(url, FrozenClock(T_END))
    with platform.uow() as uow:
        s = uow.session
        project = s.execute(select(IssueLedgerRow.project_code).group_by(
            IssueLedgerRow.project_code).order_by(func.count().desc(),
                                                  IssueLedgerRow.project_code)).scalars().first()
        instance = s.execute(select(IssueLedgerRow.instance_id).where(
            IssueLedgerRow.project_code == project).order_by(
            IssueLedgerRow.instance_id.desc())).scalars().first()
        title = s.get(IssueLedgerRow, instance).title
    platform.close()
    return {"project": project, "instance": str(instance), "query": title[-6:-1] or title}


class Browser:
    """The test client of one county's app, logged in as one user at a time."""

    def __init__(self, url: str):
        from webapp import create_app
        self.app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                               "CLOCK": FrozenClock(T_END)})
        self.clients: dict = {}

    def client(self, username: str):
        if username not in self.clients:
            client = self.app.test_client()
            page = client.get("/auth/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
            answer = client.post("/auth/login", data={
                "username": username, "password": demo.DEMO_PASSWORD, "csrf_token": token})
            assert answer.status_code == 302, (username, answer.status_code)
            self.clients[username] = client
        return self.clients[username]

    def time(self, path: str, username: str, rounds: int) -> tuple[float, int]:
        client = self.client(username)

        def get():
            answer = client.get(path)
            assert answer.status_code == 200, (path, username, answer.status_code)
            return answer

        size = len(get().data)  # warm: templates compiled, caches filled
        return median_ms(get, rounds), size

    def close(self):
        self.app.extensions["gongjian"].close()


def pages(rounds: int, scale: float | None = None, log=print) -> dict:
    """Each page's median on the demo county and on the county after five years."""
    scale = scale if scale is not None else float(os.environ.get("BENCH_HISTORY_SCALE", "0.01"))
    url, summary = history_county(scale, log=log)
    result = {"scale": scale, "county": summary, "pages": {}}
    with tempdir() as folder:
        small_url = demo_county(folder)
        counties = {"small": (small_url, _subjects(small_url)), "big": (url, _subjects(url))}
        result["subjects"] = {k: v[1] for k, v in counties.items()}
        browsers = {k: Browser(v[0]) for k, v in counties.items()}
        for no, name, path, username in PAGES:
            figures = {}
            for label, (_url, subjects) in counties.items():
                figures[f"{label}_ms"], figures[f"{label}_bytes"] = browsers[label].time(
                    path.format(**subjects), username, rounds)
            figures["ratio"] = figures["big_ms"] / figures["small_ms"]
            figures["ok"] = figures["big_ms"] <= TARGET_MS and figures["ratio"] <= TARGET_RATIO
            result["pages"][no] = {"name": name, "path": path, "user": username, **figures}
        for browser in browsers.values():
            browser.close()
    return result


def size_label(summary: dict) -> str:
    return (f"{summary['finished']:,} finished, {summary['open_tasks']:,} open tasks, "
            f"{summary['events']:,} events")


if __name__ == "__main__":
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else None
    rounds = int(os.environ.get("BENCH_ROUNDS", "20"))
    out = pages(rounds, scale)
    print(f"county at scale {out['scale']:g}: {size_label(out['county'])}")
    for no, page in out["pages"].items():
        print(f"  {no:<4}{page['name']:<34}{page['big_ms']:8.1f} vs {page['small_ms']:6.1f} ms"
              f" = {page['ratio']:4.1f}×   ≤ {TARGET_MS} ms and ≤ {TARGET_RATIO}×   "
              f"{'pass' if page['ok'] else 'FAIL'}")


# ---------------------------------------------------------------- the audit chain at that size

def _day_checkpoint(url: str, folder: Path) -> tuple[int, int, Path]:
    """A signed checkpoint at the last event before the history's last day, as the worker
    would have signed it then (kept in audit_checkpoint); (its seq, the day's events, key)."""
    from datetime import timedelta

    from engine.core.audit_keys import generate_key, load_signing_key
    from engine.core.checkpoints import AuditCheckpoint, sign
    from engine.core.models import AuditEvent, AuditHead

    key_path = folder / "audit_key.pem"
    if not key_path.exists():
        generate_key(key_path)
    key = load_signing_key(key_path)
    platform = Platform(url, FrozenClock(T_END))
    with platform.uow() as uow:
        s = uow.session
        seq, digest, at = s.execute(select(AuditEvent.seq, AuditEvent.hash, AuditEvent.at).where(
            AuditEvent.at < T_END - timedelta(days=1)).order_by(AuditEvent.seq.desc())
            .limit(1)).one()
        head = s.execute(select(AuditHead.seq)).scalar()
        if not s.execute(select(AuditCheckpoint.id).where(AuditCheckpoint.seq == seq)).first():
            signed = sign(key, seq, digest, at)
            s.add(AuditCheckpoint(seq=signed.seq, hash=signed.hash, at=signed.at,
                                  key_id=signed.key_id, signature=signed.signature))
            s.commit()
    platform.close()
    return seq, head - seq, key_path


def audit_rows(url: str, full: bool = True) -> dict:
    """`gongjian audit verify --since-checkpoint` over the last day's events (the CLI, timed
    as a process, and verify_audit alone), and a full verify's events per second."""
    import subprocess
    import time

    from engine.core.audit import verify_audit
    from engine.core.checkpoints import AuditCheckpoint

    folder = Path(county_history.FOLDER)
    seq, day_events, key_path = _day_checkpoint(url, folder)
    result = {"day_events": day_events, "checkpoint_seq": seq}
    platform = Platform(url, FrozenClock(T_END))
    with platform.uow() as uow:
        cp = uow.session.execute(select(AuditCheckpoint).where(AuditCheckpoint.seq == seq)).scalar_one()
        after = (cp.seq, cp.hash)
        t0 = time.perf_counter()
        report = verify_audit(uow.session, after=after)
        result["day_verify_s"] = time.perf_counter() - t0
        assert report.ok and report.events == day_events, report.problems[:3]
    env = {**os.environ, "DATABASE_URL": url, "GONGJIAN_AUDIT_KEY": str(key_path),
           "PYTHONPATH": str(Path(__file__).parent.parent)}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "engine.ops.cli", "audit", "verify",
                           "--since-checkpoint"], env=env, capture_output=True, text=True)
    result["day_cli_s"] = time.perf_counter() - t0
    result["day_cli_output"] = done.stdout.strip().splitlines()[:2]
    assert done.returncode == 0, done.stdout + done.stderr
    if full:
        with platform.uow() as uow:
            t0 = time.perf_counter()
            report = verify_audit(uow.session)
            result["full_verify_s"] = time.perf_counter() - t0
            result["full_events"] = report.events
            result["full_ok"] = report.ok
        result["events_per_s"] = result["full_events"] / result["full_verify_s"]
    platform.close()
    return result
