"""统计: how the processes run — per process, per step, per unit and per person.

Counted over a period (its first and last day, Asia/Shanghai) from the instance and task
rows: instances started and finished; each step's time from its task's creation to its end
in working days (median and 90th percentile, on the platform's working calendar); the
overdue rate (tasks ended after their deadline, of those ended with one); and the work each
person and unit holds now. Read-only; who may read it is the domain's policy.

What the period ended and started, and how many tasks of each step are open, are read from
the tallies kept at every save (engine/bpm/statistics_days.py); what is held by someone and
what is overdue now are counted by the database from covering indexes (only those rows), so
a request costs a few hundred rows whatever the county's size;
durations are counted per group on the calendar as it is now. A step is named as drawn in
its process's newest version.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from engine.core.calendar_admin import current_calendar
from engine.core.models import Deployment, HumanTask, ProcessInstance
from engine.core.organisation import OrgUnit, UserAccount
from engine.core.uow import UnitOfWork

from .process_model import deployment_model
from .projection import OPEN_STATES
from .statistics_days import LATE, NO_DUE, STARTED, OpenStep, ProcessDay, StepDay

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

    @classmethod
    def of_counts(cls, counts: Mapping[int, int]) -> Durations:
        """The same figures from how many took each number of days ({days: how many})."""
        ordered = sorted((days, n) for days, n in counts.items() if n)
        total = sum(n for _days, n in ordered)

        def nth(index: int) -> int:  # the index-th duration of the sorted list
            for days, n in ordered:
                if index < n:
                    return days
                index -= n
            raise IndexError(index)

        return cls(total, _interpolated(nth, total, 50), _interpolated(nth, total, 90))


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
    return _interpolated(ordered.__getitem__, len(ordered), p)


def _interpolated(nth, total: int, p: float) -> float | None:
    """The p-th percentile of `total` sorted values, `nth(i)` the i-th of them."""
    if not total:
        return None
    rank = (total - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return nth(low) + (nth(high) - nth(low)) * (rank - low)


def statistics(uow: UnitOfWork, period: Period, *, process_key: str | None = None) -> Statistics:
    """The figures of the period (optionally of one process), by the platform's clock."""
    session, now, calendar = uow.session, uow.clock.now(), current_calendar()
    names = process_names(session)
    people = {u: (d, c) for u, d, c in session.execute(
        select(UserAccount.username, UserAccount.display_name, UserAccount.unit_code))}
    unit_names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())

    instances = _instance_groups(session, period, process_key)
    open_tasks, ended_tasks = _task_groups(session, period, process_key, now)
    took = _working_days(calendar, [day for spans in instances.spans.values() for pair in spans
                                    for day in pair]
                         + [day for group in ended_tasks for day in (group.first, group.last)])
    steps = _step_names(session)
    return Statistics(
        period=period,
        processes=_processes(instances, names, took),
        steps=_steps(open_tasks, ended_tasks, names, steps, took),
        units=_units(open_tasks, ended_tasks, people, unit_names, took),
        people=_people(open_tasks, ended_tasks, people, unit_names))


def _working_days(calendar, days: list[date]):
    """took(first, last): the working days after `first` up to `last` (0 when last is not
    later), from each day's count of working days since the earliest of `days` — one
    calendar look-up per day instead of one per pair."""
    if not days:
        return lambda first, last: 0
    since = min(days)
    upto = {day: calendar.working_days_between(since, day) for day in set(days)}

    def took(first: date, last: date) -> int:
        return max(upto[last] - upto[first], 0)
    return took


def process_names(session) -> dict[str, str]:
    """Each deployed process's key → its name (of its latest version)."""
    names: dict[str, str] = {}
    for key, name in session.execute(select(Deployment.key, Deployment.name).where(
            Deployment.kind == "process").order_by(Deployment.version)):
        names[key] = name or key
    return names


# ---------------------------------------------------------------- what the database counts

def _flag(condition):
    return case((condition, 1), else_=0)


@dataclass
class _Instances:
    """Per process: the groups the period touches (running now, or started or ended in the
    period) and their counts; `spans` counts the instances completed in the period by their
    first and last day."""

    keys: set[str] = field(default_factory=set)
    started: Counter = field(default_factory=Counter)
    running: Counter = field(default_factory=Counter)
    cancelled: Counter = field(default_factory=Counter)
    spans: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


def _instance_groups(session, period: Period, process_key: str | None) -> _Instances:
    i, days = ProcessInstance, ProcessDay
    found = _Instances()
    # running now: the covering index ix_instance_status_times
    for key, count in session.execute(select(i.process_key, func.count()).where(
            i.status == "running", *((i.process_key == process_key,) if process_key else ()))
            .group_by(i.process_key)):
        found.keys.add(key)
        found.running[key] += count
    # started and ended in the period: the day tallies
    for key, event, first_day, day, count in session.execute(select(
            days.process_key, days.event, days.first_day, days.day, func.sum(days.count))
            .where(days.day.between(period.first, period.last),
                   *((days.process_key == process_key,) if process_key else ()))
            .group_by(days.process_key, days.event, days.first_day, days.day)):
        found.keys.add(key)  # any start or end in the period puts the process in the table
        if event == STARTED:
            found.started[key] += count
        elif event == "cancelled":
            found.cancelled[key] += count
        elif event == "completed":
            found.spans[key][(first_day, day)] += count
    return found


@dataclass
class _Open:
    """What is open now: per step (process key, element id) and per holder, and of it what
    is overdue."""

    steps: Counter = field(default_factory=Counter)
    steps_overdue: Counter = field(default_factory=Counter)
    holders: Counter = field(default_factory=Counter)
    holders_overdue: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class _EndedGroup:
    """Tasks of one step ended in the period alike (StepDay summed over its days)."""

    process_key: str
    element_id: str
    state: str
    ended_by: str | None
    first: date
    last: date
    due: int  # NO_DUE, IN_TIME or LATE
    count: int

    @property
    def counted(self) -> bool:
        """Done, not returned or withdrawn."""
        return self.state == "completed"


def _task_groups(session, period: Period, process_key: str | None, now: datetime
                 ) -> tuple[_Open, list[_EndedGroup]]:
    t, days, steps = HumanTask, StepDay, OpenStep
    open_now = _Open()
    # per step: the tally kept as tasks open and end
    for key, element_id, count in session.execute(select(
            steps.process_key, steps.element_id, steps.count).where(
            steps.count > 0, *((steps.process_key == process_key,) if process_key else ()))):
        open_now.steps[(key, element_id)] = count
    # per holder: the open tasks someone holds (ix_human_task_open_holders covers it)
    only = (t.process_key == process_key,) if process_key else ()
    for assignee, count in session.execute(select(t.assignee, func.count()).where(
            t.state.in_(OPEN_STATES), t.assignee.is_not(None), *only).group_by(t.assignee)):
        open_now.holders[assignee] += count
    # overdue: the open tasks past their deadline only (ix_human_task_state_due covers it)
    for key, element_id, assignee, count in session.execute(select(
            t.process_key, t.element_id, t.assignee, func.count()).where(
            t.state.in_(OPEN_STATES), t.due_at < now, *only).group_by(
            t.process_key, t.element_id, t.assignee)):
        open_now.steps_overdue[(key, element_id)] += count
        if assignee is not None:
            open_now.holders_overdue[assignee] += count
    # the tasks ended in the period: the day tallies
    keys = (days.process_key, days.element_id, days.state, days.ended_by, days.first_day,
            days.day, days.due)
    ended_groups = [_EndedGroup(*row[:3], row[3] or None, *row[4:])
                    for row in session.execute(select(*keys, func.sum(days.count)).where(
                        days.day.between(period.first, period.last),
                        *((days.process_key == process_key,) if process_key else ()))
                        .group_by(*keys))]
    return open_now, ended_groups


# A deployment's user tasks' names, by the deployment's content hash (a deployed document
# never changes, so neither do its names); read once per document and process.
_STEP_NAMES: dict[str, dict[str, str]] = {}


def _step_names(session) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """The steps' names as drawn (newest version first): by (process, element), and by
    element alone for the steps of a called process."""
    rows = session.execute(select(Deployment.id, Deployment.key, Deployment.sha256).where(
        Deployment.kind == "process").order_by(Deployment.version, Deployment.id)).all()
    unread = [row.id for row in rows if row.sha256 not in _STEP_NAMES]
    if unread:
        if len(_STEP_NAMES) > 1000:
            _STEP_NAMES.clear()
        for deployment in session.execute(select(Deployment).where(
                Deployment.id.in_(unread))).scalars():
            _STEP_NAMES[deployment.sha256] = {
                node.id: node.name or node.id for node in deployment_model(deployment).nodes.values()
                if node.kind == "userTask"}
    by_step: dict[tuple[str, str], str] = {}
    by_element: dict[str, str] = {}
    for row in rows:
        for element, name in _STEP_NAMES.get(row.sha256, {}).items():
            by_step[(row.key, element)] = by_element[element] = name
    return by_step, by_element


# ---------------------------------------------------------------- the tables

def _rate(late: int, counted: int) -> float | None:
    return late / counted if counted else None


class _Ended:
    """Tasks completed in the period, summed: count, durations, late and with a deadline."""

    def __init__(self):
        self.count, self.late, self.with_due = 0, 0, 0
        self.days: Counter = Counter()

    def add(self, group: _EndedGroup, took) -> None:
        self.count += group.count
        self.days[took(group.first, group.last)] += group.count
        self.with_due += group.count if group.due != NO_DUE else 0
        self.late += group.count if group.due == LATE else 0

    @property
    def duration(self) -> Durations:
        return Durations.of_counts(self.days)

    @property
    def overdue_rate(self) -> float | None:
        return _rate(self.late, self.with_due)


def _processes(found: _Instances, names, took) -> tuple[ProcessFigures, ...]:
    figures = []
    for key in found.keys:
        spans = found.spans.get(key, Counter())
        days: Counter = Counter()
        for (first, last), count in spans.items():
            days[took(first, last)] += count
        figures.append(ProcessFigures(
            key=key, name=names.get(key, key), started=found.started[key],
            completed=sum(spans.values()), cancelled=found.cancelled[key],
            running_now=found.running[key], duration=Durations.of_counts(days)))
    return tuple(sorted(figures, key=lambda f: (-f.started, f.name)))


def _steps(open_now: _Open, ended_groups, names, step_names, took) -> tuple[StepFigures, ...]:
    by_step, by_element = step_names
    ended: dict[tuple[str, str], _Ended] = defaultdict(_Ended)
    touched: set[tuple[str, str]] = set(open_now.steps)
    for group in ended_groups:  # any end in the period puts the step in the table
        step = (group.process_key, group.element_id)
        touched.add(step)
        if group.counted:
            ended[step].add(group, took)
    figures = []
    for step in touched:
        key, element_id = step
        done = ended.get(step) or _Ended()
        figures.append(StepFigures(
            process_key=key, process_name=names.get(key, key), element_id=element_id,
            name=by_step.get(step) or by_element.get(element_id) or element_id,
            ended=done.count, duration=done.duration, overdue_rate=done.overdue_rate,
            open_now=open_now.steps[step], overdue_now=open_now.steps_overdue[step]))
    return tuple(sorted(figures, key=lambda f: (f.process_name, -f.ended, f.name)))


def _unit_of(username: str | None, people, unit_names) -> tuple[str | None, str]:
    code = people.get(username, (None, None))[1] if username else None
    return code, unit_names.get(code, NO_UNIT) if code else NO_UNIT


def _units(open_now: _Open, ended_groups, people, unit_names, took) -> tuple[UnitFigures, ...]:
    ended: dict[str | None, _Ended] = defaultdict(_Ended)
    held: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for group in ended_groups:
        if group.counted:
            ended[_unit_of(group.ended_by, people, unit_names)[0]].add(group, took)
    for assignee, count in open_now.holders.items():
        if assignee:
            cell = held[_unit_of(assignee, people, unit_names)[0]]
            cell[0] += count
            cell[1] += open_now.holders_overdue[assignee]
    figures = []
    for code in set(ended) | set(held):
        done = ended.get(code) or _Ended()
        open_count, overdue_now = held.get(code, (0, 0))
        figures.append(UnitFigures(
            code=code, name=unit_names.get(code, NO_UNIT) if code else NO_UNIT,
            ended=done.count, duration=done.duration, overdue_rate=done.overdue_rate,
            open_now=open_count, overdue_now=overdue_now))
    return tuple(sorted(figures, key=lambda f: (-f.ended - f.open_now, f.name)))


def _people(open_now: _Open, ended_groups, people, unit_names) -> tuple[PersonFigures, ...]:
    ended: Counter = Counter()
    for group in ended_groups:
        if group.counted and group.ended_by in people:
            ended[group.ended_by] += group.count
    held = {u: n for u, n in open_now.holders.items() if u in people}
    figures = []
    for username in set(ended) | set(held):
        figures.append(PersonFigures(
            username=username, name=people[username][0],
            unit=_unit_of(username, people, unit_names)[1], ended=ended.get(username, 0),
            open_now=held.get(username, 0),
            overdue_now=open_now.holders_overdue[username] if username in held else 0))
    return tuple(sorted(figures, key=lambda f: (-f.open_now, -f.ended, f.name)))
