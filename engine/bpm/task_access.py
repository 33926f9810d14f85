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

Standing delegation (委托, engine/bpm/standing.py): a task read with the time (`standing`)
names its users by name whose stand-in acts for them now. The stand-in sees the task, is told
about it instead of them, and acts on it in their name (`capacities`); they still see it, but
act on it only through their groups until the delegation ends. Groups are never delegated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, false, or_

from ..core.identity import Actor
from ..core.models import HumanTask, TaskCandidate
from . import standing
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


def handed_away(task: PeopleOfTask) -> dict[str, str]:
    """The task's users by name whose stand-in acts for them now (委托): user → stand-in.

    Known only for a task read with the time (projection.load_tasks with `now`)."""
    return {s.delegator: s.stand_in for s in getattr(task, "standing", ())}


def handlers_of(task: PeopleOfTask) -> tuple[list[str], list[str]]:
    """(users, groups) who handle an open task: its assignee, else its candidates; a user's
    stand-in in their place while one acts for them."""
    away = handed_away(task)
    if task.assignee:
        return [away.get(task.assignee, task.assignee)], []
    users = [away.get(c.name, c.name) for c in task.candidates if c.kind == USER]
    groups = [c.name for c in task.candidates if c.kind == GROUP]
    return list(dict.fromkeys(users)), groups


@dataclass(frozen=True)
class Capacity:
    """In what capacity an actor acts on a task: a user name (None: not by name), groups,
    and whose stand-in it is acting as (委托), if anyone's."""

    name: str | None
    groups: frozenset[str]
    on_behalf_of: str | None = None


def capacities(task: PeopleOfTask, actor: Actor) -> list[Capacity]:
    """The capacities the actor may act on the task in, its own first: its groups, and its
    name unless a stand-in acts for it on the task now; then, as a stand-in, the name (never
    the groups) of each of the task's users it acts for."""
    away = handed_away(task)
    own = Capacity(None if actor.username in away else actor.username, actor.groups)
    return [own, *(Capacity(user, frozenset(), user)
                   for user, stand_in in away.items() if stand_in == actor.username)]


def offered_to(task: PeopleOfTask, capacity: Capacity) -> bool:
    """Whether the task is offered to one of the capacity's groups or to its name."""
    return any((c.kind == GROUP and c.name in capacity.groups)
               or (c.kind == USER and c.name == capacity.name) for c in task.candidates)


def may_see(task: PeopleOfTask, actor: Actor) -> bool:
    """Whether the actor may see the task: holder, ender, candidate, delegator, copy reader,
    or the supervision group while the task is open."""
    return (task.assignee == actor.username or task.ended_by == actor.username
            or is_candidate(task, actor)
            or actor.username in named(task, OWNER) or actor.username in named(task, CC)
            or actor.username in handed_away(task).values()
            or (WATCHER in actor.groups and task.state in OPEN_STATES))


def seen_by(actor: Actor, now: datetime | None = None):
    """SQL on `human_task`: the tasks `may_see` lets the actor see (as a stand-in too, with
    the time `now` the tasks are read at)."""
    mine = exists().where(TaskCandidate.task_id == HumanTask.id, or_(
        and_(TaskCandidate.kind == GROUP, TaskCandidate.name.in_(sorted(actor.groups))),
        and_(TaskCandidate.kind.in_((USER, OWNER, CC)), TaskCandidate.name == actor.username)))
    watching = HumanTask.state.in_(OPEN_STATES) if WATCHER in actor.groups else false()
    standing_in = false()
    if now is not None:
        delegations = standing.TABLE
        standing_in = and_(HumanTask.state.in_(OPEN_STATES), exists().where(
            standing.standing_for(actor.username, now),
            standing.applies(HumanTask.created_at, now), or_(
                delegations.c.delegator == HumanTask.assignee,
                exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.kind == USER,
                               TaskCandidate.name == delegations.c.delegator)
                .correlate(HumanTask))))
    return or_(HumanTask.assignee == actor.username, HumanTask.ended_by == actor.username,
               mine, watching, standing_in)
