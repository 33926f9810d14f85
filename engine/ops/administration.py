"""Administration across the engine: an account's work, and disabling it in one step.

Disabling an account (engine/core/org_admin.py ends its login and sessions) also hands on
what it was working on and ends what it vouched for, in one transaction:
- its open work — the tasks it holds, is named for, or waits for as delegator — is reassigned
  to the person the administrator chooses, each through the task-action table (改派);
- the API tokens it issued are revoked (a token acts for a system, but the person who
  issued it no longer vouches for it).
Group tasks stay with their groups; those no other active account can take are listed, so
the administrator can grant the role to someone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select

from ..bpm import task_actions
from ..bpm.projection import OPEN_STATES
from ..bpm.task_access import GROUP, OWNER, USER
from ..core import org_admin
from ..core.errors import NotFoundError
from ..core.identity import Actor
from ..core.models import HumanTask, TaskCandidate
from ..core.organisation import UserAccount, groups_of
from ..core.uow import EnlistedUnitOfWork, UnitOfWork
from .tokens import ApiToken

HOW = {"held": "办理中", "named": "指名待办", "waiting": "委派后待交回"}


@dataclass(frozen=True)
class WorkItem:
    """One open task of an account, and how it is the account's."""

    id: str
    name: str
    process_key: str
    instance_id: int
    business_key: str | None
    state: str
    due_at: datetime | None
    how: str  # held, named, waiting (see HOW)

    @property
    def how_label(self) -> str:
        """How the task is the account's, in Chinese."""
        return HOW[self.how]


@dataclass(frozen=True)
class AccountWork:
    """An account's open work: its own tasks, and group tasks only it could take."""

    own: list[WorkItem]
    orphaned: list[WorkItem]


def _item(task: HumanTask, username: str) -> WorkItem:
    names = {(c.kind, c.name) for c in task.candidates}
    how = ("held" if task.assignee == username else
           "waiting" if (OWNER, username) in names else "named")
    return WorkItem(task.id, task.name, task.process_key, task.instance_id, task.business_key,
                    task.state, task.due_at, how)


def _own(uow: UnitOfWork, username: str) -> list[HumanTask]:
    named = exists().where(TaskCandidate.task_id == HumanTask.id,
                           TaskCandidate.kind.in_((USER, OWNER)),
                           TaskCandidate.name == username)
    return list(uow.session.execute(
        select(HumanTask).where(HumanTask.state.in_(OPEN_STATES),
                                or_(HumanTask.assignee == username, named))
        .order_by(HumanTask.created_at)).scalars())


def _orphaned(uow: UnitOfWork, username: str) -> list[WorkItem]:
    """Open, unheld group tasks offered only to groups in which no other active account is."""
    account = uow.session.get(UserAccount, username)
    mine = groups_of(account)
    if not mine:
        return []
    others: set[str] = set()
    for other in uow.session.execute(select(UserAccount).where(
            UserAccount.active.is_(True), UserAccount.username != username)).scalars():
        others |= groups_of(other)
    alone = sorted(mine - others)
    if not alone:
        return []
    tasks = uow.session.execute(
        select(HumanTask).join(TaskCandidate, TaskCandidate.task_id == HumanTask.id)
        .where(HumanTask.state == "open", HumanTask.assignee.is_(None),
               TaskCandidate.kind == GROUP, TaskCandidate.name.in_(alone))
        .order_by(HumanTask.created_at)).scalars().unique()
    found = []
    for task in tasks:
        offered = {c.name for c in task.candidates if c.kind == GROUP}
        users = [c.name for c in task.candidates if c.kind == USER and c.name != username]
        if offered <= set(alone) and not users:
            found.append(_item(task, username))
    return found


def account_work(uow: UnitOfWork, actor: Actor, username: str) -> AccountWork:
    """The account's open work (administrators only)."""
    org_admin.require_admin(actor)
    if uow.session.get(UserAccount, username) is None:
        raise NotFoundError(f"no user '{username}'")
    return AccountWork([_item(t, username) for t in _own(uow, username)],
                       _orphaned(uow, username))


@dataclass(frozen=True)
class DisableResult:
    """What disabling did: the tasks reassigned (to whom) and the tokens revoked."""

    reassigned: list[WorkItem]
    reassigned_to: str | None
    tokens_revoked: list[str]


def _successor_problem(uow: UnitOfWork, username: str, successor: str | None,
                       work: list[HumanTask]) -> str | None:
    """Why `successor` cannot take the account's work (None: it can, or none is needed)."""
    if successor is None:
        return f"该账户还有 {len(work)} 项待办，请选择接手人" if work else None
    if successor == username:
        return "接手人不能是被停用的账户本人"
    target = uow.session.get(UserAccount, successor)
    if target is None or not target.active:
        return "没有这个启用的账户"
    return None


def disable_account(uow: UnitOfWork, actor: Actor, username: str, why: str,
                    reassign_to: str | None = None) -> DisableResult:
    """停用账户: no login from now on, sessions and the API tokens it issued end at once,
    and its open work goes to `reassign_to` (required when it has any) — one transaction.
    Called again on a disabled account, it hands on what still reached it."""
    org_admin.require_admin(actor)
    uow.begin_write()
    if uow.session.get(UserAccount, username) is None:
        raise NotFoundError(f"no user '{username}'")
    work = _own(uow, username)
    successor = (reassign_to or "").strip() or None
    errors = {}
    if problem := _successor_problem(uow, username, successor, work):
        errors["reassign_to"] = [problem]
    if not (why or "").strip():
        errors["why"] = ["请填写停用原因"]
    if errors:
        raise org_admin.OrgInputError(errors)
    org_admin.mark_disabled(uow, actor, username, why)
    now, revoked = uow.clock.now(), []
    for token in uow.session.execute(select(ApiToken).where(
            ApiToken.created_by == username, ApiToken.revoked_at.is_(None))).scalars():
        token.revoked_at, token.revoked_by = now, actor.username
        revoked.append(token.name)
        uow.audit.record(actor.username, "api_token_revoked", subject=f"api_token:{token.id}",
                         name=token.name, why=f"签发人账户已停用：{why.strip()}")
    items = [_item(t, username) for t in work]
    enlisted = EnlistedUnitOfWork(uow)
    for item in items:
        task_actions.reassign(enlisted, item.id, actor, username, successor, why)
    uow.commit()
    return DisableResult(items, successor if items else None, revoked)

