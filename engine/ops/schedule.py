"""The schedule (定时任务): the county's recurring work, started by the worker, not by people.

One row per piece of work of engine/ops/recurring.py in `schedule_entry`: when it runs next
and for which period, how its last run went. Next runs are counted with the working calendar
in the tables (the administrator's overrides included; `refresh` moves a run an override
moved). Each run is one transaction: the work and the entry's new state commit together,
audited, or nothing does. A run is for a period (a month, a quarter, a week) and does
nothing for a period already done, so two workers, a restart or a "run now" never start the
same work twice. A failed run is recorded on its entry with a Chinese message and retried by
a later pass (after 5 minutes, doubling up to 6 hours). Missed runs are not caught up one by
one, as with timer cycles: a worker that was stopped over several run days does the latest
period that came due, once, and counts the next run from now.

The monthly plates ran before as one long-running `monthly_plates` BPMN instance waiting on
a timer. The schedule replaces it: an instance started once holds its first version for ever,
its timer date was computed a month ahead (an override made meanwhile did not move it), and
a failure became a timer incident in the designer's pages instead of a line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.calendar_admin import load_calendar
from ..core.errors import (
    ConflictError, DefinitionError, GongjianError, NotFoundError, WorkflowExecutionError,
)
from ..core.identity import SYSTEM, Actor
from ..core.models import Base, UTCDateTime
from ..core.organisation import UserAccount
from ..core.uow import EnlistedUnitOfWork, UnitOfWork
from ..core.workcalendar import SHANGHAI, WorkingCalendar
from .recurring import JOBS, Job, ScheduleError, latest_run_by, local_day, next_run_after

RETRY_AFTER = timedelta(minutes=5)
RETRY_AT_MOST = timedelta(hours=6)
OUTCOMES = {"done": "已完成", "nothing": "无需运行", "failed": "失败"}


class ScheduleEntry(Base):
    """One recurring piece of work: when it runs next and how its last run went."""

    __tablename__ = "schedule_entry"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    next_period: Mapped[str] = mapped_column(String(20))
    # The next run is the first run day after this moment: the entry's creation, then each
    # scheduled run. Kept so that a changed calendar moves the next run (`refresh`).
    counted_from: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_period: Mapped[str | None] = mapped_column(String(20))
    last_outcome: Mapped[str | None] = mapped_column(String(20))  # OUTCOMES
    last_result: Mapped[str | None] = mapped_column(Text)  # Chinese, for the administrator
    last_error: Mapped[str | None] = mapped_column(Text)  # the technical cause of a failure
    last_by: Mapped[str | None] = mapped_column(String(100))


# ---------------------------------------------------------------- entries

@dataclass(frozen=True)
class EntryView:
    """A schedule entry as the administrator sees it."""

    name: str
    title: str
    cadence: str
    next_run_at: datetime
    next_period: str
    retry_at: datetime | None
    failures: int
    last_run_at: datetime | None
    last_period: str | None
    last_outcome: str | None
    last_outcome_label: str | None
    last_result: str | None
    last_error: str | None
    last_by: str | None  # the display name; 系统 for the worker


def _view(row: ScheduleEntry, names: dict[str, str]) -> EntryView:
    job = JOBS[row.name]
    return EntryView(
        row.name, job.title, job.cadence, row.next_run_at, job.period_label(row.next_period),
        row.retry_at, row.failures or 0, row.last_run_at,
        job.period_label(row.last_period) if row.last_period else None, row.last_outcome,
        OUTCOMES.get(row.last_outcome or ""), row.last_result, row.last_error,
        names.get(row.last_by, row.last_by) if row.last_by else None)


def _plan(row: ScheduleEntry, job: Job, calendar: WorkingCalendar) -> None:
    row.next_run_at = next_run_after(job, row.counted_from, calendar)
    row.next_period = job.period_of(local_day(row.next_run_at), calendar)


def ensure_schedule(uow: UnitOfWork, actor: str = SYSTEM) -> list[str]:
    """Create the entries that do not exist yet, each to run next after now; the caller commits.

    Returns the names created (none on a second call)."""
    uow.begin_write()
    calendar = load_calendar(uow.session)
    created = []
    for job in JOBS.values():
        if uow.session.get(ScheduleEntry, job.name) is not None:
            continue
        row = ScheduleEntry(name=job.name, counted_from=uow.clock.now(), failures=0)
        _plan(row, job, calendar)
        uow.session.add(row)
        uow.audit.record(actor, "schedule_created", subject=f"schedule:{job.name}",
                         title=job.title, next_run_at=row.next_run_at.isoformat(),
                         period=row.next_period)
        created.append(job.name)
    uow.session.flush()
    return created


def list_entries(session: Session) -> list[EntryView]:
    """Every entry of the schedule, in the order of JOBS."""
    rows = {row.name: row for row in session.execute(select(ScheduleEntry)).scalars()}
    who = {row.last_by for row in rows.values() if row.last_by}
    names = dict(session.execute(select(UserAccount.username, UserAccount.display_name)
                                 .where(UserAccount.username.in_(sorted(who)))).all())
    names[SYSTEM] = "系统（定时运行）"
    return [_view(rows[name], names) for name in JOBS if name in rows]


def refresh(uow: UnitOfWork) -> int:
    """Recount the next run of each entry not yet due with the calendar in the tables.

    An override that makes a run day a day off (or a weekend a working day) moves the run;
    audited. Returns how many entries moved; the caller commits."""
    calendar = load_calendar(uow.session)
    now, moved = uow.clock.now(), 0
    for row in uow.session.execute(select(ScheduleEntry)).scalars():
        if row.name not in JOBS or row.next_run_at <= now:
            continue
        before = row.next_run_at
        _plan(row, JOBS[row.name], calendar)
        if row.next_run_at != before:
            moved += 1
            uow.audit.record(SYSTEM, "schedule_rescheduled", subject=f"schedule:{row.name}",
                             before=before.isoformat(), after=row.next_run_at.isoformat(),
                             period=row.next_period)
    return moved


# ---------------------------------------------------------------- runs

@dataclass(frozen=True)
class RunResult:
    """What one run of an entry did."""

    name: str
    period: str
    outcome: str  # OUTCOMES
    message: str


@dataclass
class PassReport:
    """What one pass of the worker over the schedule did."""

    results: list[RunResult] = field(default_factory=list)
    moved: int = 0
    added: list[str] = field(default_factory=list)  # entries of work new to this county

    @property
    def failed(self) -> list[RunResult]:
        """The runs that failed (retried by a later pass)."""
        return [r for r in self.results if r.outcome == "failed"]


def _is_due(row: ScheduleEntry, now: datetime) -> bool:
    return row.next_run_at <= now and (row.retry_at is None or row.retry_at <= now)


def _lock(uow: UnitOfWork, name: str) -> ScheduleEntry | None:
    """The entry, locked for this transaction; None when another worker holds it."""
    return uow.session.execute(select(ScheduleEntry).where(ScheduleEntry.name == name)
                               .with_for_update(skip_locked=True)).scalar()


def _chinese_cause(error: Exception) -> str:
    """What went wrong, in words an administrator can act on."""
    if isinstance(error, ScheduleError):
        return str(error)
    if isinstance(error, DefinitionError):
        return "流程定义有误，请流程设计员在“流程设计”中检查并重新部署"
    if isinstance(error, WorkflowExecutionError):
        return "流程脚本或决策表执行出错，请流程设计员检查流程定义"
    if isinstance(error, NotFoundError):
        return "缺少所需的流程定义或数据，请检查是否已部署全部流程和决策表"
    if isinstance(error, ConflictError):
        return "与同时进行的其他操作冲突"
    if isinstance(error, OperationalError):
        return "数据库暂时不可用"
    if isinstance(error, GongjianError):
        return "业务数据不符合要求，请检查项目、单位和账号数据"
    return "系统内部错误，请联系技术支持"


def run_entry(make_uow: Callable[[], UnitOfWork], name: str, actor: Actor | None = None, *,
              manual: bool = False) -> RunResult | None:
    """Run one entry in one transaction; None when it is not due (or another worker has it).

    A scheduled run (`manual` False) runs only when due, for the period it was due for, and
    counts the next run from now. A manual run ("run now", by an administrator) runs for the
    period of today and leaves the next run where it is; a period already done does nothing.
    """
    actor = actor or Actor(SYSTEM)
    job = JOBS.get(name)
    if job is None:
        raise NotFoundError(f"no schedule entry '{name}'; one of {sorted(JOBS)}")
    with make_uow() as uow:
        uow.begin_write()
        row = _lock(uow, name)
        now = uow.clock.now()
        if row is None:
            if manual and uow.session.get(ScheduleEntry, name) is None:
                raise NotFoundError(f"schedule entry '{name}' does not exist; run `gongjian init`")
            return None
        if not manual and not _is_due(row, now):
            return None
        period = _period_now(job, row, now, load_calendar(uow.session), manual)
        try:
            if row.last_period == period and row.last_outcome != "failed":
                did, message = False, f"{job.period_label(period)}已运行过，未重复运行"
            else:
                did, message = job.work(EnlistedUnitOfWork(uow), period, actor)
            outcome = "done" if did else "nothing"
            _record(uow, row, job, period, outcome, message, actor.username, manual, now)
            uow.commit()
            return RunResult(name, period, outcome, message)
        except Exception as exc:  # recorded on the entry; the worker goes on with the others
            error = exc
    return _record_failure(make_uow, name, period, error, actor.username, manual)


def _period_now(job: Job, row: ScheduleEntry, now: datetime, calendar: WorkingCalendar,
                manual: bool) -> str:
    """A manual run is for today's period; a due run for its latest run day's (missed
    periods before it are not caught up: a stopped worker does the latest one, once)."""
    if manual:
        return job.period_of(local_day(now), calendar)
    latest = latest_run_by(job, now, calendar)
    return row.next_period if latest is None else job.period_of(latest, calendar)


def _record(uow: UnitOfWork, row: ScheduleEntry, job: Job, period: str, outcome: str,
            message: str, username: str, manual: bool, now: datetime) -> None:
    row.last_run_at, row.last_period, row.last_outcome = now, period, outcome
    row.last_result, row.last_error, row.last_by = message, None, username
    row.failures, row.retry_at = 0, None
    if not manual:
        row.counted_from = now
        _plan(row, job, load_calendar(uow.session))
    uow.audit.record(username, "schedule_run", subject=f"schedule:{row.name}",
                     title=job.title, period=period, outcome=outcome, result=message,
                     manual=manual or None,
                     next_run_at=None if manual else row.next_run_at.isoformat())


def _record_failure(make_uow: Callable[[], UnitOfWork], name: str, period: str,
                    error: Exception, username: str, manual: bool) -> RunResult:
    job = JOBS[name]
    message = f"{job.period_label(period)}运行失败：{_chinese_cause(error)}"
    with make_uow() as uow:
        uow.begin_write()
        row = uow.session.get(ScheduleEntry, name)
        now = uow.clock.now()
        row.failures = (row.failures or 0) + 1
        row.last_run_at, row.last_period, row.last_outcome = now, period, "failed"
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.last_by = username
        if not manual:
            row.retry_at = now + min(RETRY_AFTER * 2 ** (row.failures - 1), RETRY_AT_MOST)
            message += f"；将于 {row.retry_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 自动重试"
        row.last_result = message
        uow.audit.record(username, "schedule_run_failed", subject=f"schedule:{name}",
                         title=job.title, period=period, result=message,
                         error=row.last_error, failures=row.failures, manual=manual or None)
        uow.commit()
    return RunResult(name, period, "failed", message)


def run_due(make_uow: Callable[[], UnitOfWork]) -> PassReport:
    """One pass of the worker: move entries the calendar moved, then run every due entry."""
    report = PassReport()
    with make_uow() as uow:
        if refresh(uow):  # counted on a read first: the write lock only when something moved
            uow.rollback()
            uow.begin_write()
            report.moved = refresh(uow)
            uow.commit()
    with make_uow() as uow:
        now = uow.clock.now()
        rows = list(uow.session.execute(select(ScheduleEntry)).scalars())
        # Earliest first; entries due at the same moment (all run at 9:00) in the order of
        # JOBS, as the schedule page lists them, not in whatever order the database returns
        # equal times (PostgreSQL varied it, and the report's order with it).
        order = {name: i for i, name in enumerate(JOBS)}
        due = [row.name for row in sorted(rows, key=lambda row: (row.next_run_at,
                                                                 order.get(row.name, 0)))
               if row.name in JOBS and _is_due(row, now)]
        # A county set up before a piece of work was added to JOBS gets its entry now.
        missing = bool(rows) and not set(JOBS) <= {row.name for row in rows}
    if missing:
        with make_uow() as uow:
            report.added = ensure_schedule(uow)
            uow.commit()
    for name in due:
        result = run_entry(make_uow, name)
        if result is not None:
            report.results.append(result)
    return report
