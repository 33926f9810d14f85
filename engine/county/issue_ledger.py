"""The issue ledger (问题台账) and the 13710 desk as rows, projected at every save.

An issue_lifecycle instance carries its facts in process data (title, project, responsible
unit, rung, deadline, the four steps, listing); an instruction_13710 instance its title,
source, unit, clocks and rating. `project_supervision` writes one row per instance into
`issue_ledger` or `instruction_desk` in the same transaction as the instance state, so the
supervision desk queries tables and never deserializes a workflow (DESIGN decision 5).

Each row keeps the instance's `row_version` it was projected from: `refresh_projections`
projects again only the instances whose row moved on without the ledger (rows written
before the hook existed, or by a path that bypassed it); the worker runs it when it starts.
The ledger's clearance rates come from `issue_clearance`, a tally per field and unit kept in
step with the ledger rows at the same save.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..bpm.changes import finished_ids, summarise
from ..bpm.hooks import InstanceFacts, SaveSummary
from ..bpm.runtime import restore
from ..core.calendar_admin import load_calendar
from ..core.clock import as_utc
from ..core.db import dialect_insert
from ..core.identity import Actor
from ..core.models import Base, HumanTask, ProcessInstance, UTCDateTime
from ..core.text_index import add_texts
from ..core.uow import UnitOfWork
from .projects import Project

ISSUE_PROCESS = "issue_lifecycle"
INSTRUCTION_PROCESS = "instruction_13710"
PROJECTED_PROCESSES = (ISSUE_PROCESS, INSTRUCTION_PROCESS)

ISSUE_STEPS = ("registered", "assigned", "committed", "reported", "cleared", "cancelled")
# The open user task that tells which of the four steps an issue is in.
_STEP_OF_TASK = {"commit_plan": "assigned", "decide_issue": "assigned",
                 "report_resolution": "committed",
                 "verify_issue": "reported"}
INSTRUCTION_STEPS = ("registered", "assigned", "progress_reported", "result_reported",
                     "plan_accepted", "closed", "cancelled")
_INSTRUCTION_STEP_OF_TASK = {"assign_instruction": "registered", "report_progress": "assigned",
                             "report_result": "progress_reported",
                             "review_report": "result_reported"}


class IssueLedgerRow(Base):
    """One issue of the ledger: who owns it, on which rung, in which step, by when."""

    __tablename__ = "issue_ledger"
    __table_args__ = (
        Index("ix_issue_ledger_unit_step", "responsible_unit", "step"),
        Index("ix_issue_ledger_sub_command_step", "sub_command", "step"),
        Index("ix_issue_ledger_step_due", "step", "due_at"),
        Index("ix_issue_ledger_rung", "rung"),
        # The ledger's pages, newest first.
        Index("ix_issue_ledger_opened", "opened_at", "instance_id"),
        # The bulletin's issues cleared in its period.
        Index("ix_issue_ledger_cleared", "cleared_at"),
        # A project's issues: its sheet's 问题清单 and 任务清单, its 查账 trail.
        Index("ix_issue_ledger_project", "project_code", "instance_id"),
        # The 督办台's listed issues (a few among the open ones).
        Index("ix_issue_ledger_listed", "listed", "step"),
    )

    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_key: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    project_code: Mapped[str | None] = mapped_column(String(50))
    project_name: Mapped[str | None] = mapped_column(String(200))
    sub_command: Mapped[str | None] = mapped_column(String(50))
    township: Mapped[str | None] = mapped_column(String(50))
    responsible_unit: Mapped[str | None] = mapped_column(String(50))
    scope: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(20))
    rung: Mapped[int | None] = mapped_column(Integer)
    rung_name: Mapped[str | None] = mapped_column(String(100))
    handler: Mapped[str | None] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(20))
    plan: Mapped[str | None] = mapped_column(Text)
    promised_date: Mapped[date | None] = mapped_column(Date)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    listed_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Working days from registration to clearance (销号用时), fixed when the issue is cleared.
    clear_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_version: Mapped[int] = mapped_column(Integer)


class IssueClearance(Base):
    """The 清零率 tally of one field and responsible unit: its issues (cancelled ones left out),
    how many are cleared and their working days to clear, summed.

    Kept at every save of an issue beside its ledger row (`_tally`), so the ledger's clearance
    rates read a few hundred cells, not every issue of five years. `""` stands for no field
    or no unit (key columns cannot be NULL).
    """

    __tablename__ = "issue_clearance"

    sub_command: Mapped[str] = mapped_column(String(50), primary_key=True)
    responsible_unit: Mapped[str] = mapped_column(String(50), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    cleared: Mapped[int] = mapped_column(Integer, default=0)
    clear_days: Mapped[int] = mapped_column(Integer, default=0)


class IssueListing(Base):
    """One period of listed supervision (挂牌督办) of an issue, from listing until lifted."""

    __tablename__ = "issue_listing"
    __table_args__ = (Index("ix_issue_listing_instance", "instance_id", "lifted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    listed_by: Mapped[str] = mapped_column(String(100))
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)


class InstructionDeskRow(Base):
    """One instruction under 13710 supervision, with its three clocks and its rating."""

    __tablename__ = "instruction_desk"
    __table_args__ = (Index("ix_instruction_desk_unit_step", "responsible_unit", "step"),)

    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_key: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(20))  # secretary, county_head
    complexity: Mapped[str | None] = mapped_column(String(20))  # ordinary, major
    responsible_unit: Mapped[str | None] = mapped_column(String(50))
    step: Mapped[str] = mapped_column(String(20))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_date: Mapped[date | None] = mapped_column(Date)
    rating: Mapped[str | None] = mapped_column(String(20))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_version: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class IssueView:
    """A ledger row as callers see it."""

    instance_id: int
    business_key: str | None
    title: str
    project_code: str | None
    project_name: str | None
    sub_command: str | None
    township: str | None
    responsible_unit: str | None
    scope: str | None
    severity: str | None
    rung: int | None
    rung_name: str | None
    handler: str | None
    step: str
    plan: str | None
    promised_date: date | None
    due_at: datetime | None
    escalate_at: datetime | None
    listed: bool
    listed_due_at: datetime | None
    opened_at: datetime
    cleared_at: datetime | None


@dataclass(frozen=True)
class ListingView:
    """One period of listed supervision as callers see it."""

    id: int
    instance_id: int
    listed_by: str
    listed_at: datetime
    due_at: datetime | None
    reason: str | None
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None


@dataclass(frozen=True)
class InstructionView:
    """A 13710 desk row as callers see it."""

    instance_id: int
    business_key: str | None
    title: str
    source: str | None
    complexity: str | None
    responsible_unit: str | None
    step: str
    registered_at: datetime
    assign_due_at: datetime | None
    assigned_at: datetime | None
    progress_due_at: datetime | None
    progress_at: datetime | None
    result_due_at: datetime | None
    result_at: datetime | None
    plan_date: date | None
    rating: str | None
    closed_at: datetime | None


def view_of(row, kind):
    """The plain view (`IssueView`, `ListingView`, `InstructionView`) of a row."""
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})


# ---------------------------------------------------------------- reading process data

def _moment(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return as_utc(value)
    except (TypeError, ValueError):
        return None


def _day(value) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _tasks_of(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.execute(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                .order_by(HumanTask.created_at)).scalars())


def _latest(tasks: list[HumanTask], element_id: str) -> HumanTask | None:
    found = [t for t in tasks if t.element_id == element_id]
    return found[-1] if found else None


# ---------------------------------------------------------------- the projections

def project_ledger(uow: UnitOfWork, summary: SaveSummary, actor: Actor) -> None:
    """The save hook: the ledger row of an issue or instruction follows its instance."""
    project_supervision(uow.session, summary, actor.username)


def project_supervision(session: Session, summary: SaveSummary, actor: str = "system") -> None:
    """Bring the ledger row of an issue or instruction instance in line with its workflow.

    Called at every save, after the human-task rows are synced; other processes are ignored.
    """
    if summary.instance.process_key not in PROJECTED_PROCESSES:
        return
    session.flush()  # the human-task rows as they will be committed
    if summary.instance.process_key == ISSUE_PROCESS:
        _project_issue(session, summary, actor)
    else:
        _project_instruction(session, summary)


# What 搜索 finds a ledger or desk row by (engine/core/text_index.py).
_LEDGER_TEXTS = ("title", "business_key", "project_code", "project_name")
_DESK_TEXTS = ("title", "business_key")


def _texts(row, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(row, name) for name in names)


def _index_texts(session: Session, instance_id: int, before: tuple, after: tuple) -> None:
    """Index the row's texts when they changed (the index only grows: see text_index)."""
    if after != before:
        add_texts(session, instance_id, after)


def _issue_step(row: InstanceFacts, facts: dict, open_elements: set[str]) -> str:
    if facts.get("status") == "cleared":
        return "cleared"
    if row.status == "cancelled":
        return "cancelled"
    for element, step in _STEP_OF_TASK.items():
        if element in open_elements:
            return step
    return "registered"


def _project_issue(session: Session, summary: SaveSummary, actor: str) -> None:
    row, facts, now = summary.instance, summary.facts, summary.now
    tasks = _tasks_of(session, row.id)
    open_elements = {t.element_id for t in tasks if t.state in ("open", "claimed")}
    ledger = session.get(IssueLedgerRow, row.id)
    before = _share(ledger) if ledger is not None else None
    ledger = ledger or IssueLedgerRow(instance_id=row.id)
    project = session.get(Project, facts["project_code"]) if facts.get("project_code") else None
    texts = _texts(ledger, _LEDGER_TEXTS)
    ledger.business_key = row.business_key
    ledger.title = str(facts.get("title") or row.business_key or f"#{row.id}")[:500]
    ledger.project_code = facts.get("project_code")
    ledger.project_name = facts.get("project_name") or (project.name if project else None)
    _index_texts(session, row.id, texts, _texts(ledger, _LEDGER_TEXTS))
    ledger.sub_command = facts.get("sub_command") or (project.sub_command if project else None)
    ledger.township = facts.get("township") or (project.township if project else None)
    ledger.responsible_unit = facts.get("responsible_unit")
    ledger.scope, ledger.severity = facts.get("scope"), facts.get("severity")
    rung = facts.get("rung")
    ledger.rung = int(rung) if isinstance(rung, (int, float, str)) and str(rung).isdigit() else None
    ledger.rung_name = facts.get("rung_name")
    ledger.handler = facts.get("handler")
    ledger.step = _issue_step(row, facts, open_elements)
    committed = bool(facts.get("committed")) or ledger.step in ("committed", "reported", "cleared")
    ledger.plan = facts.get("plan") if committed else None
    ledger.promised_date = _day(facts.get("promised_date")) if committed else None
    ledger.due_at = _moment(facts.get("due_at"))
    ledger.escalate_at = _moment(facts.get("escalate_at"))
    ledger.opened_at = row.started_at
    ledger.cleared_at = (ledger.cleared_at or row.ended_at or now) if ledger.step == "cleared" else None
    if ledger.cleared_at is None:
        ledger.clear_days = None
    elif ledger.clear_days is None:
        ledger.clear_days = load_calendar(session).working_days_between(ledger.opened_at,
                                                                        ledger.cleared_at)
    ledger.updated_at = now
    ledger.source_version = row.row_version
    session.add(ledger)
    _tally(session, before, _share(ledger))
    _project_listing(session, ledger, bool(facts.get("listed")), now, actor)


def _project_listing(session: Session, ledger: IssueLedgerRow, listed_in_process: bool,
                     now: datetime, actor: str) -> None:
    """The listed flag: an unlifted listing; a listing the process knows of is recorded once."""
    periods = list(session.execute(select(IssueListing).where(
        IssueListing.instance_id == ledger.instance_id).order_by(IssueListing.id)).scalars())
    if listed_in_process and not periods:
        # Listed by the message alone (not through the desk): record it so it can be lifted.
        period = IssueListing(instance_id=ledger.instance_id, listed_by=actor, listed_at=now)
        session.add(period)
        periods.append(period)
    current = next((p for p in reversed(periods) if p.lifted_at is None), None)
    done = ledger.step in ("cleared", "cancelled")
    ledger.listed = current is not None and not done
    ledger.listed_due_at = current.due_at if ledger.listed else None


def _instruction_step(row: InstanceFacts, facts: dict, tasks: list[HumanTask]) -> str:
    if facts.get("status") == "closed":
        return "closed"
    if row.status == "cancelled":
        return "cancelled"
    open_elements = [t.element_id for t in tasks if t.state in ("open", "claimed")]
    for element, step in _INSTRUCTION_STEP_OF_TASK.items():
        if element in open_elements:
            return step
    if facts.get("review_decision") == "accept_plan":
        return "plan_accepted"
    return "registered"


def _project_instruction(session: Session, summary: SaveSummary) -> None:
    row, facts, now = summary.instance, summary.facts, summary.now
    tasks = _tasks_of(session, row.id)
    desk = session.get(InstructionDeskRow, row.id) or InstructionDeskRow(instance_id=row.id)
    texts = _texts(desk, _DESK_TEXTS)
    desk.business_key = row.business_key
    desk.title = str(facts.get("title") or row.business_key or f"#{row.id}")[:500]
    _index_texts(session, row.id, texts, _texts(desk, _DESK_TEXTS))
    desk.source, desk.complexity = facts.get("source"), facts.get("complexity")
    desk.responsible_unit = facts.get("responsible_unit")
    desk.step = _instruction_step(row, facts, tasks)
    desk.registered_at = row.started_at
    for element, due_attr, done_attr in (("assign_instruction", "assign_due_at", "assigned_at"),
                                         ("report_progress", "progress_due_at", "progress_at"),
                                         ("report_result", "result_due_at", "result_at")):
        task = _latest(tasks, element)
        setattr(desk, due_attr, task.due_at if task else None)
        setattr(desk, done_attr, task.ended_at if task and task.state == "completed" else None)
    desk.plan_date = _day(facts.get("plan_date")) if desk.step == "plan_accepted" else None
    desk.rating = facts.get("final_rating") if desk.step == "closed" else None
    desk.closed_at = (desk.closed_at or row.ended_at or now) if desk.step == "closed" else None
    desk.updated_at = now
    desk.source_version = row.row_version
    session.add(desk)


# ---------------------------------------------------------------- the clearance tally

def _share(row) -> tuple[str, str, int, int, int] | None:
    """What one ledger row adds to the tally: its cell, 1 issue, cleared or not, its days."""
    if row.step == "cancelled":
        return None
    cleared = row.step == "cleared" and row.cleared_at is not None
    return (row.sub_command or "", row.responsible_unit or "", 1, int(cleared),
            (row.clear_days or 0) if cleared else 0)


def _tally(session: Session, before, after) -> None:
    """Move an issue's share of the tally from the cell it was in to the one it is in now."""
    if before == after:
        return
    changes: dict[tuple[str, str], list[int]] = {}
    for share, sign in ((before, -1), (after, 1)):
        if share is not None:
            delta = changes.setdefault(share[:2], [0, 0, 0])
            for n in range(3):
                delta[n] += sign * share[2 + n]
    for (field_, unit), (total, cleared, days) in sorted(changes.items()):
        if not (total or cleared or days):
            continue
        table = IssueClearance.__table__
        statement = dialect_insert(session)(table).values(
            sub_command=field_, responsible_unit=unit, total=total, cleared=cleared,
            clear_days=days)
        session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.sub_command, table.c.responsible_unit],
            set_={"total": table.c.total + total, "cleared": table.c.cleared + cleared,
                  "clear_days": table.c.clear_days + days}))


def rebuild_clearance(session: Session) -> int:
    """Fill the tally again from the ledger rows (and the days of cleared rows that lack them:
    rows projected before the tally existed); how many cells. The caller commits."""
    calendar = None
    for row in session.execute(select(IssueLedgerRow).where(
            IssueLedgerRow.step == "cleared", IssueLedgerRow.cleared_at.is_not(None),
            IssueLedgerRow.clear_days.is_(None))).scalars():
        calendar = calendar or load_calendar(session)
        row.clear_days = calendar.working_days_between(row.opened_at, row.cleared_at)
    session.flush()
    session.execute(IssueClearance.__table__.delete())
    cells: dict[tuple[str, str], list[int]] = {}
    for row in session.execute(select(
            IssueLedgerRow.sub_command, IssueLedgerRow.responsible_unit, IssueLedgerRow.step,
            IssueLedgerRow.cleared_at, IssueLedgerRow.clear_days)):
        share = _share(row)
        if share is not None:
            cell = cells.setdefault(share[:2], [0, 0, 0])
            for n in range(3):
                cell[n] += share[2 + n]
    if cells:
        session.execute(IssueClearance.__table__.insert(), [
            {"sub_command": f, "responsible_unit": u, "total": t, "cleared": c, "clear_days": d}
            for (f, u), (t, c, d) in cells.items()])
    return len(cells)


def clearance_missing(session: Session) -> bool:
    """Whether the ledger holds issues the tally has never counted (right after the migration)."""
    tally = session.execute(select(IssueClearance.sub_command).limit(1)).first()
    return tally is None and session.execute(select(IssueLedgerRow.instance_id).where(
        IssueLedgerRow.step != "cancelled").limit(1)).first() is not None


def stale_instances(session: Session) -> list[int]:
    """Ids of issue and instruction instances whose ledger row is missing or behind."""
    issue_version = select(IssueLedgerRow.source_version).where(
        IssueLedgerRow.instance_id == ProcessInstance.id).scalar_subquery()
    desk_version = select(InstructionDeskRow.source_version).where(
        InstructionDeskRow.instance_id == ProcessInstance.id).scalar_subquery()
    query = select(ProcessInstance.id).where(or_(
        (ProcessInstance.process_key == ISSUE_PROCESS)
        & (issue_version.is_(None) | (issue_version != ProcessInstance.row_version)),
        (ProcessInstance.process_key == INSTRUCTION_PROCESS)
        & (desk_version.is_(None) | (desk_version != ProcessInstance.row_version))))
    return list(session.execute(query).scalars())


def refresh_projections(uow: UnitOfWork) -> int:
    """Project again the instances the ledger is behind on, and fill the clearance tally when
    it has never been; how many instances (0 once the hook is in).

    It reads every issue and instruction instance, so it runs where a county's size does not
    matter: when the worker starts (after an upgrade), not on a page.
    """
    if not stale_instances(uow.session) and not clearance_missing(uow.session):
        uow.session.rollback()
        return 0
    uow.begin_write()
    ids = stale_instances(uow.session)
    for instance_id in ids:
        row = uow.session.get(ProcessInstance, instance_id)
        workflow = restore(uow.session, row)
        project_supervision(uow.session, summarise(row, workflow, finished_ids(workflow), (),
                                                   uow.clock.now()))
    if clearance_missing(uow.session):
        rebuild_clearance(uow.session)
    uow.commit()
    return len(ids)


# ---------------------------------------------------------------- issues other processes raise

# What an issue registered by another process takes from that process's data.
ISSUE_FACTS = ("title", "project_code", "project_name", "scope", "severity",
               "responsible_unit", "sub_command")


def register_issue(uow: UnitOfWork, summary: SaveSummary, step, actor: Actor) -> None:
    """A step marked `action=register_issue` finished (a permit item whose commitment was not
    kept and whose approval was revoked): the issue goes into the ledger as an issue_lifecycle
    instance of its own, started by the system on behalf of the process, with the facts the
    step's data hold (`ISSUE_FACTS`) — routed to its rung, on the desk, cleared (销号) there —
    while the process that raised it goes on."""
    from ..bpm import runtime  # the runtime calls this hook: imported when it runs
    from ..core.identity import SYSTEM
    from ..core.uow import EnlistedUnitOfWork

    data = {name: step.data[name] for name in ISSUE_FACTS if step.data.get(name) is not None}
    view = runtime.start_instance(EnlistedUnitOfWork(uow), ISSUE_PROCESS, Actor.of(SYSTEM),
                                  business_key=summary.instance.business_key, data=data)
    uow.audit.record(SYSTEM, "issue_raised", subject=f"instance:{summary.instance.id}",
                     instance_id=summary.instance.id, issue_instance=view.id,
                     element=step.element_id, title=data.get("title"),
                     completed_by=actor.username)
