"""The supervision desk (督办台), its read views: the overdue board, the issue ledger (with one
issue's detail and the API's issue records), the 13710 desk and the county-head view.

Queries read the projected tables (`issue_ledger`, `instruction_desk`, `human_task`,
`reminder`, `escalation`), never a workflow. Every row is filtered by the actor's scope
(engine/county/policy.py `scope_of`): a row out of scope is absent from lists and not found
on its own. The desk's actions (remind, escalate, list, lift) are in desk_actions.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select

from ..bpm import runtime
from ..bpm.projection import OPEN_STATES
from ..bpm.sla import due_soon_until, sla_state
from ..core.calendar_admin import load_calendar
from ..core.clock import as_utc
from ..core.errors import NotFoundError
from ..core.identity import Actor
from ..core.models import HumanTask, ProcessInstance
from ..core.organisation import OrgUnit, UserAccount
from ..core.uow import UnitOfWork
from ..core.workcalendar import WorkingCalendar
from . import supervision
from .issue_ledger import (
    ISSUE_PROCESS, InstructionDeskRow, InstructionView, IssueClearance, IssueLedgerRow,
    IssueListing, IssueView,
    ListingView, view_of,
)
from .desk_lines import DeskTask, line_field, line_unit
from .policy import Scope, scope_of
from .projects import Project

OPEN_ISSUE_STEPS = ("registered", "assigned", "committed", "reported")
# Steps in which the unit is working against the rung's deadline (the rectify subprocess).
RECTIFYING_STEPS = ("assigned", "committed")
TOP_RUNG = 4


@dataclass(frozen=True)
class BoardItem:
    """One line of the board: an issue, or an open task of another process."""

    kind: str  # "issue" or "task"
    ref: str  # the issue's instance id, or the task id
    instance_id: int
    title: str
    process_key: str
    business_key: str | None
    project_code: str | None
    sub_command: str | None
    township: str | None
    responsible_unit: str | None
    rung: int | None
    step: str
    due_at: datetime | None
    sla: str | None  # overdue, due_soon, on_time
    overdue_days: int
    reminder_count: int
    listed: bool = False
    listed_due_at: datetime | None = None
    listed_sla: str | None = None
    listed_overdue_days: int = 0


@dataclass(frozen=True)
class Group:
    """Counts of one unit or field on the board."""

    code: str | None
    overdue: int
    due_soon: int

    @property
    def total(self) -> int:
        """Both together."""
        return self.overdue + self.due_soon


@dataclass(frozen=True)
class Board:
    """The board of one actor at one moment."""

    now: datetime
    items: list[BoardItem]  # the late lines, most urgent first
    listed: list[BoardItem]
    by_unit: list[Group]
    by_sub_command: list[Group]
    by_rung: dict[int | None, int]
    overdue: int = 0  # late lines overdue, all of them (`items` may be the first few)
    due_soon: int = 0  # late lines due within a working day

    @property
    def late(self) -> int:
        """How many lines are late (overdue or due soon), listed in `items` or not."""
        return self.overdue + self.due_soon


@dataclass(frozen=True)
class BoardFilters:
    """Narrow the board or the ledger; None means any."""

    sub_command: str | None = None
    township: str | None = None
    process: str | None = None
    rung: int | None = None
    unit: str | None = None
    step: str | None = None
    listed: bool | None = None


# ---------------------------------------------------------------- shared look-ups

def unit_names(session) -> dict[str, str]:
    """Unit code → name, for every org unit."""
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())


def _reminder_counts_by_instance(session, instance_ids: list[int]) -> dict[int, int]:
    if not instance_ids:
        return {}
    return dict(session.execute(
        select(supervision.Reminder.instance_id, func.count(supervision.Reminder.id))
        .where(supervision.Reminder.instance_id.in_(instance_ids))
        .group_by(supervision.Reminder.instance_id)).all())


def _reminder_counts_by_task(session, task_ids: list[str]) -> dict[str, int]:
    if not task_ids:
        return {}
    return dict(session.execute(
        select(supervision.Reminder.task_id, func.count(supervision.Reminder.id))
        .where(supervision.Reminder.task_id.in_(task_ids))
        .group_by(supervision.Reminder.task_id)).all())


def _sla(due_at: datetime | None, now: datetime, calendar: WorkingCalendar) -> tuple[str | None, int]:
    state = sla_state(due_at, now, calendar)
    return (None, 0) if state is None else (state.state, state.overdue_days)


def _issue_item(row: IssueLedgerRow, now: datetime, calendar: WorkingCalendar,
                reminders: int) -> BoardItem:
    state, days = _sla(row.due_at, now, calendar)
    listed_state, listed_days = _sla(row.listed_due_at, now, calendar)
    return BoardItem("issue", str(row.instance_id), row.instance_id, row.title, ISSUE_PROCESS,
                     row.business_key, row.project_code, row.sub_command, row.township,
                     row.responsible_unit, row.rung, row.step, row.due_at, state, days,
                     reminders, row.listed, row.listed_due_at, listed_state, listed_days)


# ---------------------------------------------------------------- tasks of other processes

class _TaskContext:
    """Where an open task of a process other than the issue belongs: unit, project, field."""

    def __init__(self, session, tasks: list[HumanTask]):
        # Only the projects the tasks' business keys can name (the key itself or one of its
        # endings), not the county's thousands.
        endings = sorted({key[n:] for key in {t.business_key for t in tasks if t.business_key}
                          for n in range(len(key))})
        self.projects = {}
        for start in range(0, len(endings), 500):
            self.projects.update((p.code, p) for p in session.execute(select(Project).where(
                Project.code.in_(endings[start:start + 500]))).scalars())
        self.projects = dict(sorted(self.projects.items()))
        self.sub_commands = set(session.execute(select(OrgUnit.code).where(
            OrgUnit.kind == "sub_command")).scalars())
        ids = {t.instance_id for t in tasks}
        self.desk = {r.instance_id: r for r in session.execute(select(InstructionDeskRow).where(
            InstructionDeskRow.instance_id.in_(ids))).scalars()} if ids else {}
        users = {t.assignee for t in tasks if t.assignee}
        self.user_units = dict(session.execute(select(UserAccount.username, UserAccount.unit_code)
                                               .where(UserAccount.username.in_(users))).all()) \
            if users else {}

    def project_of(self, business_key: str | None) -> Project | None:
        """The project a business key names: the code itself or a key ending in it."""
        if not business_key:
            return None
        if business_key in self.projects:
            return self.projects[business_key]
        return next((p for code, p in self.projects.items() if business_key.endswith(code)), None)

    def unit_of(self, task: HumanTask) -> str | None:
        """The unit that must act: the instruction's unit, a `unit:` or `role@unit` candidate."""
        desk = self.desk.get(task.instance_id)
        if desk is not None and desk.responsible_unit and task.element_id != "assign_instruction":
            return desk.responsible_unit
        candidates = sorted(task.candidates, key=lambda c: c.name)  # the first by name
        for candidate in candidates:
            if candidate.kind == "group" and candidate.name.startswith("unit:"):
                return candidate.name.split(":", 1)[1]
        for candidate in candidates:
            if candidate.kind == "group" and "@" in candidate.name:
                return candidate.name.split("@", 1)[1]
        return self.user_units.get(task.assignee) if task.assignee else None

    def item(self, task: HumanTask, now: datetime, calendar: WorkingCalendar, reminders: int,
             title: str | None = None) -> BoardItem:
        """The board line of a task."""
        project = self.project_of(task.business_key)
        unit = self.unit_of(task)
        field_code = project.sub_command if project else (unit if unit in self.sub_commands else None)
        desk = self.desk.get(task.instance_id)
        state, days = _sla(task.due_at, now, calendar)
        name = f"{desk.title} · {task.name}" if desk is not None else task.name
        return BoardItem("task", task.id, task.instance_id, title or name, task.process_key,
                         task.business_key, project.code if project else None, field_code,
                         project.township if project else None, unit, None, task.state,
                         task.due_at, state, days, reminders)


def task_line(uow: UnitOfWork, task: HumanTask) -> BoardItem:
    """The board line of one open task of another process: whose unit and field it is."""
    calendar = load_calendar(uow.session)
    return _TaskContext(uow.session, [task]).item(task, as_utc(uow.clock.now()), calendar, 0)


# ---------------------------------------------------------------- the board

def _groups(counts: dict[Any, list[int]]) -> list[Group]:
    return sorted((Group(code, *n) for code, n in counts.items() if sum(n)),
                  key=lambda g: (-g.overdue, -g.total, g.code or "", g.code is None))


def _issue_filters(filters: BoardFilters) -> list | None:
    """The filters on the late issues (None: no issue passes them)."""
    if filters.process not in (None, ISSUE_PROCESS):
        return None
    table = IssueLedgerRow
    columns = ((table.sub_command, filters.sub_command), (table.township, filters.township),
               (table.rung, filters.rung), (table.responsible_unit, filters.unit))
    return [column == value for column, value in columns if value is not None]


def _task_filters(filters: BoardFilters, unit, field_code) -> list | None:
    """The filters on the late task lines (None: none passes them; tasks have no rung)."""
    if filters.rung is not None:
        return None
    table = DeskTask
    columns = ((field_code, filters.sub_command), (table.township, filters.township),
               (table.process_key, filters.process), (unit, filters.unit))
    return [column == value for column, value in columns if value is not None]


def overdue_board(uow: UnitOfWork, actor: Actor, filters: BoardFilters = BoardFilters(),
                  calendar: WorkingCalendar | None = None, *, limit: int | None = None,
                  offset: int = 0) -> Board:
    """Open issues and tasks overdue or due within one working day, in the actor's scope:
    the `limit` most urgent after the first `offset` (soonest due first; every one without
    a limit), with the counts of all of them, by unit, field and rung, and the listed issues.

    The late issues are the ledger's (rectifying, due by the end of the next working day),
    the late tasks the desk's lines (engine/county/desk_lines.py: open tasks of the other
    processes with where they belong, kept at save); both are counted and ordered in SQL.
    """
    session, now = uow.session, as_utc(uow.clock.now())
    calendar = calendar or load_calendar(session)
    scope = scope_of(actor)
    soon = due_soon_until(now, calendar)
    issues, tasks = IssueLedgerRow, DeskTask
    issue_where = _issue_filters(filters)
    if issue_where is not None:
        issue_where += [scope.condition(issues.sub_command, issues.responsible_unit),
                        issues.step.in_(RECTIFYING_STEPS), issues.due_at <= soon]
    task_unit, task_field = line_unit(), line_field()
    task_where = _task_filters(filters, task_unit, task_field)
    if task_where is not None:
        task_where += [scope.condition(task_field, task_unit), tasks.due_at <= soon]

    # The counts of every late line: by unit, field and rung, overdue or due soon.
    by_unit: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    by_field: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    by_rung: dict[int | None, int] = defaultdict(int)
    totals = [0, 0]
    counted = []
    if issue_where is not None:
        counted.append((issues.responsible_unit, issues.sub_command, issues.rung,
                        issues.due_at, issue_where))
    if task_where is not None:
        counted.append((task_unit, task_field, literal(0), tasks.due_at, task_where))
    for unit_column, field_column, rung_column, due, where in counted:
        lines = select(unit_column.label("unit"), field_column.label("field"),
                       rung_column.label("rung"),
                       case((due < now, 1), else_=0).label("overdue")).where(*where).subquery()
        keys = (lines.c.unit, lines.c.field, lines.c.rung, lines.c.overdue)
        for unit, field_code, rung, overdue, n in session.execute(
                select(*keys, func.count()).group_by(*keys)):
            column = 0 if overdue else 1
            by_unit[unit][column] += n
            by_field[field_code][column] += n
            by_rung[rung if rung_column is issues.rung else None] += n
            totals[column] += n

    # The most urgent lines, soonest due first: the first `limit` of each table, by its index
    # on the due time, then the first `limit` of both.
    parts = []
    if issue_where is not None:
        parts.append(select(issues.due_at, literal("issue"), issues.instance_id, literal(""))
                     .where(*issue_where)
                     .order_by(issues.due_at, issues.instance_id))
    if task_where is not None:
        parts.append(select(tasks.due_at, literal("task"), tasks.instance_id, tasks.task_id)
                     .where(*task_where)
                     .order_by(tasks.due_at, tasks.instance_id, tasks.task_id))
    end = None if limit is None else offset + limit
    lines = sorted(tuple(row) for query in parts for row in session.execute(
        query if end is None else query.limit(end)))
    picked = [(kind, instance, task) for _due, kind, instance, task in lines[offset:end]]
    listed_rows = []
    if issue_where is not None:
        listed_rows = list(session.execute(select(IssueLedgerRow).where(
            *_issue_filters(filters), scope.condition(issues.sub_command, issues.responsible_unit),
            issues.step.in_(OPEN_ISSUE_STEPS), issues.listed.is_(True))
            .order_by(issues.instance_id)).scalars())
    items = _board_items(session, picked, listed_rows, now, calendar, task_unit, task_field)
    listed = sorted((items[("issue", r.instance_id)] for r in listed_rows),
                    key=lambda i: (i.listed_due_at is None, i.listed_due_at or now))
    late = [items[(kind, int(instance) if kind == "issue" else task)]
            for kind, instance, task in picked]
    return Board(now, late, listed, _groups(by_unit), _groups(by_field), dict(by_rung),
                 totals[0], totals[1])


def _board_items(session, picked: list[tuple[str, int, str]], listed: list[IssueLedgerRow],
                 now: datetime, calendar: WorkingCalendar, unit, field_code
                 ) -> dict[tuple[str, Any], BoardItem]:
    """The board lines of the picked late lines and the listed issues, by (kind, ref)."""
    issue_ids = {instance for kind, instance, _task in picked if kind == "issue"}
    issue_rows = {r.instance_id: r for r in listed}
    wanted = sorted(issue_ids - set(issue_rows))
    for start in range(0, len(wanted), 500):
        issue_rows.update((r.instance_id, r) for r in session.execute(select(
            IssueLedgerRow).where(IssueLedgerRow.instance_id.in_(wanted[start:start + 500])))
            .scalars())
    counts = _reminder_counts_by_instance(session, sorted(issue_rows))
    items: dict[tuple[str, Any], BoardItem] = {
        ("issue", instance_id): _issue_item(row, now, calendar, counts.get(instance_id, 0))
        for instance_id, row in issue_rows.items()}
    task_ids = [task for kind, _instance, task in picked if kind == "task"]
    desk, line = InstructionDeskRow, DeskTask
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start:start + 500]
        reminders = _reminder_counts_by_task(session, chunk)
        for row in session.execute(select(
                HumanTask.id, HumanTask.instance_id, HumanTask.process_key,
                HumanTask.business_key, HumanTask.name, HumanTask.state, desk.title,
                line.due_at, line.project_code, field_code.label("field"), line.township,
                unit.label("unit"))
                .join(line, line.task_id == HumanTask.id)
                .outerjoin(desk, desk.instance_id == HumanTask.instance_id)
                .where(HumanTask.id.in_(chunk))):
            state, days = _sla(row.due_at, now, calendar)
            items[("task", row.id)] = BoardItem(
                "task", row.id, row.instance_id,
                f"{row.title} · {row.name}" if row.title is not None else row.name,
                row.process_key, row.business_key, row.project_code, row.field,
                row.township, row.unit, None, row.state, row.due_at, state, days,
                reminders.get(row.id, 0))
    return items


# ---------------------------------------------------------------- the ledger

@dataclass(frozen=True)
class LedgerStat:
    """Clearance of one unit or field: issues, cleared, rate and average working days."""

    code: str | None
    total: int
    cleared: int
    average_days: float | None

    @property
    def rate(self) -> float:
        """清零率: cleared / all issues (cancelled ones not counted)."""
        return self.cleared / self.total if self.total else 0.0


def _ledger_conditions(actor: Actor, filters: BoardFilters, table=IssueLedgerRow) -> list:
    """The actor's scope and the filters, on the ledger (or on the tally: its field and unit)."""
    conditions = [scope_of(actor).condition(table.sub_command, table.responsible_unit)]
    columns = ((table.sub_command, filters.sub_command),
               (table.responsible_unit, filters.unit))
    if table is IssueLedgerRow:
        columns += ((table.township, filters.township), (table.rung, filters.rung),
                    (table.step, filters.step), (table.listed, filters.listed))
    conditions += [column == value for column, value in columns if value is not None]
    return conditions


def ledger(uow: UnitOfWork, actor: Actor, filters: BoardFilters = BoardFilters(), *,
           limit: int | None = None, offset: int = 0) -> list[IssueView]:
    """The issues in the actor's scope, newest first, narrowed by the filters; `limit` rows
    from `offset` (a page of the ledger), or every one."""
    query = (select(IssueLedgerRow).where(*_ledger_conditions(actor, filters))
             .order_by(IssueLedgerRow.opened_at.desc(), IssueLedgerRow.instance_id.desc()))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [view_of(r, IssueView) for r in uow.session.execute(query).scalars()]


def ledger_count(uow: UnitOfWork, actor: Actor, filters: BoardFilters = BoardFilters()) -> int:
    """How many issues `ledger` lists. Unfiltered, or by field or unit only: the tally's
    issues and the cancelled ones it leaves out (a few, by index), not a count of every row."""
    session = uow.session
    if any(value is not None for value in (filters.township, filters.rung, filters.step,
                                           filters.listed)):
        return session.execute(select(func.count()).select_from(IssueLedgerRow).where(
            *_ledger_conditions(actor, filters))).scalar() or 0
    counted = session.execute(select(func.sum(IssueClearance.total)).where(
        *_ledger_conditions(actor, filters, IssueClearance))).scalar() or 0
    cancelled = session.execute(select(func.count()).select_from(IssueLedgerRow).where(
        *_ledger_conditions(actor, filters), IssueLedgerRow.step == "cancelled")).scalar() or 0
    return int(counted) + cancelled


def ledger_clearance(uow: UnitOfWork, actor: Actor, filters: BoardFilters, by: str
                     ) -> list[LedgerStat]:
    """清零率 by responsible unit (`by="unit"`) or field ("field") of the issues `ledger` lists.

    Unfiltered, or filtered by field or unit only, it adds up the tally's cells (a few hundred
    rows however many issues there are, see issue_ledger.IssueClearance); other filters count
    the matching ledger rows. Either way the same figures as `clearance` on the rows.
    """
    narrow = (filters.township, filters.rung, filters.step, filters.listed)
    if all(value is None for value in narrow):
        table = IssueClearance
        key = table.responsible_unit if by == "unit" else table.sub_command
        query = select(key, func.sum(table.total), func.sum(table.cleared),
                       func.sum(table.clear_days)).where(
            *_ledger_conditions(actor, filters, table)).group_by(key)
        rows = [(code or None, total, cleared, days)
                for code, total, cleared, days in uow.session.execute(query)]
    else:
        table = IssueLedgerRow
        key = table.responsible_unit if by == "unit" else table.sub_command
        done = case(((table.step == "cleared") & table.cleared_at.is_not(None), 1), else_=0)
        query = select(key, func.count(), func.sum(done), func.sum(done * table.clear_days)).where(
            *_ledger_conditions(actor, filters), table.step != "cancelled").group_by(key)
        rows = list(uow.session.execute(query))
    stats = [LedgerStat(code, int(total), int(cleared or 0),
                        round(int(days or 0) / cleared, 1) if cleared else None)
             for code, total, cleared, days in rows if total]
    return sorted(stats, key=lambda s: (-s.total, s.code or ""))


def reminder_counts(uow: UnitOfWork, rows: list[IssueView]) -> dict[int, int]:
    """Reminders (by people and timers) per issue instance."""
    return _reminder_counts_by_instance(uow.session, [r.instance_id for r in rows])


def clearance(rows: list[IssueView], calendar: WorkingCalendar, key) -> list[LedgerStat]:
    """清零率 and average working days to clear, grouped by `key(row)` (unit or field)."""
    groups: dict[Any, list[IssueView]] = defaultdict(list)
    for row in rows:
        if row.step != "cancelled":
            groups[key(row)].append(row)
    stats = []
    for code, members in groups.items():
        days = [calendar.working_days_between(r.opened_at, r.cleared_at)
                for r in members if r.step == "cleared" and r.cleared_at]
        stats.append(LedgerStat(code, len(members), len(days),
                                round(sum(days) / len(days), 1) if days else None))
    return sorted(stats, key=lambda s: (-s.total, s.code or ""))


@dataclass(frozen=True)
class IssueDetail:
    """One issue with how it got where it is."""

    row: IssueView
    escalations: list[supervision.EscalationView]
    reminders: list[supervision.ReminderView]
    listings: list[ListingView]
    history: list[runtime.HistoryEntry]
    open_tasks: list[runtime.TaskView] = field(default_factory=list)


def issue_row(uow: UnitOfWork, actor: Actor, instance_id: int) -> IssueLedgerRow:
    """The ledger row of an issue in the actor's scope; NotFoundError otherwise."""
    row = uow.session.get(IssueLedgerRow, instance_id)
    if row is None or not scope_of(actor).sees(row.sub_command, row.responsible_unit):
        raise NotFoundError(f"issue {instance_id} does not exist or is not yours to see")
    return row


def issue_detail(uow: UnitOfWork, actor: Actor, instance_id: int) -> IssueDetail:
    """An issue's row, escalations, reminders, listings and audit history."""
    row = issue_row(uow, actor, instance_id)
    session = uow.session
    listings = [view_of(p, ListingView) for p in session.execute(select(IssueListing).where(
        IssueListing.instance_id == instance_id).order_by(IssueListing.id)).scalars()]
    reminders = [supervision._reminder_view(r) for r in session.execute(
        select(supervision.Reminder).where(supervision.Reminder.instance_id == instance_id)
        .order_by(supervision.Reminder.at, supervision.Reminder.id)).scalars()]
    tasks = [runtime.task_view(t) for t in session.execute(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_STATES))).scalars()]
    return IssueDetail(view_of(row, IssueView),
                       supervision.escalation_history(session, instance_id=instance_id),
                       reminders, listings, runtime.instance_history(uow, instance_id), tasks)


# ---------------------------------------------------------------- issue records (the API's ledger)

@dataclass(frozen=True)
class OpenTask:
    """An open task of an issue, in summary."""

    id: str
    name: str
    assignee: str | None
    due_at: datetime | None


@dataclass(frozen=True)
class IssueRecord:
    """An issue as a system sees it: its registered facts, rung and step, and its open work."""

    id: int
    title: str
    project_code: str | None
    scope: str | None
    severity: str | None
    responsible_unit: str | None
    sub_command: str | None
    rung: int | None
    step: str
    listed: bool
    status: str
    registered_by: str
    registered_at: datetime
    ended_at: datetime | None
    row_version: int
    open_tasks: list[OpenTask]


@dataclass(frozen=True)
class SupervisionRecord:
    """The reminders and escalations of one issue, oldest first."""

    reminders: list[supervision.ReminderView]
    escalations: list[supervision.EscalationView]


def _records(uow: UnitOfWork, rows: list[tuple[IssueLedgerRow, ProcessInstance]]
             ) -> list[IssueRecord]:
    ids = [ledger.instance_id for ledger, _instance in rows]
    tasks: dict[int, list[OpenTask]] = defaultdict(list)
    if ids:
        for task in uow.session.execute(select(HumanTask).where(
                HumanTask.instance_id.in_(ids), HumanTask.state.in_(OPEN_STATES))
                .order_by(HumanTask.created_at)).scalars():
            tasks[task.instance_id].append(OpenTask(task.id, task.name, task.assignee,
                                                    task.due_at))
    return [IssueRecord(ledger.instance_id, ledger.title, ledger.project_code, ledger.scope,
                        ledger.severity, ledger.responsible_unit, ledger.sub_command, ledger.rung,
                        ledger.step, ledger.listed, instance.status, instance.started_by,
                        instance.started_at, instance.ended_at, instance.row_version,
                        tasks.get(ledger.instance_id, []))
            for ledger, instance in rows]


def issue_records(uow: UnitOfWork, scope: Scope, *, project_code: str | None = None,
                  status: str | None = None, before: int | None = None,
                  limit: int | None = None) -> list[IssueRecord]:
    """Issues in a scope (policy.scope_of), newest first: of one project or instance status,
    registered before the issue `before`, at most `limit`."""
    query = (select(IssueLedgerRow, ProcessInstance)
             .join(ProcessInstance, ProcessInstance.id == IssueLedgerRow.instance_id)
             .where(scope.condition(IssueLedgerRow.sub_command, IssueLedgerRow.responsible_unit)))
    if project_code is not None:
        query = query.where(IssueLedgerRow.project_code == project_code)
    if status is not None:
        query = query.where(ProcessInstance.status == status)
    if before is not None:
        query = query.where(IssueLedgerRow.instance_id < before)
    query = query.order_by(IssueLedgerRow.instance_id.desc())
    if limit is not None:
        query = query.limit(limit)
    return _records(uow, [(ledger, instance) for ledger, instance in uow.session.execute(query)])


def issue_record(uow: UnitOfWork, actor: Actor, instance_id: int) -> IssueRecord:
    """One issue in the actor's scope as a record; NotFoundError otherwise."""
    row = issue_row(uow, actor, instance_id)
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"issue {instance_id} does not exist")
    return _records(uow, [(row, instance)])[0]


def supervision_record(uow: UnitOfWork, actor: Actor, instance_id: int) -> SupervisionRecord:
    """The reminders and escalations of an issue in the actor's scope; NotFoundError otherwise."""
    issue_row(uow, actor, instance_id)
    session = uow.session
    return SupervisionRecord(supervision.reminders(session, "instance", str(instance_id)),
                             supervision.escalation_history(session, instance_id=instance_id))


def county_head_issues(uow: UnitOfWork, actor: Actor) -> list[IssueDetail]:
    """Issues that reached the county-head rung (now or before), with their escalations."""
    scope = scope_of(actor)
    reached = select(supervision.Escalation.instance_id).where(
        supervision.Escalation.to_rung == str(TOP_RUNG))
    rows = uow.session.execute(select(IssueLedgerRow.instance_id).where(
        scope.condition(IssueLedgerRow.sub_command, IssueLedgerRow.responsible_unit),
        (IssueLedgerRow.rung == TOP_RUNG) | IssueLedgerRow.instance_id.in_(reached))
        .order_by(IssueLedgerRow.step == "cleared", IssueLedgerRow.due_at)).scalars()
    return [issue_detail(uow, actor, instance_id) for instance_id in rows]


# ---------------------------------------------------------------- the 13710 desk

@dataclass(frozen=True)
class Clock13710:
    """One clock of an instruction: assign (1), progress (3), result (7 / one month)."""

    name: str
    due_at: datetime | None
    done_at: datetime | None
    sla: str | None
    overdue_days: int
    late: bool  # done after its due time

    @property
    def running(self) -> bool:
        """Started and not yet done."""
        return self.due_at is not None and self.done_at is None


@dataclass(frozen=True)
class InstructionItem:
    """One instruction on the 13710 desk."""

    row: InstructionView
    clocks: list[Clock13710]
    next_clock: Clock13710 | None


def _clock(name: str, due_at, done_at, now, calendar) -> Clock13710:
    state, days = _sla(due_at, now, calendar) if done_at is None else (None, 0)
    late = bool(done_at and due_at and as_utc(done_at) > as_utc(due_at))
    return Clock13710(name, due_at, done_at, state, days, late)


def instruction_desk(uow: UnitOfWork, actor: Actor,
                     calendar: WorkingCalendar | None = None) -> list[InstructionItem]:
    """Registered instructions in scope, with their clocks; the soonest running clock first."""
    session, now = uow.session, as_utc(uow.clock.now())
    calendar = calendar or load_calendar(session)
    scope = scope_of(actor)
    query = select(InstructionDeskRow).where(
        scope.unit_condition(InstructionDeskRow.responsible_unit))
    items = []
    for row in session.execute(query).scalars():
        clocks = [_clock("assign", row.assign_due_at, row.assigned_at, now, calendar),
                  _clock("progress", row.progress_due_at, row.progress_at, now, calendar),
                  _clock("result", row.result_due_at, row.result_at, now, calendar)]
        running = sorted((c for c in clocks if c.running), key=lambda c: c.due_at)
        items.append(InstructionItem(view_of(row, InstructionView), clocks,
                                     running[0] if running else None))
    items.sort(key=lambda i: (i.next_clock is None, i.next_clock.due_at if i.next_clock else now,
                              -(i.row.closed_at or now).timestamp()))
    return items
