"""The engine's tables (SQLAlchemy 2.x declarative). Alembic migrations own the schema."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
    UniqueConstraint, false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .clock import as_utc


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Normalise to UTC before storing."""
        return None if value is None else as_utc(value)

    def process_result_value(self, value, dialect):
        """SQLite returns naive values: they were stored as UTC."""
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    """Declarative base of every engine table."""


class Deployment(Base):
    """One version of one process or decision, with the XML it was parsed from."""

    __tablename__ = "deployment"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_deployment_key_version"),
        Index("ix_deployment_key_sha256", "key", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # "process" or "decision"
    name: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(500))
    xml: Mapped[str] = mapped_column(Text, deferred=True)
    # Keys of the processes and decisions this file calls, resolved to their latest
    # versions when an instance starts.
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)


class ProcessInstance(Base):
    """A running or ended process: its serialized state (without the definition) and row version."""

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_instance_key_status", "process_key", "status"),
        Index("ix_instance_business_key", "business_key"),
        # 统计 reads the running instances and those started or ended in its period: one index
        # per term of that OR, each holding the columns read, so no row (and no state) is read.
        Index("ix_instance_status_times", "status", "process_key", "started_at", "ended_at"),
        Index("ix_instance_started", "started_at", "process_key", "status", "ended_at"),
        Index("ix_instance_ended", "ended_at", "process_key", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    # Deployment ids of the called processes and decision tables, fixed at start.
    bundle: Mapped[list[int]] = mapped_column(JSON, default=list)
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # running, completed, cancelled
    state: Mapped[bytes] = mapped_column(LargeBinary)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    deployment: Mapped[Deployment] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}


class HumanTask(Base):
    """A user task as the inbox sees it: projected from the instance at every save."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_assignee_state_due", "assignee", "state", "due_at"),
        Index("ix_human_task_instance_state", "instance_id", "state"),
        Index("ix_human_task_instance_spiff", "instance_id", "spiff_task_id"),
        # The inbox's due filters; 统计's overdue open tasks per step and holder (covering).
        Index("ix_human_task_state_due", "state", "due_at", "process_key", "element_id",
              "assignee"),
        Index("ix_human_task_due_provisional", "due_provisional", "state"),
        # 统计's tasks ended in a period (the day tallies are filled from it), and the open
        # tasks of each holder (covering).
        Index("ix_human_task_ended", "ended_at"),
        Index("ix_human_task_open_holders", "state", "assignee", "process_key"),
        # A project sheet's open tasks by business key.
        Index("ix_human_task_state_key", "state", "business_key"),
    )

    # One row per time a task became ready: a task returned to and made ready again is a
    # new row (its own id, history kept), with the same SpiffWorkflow task id.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))  # open, claimed, completed, cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A due date in a year whose holiday schedule is not yet published is an estimate; when it
    # came from add_working_days, its start and day count are kept so it can be recomputed.
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_basis_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_working_days: Mapped[int | None] = mapped_column(Integer)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[dict] = mapped_column(JSON, default=dict)
    documentation: Mapped[str | None] = mapped_column(Text)

    candidates: Mapped[list[TaskCandidate]] = relationship(
        back_populates="task", cascade="all, delete-orphan")


# The due time sorted after every real one, for tasks without a due time ("no deadline last").
NO_DUE = datetime(9999, 12, 31, tzinfo=timezone.utc)


class TaskCandidate(Base):
    """One candidate group or user of a human task.

    The inbox reads the tasks offered to a group in due order straight from the index
    `ix_task_candidate_offer`, a page at a time, however many tasks the county has: so each
    row repeats whether its task is offered now (open and nobody holds it) and the task's
    due time (`NO_DUE` when it has none) and creation time. engine.projection keeps them
    in step with the task row.
    """

    __tablename__ = "task_candidate"
    __table_args__ = (
        Index("ix_task_candidate_kind_name", "kind", "name"),
        Index("ix_task_candidate_offer", "kind", "name", "offered", "due_sort", "created_at",
              "task_id"),
    )

    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"),
                                         primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "group" or "user"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    offered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_sort: Mapped[datetime] = mapped_column(UTCDateTime, default=NO_DUE)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    task: Mapped[HumanTask] = relationship(back_populates="candidates")


class TimerJob(Base):
    """A waiting timer of an instance, with its due time; the worker reads only due rows."""

    __tablename__ = "timer_job"
    __table_args__ = (
        Index("ix_timer_job_next_run", "incident", "next_run_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the worker may next try: the due time, later after a failure (back-off).
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    incident: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """One change of state, appended and never edited; each row carries the hash of the chain."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_instance", "instance_id"),
        Index("ix_audit_subject", "subject"),
        # The audit trail pages find a project's instances among the "instance_started"
        # events: without it they read the whole log.
        Index("ix_audit_action", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON: why, before, after, data
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The one row that holds the chain's last sequence number and hash; locking it orders appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))
