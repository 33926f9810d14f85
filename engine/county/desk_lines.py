"""The 督办台's task lines kept at save: each open task of a process other than the issue
process, with a due time, and whose it is — its responsible unit, field (分指挥部), township
and project — so the desk counts and orders its late lines in SQL (engine/county/
supervision_desk.py `overdue_board`) instead of working out every task's unit in Python.

Only where a task belongs is kept, with its due time; whether it is late is asked of the
clock at every read. A line's values are those the desk always gave a task
(`supervision_desk._TaskContext`):

- the unit: the instruction's responsible unit (13710, except at its assigning step), else
  the task's first `unit:<code>` candidate group (by name), else the unit of the first
  `role@<code>` group, else the unit of the task's assignee — that last one is not kept but
  read with the line (`line_unit`, `line_field`): a claim, a transfer or an account moved to
  another unit changes it without a save;
- the project: the one whose code is the task's business key, else the first (by code) the
  key ends with; the field and township are the project's, and without a project the field
  is the unit when that unit is a sub-command.

One INSERT … SELECT (`reproject`) computes the lines of the tasks a condition picks, so the
save hook (an instance's tasks, opened and closed), the flush listener (what changes through
the ORM: a recomputed deadline, an instruction's unit, a project registered or moved to
another field or township, a unit that became a sub-command) and the rebuild (every task:
the migration and bench/county_history.py) all give the same rows.

An instance moved to another version of its process (engine/bpm/instance_migration.py
rewrites its open tasks' names, candidates and deadlines in SQL) is followed by the save
hook too: the move calls the save hooks as after a save in which no step finished.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean, ForeignKey, Index, Integer, String, Text, and_, bindparam, case, cast, delete, func,
    insert, inspect, or_, select, true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..bpm.hooks import SaveSummary
from ..bpm.projection import OPEN_STATES
from ..core.identity import Actor
from ..core.models import Base, HumanTask, TaskCandidate, UTCDateTime
from ..core.organisation import OrgUnit, UserAccount
from ..core.uow import UnitOfWork
from .issue_ledger import ISSUE_PROCESS, InstructionDeskRow
from .projects import Project

ASSIGN_STEP = "assign_instruction"  # where the instruction's unit is not yet the one acting


class DeskTask(Base):
    """One open task of a process other than the issue process, with its due time and place."""

    __tablename__ = "desk_task"
    __table_args__ = (
        Index("ix_desk_task_due", "due_at"),
        Index("ix_desk_task_unit_due", "responsible_unit", "due_at"),
        Index("ix_desk_task_sub_command_due", "sub_command", "due_at"),
        Index("ix_desk_task_instance", "instance_id"),
    )

    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"),
                                         primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    process_key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The unit from the instruction or the candidate groups; when they name none
    # (`by_assignee`), the unit is the assignee's, read with the line (see `line_unit`): a
    # claim or a transfer moves it, and an account changes unit, without a save.
    responsible_unit: Mapped[str | None] = mapped_column(String(200))
    by_assignee: Mapped[bool] = mapped_column(Boolean)
    # The project's field, or the unit's when it is a sub-command (None for a line by
    # assignee without a project: see `line_field`).
    sub_command: Mapped[str | None] = mapped_column(String(50))
    township: Mapped[str | None] = mapped_column(String(50))
    project_code: Mapped[str | None] = mapped_column(String(50))


_TASKS, _CANDIDATES = HumanTask.__table__, TaskCandidate.__table__
_LINES = DeskTask.__table__


def _lines(dialect: str, which):
    """SELECT of the desk lines of the open tasks `which` (a condition on human_task) picks."""
    ordered = (lambda column: column.collate("C")) if dialect == "postgresql" else (lambda c: c)
    t = _TASKS
    tasks = select(t.c.id, t.c.instance_id, t.c.process_key, t.c.business_key, t.c.element_id,
                   t.c.assignee, t.c.due_at).where(
        t.c.state.in_(OPEN_STATES), t.c.process_key != ISSUE_PROCESS, t.c.due_at.is_not(None),
        which).cte("desk_tasks")
    # Every ending of every business key, to find the projects a key names by index.
    endings = select(tasks.c.id.label("task_id"),
                     cast(tasks.c.business_key, Text).label("ending")).where(
        tasks.c.business_key.is_not(None), tasks.c.business_key != "").cte(
        "key_endings", recursive=True)
    endings = endings.union_all(select(endings.c.task_id, func.substr(endings.c.ending, 2))
                                .where(func.length(endings.c.ending) > 1))
    projects = Project.__table__
    named = (select(endings.c.task_id, func.min(ordered(projects.c.code)).label("code"))
             .join(projects, projects.c.code == endings.c.ending)
             .group_by(endings.c.task_id).subquery("named"))
    exact = select(projects.c.code).where(projects.c.code == tasks.c.business_key)
    c = _CANDIDATES
    group = and_(c.c.task_id == tasks.c.id, c.c.kind == "group")
    unit_group = select(func.substr(func.min(ordered(c.c.name)), 6)).where(
        group, func.substr(c.c.name, 1, 5) == "unit:").scalar_subquery()
    first_at = select(func.min(ordered(c.c.name))).where(
        group, c.c.name.like("%@%")).scalar_subquery()
    at = func.strpos if dialect == "postgresql" else func.instr
    at_group = func.substr(first_at, at(first_at, "@") + 1)
    desk = InstructionDeskRow.__table__
    desk_unit = case((tasks.c.element_id != ASSIGN_STEP, select(desk.c.responsible_unit).where(
        desk.c.instance_id == tasks.c.instance_id, desk.c.responsible_unit.is_not(None),
        desk.c.responsible_unit != "").scalar_subquery()))
    unit = func.coalesce(desk_unit, unit_group, at_group)
    placed = select(
        tasks.c.id, tasks.c.instance_id, tasks.c.process_key, tasks.c.due_at,
        unit.label("unit"),
        func.coalesce(exact.scalar_subquery(), named.c.code).label("project_code"),
    ).select_from(tasks.outerjoin(named, named.c.task_id == tasks.c.id)).cte("placed")
    project = projects.alias("project")
    field = case((placed.c.project_code.is_not(None), project.c.sub_command),
                 (placed.c.unit.in_(_FIELDS), placed.c.unit))
    return select(placed.c.id, placed.c.instance_id, placed.c.process_key, placed.c.due_at,
                  placed.c.unit, placed.c.unit.is_(None), field, project.c.township,
                  placed.c.project_code).select_from(
        placed.outerjoin(project, project.c.code == placed.c.project_code))


_FIELDS = select(OrgUnit.__table__.c.code).where(OrgUnit.__table__.c.kind == "sub_command")
_COLUMNS = ["task_id", "instance_id", "process_key", "due_at", "responsible_unit",
            "by_assignee", "sub_command", "township", "project_code"]


def _assignee_unit():
    users = UserAccount.__table__
    return (select(users.c.unit_code).select_from(users.join(
        _TASKS, _TASKS.c.assignee == users.c.username))
        .where(_TASKS.c.id == DeskTask.task_id).scalar_subquery())


def line_unit():
    """SQL: a line's responsible unit (the assignee's when the line goes by assignee)."""
    return case((DeskTask.by_assignee.is_(True), _assignee_unit()),
                else_=DeskTask.responsible_unit)


def line_field():
    """SQL: a line's field (分指挥部): the project's; without a project, the unit's when that
    unit is a sub-command."""
    assignee_unit = _assignee_unit()
    return case((DeskTask.by_assignee.is_(True) & DeskTask.project_code.is_(None),
                 case((assignee_unit.in_(_FIELDS), assignee_unit))),
                else_=DeskTask.sub_command)


def reproject(connection, which, *, lines=None) -> None:
    """Give the tasks `which` (a condition on human_task) picks their desk lines again: the
    lines of those that closed go, the open ones' are computed afresh. `lines` narrows the
    lines dropped (a condition on desk_task; default: those of the tasks picked)."""
    dropped = lines if lines is not None else _LINES.c.task_id.in_(
        select(_TASKS.c.id).where(which))
    connection.execute(delete(_LINES).where(dropped))
    connection.execute(insert(_LINES).from_select(
        _COLUMNS, _lines(connection.dialect.name, which)))


def rebuild_desk_lines(session: Session) -> None:
    """Every desk line again from the tasks (the migration's fill, bench/county_history.py's
    after its bulk copy). The caller commits."""
    reproject(session.connection(), true(), lines=true())


# The save hook's two statements, built once per database: building the SELECT of `_lines`
# cost ~4 ms a save (and SQLAlchemy compiled it anew each time), twice a completion's rest.
_OF_INSTANCE: dict[str, tuple] = {}


def _instance_statements(dialect: str) -> tuple:
    if dialect not in _OF_INSTANCE:
        instance = bindparam("instance_id", type_=Integer)
        _OF_INSTANCE[dialect] = (
            delete(_LINES).where(_LINES.c.instance_id == instance),
            insert(_LINES).from_select(_COLUMNS,
                                       _lines(dialect, _TASKS.c.instance_id == instance)))
    return _OF_INSTANCE[dialect]


def desk_lines_hook(uow: UnitOfWork, summary: SaveSummary, actor: Actor) -> None:
    """The save hook: the lines of the saved instance's tasks follow its tasks (opened,
    closed) and its instruction's responsible unit (projected before, by project_ledger)."""
    if summary.instance.process_key == ISSUE_PROCESS:
        return
    uow.session.flush()
    connection = uow.session.connection()
    drop, add = _instance_statements(connection.dialect.name)
    had = connection.execute(drop, {"instance_id": summary.instance.id}).rowcount
    # An instance none of whose tasks had a line, and whose new tasks have no deadline, has
    # none now either (a process without deadlines: most saves end here). A save in which
    # nothing finished or opened (an instance moved to another version) reads them all.
    changed = summary.finished or summary.opened
    if had or not changed or any(t.due_at is not None for t in summary.opened):
        connection.execute(add, {"instance_id": summary.instance.id})


def _changed(obj, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def follow_flush(session: Session, _context) -> None:
    """After each flush of a unit of work (the platform listens with it on its sessions,
    engine/county/hooks.py FLUSH_LISTENERS): changes made through the ORM that move a line —
    a task given a new deadline or closed; an instruction's unit; a project registered,
    moved or removed; a unit that became (or stopped being) a sub-command. (Who holds a
    task is read with the line, see `line_unit`.)"""
    tasks: set[str] = set()
    instances: set[int] = set()
    projects: set[str] = set()
    units: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, HumanTask):
            if obj.process_key != ISSUE_PROCESS:
                tasks.add(obj.id)
        elif isinstance(obj, TaskCandidate):
            tasks.add(obj.task_id)
        elif isinstance(obj, InstructionDeskRow):
            instances.add(obj.instance_id)
        elif isinstance(obj, Project):
            if obj not in session.dirty or _changed(obj, "code", "sub_command", "township"):
                projects.add(obj.code)
        elif isinstance(obj, OrgUnit):
            if obj not in session.dirty or _changed(obj, "kind"):
                units.add(obj.code)
    if not (tasks or instances or projects or units):
        return
    connection = session.connection()
    if len(projects) > _FEW_PROJECTS:  # an import: every line again, not a scan per code
        reproject(connection, true(), lines=true())
        return
    for chunk in _chunks(tasks):
        reproject(connection, _TASKS.c.id.in_(chunk))
    for chunk in _chunks(instances):
        reproject(connection, _TASKS.c.instance_id.in_(chunk))
    if projects:  # the open tasks whose key ends in one of the codes
        reproject(connection, _TASKS.c.state.in_(OPEN_STATES) & or_(*(
            _TASKS.c.business_key.endswith(code, autoescape=True) for code in sorted(projects))))
    for chunk in _chunks(units):
        reproject(connection, _TASKS.c.id.in_(select(_LINES.c.task_id).where(
            _LINES.c.responsible_unit.in_(chunk))))


_FEW_PROJECTS = 50


def _chunks(values: set, size: int = 500):
    ordered = sorted(values)
    return (ordered[start:start + size] for start in range(0, len(ordered), size))
