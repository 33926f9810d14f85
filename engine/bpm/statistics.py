"""统计: how the processes run — per process, per step, per unit and per person.

Counted over a period (its first and last day, Asia/Shanghai) from the instance and task
rows: instances started and finished; each step's time from its task's creation to its end
in working days (median and 90th percentile, on the platform's working calendar); the
overdue rate (tasks ended after their deadline, of those ended with one); and the work each
person and unit holds now. Read-only; who may read it is the domain's policy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from engine.core.calendar_admin import current_calendar
from engine.core.models import Deployment, HumanTask, ProcessInstance
from engine.core.organisation import OrgUnit, UserAccount
from engine.core.uow import UnitOfWork

from .projection import OPEN_STATES

LOCAL = ZoneInfo("Asia/Shanghai")
NO_UNIT = "（未归属单位）"


@dataclass(frozen=True)
class Period:
    """From the first day's start to the last day's end, local time."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first moment of the period."""
        return datetime.combine(self.first, time(), LOCAL)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), LOCAL)


@dataclass(frozen=True)
class Durations:
    """Working days taken: how many, the median and the 90th percentile."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Iterable[int]) -> Durations:
        """The figures of some durations (None when there are none)."""
        ordered = sorted(values)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 90))


@dataclass(frozen=True)
class ProcessFigures:
    """One process over the period."""

    key: str
    name: str
    started: int
    completed: int
    cancelled: int
    running_now: int
    duration: Durations  # of the instances completed in the period


@dataclass(frozen=True)
class StepFigures:
    """One step (a user task of a process) over the period."""

    process_key: str
    process_name: str
    element_id: str
    name: str
    ended: int
    duration: Durations
    overdue_rate: float | None  # ended late / ended with a deadline
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class UnitFigures:
    """One unit: what its people ended in the period and hold now."""

    code: str | None
    name: str
    ended: int
    duration: Durations
    overdue_rate: float | None
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class PersonFigures:
    """One person's workload."""

    username: str
    name: str
    unit: str
    ended: int
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class Statistics:
    """Everything the statistics page and its workbook show."""

    period: Period
    processes: tuple[ProcessFigures, ...]
    steps: tuple[StepFigures, ...]
    units: tuple[UnitFigures, ...]
    people: tuple[PersonFigures, ...]


def percentile(ordered: list[int], p: float) -> float | None:
    """The p-th percentile of sorted values (linear between neighbours); None when empty."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(late: int, counted: int) -> float | None:
    return late / counted if counted else None


def statistics(uow: UnitOfWork, period: Period, *, process_key: str | None = None) -> Statistics:
    """The figures of the period (optionally of one process), by the platform's clock."""
    session, now, calendar = uow.session, uow.clock.now(), current_calendar()
    names = process_names(session)
    instances = select(ProcessInstance.process_key, ProcessInstance.status,
                       ProcessInstance.started_at, ProcessInstance.ended_at).where(or_(
                           ProcessInstance.status == "running",
                           ProcessInstance.started_at.between(period.start, period.end),
                           ProcessInstance.ended_at.between(period.start, period.end)))
    tasks = select(HumanTask.process_key, HumanTask.element_id, HumanTask.name,
                   HumanTask.state, HumanTask.created_at, HumanTask.ended_at,
                   HumanTask.due_at, HumanTask.assignee, HumanTask.ended_by).where(or_(
                       HumanTask.state.in_(OPEN_STATES),
                       HumanTask.ended_at.between(period.start, period.end)))
    if process_key:
        instances = instances.where(ProcessInstance.process_key == process_key)
        tasks = tasks.where(HumanTask.process_key == process_key)
    instance_rows = session.execute(instances).all()
    task_rows = [row for row in session.execute(tasks).all() if row.state != "cancelled"]
    people = {u: (d, c) for u, d, c in session.execute(
        select(UserAccount.username, UserAccount.display_name, UserAccount.unit_code))}
    unit_names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())

    def in_period(moment: datetime | None) -> bool:
        return moment is not None and period.start <= moment < period.end

    def took(start: datetime, end: datetime) -> int:
        return max(calendar.working_days_between(start, end), 0)

    return Statistics(
        period=period,
        processes=_processes(instance_rows, names, in_period, took),
        steps=_steps(task_rows, names, in_period, took, now),
        units=_units(task_rows, people, unit_names, in_period, took, now),
        people=_people(task_rows, people, unit_names, in_period, now))


def process_names(session) -> dict[str, str]:
    """Each deployed process's key → its name (of its latest version)."""
    names: dict[str, str] = {}
    for key, name in session.execute(select(Deployment.key, Deployment.name).where(
            Deployment.kind == "process").order_by(Deployment.version)):
        names[key] = name or key
    return names


def _processes(rows, names, in_period, took) -> tuple[ProcessFigures, ...]:
    by_key: dict[str, list] = defaultdict(list)
    for row in rows:
        by_key[row.process_key].append(row)
    figures = []
    for key, group in by_key.items():
        finished = [r for r in group if r.status == "completed" and in_period(r.ended_at)]
        figures.append(ProcessFigures(
            key=key, name=names.get(key, key),
            started=sum(in_period(r.started_at) for r in group),
            completed=len(finished),
            cancelled=sum(r.status == "cancelled" and in_period(r.ended_at) for r in group),
            running_now=sum(r.status == "running" for r in group),
            duration=Durations.of(took(r.started_at, r.ended_at) for r in finished)))
    return tuple(sorted(figures, key=lambda f: (-f.started, f.name)))


def _ended(rows, in_period):
    return [r for r in rows if r.state == "completed" and in_period(r.ended_at)]


def _late(rows) -> tuple[int, int]:
    """(ended after the deadline, ended with a deadline)."""
    with_due = [r for r in rows if r.due_at is not None]
    return sum(r.ended_at > r.due_at for r in with_due), len(with_due)


def _open(rows, now) -> tuple[int, int]:
    """(open now, of which overdue)."""
    open_rows = [r for r in rows if r.state in OPEN_STATES]
    return len(open_rows), sum(r.due_at is not None and r.due_at < now for r in open_rows)


def _steps(rows, names, in_period, took, now) -> tuple[StepFigures, ...]:
    by_step: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        by_step[(row.process_key, row.element_id)].append(row)
    figures = []
    for (key, element_id), group in by_step.items():
        ended = _ended(group, in_period)
        open_now, overdue_now = _open(group, now)
        figures.append(StepFigures(
            process_key=key, process_name=names.get(key, key), element_id=element_id,
            name=group[-1].name, ended=len(ended),
            duration=Durations.of(took(r.created_at, r.ended_at) for r in ended),
            overdue_rate=_rate(*_late(ended)), open_now=open_now, overdue_now=overdue_now))
    return tuple(sorted(figures, key=lambda f: (f.process_name, -f.ended, f.name)))


def _unit_of(username: str | None, people, unit_names) -> tuple[str | None, str]:
    code = people.get(username, (None, None))[1] if username else None
    return code, unit_names.get(code, NO_UNIT) if code else NO_UNIT


def _units(rows, people, unit_names, in_period, took, now) -> tuple[UnitFigures, ...]:
    ended_by: dict[str | None, list] = defaultdict(list)
    held_by: dict[str | None, list] = defaultdict(list)
    for row in _ended(rows, in_period):
        ended_by[_unit_of(row.ended_by, people, unit_names)[0]].append(row)
    for row in rows:
        if row.state in OPEN_STATES and row.assignee:
            held_by[_unit_of(row.assignee, people, unit_names)[0]].append(row)
    figures = []
    for code in set(ended_by) | set(held_by):
        ended = ended_by.get(code, [])
        open_now, overdue_now = _open(held_by.get(code, []), now)
        figures.append(UnitFigures(
            code=code, name=unit_names.get(code, NO_UNIT) if code else NO_UNIT,
            ended=len(ended), duration=Durations.of(took(r.created_at, r.ended_at) for r in ended),
            overdue_rate=_rate(*_late(ended)), open_now=open_now, overdue_now=overdue_now))
    return tuple(sorted(figures, key=lambda f: (-f.ended - f.open_now, f.name)))


def _people(rows, people, unit_names, in_period, now) -> tuple[PersonFigures, ...]:
    ended: dict[str, int] = defaultdict(int)
    held: dict[str, list] = defaultdict(list)
    for row in _ended(rows, in_period):
        if row.ended_by in people:
            ended[row.ended_by] += 1
    for row in rows:
        if row.state in OPEN_STATES and row.assignee in people:
            held[row.assignee].append(row)
    figures = []
    for username in set(ended) | set(held):
        open_now, overdue_now = _open(held.get(username, []), now)
        figures.append(PersonFigures(
            username=username, name=people[username][0],
            unit=_unit_of(username, people, unit_names)[1], ended=ended.get(username, 0),
            open_now=open_now, overdue_now=overdue_now))
    return tuple(sorted(figures, key=lambda f: (-f.open_now, -f.ended, f.name)))
