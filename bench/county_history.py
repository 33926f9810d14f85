"""A county after five years (issue 20): the demo county plus five years of history, in bulk.

    PYTHONPATH=. python bench/county_history.py [SCALE] [DATABASE_URL]

SCALE (argument or env SCALE, default 0.01) multiplies every count; at 1 the county holds
5,000 projects (the demo's 12 and 4,988 more), 500,000 finished and 20,000 running instances,
200,000 issues, 5,000,000 audit events and 100,000 notifications, spread over the five years
before `T_END`. The database is SQLite in /tmp/gongjian-history/ unless a URL is given (an
empty PostgreSQL database: the generator migrates it).

How the rows are made: the demo county is loaded through the real services (engine/ops/demo.py)
and a few more instances are driven through them to their end (an issue rectified, reminded
and cleared; an instruction closed; a monthly progress report filed; a permit request with
all five items). Every generated instance is a copy of one of these templates — its state
(fresh task ids where it still runs), its human-task rows and candidates, timers, ledger or
desk row, reminders, notifications and audit events — with a fresh id, its own project,
business key, title and times. The copies are written with bulk INSERTs (Core executemany,
in batches). The audit events of the whole history are merged into one time order and
chained exactly as engine/core/audit.py chains them, so `gongjian audit verify` passes.

What it does not copy: escalations up the ladder, listings (挂牌), meeting decisions and
awards beyond the demo's own, the read marks of notifications.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event, func, insert, select, update

from engine.bpm import inbox, runtime, task_actions
from engine.bpm.statistics_days import rebuild_day_tallies
from engine.core.audit import canonical_json, event_hash
from engine.core.clock import FrozenClock
from engine.core.text_index import rebuild_text_index
from engine.core.models import (
    AuditEvent, AuditHead, HumanTask, NO_DUE, ProcessInstance, TaskCandidate, TimerJob,
)
from engine.core.notifications import Notification
from engine.core.identity import SYSTEM, Actor
from engine.core.organisation import actor_for
from engine.county.desk_lines import rebuild_desk_lines
from engine.county.issue_ledger import InstructionDeskRow, IssueLedgerRow, rebuild_clearance
from engine.county.audit_trails import ProjectInstance, started_project
from engine.county import field_months
from engine.county.plates import ProjectPlate
from engine.county.projects import Project, ProgressReport, ScheduleMonth, start_data
from engine.county.supervision import Reminder, remind_instance
from engine.ops import demo
from engine.ops.platform import Platform

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_ids  # noqa: E402

T_END = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)  # "now" of the generated county
YEARS = 5
MONTHS = 12 * YEARS
FULL = {"projects": 5_000, "finished": 500_000, "running": 20_000, "issues": 200_000,
        "events": 5_000_000, "notifications": 100_000}
FOLDER = Path(os.environ.get("HISTORY_DIR", "/tmp/gongjian-history"))
BATCH = 20_000  # rows per executemany
T_START = T_END - timedelta(days=365 * YEARS)


def default_url(scale: float) -> str:
    """The SQLite file of a scale in /tmp (never in the repository)."""
    return f"sqlite:///{FOLDER}/county-{scale:g}.db"


# ---------------------------------------------------------------- templates, through the services

@dataclass
class Template:
    """One real instance and every row it left, to be copied."""

    kind: str  # issue, instruction, progress, permit
    instance: dict
    tasks: list[dict]
    candidates: list[dict]
    timers: list[dict]
    events: list[dict]  # in sequence order
    notifications: list[dict]
    reminders: list[dict]
    ledger: dict | None = None
    desk: dict | None = None
    project_code: str | None = None
    strings: dict[str, str] = field(default_factory=dict)  # what to replace in text: role → value


def _actor(platform, username):
    with platform.uow() as uow:
        return actor_for(uow.session, username)


def _start(platform, key, username, business_key, data):
    actor = Actor.of(SYSTEM) if username == SYSTEM else _actor(platform, username)
    with platform.uow() as uow:
        return runtime.start_instance(uow, key, actor,
                                      business_key=business_key, data=data).id


def _complete(platform, instance_id, element_id, username, data):
    actor = _actor(platform, username)
    with platform.uow() as uow:
        task = next(t for t in inbox.list_tasks(uow, actor, limit=1000)
                    if t.instance_id == instance_id and t.element_id == element_id)
    with platform.uow() as uow:
        task_actions.complete(uow, task.id, actor, data)


def _head_seq(platform) -> int:
    with platform.uow() as uow:
        return uow.session.execute(select(AuditHead.seq)).scalar() or 0


def _project(platform, code):
    with platform.uow() as uow:
        return start_data(uow.session.get(Project, code))


def _drive_templates(platform) -> dict[int, tuple[int, int]]:
    """Drive the instances the demo leaves running to no end: {instance id: (first, last seq)}."""
    ranges = {}

    def tracked(fn):
        first = _head_seq(platform) + 1
        instance_id = fn()
        ranges[instance_id] = (first, _head_seq(platform))

    def issue():
        data = _project(platform, "XM-2026-006") | {
            "title": "康养度假区施工便道占用耕地问题", "scope": "unit", "severity": "normal",
            "responsible_unit": "t_magedang"}
        i = _start(platform, "issue_lifecycle", "supervisor1", "ISSUE-TPL", data)
        _complete(platform, i, "commit_plan", "head_magedang",
                  {"plan": "恢复耕地并补办临时用地手续", "promised_date": "2027-01-15"})
        with platform.uow() as uow:
            remind_instance(uow, i, "supervisor1", "请按承诺时限报告整改结果")
        _complete(platform, i, "report_resolution", "head_magedang",
                  {"resolution": "已恢复耕地，临时用地手续已办结", "evidence": "现场照片、批复文件"})
        _complete(platform, i, "verify_issue", "supervisor1",
                  {"verify_decision": "cleared", "verify_opinion": "经现场核验，整改到位，同意销号"})
        return i

    def instruction():
        i = _start(platform, "instruction_13710", "supervisor1", "13710-TPL", {
            "title": "县长批示：加快新材料项目配套道路建设", "source": "county_head",
            "instruction": "加快新材料项目配套道路建设", "complexity": "ordinary",
            "responsible_unit": "zj"})
        _complete(platform, i, "assign_instruction", "supervisor1", {"assign_note": "按13710时限办理"})
        _complete(platform, i, "report_progress", "head_zj", {"progress": "已完成路基施工"})
        _complete(platform, i, "report_result", "head_zj",
                  {"result_kind": "result", "report": "配套道路已建成通车"})
        _complete(platform, i, "review_report", "supervisor1", {
            "review_decision": "close", "rating": "good", "review_opinion": "办理及时，同意办结"})
        return i

    def progress(done):
        def run():
            code = "XM-2026-001" if done else "XM-2026-008"
            i = _start(platform, "progress_report", SYSTEM, f"PROGRESS-{code}-2026-11",
                       _project(platform, code) | {"month": "2026-11"})
            if done:
                _complete(platform, i, "report_progress", "unit_materials", {
                    "actual_investment": 3600, "milestone_done": True,
                    "progress_text": "主体结构施工完成，设备基础开挖"})
            return i
        return run

    def permit():
        i = _start(platform, "permit_approval", "office_window", "PERMIT-XM-2026-001",
                   _project(platform, "XM-2026-001"))
        _complete(platform, i, "receive_request", "office_window", {
            "need_planning": True, "need_land": True, "need_energy": True,
            "need_environment": True, "need_construction": True, "receive_note": "要件齐全"})
        return i

    for fn in (issue, instruction, progress(True), progress(False), permit):
        tracked(fn)
    return ranges


def _rows(session, model, *where, order=None):
    table = model.__table__
    query = select(table).where(*where)
    if order is not None:
        query = query.order_by(order)
    return [dict(row._mapping) for row in session.execute(query)]


KIND_OF = {"issue_lifecycle": "issue", "instruction_13710": "instruction",
           "progress_report": "progress", "permit_approval": "permit"}


def _read_templates(platform, ranges) -> tuple[list[Template], list[Template]]:
    """(finished, running) templates: every template instance with the rows it left."""
    finished, running = [], []
    with platform.uow() as uow:
        s = uow.session
        instances = _rows(s, ProcessInstance, ProcessInstance.process_key.in_(KIND_OF),
                          order=ProcessInstance.id)
        for inst in instances:
            iid = inst["id"]
            tasks = _rows(s, HumanTask, HumanTask.instance_id == iid, order=HumanTask.created_at)
            task_ids = [t["id"] for t in tasks]
            candidates = _rows(s, TaskCandidate, TaskCandidate.task_id.in_(task_ids))
            if iid in ranges:
                first, last = ranges[iid]
                events = _rows(s, AuditEvent, AuditEvent.seq.between(first, last),
                               order=AuditEvent.seq)
            else:
                events = _rows(s, AuditEvent, (AuditEvent.instance_id == iid)
                               | (AuditEvent.subject == f"instance:{iid}")
                               | AuditEvent.task_id.in_(task_ids), order=AuditEvent.seq)
            template = Template(
                kind=KIND_OF[inst["process_key"]], instance=inst, tasks=tasks,
                candidates=candidates, timers=_rows(s, TimerJob, TimerJob.instance_id == iid),
                events=events,
                notifications=_rows(s, Notification, Notification.instance_id == iid),
                reminders=_rows(s, Reminder, Reminder.instance_id == iid),
                ledger=(_rows(s, IssueLedgerRow, IssueLedgerRow.instance_id == iid) or [None])[0],
                desk=(_rows(s, InstructionDeskRow, InstructionDeskRow.instance_id == iid)
                      or [None])[0])
            code = (template.ledger or {}).get("project_code")
            if code is None and inst["business_key"]:
                code = next((c for c, *_ in demo.PROJECTS if c in inst["business_key"]), None)
            template.project_code = code
            (finished if inst["status"] == "completed" else running).append(template)
    return finished, running


# ---------------------------------------------------------------- the copies

TITLES = ["施工现场扬尘防护不到位", "进场道路征地补偿未落实", "灌溉渠线走向争议", "电网接入需协调",
          "临时用地手续未办结", "环评批复条件未落实", "拖欠农民工工资投诉", "施工许可要件不全",
          "安全防护设施缺失", "配套管网建设滞后", "林地占用审批滞后", "土方外运影响交通"]
UNITS = [c for c, _ in demo.DEPARTMENTS] + [c for c, _ in demo.TOWNSHIPS]
STAGES = ["construction"] * 5 + ["prework"] * 2 + ["production", "completion", "planning"]


class Sink:
    """Buffers rows per table and writes them with executemany in batches."""

    def __init__(self, engine):
        self.engine = engine
        self.buffers: dict = {}
        self.counts: dict[str, int] = {}

    def add(self, table, row: dict) -> None:
        rows = self.buffers.setdefault(table, [])
        rows.append(row)
        if len(rows) >= BATCH:  # every table, parents first (the order they were first added)
            self.flush()

    def flush(self, table=None) -> None:
        tables = [table] if table is not None else list(self.buffers)
        with self.engine.begin() as connection:
            for t in tables:
                rows = self.buffers.get(t)
                if rows:
                    connection.execute(insert(t), rows)
                    self.counts[t.name] = self.counts.get(t.name, 0) + len(rows)
                    self.buffers[t] = []


def _replace(value, pairs):
    if isinstance(value, str):
        for old, new in pairs:
            if old:
                value = value.replace(old, new)
    return value


def _replace_bytes(value: bytes, pairs) -> bytes:
    for old, new in pairs:
        if old:
            value = value.replace(old.encode(), new.encode())
    return value


class History:
    """Writes the copies; the audit events go through a heap so the chain runs in time order."""

    def __init__(self, platform, scale: float, rng: random.Random):
        self.platform, self.scale, self.rng = platform, scale, rng
        self.sink = Sink(platform.db)
        with platform.uow() as uow:
            s = uow.session
            self.next_instance = (s.execute(select(func.max(ProcessInstance.id))).scalar() or 0) + 1
            self.seq, self.prev = s.execute(select(AuditHead.seq, AuditHead.hash)).one()
            self.next_reminder = (s.execute(select(func.max(Reminder.id))).scalar() or 0) + 1
            self.next_notification = (s.execute(select(func.max(Notification.id))).scalar()
                                      or 0) + 1
            self.demo_projects = {p.code: start_data(p) for p in s.execute(select(Project)).scalars()}
        self.heap: list = []
        self.counter = 0
        self.events_written = 0

    # -- events
    def push(self, at: datetime, row: dict) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (at, self.counter, row))

    def drain(self, until: datetime | None) -> None:
        """Chain and write every buffered event up to `until` (all when None)."""
        heap, table = self.heap, AuditEvent.__table__
        while heap and (until is None or heap[0][0] <= until):
            at, _n, row = heapq.heappop(heap)
            self.seq += 1
            digest = event_hash(self.prev, self.seq, at, row["actor"], row["action"],
                                row["subject"], row["instance_id"], row["task_id"], row["detail"])
            row.update(id=self.seq, seq=self.seq, at=at, prev_hash=self.prev, hash=digest)
            self.prev = digest
            self.sink.add(table, row)
            self.events_written += 1

    def finish(self) -> None:
        self.drain(None)
        self.sink.flush()
        with self.platform.db.begin() as connection:
            connection.execute(update(AuditHead.__table__).where(AuditHead.id == 1)
                               .values(seq=self.seq, hash=self.prev))

    # -- one instance
    def copy(self, template: Template, start: datetime, end: datetime, project: dict,
             number: int, running: bool, extra_reminders: int, notify: bool,
             month: str | None = None) -> None:
        rng, sink = self.rng, self.sink
        iid = self.next_instance
        self.next_instance += 1
        inst = template.instance
        old_code = template.project_code
        old_project = self.demo_projects.get(old_code, {}) if old_code else {}
        title = f"{project['project_name'][:20]}{TITLES[number % len(TITLES)]}（{number}）"
        if template.kind == "progress":
            key = f"PROGRESS-{project['project_code']}-{month}"
        elif template.kind == "permit":
            key = f"PERMIT-{project['project_code']}"
        elif template.kind == "issue":
            key = f"ISSUE-H{number}"
        else:
            key = f"13710-H{number}"
        old_title = (template.ledger or template.desk or {}).get("title")
        pairs = [(inst["business_key"], key)]
        if old_title:
            pairs.append((old_title, title))
        if old_code:
            pairs += [(old_project.get("project_name"), project["project_name"]),
                      (old_code, project["project_code"])]
        state = inst["state"]
        id_map: dict[str, str] = {}
        if running:  # fresh SpiffWorkflow task ids: the open tasks and timers point into it
            state, mapping = _fresh_ids(state)
            id_map = {k.decode(): v.decode() for k, v in mapping.items()}
        state = _replace_bytes(state, pairs)
        # times: the template's events spread evenly from start to end
        events = template.events
        count = max(1, len(events) - 1)
        span = end - start
        times = [start + span * (k / count) for k in range(len(events))]
        task_times: dict[str, list] = {}
        for event, at in zip(events, times):
            if event["task_id"]:
                task_times.setdefault(event["task_id"], []).append(at)
        task_map = {t["id"]: str(uuid.uuid4()) for t in template.tasks}
        id_map.update(task_map)
        pairs_ids = pairs + list(task_map.items()) + [(f"instance:{inst['id']}", f"instance:{iid}")]
        sink.add(ProcessInstance.__table__, {
            **inst, "id": iid, "business_key": key, "state": state, "started_at": start,
            "ended_at": None if running else end})
        t0 = template.tasks[0]["created_at"] if template.tasks else None
        for task in template.tasks:
            seen = task_times.get(task["id"], [])
            created = seen[0] if seen else start
            ended = (seen[-1] if len(seen) > 1 else end) if task["ended_at"] else None
            due = task["due_at"] and created + (task["due_at"] - task["created_at"])
            sink.add(HumanTask.__table__, {
                **task, "id": task_map[task["id"]],
                "spiff_task_id": id_map.get(task["spiff_task_id"], task["spiff_task_id"]),
                "instance_id": iid, "business_key": key, "name": _replace(task["name"], pairs),
                "created_at": created, "due_at": due, "ended_at": ended,
                "due_basis_at": task["due_basis_at"] and created})
        for cand in template.candidates:
            task = next(t for t in template.tasks if t["id"] == cand["task_id"])
            created = (task_times.get(task["id"]) or [start])[0]
            due = task["due_at"] and created + (task["due_at"] - task["created_at"])
            sink.add(TaskCandidate.__table__, {
                **cand, "task_id": task_map[cand["task_id"]],
                "name": _replace(cand["name"], pairs), "created_at": created,
                "due_sort": due or NO_DUE})
        for timer in template.timers:
            shift = start - (inst["started_at"])
            sink.add(TimerJob.__table__, {**timer, "id": id_map.get(timer["id"], timer["id"]),
                                          "instance_id": iid, "due_at": timer["due_at"] + shift,
                                          "next_run_at": timer["next_run_at"] + shift})
        for event, at in zip(events, times):
            row = {"actor": event["actor"], "action": event["action"],
                   "subject": _replace(event["subject"], pairs_ids),
                   "instance_id": iid if event["instance_id"] == inst["id"] else event["instance_id"],
                   "task_id": task_map.get(event["task_id"], event["task_id"]),
                   "detail": _replace(event["detail"], pairs_ids)}
            self.push(at, row)
            if row["action"] == "instance_started" and row["instance_id"] == iid:
                code = started_project(row["detail"])  # as the audit subscriber keeps it
                if code is not None:
                    sink.add(ProjectInstance.__table__, {"project_code": code, "instance_id": iid})
        reminded = [e for e in events if e["action"] == "reminded"]
        for template_reminder in template.reminders:
            self._reminder(template_reminder, iid, key, start + span / 2)
        if reminded and extra_reminders:
            for n in range(extra_reminders):
                at = start + span * rng.uniform(0.05, 0.95)
                self._reminder(template.reminders[0], iid, key, at, automatic=True)
                event = reminded[0]
                self.push(at, {"actor": "timer", "action": "reminded",
                               "subject": f"instance:{iid}", "instance_id": iid,
                               "task_id": None,
                               "detail": _replace(event["detail"], pairs_ids)})
        if notify:
            for note in template.notifications:
                self.next_notification += 1
                sink.add(Notification.__table__, {
                    **note, "id": self.next_notification, "instance_id": iid,
                    "task_id": task_map.get(note["task_id"], note["task_id"]),
                    "title": _replace(note["title"], pairs),
                    "created_at": (task_times.get(note["task_id"]) or [start])[0]})
        if template.ledger:
            opened = start
            due = start + timedelta(days=rng.randrange(7, 30))
            ledger = template.ledger
            sink.add(IssueLedgerRow.__table__, {
                **ledger, "instance_id": iid, "business_key": key, "title": title,
                "project_code": project["project_code"], "project_name": project["project_name"],
                "sub_command": project["sub_command"], "township": project["township"],
                "responsible_unit": UNITS[number % len(UNITS)] if template.kind == "issue"
                else ledger["responsible_unit"],
                "opened_at": opened, "due_at": ledger["due_at"] and due,
                "escalate_at": ledger["escalate_at"] and due + timedelta(days=3),
                "cleared_at": end if ledger["cleared_at"] else None,
                "updated_at": times[-1]})
        if template.desk:
            desk = template.desk
            shift = start - desk["registered_at"]
            moved = {k: (v + shift if isinstance(v, datetime) and k.endswith("_at") else v)
                     for k, v in desk.items()}
            sink.add(InstructionDeskRow.__table__, {
                **moved, "instance_id": iid, "business_key": key, "title": title,
                "responsible_unit": UNITS[number % len(UNITS)],
                "closed_at": end if desk["closed_at"] else None, "updated_at": times[-1]})

    def _reminder(self, template: dict, iid: int, key: str, at: datetime,
                  automatic: bool | None = None) -> None:
        self.next_reminder += 1
        self.sink.add(Reminder.__table__, {
            **template, "id": self.next_reminder, "subject_id": str(iid), "instance_id": iid,
            "business_key": key, "at": at,
            "automatic": template["automatic"] if automatic is None else automatic,
            "by": "timer" if automatic else template["by"]})


def _fresh_ids(state: bytes):
    return fresh_ids(state)


def _month_start(n: int) -> datetime:
    """The first day of the n-th month of the history (0: sixty months before T_END's)."""
    year, month = T_END.year, T_END.month - 1 - MONTHS + n
    while month <= 0:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, 1, 0, tzinfo=timezone.utc)


def _projects(history: History, count: int, rng: random.Random) -> list[dict]:
    """`count` projects beyond the demo's, as rows; their start data back."""
    made = []
    demo_rows = demo.PROJECTS
    for n in range(count):
        code, name, field_, _stage, township, dept, unit, specialist, level, funding, amount = \
            demo_rows[n % len(demo_rows)]
        year = 2022 + n % 5
        row = {"code": f"XM-{year}-H{n:04d}", "name": f"{name}（{n // len(demo_rows) + 2}期）",
               "sub_command": demo.SUB_COMMANDS[n % len(demo.SUB_COMMANDS)][0],
               "stage": STAGES[n % len(STAGES)],
               "township": demo.TOWNSHIPS[n % len(demo.TOWNSHIPS)][0], "lead_department": dept,
               "project_unit": unit, "specialist": specialist, "key_level": level,
               "funding": funding, "planned_investment": amount // 2 + rng.randrange(amount),
               "reserve_class": None, "reserve_track": None, "row_version": 1}
        history.sink.add(Project.__table__, row)
        made.append({"project_code": row["code"], "project_name": row["name"],
                     "sub_command": row["sub_command"], "township": row["township"],
                     "lead_department": dept, "project_unit": unit, "funding": funding,
                     "planned_investment": row["planned_investment"]})
    history.sink.flush()
    return made


def build(scale: float = 0.01, url: str | None = None, *, seed: int = 20,
          log=print) -> dict:
    """Generate the county at `scale` into `url` (a fresh SQLite file by default); the summary."""
    url = url or default_url(scale)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed)
    started = time.perf_counter()
    platform = Platform(url, FrozenClock(T_START - timedelta(days=40)))
    platform.upgrade()
    if platform.db.dialect.name == "sqlite":  # a throw-away file: no fsync while it is built
        @event.listens_for(platform.db, "connect")
        def _fast(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA synchronous=OFF")
        platform.db.dispose()
    _quiet(demo.load_demo, platform)
    ranges = _drive_templates(platform)
    finished, running = _read_templates(platform, ranges)
    templates_s = time.perf_counter() - started
    log(f"templates: {len(finished)} finished, {len(running)} running ({templates_s:.1f} s)")

    history = History(platform, scale, rng)
    n = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    projects = _projects(history, max(1, n["projects"] - len(demo.PROJECTS)), rng)
    by_kind = {kind: [t for t in finished if t.kind == kind] for kind in KIND_OF.values()}
    run_kind = {kind: [t for t in running if t.kind == kind] for kind in KIND_OF.values()}
    # the plan: (start, kind, …) for every instance and month's plates, sorted by start
    plan = []
    months = [_month_start(m) for m in range(MONTHS)]
    progress_finished = 0
    for m, month_start in enumerate(months):
        label = f"{month_start.year}-{month_start.month:02d}"
        for p, project in enumerate(projects):
            start = month_start + timedelta(days=24, minutes=p % 600)
            plan.append((start, "progress", p, label))
            progress_finished += 1
        plan.append((month_start + timedelta(days=31), "plates", m, label))
    running_issues = max(1, round(n["running"] * 0.25))
    finished_issues = max(1, n["issues"] - running_issues)
    finished_instructions = max(1, n["finished"] - progress_finished - finished_issues)
    window = (T_END - T_START).total_seconds()
    for i in range(finished_issues):
        plan.append((T_START + timedelta(seconds=rng.uniform(0, window - 60 * 86400)),
                     "issue", i, None))
    for i in range(finished_instructions):
        plan.append((T_START + timedelta(seconds=rng.uniform(0, window - 40 * 86400)),
                     "instruction", i, None))
    running_mix = (["permit"] * 50 + ["issue"] * 25 + ["instruction"] * 10 + ["progress"] * 15)
    for i in range(n["running"]):
        kind = running_mix[i % len(running_mix)]
        # most running work is recent: started within the last three weeks, more of it lately
        age = 3600 + 21 * 86400 * rng.random() ** 2
        plan.append((T_END - timedelta(seconds=age), "run:" + kind, i, "2026-11"))
    plan.sort(key=lambda item: item[0])
    # extra (timer) reminders on finished issues: what brings the audit log to its size
    running_events = sum(len(run_kind[kind][i % len(run_kind[kind])].events)
                         for i, kind in enumerate(running_mix[i % len(running_mix)]
                                                  for i in range(n["running"])))
    natural = (len(by_kind["progress"][0].events) * progress_finished
               + len(by_kind["issue"][0].events) * finished_issues
               + len(by_kind["instruction"][0].events) * finished_instructions
               + len(projects) * MONTHS + running_events)
    deficit = max(0, n["events"] - natural)
    per_issue, spare = divmod(deficit, finished_issues)
    notify_from = len(plan) - n["notifications"] // 3  # the newest instances keep their notes
    log(f"plan: {len(plan):,} instances and plate months; {deficit:,} extra reminder events")
    plate_template = _plate_template(platform)
    counters = {"issue": 0, "instruction": 0, "run": 0}
    for index, (start, kind, i, label) in enumerate(plan):
        history.drain(start)
        notify = index >= notify_from
        if kind == "progress":
            template = by_kind["progress"][0]
            end = start + timedelta(days=rng.uniform(0.2, 5))
            history.copy(template, start, end, projects[i], index, False, 0, notify, label)
            _progress_rows(history, projects[i], label, end, rng)
        elif kind == "plates":
            _plates(history, projects, label, start, plate_template, rng)
        elif kind == "issue":
            end = start + timedelta(days=rng.uniform(5, 55))
            extra = per_issue + (1 if counters["issue"] < spare else 0)
            counters["issue"] += 1
            history.copy(by_kind["issue"][0], start, end, projects[rng.randrange(len(projects))],
                         index, False, extra, notify)
        elif kind == "instruction":
            end = start + timedelta(days=rng.uniform(3, 35))
            history.copy(by_kind["instruction"][0], start, end,
                         projects[rng.randrange(len(projects))], index, False, 0, notify)
        else:
            kind = kind.removeprefix("run:")
            pool = run_kind[kind]
            template = pool[i % len(pool)]
            end = start + (T_END - start) * rng.uniform(0.3, 0.9)
            history.copy(template, start, end, projects[rng.randrange(len(projects))], index,
                         True, 0, True, label)
        if index % 50_000 == 0 and index:
            log(f"  {index:,}/{len(plan):,} ({time.perf_counter() - started:.0f} s, "
                f"{history.events_written:,} events)")
    history.finish()
    with platform.uow() as uow:  # the ledger's tally, 统计's tallies, the desk's lines, 搜索's index
        rebuild_clearance(uow.session)  # and the fields' months (挂图作战, the bulletin)
        rebuild_day_tallies(uow.session)
        rebuild_desk_lines(uow.session)
        rebuild_text_index(uow.session)
        field_months.rebuild(uow.session)
        uow.session.commit()
    total_s = time.perf_counter() - started
    counts = _counts(platform)
    platform.close()
    summary = {"scale": scale, "url": url, "seconds": round(total_s, 1),
               "templates_seconds": round(templates_s, 1), **counts}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///") + ".json").write_text(json.dumps(summary))
    log(json.dumps(summary, ensure_ascii=False))
    return summary


def _quiet(fn, *args):
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _plate_template(platform) -> tuple[dict, dict]:
    with platform.uow() as uow:
        s = uow.session
        plate = _rows(s, ProjectPlate, ProjectPlate.project_code == "XM-2026-002")[-1]
        event = _rows(s, AuditEvent, AuditEvent.action == "plate_evaluated",
                      AuditEvent.subject == "project:XM-2026-002", order=AuditEvent.seq)[-1]
    return plate, event


BEHIND = ["yellow"] * 3 + ["red", "under_reminder"]  # a plate when behind schedule


def _progress_rows(history: History, project: dict, month: str, at: datetime, rng) -> None:
    planned = max(10, project["planned_investment"] // 24)
    actual = round(planned * rng.uniform(0.7, 1.3))
    to_date = project.setdefault("to_date", [0, 0])  # what the month's plate is judged on
    to_date[0] += planned
    to_date[1] += actual
    history.sink.add(ScheduleMonth.__table__, {
        "project_code": project["project_code"], "month": month, "planned_investment": planned,
        "milestone": f"{month[5:]}月形象进度节点"})
    history.sink.add(ProgressReport.__table__, {
        "project_code": project["project_code"], "month": month,
        "actual_investment": actual,
        "milestone_done": rng.random() < 0.8, "text": "主体结构施工完成，设备基础开挖",
        "reported_by": f"unit_{project['project_unit'][3:]}", "reported_at": at})


def _plates(history: History, projects, month, at, template, rng) -> None:
    plate, event = template
    old = f"project:{plate['project_code']}"
    for project in projects:
        planned, actual = project.get("to_date", (0, 0))
        on_schedule = actual >= planned
        colour = "blue" if on_schedule else rng.choice(BEHIND)
        inputs = {**plate["inputs"], "on_schedule": on_schedule, "planned_to_date": planned,
                  "actual_to_date": actual}
        history.sink.add(ProjectPlate.__table__, {
            **plate, "project_code": project["project_code"], "month": month, "plate": colour,
            "inputs": inputs, "evaluated_at": at, "followup_instance": None})
        detail = json.loads(event["detail"])
        if "month" in detail:
            detail.update(month=month, after=colour, inputs=inputs)
        history.push(at, {"actor": event["actor"], "action": event["action"],
                          "subject": event["subject"].replace(old, f"project:{project['project_code']}"),
                          "instance_id": None, "task_id": None,
                          "detail": canonical_json(detail)})


def _counts(platform) -> dict:
    with platform.uow() as uow:
        s = uow.session

        def count(model, *where):
            return s.execute(select(func.count()).select_from(model).where(*where)).scalar()
        return {
            "projects": count(Project),
            "finished": count(ProcessInstance, ProcessInstance.status == "completed"),
            "running": count(ProcessInstance, ProcessInstance.status == "running"),
            "open_tasks": count(HumanTask, HumanTask.state.in_(("open", "claimed"))),
            "tasks": count(HumanTask), "issues": count(IssueLedgerRow),
            "events": count(AuditEvent), "notifications": count(Notification),
            "reminders": count(Reminder)}


if __name__ == "__main__":
    args = sys.argv[1:]
    scale = float(args[0]) if args else float(os.environ.get("SCALE", "0.01"))
    build(scale, args[1] if len(args) > 1 else None)
