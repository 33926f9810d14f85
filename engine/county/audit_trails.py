"""查账 (五账法): every audited fact of one project or one process instance, read from the audit log.

A project's trail is the events of every instance that serves it — an instance belongs to a
project when its start data names the project (`project_code`, as every project process
starts) or when the issue ledger puts it there — plus the events about the project itself
(subject `project:<code>`: schedule, progress, stage moves, plates), the quarterly awards that
name it and the meeting decisions taken on it, its issues or its statements. An instance's
trail is its own events plus those meeting decisions.

Each fact comes with who (username), when, what (the action), why (reason or opinion) and the
submitted fields, labelled from the task's form. The facts shown are checked against the
hash chain: their own hashes, their links to the events before them, and no event missing
between the first and the last (`check_events`), which costs a page, not the whole log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Index, Integer, String, and_, false, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.audit import GENESIS_HASH, event_hash
from ..core.errors import NotFoundError
from ..core.identity import Actor
from .issue_ledger import InstructionDeskRow, IssueLedgerRow
from .names import Names, element_names
from .policy import may_read_trail
from ..core.models import AuditEvent, AuditHead, Base, Deployment, HumanTask, ProcessInstance
from .projects import Project
from ..core.uow import UnitOfWork
from ..core.workcalendar import SHANGHAI

PAGE_SIZE = 50
EXPORT_LIMIT = 20_000
# Kinds of events that belong to no instance: the project itself, awards, meetings.
PROJECT_KIND, AWARDS_KIND, MEETING_KIND = "project", "awards", "meeting"
# Detail keys that say why; "decision" is the text of a meeting decision (elsewhere a code).
_WHY_KEYS = ("why", "opinion", "reason", "note", "text")
_WHY_SUFFIXES = ("opinion", "reason", "note", "comment")
_SHOWN_ELSEWHERE = {"name", "element", "data", "process_key"}
_CHUNK = 500


@dataclass(frozen=True)
class TrailFilters:
    """What to show: one instance, kind (a process key or project/awards/meeting), action,
    actor, county dates from/until (both included), and the order."""

    instance_id: int | None = None
    kind: str | None = None
    action: str | None = None
    actor: str | None = None
    since: date | None = None
    until: date | None = None
    newest_first: bool = False


@dataclass(frozen=True)
class TrailInstance:
    """One instance of a trail, as its heading and filter option."""

    id: int
    process_key: str
    process_name: str
    business_key: str | None
    title: str | None
    status: str
    started_at: datetime


@dataclass(frozen=True)
class Fact:
    """One field of an event: its key, the form's label when a form names it, its value."""

    key: str
    label: str | None
    value: Any
    picker: str | None = None  # what a form's picker named: unit, user or project


@dataclass(frozen=True)
class TrailEvent:
    """One audited fact: who, when, what, why, where (instance, task) and the fields."""

    seq: int
    at: datetime
    actor: str
    actor_name: str
    action: str
    kind: str
    subject: str | None
    instance_id: int | None
    task_id: str | None
    task_name: str | None
    why: str | None
    facts: list[Fact]
    detail: dict
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    """The check of the shown events against the hash chain."""

    checked: int
    first_seq: int | None
    last_seq: int | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every shown event is where the chain says and unchanged."""
        return not self.problems


@dataclass(frozen=True)
class Trail:
    """One page of a project's or an instance's trail, with what the filters can choose."""

    scope: str  # "project" or "instance"
    key: str
    title: str
    project_code: str | None
    instances: list[TrailInstance]
    events: list[TrailEvent]
    total: int
    page: int
    pages: int
    actors: list[tuple[str, str]]
    actions: list[str]
    kinds: list[str]
    chain: ChainCheck


# ---------------------------------------------------------------- which instances

def _started_events(session: Session, condition) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(
        AuditEvent.action == "instance_started", condition)).scalars())


def _start_data(event: AuditEvent) -> dict:
    data = json.loads(event.detail or "{}").get("data")
    return data if isinstance(data, dict) else {}


class ProjectInstance(Base):
    """An instance named a project in its start data (its `instance_started` event): written
    as that event is appended (`index_started`), so a project's trail finds its instances by
    key instead of reading every start event of the county's history."""

    __tablename__ = "project_instance"
    __table_args__ = (Index("ix_project_instance_instance", "instance_id"),)

    project_code: Mapped[str] = mapped_column(String(200), primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True)


def started_project(detail: str | None) -> str | None:
    """The project an `instance_started` event's data names (its `project_code`), if any."""
    try:
        data = json.loads(detail or "{}").get("data")
    except (ValueError, AttributeError):
        return None
    code = data.get("project_code") if isinstance(data, dict) else None
    return code if isinstance(code, str) and code else None


def index_started(session: Session, events: list) -> None:
    """Audit subscriber (engine/ops/platform.py): each start that names a project is kept in
    `project_instance`, in the transaction that appends the event."""
    rows = [{"project_code": code, "instance_id": event.instance_id} for event in events
            if event.action == "instance_started" and event.instance_id is not None
            and (code := started_project(event.detail)) is not None]
    if rows:
        session.connection().execute(ProjectInstance.__table__.insert(), rows)


def project_instances(session: Session, code: str) -> list[int]:
    """Ids of the instances that serve a project: named at start, or put there by the ledger."""
    ids = set(session.execute(select(ProjectInstance.instance_id).where(
        ProjectInstance.project_code == code)).scalars())
    ids |= set(session.execute(select(IssueLedgerRow.instance_id).where(
        IssueLedgerRow.project_code == code)).scalars())
    return sorted(ids)


def instance_project(session: Session, instance_id: int) -> str | None:
    """The project an instance serves, if any (the ledger's word first, then its start data)."""
    ledger = session.get(IssueLedgerRow, instance_id)
    if ledger is not None and ledger.project_code:
        return ledger.project_code
    for event in _started_events(session, AuditEvent.instance_id == instance_id):
        code = _start_data(event).get("project_code")
        if isinstance(code, str) and code:
            return code
    return None


# ---------------------------------------------------------------- related events

def _subject_prefix(prefix: str):
    # A range instead of LIKE, so the subject index serves it on SQLite and PostgreSQL alike.
    return and_(AuditEvent.subject >= prefix, AuditEvent.subject < prefix[:-1] + ";")


def _award_events(session: Session, code: str) -> list[int]:
    ids = []
    for row in session.execute(select(AuditEvent.id, AuditEvent.detail).where(
            _subject_prefix("awards:"))).all():
        detail = json.loads(row.detail or "{}")
        named = [detail.get("best"), detail.get("worst"), *(detail.get("antelope") or []),
                 *(detail.get("snail") or [])]
        if code in named:
            ids.append(row.id)
    return ids


def _meeting_events(session: Session, refs: set[str]) -> list[int]:
    return [row.id for row in session.execute(select(AuditEvent.id, AuditEvent.detail).where(
        _subject_prefix("meeting:"))).all()
        if json.loads(row.detail or "{}").get("item") in refs]


def _meeting_refs(session: Session, instance_ids: list[int]) -> set[str]:
    """The agenda refs of instances: their issues and their tasks (statements)."""
    refs = {f"issue:{i}" for i in instance_ids}
    for chunk in _chunks(instance_ids):
        refs |= {f"statement:{t}" for t in session.execute(select(HumanTask.id).where(
            HumanTask.instance_id.in_(chunk))).scalars()}
    return refs


# ---------------------------------------------------------------- the trails

def project_trail(uow: UnitOfWork, actor: Actor, code: str,
                  filters: TrailFilters = TrailFilters(), page: int = 1,
                  page_size: int = PAGE_SIZE) -> Trail:
    """One page of a project's trail; NotFoundError for an unknown project or one not to see."""
    session = uow.session
    project = session.get(Project, code)
    ids = project_instances(session, code)
    if project is None and not ids:
        raise NotFoundError(f"project {code} is neither in the registry nor named by any "
                            "instance; check the code")
    fields = ({project.sub_command} if project else set(session.execute(
        select(IssueLedgerRow.sub_command).where(IssueLedgerRow.project_code == code)).scalars()))
    if not may_read_trail(actor, fields):
        raise NotFoundError(f"project {code} does not exist or its trail is not yours to read")
    related = _award_events(session, code) + _meeting_events(
        session, {f"project:{code}"} | _meeting_refs(session, ids))
    scope = or_(AuditEvent.instance_id.in_(ids) if ids else false(),
                AuditEvent.subject == f"project:{code}",
                AuditEvent.id.in_(related) if related else false())
    title = project.name if project else _named_project(session, ids) or code
    return _trail(session, "project", code, title, code, ids, scope, filters, page, page_size)


def instance_trail(uow: UnitOfWork, actor: Actor, instance_id: int,
                   filters: TrailFilters = TrailFilters(), page: int = 1,
                   page_size: int = PAGE_SIZE) -> Trail:
    """One page of an instance's trail; NotFoundError for a missing one or one not to see."""
    session = uow.session
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    code = instance_project(session, instance_id)
    project = session.get(Project, code) if code else None
    ledger = session.get(IssueLedgerRow, instance_id)
    fields = {project.sub_command if project else None, ledger.sub_command if ledger else None}
    if not may_read_trail(actor, fields):
        raise NotFoundError(f"process instance {instance_id} does not exist or its trail is "
                            "not yours to read")
    related = _meeting_events(session, _meeting_refs(session, [instance_id]))
    scope = or_(AuditEvent.instance_id == instance_id,
                AuditEvent.id.in_(related) if related else false())
    instance = _instances(session, [instance_id])[0]
    title = instance.title or instance.business_key or f"#{instance_id}"
    return _trail(session, "instance", str(instance_id), f"{instance.process_name} · {title}",
                  code, [instance_id], scope, filters, page, page_size)


def _trail(session: Session, scope_name: str, key: str, title: str, code: str | None,
           ids: list[int], scope, filters: TrailFilters, page: int, page_size: int) -> Trail:
    instances = _instances(session, ids)
    keys = {i.id: i.process_key for i in instances}
    condition = and_(scope, *_conditions(filters, keys, code))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(condition)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    order = AuditEvent.seq.desc() if filters.newest_first else AuditEvent.seq
    rows = list(session.execute(select(AuditEvent).where(condition).order_by(order)
                                .offset((page - 1) * page_size).limit(page_size)).scalars())
    everything = session.execute(select(AuditEvent.actor, AuditEvent.action,
                                        AuditEvent.instance_id, AuditEvent.subject)
                                 .where(scope).distinct()).all()
    names = _display_names(session, {r.actor for r in everything})
    kinds = sorted({_kind(r.instance_id, r.subject, keys) for r in everything})
    actors = sorted((a, names.get(a, a)) for a in {r.actor for r in everything})
    return Trail(scope_name, key, title, code, instances, _events(session, rows, names, keys),
                 total, page, pages, actors, sorted({r.action for r in everything}), kinds,
                 check_events(session, rows))


def _conditions(filters: TrailFilters, keys: dict[int, str], code: str | None) -> list:
    parts = []
    if filters.instance_id is not None:
        parts.append(AuditEvent.instance_id == filters.instance_id)
    if filters.kind == PROJECT_KIND:
        parts.append(AuditEvent.subject == f"project:{code}")
    elif filters.kind in (AWARDS_KIND, MEETING_KIND):
        parts.append(AuditEvent.instance_id.is_(None) & _subject_prefix(f"{filters.kind}:"))
    elif filters.kind:
        chosen = [i for i, k in keys.items() if k == filters.kind]
        parts.append(AuditEvent.instance_id.in_(chosen) if chosen else false())
    if filters.action:
        parts.append(AuditEvent.action == filters.action)
    if filters.actor:
        parts.append(AuditEvent.actor == filters.actor)
    if filters.since:
        parts.append(AuditEvent.at >= datetime.combine(filters.since, time(), SHANGHAI))
    if filters.until:
        parts.append(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(),
                                                      SHANGHAI))
    return parts


def _kind(instance_id: int | None, subject: str | None, keys: dict[int, str]) -> str:
    if instance_id is not None and instance_id in keys:
        return keys[instance_id]
    return (subject or "").split(":", 1)[0] or PROJECT_KIND


# ---------------------------------------------------------------- rows to facts

def _instances(session: Session, ids: list[int]) -> list[TrailInstance]:
    found = []
    for chunk in _chunks(ids):
        issues = dict(session.execute(select(IssueLedgerRow.instance_id, IssueLedgerRow.title)
                                      .where(IssueLedgerRow.instance_id.in_(chunk))).all())
        orders = dict(session.execute(select(InstructionDeskRow.instance_id,
                                             InstructionDeskRow.title)
                                      .where(InstructionDeskRow.instance_id.in_(chunk))).all())
        # Columns, not the instance: its state and its definition's XML stay unread.
        for row in session.execute(select(
                ProcessInstance.id, ProcessInstance.process_key, Deployment.name,
                ProcessInstance.business_key, ProcessInstance.status,
                ProcessInstance.started_at).join(Deployment).where(
                ProcessInstance.id.in_(chunk))):
            found.append(TrailInstance(row.id, row.process_key, row.name or row.process_key,
                                       row.business_key,
                                       issues.get(row.id) or orders.get(row.id), row.status,
                                       row.started_at))
    return sorted(found, key=lambda i: i.id)


def _named_project(session: Session, ids: list[int]) -> str | None:
    for chunk in _chunks(ids):
        for event in _started_events(session, AuditEvent.instance_id.in_(chunk)):
            name = _start_data(event).get("project_name")
            if isinstance(name, str) and name:
                return name
    return None


def _display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """Username → 张三（单位） (the system's accounts by what they are)."""
    names = Names(session)
    return {username: names.person(username) for username in usernames}


def _events(session: Session, rows: list[AuditEvent], names: dict[str, str],
            keys: dict[int, str]) -> list[TrailEvent]:
    tasks: dict[str, HumanTask] = {}
    for chunk in _chunks(sorted({r.task_id for r in rows if r.task_id})):
        tasks.update((t.id, t) for t in session.execute(select(HumanTask).where(
            HumanTask.id.in_(chunk))).scalars())
    # Element names by each instance's definition, read once per definition.
    deployment_of = dict(session.execute(select(
        ProcessInstance.id, ProcessInstance.deployment_id).where(ProcessInstance.id.in_(
            {r.instance_id for r in rows if r.instance_id is not None}))).all())
    definitions = {d.id: element_names(d) for d in session.execute(select(Deployment).where(
        Deployment.id.in_(set(deployment_of.values())))).scalars()}
    elements = {i: definitions.get(d, {}) for i, d in deployment_of.items()}
    events = []
    for row in rows:
        detail = json.loads(row.detail or "{}")
        task = tasks.get(row.task_id or "")
        why_key, why = _why(row.action, detail)
        element = detail.get("element")
        named = elements.get(row.instance_id, {}).get(element) if element else None
        events.append(TrailEvent(
            row.seq, row.at, row.actor, names.get(row.actor, row.actor), row.action,
            _kind(row.instance_id, row.subject, keys), row.subject, row.instance_id, row.task_id,
            detail.get("name") or (task.name if task else None) or named,
            why, _facts(detail, why_key, task.form if task else {}), detail, row.hash))
    return events


def _why(action: str, detail: dict) -> tuple[str | None, str | None]:
    """The key and text of the reason or opinion an event carries, if any."""
    keys = _WHY_KEYS + (("decision",) if action == "meeting_decision_recorded" else ())
    for key in keys:
        if isinstance(detail.get(key), str) and detail[key].strip():
            return key, detail[key]
    data = detail.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith(_WHY_SUFFIXES) and isinstance(value, str) and value.strip():
                return f"data.{key}", value
    return None, None


def _facts(detail: dict, why_key: str | None, form: dict) -> list[Fact]:
    """The event's fields other than its reason; submitted data labelled from the task form."""
    fields = {f.get("id"): f for f in (form or {}).get("fields", [])}
    # "before" reads first, then "after"; the rest keep the log's (sorted) order.
    ordered = sorted(detail.items(), key=lambda kv: (kv[0] != "before", kv[0] != "after"))
    facts = [Fact(k, None, v) for k, v in ordered
             if k not in _SHOWN_ELSEWHERE and k != why_key and v not in (None, "", [], {})]
    data = detail.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if f"data.{key}" == why_key or value in (None, ""):
                continue
            spec = fields.get(key) or {}
            options = {o.get("id"): o.get("name") for o in spec.get("options") or []}
            picker = ((spec.get("properties") or {}).get("picker") or "").split(":")[0]
            facts.append(Fact(key, spec.get("label"),
                              options.get(value, value) if isinstance(value, str) else value,
                              "unit" if picker == "sub_command" else picker or None))
    return facts


# ---------------------------------------------------------------- the chain

def check_events(session: Session, rows: list[AuditEvent]) -> ChainCheck:
    """Check events against the chain: unchanged, linked to their predecessor, none missing
    between the first and the last, and the chain's head past the last."""
    if not rows:
        return ChainCheck(0, None, None)
    problems = []
    for row in rows:
        digest = event_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject,
                            row.instance_id, row.task_id, row.detail)
        if digest != row.hash:
            problems.append(f"event seq {row.seq}: contents were changed after it was written")
    wanted = sorted({r.seq - 1 for r in rows if r.seq > 1})
    before: dict[int, str] = {0: GENESIS_HASH}
    for chunk in _chunks(wanted):
        before.update(session.execute(select(AuditEvent.seq, AuditEvent.hash).where(
            AuditEvent.seq.in_(chunk))).all())
    for row in rows:
        if row.seq - 1 not in before:
            problems.append(f"event seq {row.seq}: the event before it (seq {row.seq - 1}) "
                            "is missing")
        elif before[row.seq - 1] != row.prev_hash:
            problems.append(f"event seq {row.seq}: does not follow the event before it "
                            "(the chain was cut or reordered here)")
    first, last = min(r.seq for r in rows), max(r.seq for r in rows)
    present = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.seq >= first, AuditEvent.seq <= last))
    if present != last - first + 1:
        problems.append(f"{last - first + 1 - present} events between seq {first} and {last} "
                        "are missing")
    head = session.get(AuditHead, 1)
    if head is None or head.seq < last:
        problems.append(f"the chain's head is behind seq {last}: it was rewound")
    return ChainCheck(len(rows), first, last, problems)


def _chunks(items: list) -> list[list]:
    items = list(items)
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]
