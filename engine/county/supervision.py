"""Supervision (督办): reminders (催办) to the handlers of open work, and escalation (升级) up the rungs.

A reminder or an escalation is made by a person through the services below, or by the process
itself: see engine/supervision_hook.py for the BPMN convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, and_, func, literal, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.clock import as_utc
from ..core.errors import InvalidStateError, NotFoundError, TaskDataError
from ..core.identity import Actor
from ..core.models import Base, HumanTask, ProcessInstance, UTCDateTime
from ..core.notifications import notify
from ..bpm.projection import OPEN_STATES
from ..bpm import standing
from ..bpm.task_access import handlers_of
from ..core.uow import UnitOfWork
from ..core.workcalendar import SHANGHAI
from .issue_ledger import IssueLedgerRow, InstructionDeskRow
from .policy import may_supervise
from .projects import Project

SUBJECT_KINDS = ("task", "issue", "project", "instance")


class Reminder(Base):
    """One reminder on a task, issue, project or instance, by a person or by a timer."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_subject_at", "subject_kind", "subject_id", "at"),
        Index("ix_reminder_instance", "instance_id"),
        Index("ix_reminder_task", "task_id"),  # the 督办台 counts its task lines' reminders
        Index("ix_reminder_business_key_at", "business_key", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # task, issue, project, instance
    subject_id: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(36))
    # The project or issue the reminded work belongs to (the instance's business key).
    business_key: Mapped[str | None] = mapped_column(String(200))
    by: Mapped[str] = mapped_column(String(100))  # a username, or "timer"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)


class Escalation(Base):
    """One move of an instance's item from one rung of the ladder to another."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_instance_at", "instance_id", "at"),
        Index("ix_escalation_business_key_at", "business_key", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(200))
    from_rung: Mapped[str | None] = mapped_column(String(100))
    to_rung: Mapped[str] = mapped_column(String(100))
    by: Mapped[str] = mapped_column(String(100))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ReminderView:
    """A reminder as callers see it."""

    id: int
    subject_kind: str
    subject_id: str
    instance_id: int | None
    task_id: str | None
    business_key: str | None
    by: str
    at: datetime
    message: str | None
    automatic: bool


@dataclass(frozen=True)
class EscalationView:
    """One move up (or down) the ladder, as callers see it."""

    id: int
    instance_id: int
    business_key: str | None
    from_rung: str | None
    to_rung: str
    by: str
    automatic: bool
    reason: str | None
    at: datetime


def _reminder_view(row: Reminder) -> ReminderView:
    return ReminderView(row.id, row.subject_kind, row.subject_id, row.instance_id, row.task_id,
                        row.business_key, row.by, row.at, row.message, row.automatic)


def _escalation_view(row: Escalation) -> EscalationView:
    return EscalationView(row.id, row.instance_id, row.business_key, row.from_rung, row.to_rung,
                          row.by, row.automatic, row.reason, row.at)


def may_remind_task(actor: Actor, task) -> bool:
    """The county's oversight rule the platform hands the task-action table: who may remind
    (催办) the handlers of a task it sees — those who supervise (policy.may_supervise)."""
    return may_supervise(actor)


def _open_tasks(session: Session, *, instance_id: int | None = None,
                business_key: str | None = None, element_id: str | None = None) -> list[HumanTask]:
    query = select(HumanTask).where(HumanTask.state.in_(OPEN_STATES)).order_by(HumanTask.created_at)
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    if business_key is not None:
        query = query.where(HumanTask.business_key == business_key)
    if element_id is not None:
        query = query.where(HumanTask.element_id == element_id)
    return list(session.execute(query).scalars())


def matter_of(session: Session, instance_id: int | None, business_key: str | None) -> str | None:
    """What a reminder or an escalation is about, in words: 项目「问题」 for an issue, the
    instruction's title under 13710, else the project its business key names."""
    if instance_id is not None:
        issue = session.get(IssueLedgerRow, instance_id)
        if issue is not None:
            return f"{issue.project_name}「{issue.title}」" if issue.project_name else issue.title
        instruction = session.get(InstructionDeskRow, instance_id)
        if instruction is not None:
            return instruction.title
    if business_key:
        project = session.get(Project, business_key)
        if project is None:
            # A key ending in a project's code (as the desk reads it, supervision_desk.py).
            project = session.execute(select(Project).where(
                literal(business_key).endswith(Project.code))
                .order_by(func.length(Project.code).desc()).limit(1)).scalar_one_or_none()
        if project is not None:
            return project.name
    return None


def _about(matter: str | None, what: str) -> str:
    return f"{matter} · {what}" if matter else what


def _about_task(session: Session, task: HumanTask) -> str:
    """A reminded task in words: its name, with the project and the issue it belongs to (the
    project alone when the task's title names the issue already)."""
    issue = session.get(IssueLedgerRow, task.instance_id)
    if issue is not None and issue.title and issue.title in task.name:
        return _about(issue.project_name, task.name)
    return _about(matter_of(session, task.instance_id, task.business_key), task.name)


def record_reminder(uow: UnitOfWork, subject_kind: str, subject_id: str, by: str,
                    tasks: list[HumanTask], message: str | None, *, automatic: bool,
                    instance_id: int | None = None, business_key: str | None = None) -> Reminder:
    """Write one reminder, notify the handlers of `tasks`, audit it; the caller commits."""
    if subject_kind not in SUBJECT_KINDS:
        raise ValueError(f"unknown reminder subject {subject_kind!r}; one of {SUBJECT_KINDS}")
    message = (message or "").strip() or None
    now = uow.clock.now()
    row = Reminder(subject_kind=subject_kind, subject_id=str(subject_id), instance_id=instance_id,
                   task_id=tasks[0].id if subject_kind == "task" else None,
                   business_key=business_key, by=by, at=now, message=message, automatic=automatic)
    uow.session.add(row)
    uow.session.flush()
    notified: list[str] = []
    for task in tasks:
        users, groups = handlers_of(task)
        users = standing.notified(uow.session, users, task.created_at, now)  # 委托
        notify(uow, kind="reminder", title=f"催办：{_about_task(uow.session, task)}",
               body=message or "请尽快办理。", users=users, groups=groups,
               instance_id=task.instance_id, task_id=task.id)
        notified += users + groups
    uow.audit.record(by, "reminded", subject=f"{subject_kind}:{subject_id}",
                     instance_id=instance_id, task_id=row.task_id, why=message,
                     automatic=automatic, tasks=[t.id for t in tasks] or None,
                     notified=sorted(set(notified)) or None)
    return row


def remind_task(uow: UnitOfWork, task_id: str, actor: Actor | str,
                message: str | None = None) -> ReminderView:
    """Remind (催办) the handlers of one open task: its assignee, or else its candidates."""
    uow.begin_write()
    task = uow.session.get(HumanTask, task_id)
    if task is None:
        raise NotFoundError(f"task {task_id} does not exist")
    if task.state not in OPEN_STATES:
        raise InvalidStateError(f"task '{task.name}' is {task.state}; only open work is reminded")
    row = record_reminder(uow, "task", task.id, _username(actor), [task], message,
                          automatic=False, instance_id=task.instance_id,
                          business_key=task.business_key)
    uow.commit()
    return _reminder_view(row)


def remind_instance(uow: UnitOfWork, instance_id: int, actor: Actor | str,
                    message: str | None = None) -> ReminderView:
    """Remind the handlers of every open task of a process instance."""
    uow.begin_write()
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    tasks = _open_tasks(uow.session, instance_id=instance_id)
    if not tasks:
        raise InvalidStateError(f"process instance {instance_id} has no open task to remind")
    row = record_reminder(uow, "instance", str(instance_id), _username(actor), tasks, message,
                          automatic=False, instance_id=instance_id,
                          business_key=instance.business_key)
    uow.commit()
    return _reminder_view(row)


def remind_subject(uow: UnitOfWork, subject_kind: str, subject_id: str, actor: Actor | str,
                   message: str | None = None) -> ReminderView:
    """Remind on an issue or a project (by business key): every open task under it is notified."""
    if subject_kind == "task":
        return remind_task(uow, subject_id, actor, message)
    if subject_kind == "instance":
        return remind_instance(uow, int(subject_id), actor, message)
    uow.begin_write()
    tasks = _open_tasks(uow.session, business_key=subject_id)
    row = record_reminder(uow, subject_kind, subject_id, _username(actor), tasks, message,
                          automatic=False, business_key=subject_id)
    uow.commit()
    return _reminder_view(row)


def month_range(month: str | date) -> tuple[datetime, datetime]:
    """The UTC start and end of a calendar month in Asia/Shanghai ('2026-12' or a date in it)."""
    if isinstance(month, str):
        year, number = (int(part) for part in month.split("-")[:2])
    else:
        year, number = month.year, month.month
    start = datetime(year, number, 1, tzinfo=SHANGHAI)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=SHANGHAI)
    return as_utc(start), as_utc(end)


def _subject_condition(subject_kind: str, subject_id: str):
    own = and_(Reminder.subject_kind == subject_kind, Reminder.subject_id == str(subject_id))
    if subject_kind in ("issue", "project"):
        # Reminders on the tasks and instances of an issue or project count for it too.
        return or_(own, Reminder.business_key == str(subject_id))
    return own


def reminder_counts(session: Session, subject_kind: str, subject_id: str,
                    month: str | date) -> int:
    """How many reminders a task, instance, issue or project had in one (Shanghai) month."""
    start, end = month_range(month)
    return session.execute(select(func.count(Reminder.id)).where(
        _subject_condition(subject_kind, subject_id), Reminder.at >= start, Reminder.at < end)
    ).scalar_one()


def reminders(session: Session, subject_kind: str, subject_id: str) -> list[ReminderView]:
    """Every reminder of a subject, oldest first."""
    rows = session.execute(select(Reminder).where(_subject_condition(subject_kind, subject_id))
                           .order_by(Reminder.at, Reminder.id)).scalars()
    return [_reminder_view(row) for row in rows]


def _left_behind(session: Session, instance_id: int, now: datetime,
                 escalation_id: int) -> list[HumanTask]:
    """The tasks this save cancelled (ended now), opened since the instance's previous move
    up the ladder: the work of the rung left, e.g. a unit's report a higher rung handed it."""
    since = session.execute(select(Escalation.at).where(
        Escalation.instance_id == instance_id, Escalation.id < escalation_id)
        .order_by(Escalation.id.desc()).limit(1)).scalar_one_or_none()
    query = select(HumanTask).where(HumanTask.instance_id == instance_id,
                                    HumanTask.state == "cancelled", HumanTask.ended_at == now)
    if since is not None:
        query = query.where(HumanTask.created_at > since)
    return list(session.execute(query).scalars())


def rung_text(rung: str | None) -> str:
    """A rung as people say it: 第3级, or the rung's own name."""
    if rung is None or rung == "":
        return "—"
    return f"第{rung}级" if str(rung).isdigit() else str(rung)


def record_escalation(uow: UnitOfWork, instance: ProcessInstance, by: str,
                      from_rung: str | None, to_rung: str, reason: str | None, *,
                      automatic: bool) -> Escalation:
    """Write one escalation, tell each handler once, audit it.

    Told are the handlers of the instance's open tasks (the rung reached) and those of the rung
    it left: for an issue the ledger's handler (which the ledger hook brings up to date only
    after this one), and whoever held the work this save cancelled, opened since the previous
    move (a unit a higher rung had handed the report to): one 升级 message each, so that the
    holder of the new rung reads one 升级 beside the one 新待办 of its new task.
    """
    now = uow.clock.now()
    row = Escalation(instance_id=instance.id, business_key=instance.business_key,
                     from_rung=from_rung, to_rung=to_rung, by=by, automatic=automatic,
                     reason=reason, at=now)
    uow.session.add(row)
    uow.session.flush()
    matter = matter_of(uow.session, instance.id, instance.business_key)
    title = f"升级：{_about(matter, f'{rung_text(from_rung)} → {rung_text(to_rung)}')}"
    told: set[tuple[str, str]] = set()
    for task in _open_tasks(uow.session, instance_id=instance.id):
        users, groups = handlers_of(task)
        users = standing.notified(uow.session, users, task.created_at, now)  # 委托
        users = [u for u in users if ("user", u) not in told]
        groups = [g for g in groups if ("group", g) not in told]
        told |= {("user", u) for u in users} | {("group", g) for g in groups}
        notify(uow, kind="escalated", title=title, body=reason, users=users, groups=groups,
               instance_id=instance.id, task_id=task.id)
    left: list[str] = []
    issue = uow.session.get(IssueLedgerRow, instance.id)
    if issue is not None and issue.handler:
        left.append(issue.handler)
    for task in _left_behind(uow.session, instance.id, now, row.id):
        users, groups = handlers_of(task)
        left += [f"user:{u}" for u in users] + groups
    for name in dict.fromkeys(left):
        kind, who = ("user", name[5:]) if name.startswith("user:") else ("group", name)
        if (kind, who) in told:
            continue
        told.add((kind, who))
        notify(uow, kind="escalated", title=title, body=reason, instance_id=instance.id,
               **({"users": [who]} if kind == "user" else {"groups": [who]}))
    uow.audit.record(by, "escalated", subject=f"instance:{instance.id}", instance_id=instance.id,
                     before=from_rung, after=to_rung, why=reason, automatic=automatic,
                     business_key=instance.business_key,
                     notified=sorted(name for _kind, name in told) or None)
    return row


def escalate(uow: UnitOfWork, instance_id: int, actor: Actor | str, from_rung: str | None,
             to_rung: str, reason: str | None, automatic: bool = False) -> EscalationView:
    """Move an instance's item to another rung of the ladder; a person must say why."""
    reason = (reason or "").strip() or None
    if not automatic and reason is None:
        raise TaskDataError("a reason is required to escalate", {"reason": ["required"]})
    if not to_rung or not str(to_rung).strip():
        raise TaskDataError("the rung to escalate to is required", {"to_rung": ["required"]})
    uow.begin_write()
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"process instance {instance_id} does not exist")
    if from_rung is None:
        from_rung = current_rung(uow.session, instance_id=instance_id)
    row = record_escalation(uow, instance, _username(actor), from_rung, str(to_rung).strip(),
                            reason, automatic=automatic)
    uow.commit()
    return _escalation_view(row)


def _escalations(session: Session, instance_id: int | None, business_key: str | None):
    if (instance_id is None) == (business_key is None):
        raise ValueError("give exactly one of instance_id or business_key")
    query = select(Escalation).order_by(Escalation.at, Escalation.id)
    if instance_id is not None:
        return query.where(Escalation.instance_id == instance_id)
    return query.where(Escalation.business_key == business_key)


def escalation_history(session: Session, *, instance_id: int | None = None,
                       business_key: str | None = None) -> list[EscalationView]:
    """Every escalation of an instance or of a business key (project, issue), oldest first."""
    rows = session.execute(_escalations(session, instance_id, business_key)).scalars()
    return [_escalation_view(row) for row in rows]


def current_rung(session: Session, *, instance_id: int | None = None,
                 business_key: str | None = None) -> str | None:
    """The rung the item sits on now: the last escalation's target, None if never escalated."""
    query = _escalations(session, instance_id, business_key)
    query = query.order_by(None).order_by(Escalation.at.desc(), Escalation.id.desc()).limit(1)
    row = session.execute(query).scalar_one_or_none()
    return None if row is None else row.to_rung


def _username(actor: Actor | str) -> str:
    return actor if isinstance(actor, str) else actor.username
