"""Who a human task is for and who may see it: the one definition.

A task row names its people beside its `assignee` (who holds it) and `ended_by` (who ended
it), in `task_candidate` rows of four kinds:
- `group`, `user`: the candidates it is offered to (projection.OFFERING_KINDS);
- `owner`: who delegated it (委派, 前加签) and waits for it back;
- `cc`: who it was copied to (抄送), to read.

From these, for every service that needs them (task actions, the inbox, notifications,
supervision's reminders and escalations):
- the **handlers** of an open task, who are told about it: its assignee, or while nobody holds
  it its candidate users and groups;
- an actor is a **candidate** when one of its groups or its own name is among the offering
  rows; `principals` are those (kind, name) pairs, which the inbox matches in SQL;
- an actor **may see** a task it holds, ended, is offered, delegated or was copied; the
  supervision group (`supervisor`, engine/core/organisation.py) reads every open task, to
  remind its handlers. `seen_by` is the same rule as SQL.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, false, or_

from ..core.identity import Actor
from ..core.models import HumanTask, TaskCandidate
from .projection import OPEN_STATES, TaskRecord

GROUP, USER, OWNER, CC = "group", "user", "owner", "cc"
# The role that reads every open task (read-only: the table lets it act on none).
WATCHER = "supervisor"


# A task as these rules read it: the ORM row, or the record read with its candidates.
PeopleOfTask = HumanTask | TaskRecord


def principals(actor: Actor) -> list[tuple[str, str]]:
    """The (kind, name) candidate rows that offer a task to the actor: its groups, its name."""
    return [(GROUP, name) for name in sorted(actor.groups)] + [(USER, actor.username)]


def is_candidate(task: PeopleOfTask, actor: Actor) -> bool:
    """Whether the task is offered to one of the actor's groups or to the actor by name."""
    mine = set(principals(actor))
    return any((c.kind, c.name) in mine for c in task.candidates)


def named(task: PeopleOfTask, kind: str) -> set[str]:
    """The names in the task's candidate rows of one kind."""
    return {c.name for c in task.candidates if c.kind == kind}


def delegated_by(task: PeopleOfTask) -> str | None:
    """The user who delegated the task and waits for it back, if any."""
    return next(iter(named(task, OWNER)), None)


def handlers_of(task: PeopleOfTask) -> tuple[list[str], list[str]]:
    """(users, groups) who handle an open task: its assignee, else its candidates."""
    if task.assignee:
        return [task.assignee], []
    users = [c.name for c in task.candidates if c.kind == USER]
    groups = [c.name for c in task.candidates if c.kind == GROUP]
    return users, groups


def may_see(task: PeopleOfTask, actor: Actor) -> bool:
    """Whether the actor may see the task: holder, ender, candidate, delegator, copy reader,
    or the supervision group while the task is open."""
    return (task.assignee == actor.username or task.ended_by == actor.username
            or is_candidate(task, actor)
            or actor.username in named(task, OWNER) or actor.username in named(task, CC)
            or (WATCHER in actor.groups and task.state in OPEN_STATES))


def seen_by(actor: Actor):
    """SQL on `human_task`: the tasks `may_see` lets the actor see."""
    mine = exists().where(TaskCandidate.task_id == HumanTask.id, or_(
        and_(TaskCandidate.kind == GROUP, TaskCandidate.name.in_(sorted(actor.groups))),
        and_(TaskCandidate.kind.in_((USER, OWNER, CC)), TaskCandidate.name == actor.username)))
    watching = HumanTask.state.in_(OPEN_STATES) if WATCHER in actor.groups else false()
    return or_(HumanTask.assignee == actor.username, HumanTask.ended_by == actor.username,
               mine, watching)
