"""搜索: one box that finds tasks, instances, issues, 13710 instructions and projects.

A query is cut into words at spaces; a row is found when every word is a substring of one of
its texts (title, business key, project code or name) or names one of its people or units
(张三 finds the tasks 张三 holds and the projects he serves; 自然资源局 the issues it owns;
a project's name finds the work keyed by its code).
Substring matching (`LIKE '%词%'`) works for Chinese of any length, where trigram indexes
(SQLite's FTS5 trigram, PostgreSQL's pg_trgm) need three characters and most Chinese
searches are two. The LIKE is kept, but it reads only the instances the text index names
(engine/core/text_index.py: the runs of characters of every instance's texts, kept as they
are written, the same on both databases) when the words' runs are rare enough to narrow
them; a word too common to narrow is matched by the scan as before. Each kind is scoped by the rule its own pages use: tasks by who may see
them (engine/bpm/task_access.py), instances by who started or works in them, issues and
instructions and projects by the county's policy (engine/county/policy.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, false, or_, select

from engine.bpm.projection import OPEN_STATES
from engine.bpm.task_access import seen_by
from engine.core.db import OutOfTime, time_limit
from engine.core.identity import Actor
from engine.core.models import Deployment, HumanTask, ProcessInstance, TaskCandidate
from engine.core.organisation import OrgUnit, UserAccount
from engine.core.text_index import candidates
from engine.core.uow import UnitOfWork

from .issue_ledger import IssueLedgerRow, InstructionDeskRow
from .names import INSTANCE_STATES, TASK_STATES
from .policy import oversees, scope_of
from .projects import STAGES, Project

MAX_QUERY = 100  # characters
MAX_WORDS = 5
LIMIT = 20  # hits of each kind
SEARCH_SECONDS = 2.0  # a search's reads, all kinds together, at most


@dataclass(frozen=True)
class Hit:
    """One thing found: what it is, its title, a line of context, and what to open."""

    kind: str  # task, instance, issue, instruction, project
    ref: str  # the task id, instance id or project code
    title: str
    context: str
    at: datetime | None = None


@dataclass(frozen=True)
class Results:
    """What a query found, by kind; `more` names the kinds that had more than shown."""

    query: str
    words: tuple[str, ...]
    tasks: tuple[Hit, ...] = ()
    instances: tuple[Hit, ...] = ()
    issues: tuple[Hit, ...] = ()
    instructions: tuple[Hit, ...] = ()
    projects: tuple[Hit, ...] = ()
    more: frozenset[str] = field(default_factory=frozenset)
    cut: frozenset[str] = field(default_factory=frozenset)  # kinds that ran out of time

    @property
    def count(self) -> int:
        """How many hits are shown."""
        return sum(len(hits) for hits in (self.tasks, self.instances, self.issues,
                                          self.instructions, self.projects))


def words_of(query: str) -> tuple[str, ...]:
    """The query's words: cut at spaces (also the full-width one), at most five."""
    return tuple(query.replace("\u3000", " ")[:MAX_QUERY].split()[:MAX_WORDS])


def search(uow: UnitOfWork, actor: Actor, query: str, *, limit: int = LIMIT) -> Results:
    """Everything the actor may see that matches every word of the query."""
    words = words_of(query)
    if not words:
        return Results(query, words)
    session = uow.session
    people = [_people_named(session, w) for w in words]
    units = [_units_named(session, w) for w in words]
    projects = [_projects_named(session, w) for w in words]
    within = _Within(session, words)
    processes = _process_names(session)
    # The ledgers and projects first: small tables, and what a search is most often for.
    kinds = {
        "projects": lambda: _projects(session, actor, words, people, units, limit),
        "issues": lambda: _issues(session, actor, words, units, limit, within(units)),
        "instructions": lambda: _instructions(session, actor, words, units, limit,
                                              within(units)),
        "instances": lambda: _instances(session, actor, words, people, projects, limit, within(
            people, projects, [[n for n in processes if w.lower() in n.lower()] for w in words])),
        "tasks": lambda: _tasks(session, actor, words, people, units, projects,
                                uow.clock.now(), limit, within(people, units, projects)),
    }
    # A word too common for the text index to narrow is matched by a scan; among millions of
    # rows that the user mostly may not see, the scan can take seconds. Each kind gets what
    # is left of SEARCH_SECONDS; a kind that runs out is told as such (`cut`), not waited for.
    found, cut = {}, set()
    deadline = time.monotonic() + SEARCH_SECONDS
    for kind, read in kinds.items():
        try:
            with time_limit(session, max(0.05, deadline - time.monotonic())):
                found[kind] = read()
        except OutOfTime:
            found[kind] = []
            cut.add(kind)
    return Results(query, words, **{kind: tuple(hits[:limit]) for kind, hits in found.items()},
                   more=frozenset(kind for kind, hits in found.items() if len(hits) > limit),
                   cut=frozenset(cut))


class _Within:
    """The instances a kind's hits can be among, by the text index (engine/core/text_index.py),
    or None when it cannot narrow them. Only the words whose matches must come from text
    narrow: a word that also names one of a kind's people, units, projects or processes may
    match a row through those instead."""

    def __init__(self, session, words: tuple[str, ...]):
        self.session, self.words = session, words
        self.found: dict[tuple[str, ...], set[int] | None] = {}

    def __call__(self, *named: list[list[str]]) -> set[int] | None:
        words = tuple(w for i, w in enumerate(self.words) if not any(n[i] for n in named))
        if words not in self.found:
            self.found[words] = candidates(self.session, words) if words else None
        return self.found[words]


def _narrowed(query, column, within: set[int] | None):
    return query if within is None else query.where(column.in_(sorted(within)))


def _process_names(session) -> list[str]:
    """The names of every deployment (an instance is found by its process's name)."""
    return [name for name in session.execute(
        select(Deployment.name).distinct()).scalars() if name]


def _people_named(session, word: str) -> list[str]:
    return list(session.execute(select(UserAccount.username).where(
        UserAccount.display_name.contains(word, autoescape=True)).limit(200)).scalars())


def _projects_named(session, word: str) -> list[str]:
    """The codes of the projects whose name holds the word: their work is keyed by the code."""
    return list(session.execute(select(Project.code).where(
        Project.name.contains(word, autoescape=True)).limit(200)).scalars())


def _units_named(session, word: str) -> list[str]:
    return list(session.execute(select(OrgUnit.code).where(
        OrgUnit.name.contains(word, autoescape=True)).limit(200)).scalars())


def _every_word(words, texts, named=None):
    """SQL: each word is in one of the texts, or (when given) names one of the row's people or
    units — `named(i)` is the condition for the i-th word's names."""
    conditions = []
    for i, word in enumerate(words):
        either = [text.contains(word, autoescape=True) for text in texts]
        if named is not None:
            either.append(named(i))
        conditions.append(or_(*either))
    return and_(*conditions)


def _in(column, values):
    return column.in_(values) if values else false()


def _tasks(session, actor, words, people, units, projects, now, limit, within) -> list[Hit]:
    def named(i):
        unit_groups = [f"unit:{code}" for code in units[i]]
        return or_(_in(HumanTask.assignee, people[i]), _in(HumanTask.ended_by, people[i]),
                   _in(HumanTask.business_key, projects[i]),
                   exists().where(TaskCandidate.task_id == HumanTask.id,
                                  _in(TaskCandidate.name, unit_groups + people[i])))

    if within is not None and not within:
        return []
    rows = session.execute(_narrowed(
        select(HumanTask, Deployment.name).join(
            ProcessInstance, ProcessInstance.id == HumanTask.instance_id).join(
            Deployment, Deployment.id == ProcessInstance.deployment_id)
        .where(seen_by(actor, now), _every_word(words, [HumanTask.name, HumanTask.business_key],
                                                named)), HumanTask.instance_id, within)
        .order_by(HumanTask.state.in_(OPEN_STATES).desc(), HumanTask.created_at.desc(),
                  HumanTask.id)
        .limit(limit + 1)).all()
    return [Hit("task", task.id, task.name,
                " · ".join(filter(None, [process or task.process_key, task.business_key,
                                         TASK_STATES.get(task.state, task.state)])),
                task.created_at) for task, process in rows]


def _instances(session, actor, words, people, projects, limit, within) -> list[Hit]:
    if within is not None and not within:
        return []
    query = (select(ProcessInstance, Deployment.name)
             .join(Deployment, Deployment.id == ProcessInstance.deployment_id)
             .where(_every_word(words, [ProcessInstance.business_key, Deployment.name],
                                lambda i: or_(_in(ProcessInstance.started_by, people[i]),
                                              _in(ProcessInstance.business_key, projects[i])))))
    if not oversees(actor):
        query = query.where(or_(
            ProcessInstance.started_by == actor.username,
            exists().where(HumanTask.instance_id == ProcessInstance.id, seen_by(actor))))
    rows = session.execute(_narrowed(query, ProcessInstance.id, within).order_by(
        ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).limit(limit + 1)).all()
    return [Hit("instance", str(row.id), f"{name or row.process_key} 第 {row.id} 号",
                " · ".join(filter(None, [row.business_key,
                                         INSTANCE_STATES.get(row.status, row.status)])),
                row.started_at) for row, name in rows]


def _issues(session, actor, words, units, limit, within) -> list[Hit]:
    ledger = IssueLedgerRow
    if within is not None and not within:
        return []
    rows = session.execute(_narrowed(
        select(ledger), ledger.instance_id, within).where(
            scope_of(actor).condition(ledger.sub_command, ledger.responsible_unit),
            _every_word(words, [ledger.title, ledger.business_key, ledger.project_code,
                                ledger.project_name],
                        lambda i: or_(_in(ledger.responsible_unit, units[i]),
                                      _in(ledger.township, units[i]),
                                      _in(ledger.sub_command, units[i]))))
        .order_by(ledger.opened_at.desc(), ledger.instance_id.desc())
        .limit(limit + 1)).scalars().all()
    return [Hit("issue", str(row.instance_id), row.title,
                " · ".join(filter(None, [row.project_name, row.rung_name,
                                         "已销号" if row.cleared_at else "未销号"])),
                row.opened_at) for row in rows]


def _instructions(session, actor, words, units, limit, within) -> list[Hit]:
    desk = InstructionDeskRow
    if within is not None and not within:
        return []
    rows = session.execute(_narrowed(
        select(desk), desk.instance_id, within).where(
            scope_of(actor).unit_condition(desk.responsible_unit),
            _every_word(words, [desk.title, desk.business_key],
                        lambda i: _in(desk.responsible_unit, units[i])))
        .order_by(desk.registered_at.desc(), desk.instance_id.desc())
        .limit(limit + 1)).scalars().all()
    return [Hit("instruction", str(row.instance_id), row.title,
                "已办结" if row.closed_at else "办理中", row.registered_at) for row in rows]


def _projects(session, actor, words, people, units, limit) -> list[Hit]:
    def named(i):
        return or_(_in(Project.specialist, people[i]), _in(Project.project_unit, units[i]),
                   _in(Project.lead_department, units[i]), _in(Project.township, units[i]),
                   _in(Project.sub_command, units[i]))

    rows = session.execute(
        select(Project).where(scope_of(actor).project_condition(),
                              _every_word(words, [Project.code, Project.name], named))
        .order_by(Project.code).limit(limit + 1)).scalars().all()
    return [Hit("project", row.code, row.name,
                f"{row.code} · {STAGES.get(row.stage, row.stage)}") for row in rows]
