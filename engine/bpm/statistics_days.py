"""The day tallies 统计 reads: instances started and ended, and tasks ended, counted per
Asia/Shanghai day, kept at every save.

A period's figures are then the sum of its days' rows — a few hundred for a month, a few
thousand for a year — instead of a pass over every task the period ended. Each row keeps
the day the instance or task began (`first_day`), not a duration: durations are counted in
working days when the page is read, on the calendar as it is then, so publishing a year's
holidays changes past durations as it would if counted from the rows.

Kept by the runtime in the transaction of the change: `count_start` when an instance starts,
`count_end` when it completes or is cancelled, `count_task_ends` when its tasks end (done,
returned or withdrawn: a task the process cancelled is no one's work and is not counted).
Beside them, how many tasks of each step are open now (`count_open_steps`): task rows are
made ready and ended in one place only (sync_human_tasks), where it is kept.
`rebuild_day_tallies` counts them again from the instance and task rows, set-based (the
migration and the history generator call it).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Insert, Integer, String, case, func, insert, literal, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.db import local_date
from ..core.models import Base, HumanTask, ProcessInstance

LOCAL = ZoneInfo("Asia/Shanghai")
STARTED = "started"  # the event of a start; an end's event is the status it ended in
COUNTED_ENDS = ("completed", "returned", "withdrawn")  # how a task ends as someone's work
OPEN_STATES = ("open", "claimed")  # as engine/bpm/projection.py
NO_DUE, IN_TIME, LATE = 0, 1, 2


class ProcessDay(Base):
    """How many instances of a process started, or ended in a status, on a day."""

    __tablename__ = "statistics_process_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    event: Mapped[str] = mapped_column(String(20), primary_key=True)  # started, completed …
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)  # the day it started
    count: Mapped[int] = mapped_column(Integer)


class StepDay(Base):
    """How many tasks of a step one person ended on a day in one way, begun the same day,
    with the same deadline outcome."""

    __tablename__ = "statistics_step_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)  # completed, returned …
    ended_by: Mapped[str] = mapped_column(String(100), primary_key=True)  # '' when no one
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)  # the day it was created
    due: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_DUE, IN_TIME or LATE
    count: Mapped[int] = mapped_column(Integer)


class OpenStep(Base):
    """How many tasks of a step are open now (whoever holds them)."""

    __tablename__ = "statistics_open_step"

    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


def day_of(moment: datetime) -> date:
    """The Asia/Shanghai day of a moment."""
    return moment.astimezone(LOCAL).date()


def due_outcome(due_at: datetime | None, ended_at: datetime) -> int:
    """NO_DUE, IN_TIME (ended by the deadline) or LATE (ended after it)."""
    if due_at is None:
        return NO_DUE
    return LATE if ended_at > due_at else IN_TIME


@functools.cache
def _adding(dialect: str, table) -> Insert:
    """INSERT … ON CONFLICT DO UPDATE SET count = count + the new count (built once)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=[column for column in table.primary_key.columns],
        set_={"count": table.c.count + statement.excluded.count})


def _upsert(session: Session, table, rows: Counter, keys: tuple[str, ...]) -> None:
    """Add each row's count to its cell (made when missing)."""
    session.execute(_adding(session.get_bind().dialect.name, table),
                    [{**dict(zip(keys, key)), "count": count} for key, count in sorted(rows.items())])


_PROCESS_KEYS = ("day", "process_key", "event", "first_day")
_STEP_KEYS = ("day", "process_key", "element_id", "state", "ended_by", "first_day", "due")


def count_start(session: Session, process_key: str, started_at: datetime) -> None:
    """An instance started."""
    day = day_of(started_at)
    _upsert(session, ProcessDay.__table__, Counter({(day, process_key, STARTED, day): 1}),
            _PROCESS_KEYS)


def count_end(session: Session, process_key: str, status: str, started_at: datetime,
              ended_at: datetime) -> None:
    """An instance ended (completed or cancelled)."""
    _upsert(session, ProcessDay.__table__, Counter({
        (day_of(ended_at), process_key, status, day_of(started_at)): 1}), _PROCESS_KEYS)


def count_task_ends(session: Session, process_key: str, ends: Iterable[tuple]) -> None:
    """Tasks of an instance ended: (element id, state, ended by, created at, due at, ended
    at) each; those the process cancelled are left out."""
    cells: Counter = Counter()
    for element_id, state, ended_by, created_at, due_at, ended_at in ends:
        if state in COUNTED_ENDS:
            cells[(day_of(ended_at), process_key, element_id, state, ended_by or "",
                   day_of(created_at), due_outcome(due_at, ended_at))] += 1
    if cells:
        _upsert(session, StepDay.__table__, cells, _STEP_KEYS)


def count_open_steps(session: Session, process_key: str, opened: Iterable[str],
                     ended: Iterable[str]) -> None:
    """Tasks of an instance became ready (`opened`, their element ids) or ended."""
    cells: Counter = Counter()
    for element_id in opened:
        cells[(process_key, element_id)] += 1
    for element_id in ended:
        cells[(process_key, element_id)] -= 1
    cells = Counter({key: n for key, n in cells.items() if n})
    if cells:
        _upsert(session, OpenStep.__table__, cells, ("process_key", "element_id"))


def rebuild_day_tallies(session: Session) -> None:
    """Count every day, and the open tasks of every step, again from the instance and task
    rows (set-based). The caller commits."""
    i, t = ProcessInstance, HumanTask
    session.execute(ProcessDay.__table__.delete())
    session.execute(StepDay.__table__.delete())
    session.execute(OpenStep.__table__.delete())
    session.execute(insert(OpenStep).from_select(
        ["process_key", "element_id", "count"],
        select(t.process_key, t.element_id, func.count()).where(t.state.in_(OPEN_STATES))
        .group_by(t.process_key, t.element_id)))
    day = local_date(i.started_at)
    session.execute(insert(ProcessDay).from_select(
        ["day", "process_key", "event", "first_day", "count"],
        select(day, i.process_key, literal(STARTED), day, func.count())
        .group_by(day, i.process_key)))
    day, first = local_date(i.ended_at), local_date(i.started_at)
    session.execute(insert(ProcessDay).from_select(
        ["day", "process_key", "event", "first_day", "count"],
        select(day, i.process_key, i.status, first, func.count())
        .where(i.ended_at.is_not(None), i.status != "running")
        .group_by(day, i.process_key, i.status, first)))
    day, first = local_date(t.ended_at), local_date(t.created_at)
    due = case((t.due_at.is_(None), NO_DUE), (t.ended_at > t.due_at, LATE), else_=IN_TIME)
    ended_by = func.coalesce(t.ended_by, "")
    session.execute(insert(StepDay).from_select(
        list(_STEP_KEYS) + ["count"],
        select(day, t.process_key, t.element_id, t.state, ended_by, first, due, func.count())
        .where(t.state.in_(COUNTED_ENDS), t.ended_at.is_not(None))
        .group_by(day, t.process_key, t.element_id, t.state, ended_by, first, due)))
