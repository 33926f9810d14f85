"""Standing delegation (委托): a user away from the desk names a stand-in for a period.

While a delegation is in force — its start ≤ now < its end, by the platform's clock — the
open tasks the user handles **by name** (holds as assignee, or is offered as a candidate
user) are the stand-in's to act on, "代 张三", in the stand-in's own name; the user still
sees them but does not act on them until the delegation ends or is ended. Tasks that reached
the user before the start count only when the user chose "also my open tasks"
(`include_open`). Group tasks (candidate groups) are not delegated: the stand-in may not hold
the role or belong to the unit, and the group's other members are there to take them.

Nothing is moved. The rule is applied where tasks are read: the statements that read tasks
(engine/bpm/projection.py `load_tasks`, the inbox's lists and counts) compare this table with
now in the same statement, so a delegation starts and ends by itself at its times, with no
job and nothing to hand back — whatever is still open at the end is the user's again, and a
page read with no delegation in force costs no extra statement. A delegation to an account
that has since been disabled does not apply.

Who may act on a delegated task, and in whose name, is engine/bpm/task_access.py's rule and
the transition table's (engine/bpm/task_actions.py), once. A user has at most one delegation
that has not ended (in force or planned); setting another changes it. Set, changed and ended
are audited (subject `user:<delegator>`); running out at its end time is not an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean, ForeignKey, Index, Integer, String, and_, bindparam, exists, false, literal, or_,
    select, true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.errors import NotFoundError, PermissionDeniedError, TaskDataError
from ..core.identity import Actor
from ..core.models import Base, UTCDateTime
from ..core.notifications import notify
from ..core.organisation import OrgUnit, UserAccount
from ..core.uow import UnitOfWork

ADMIN = "admin"  # the administrators' role (engine/core/organisation.py ROLES)
LONGEST = timedelta(days=366)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class StandingDelegation(Base):
    """One period in which `stand_in` handles the tasks `delegator` handles by name."""

    __tablename__ = "standing_delegation"
    __table_args__ = (
        # The rule's two ways in: the delegations of a task's user, and those naming a stand-in.
        Index("ix_standing_delegation_delegator", "delegator", "ends_at"),
        Index("ix_standing_delegation_stand_in", "stand_in", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delegator: Mapped[str] = mapped_column(ForeignKey("user_account.username"))
    stand_in: Mapped[str] = mapped_column(ForeignKey("user_account.username"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Ending early moves the end to the moment it was ended.
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    include_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reason: Mapped[str | None] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(100))


@dataclass(frozen=True)
class Standing:
    """On one open task: `delegator` handles it by name, and `stand_in` acts for them now."""

    delegator: str
    stand_in: str


@dataclass(frozen=True)
class DelegationView:
    """A delegation as pages and callers see it."""

    id: int
    delegator: str
    stand_in: str
    starts_at: datetime
    ends_at: datetime
    include_open: bool
    reason: str | None
    set_by: str
    set_at: datetime
    ended_by: str | None

    def in_force(self, now: datetime) -> bool:
        """Whether the stand-in acts for the delegator at `now`."""
        return self.starts_at <= now < self.ends_at


def _view(row: StandingDelegation) -> DelegationView:
    return DelegationView(row.id, row.delegator, row.stand_in, row.starts_at, row.ends_at,
                          row.include_open, row.reason, row.set_by, row.set_at, row.ended_by)


# ---------------------------------------------------------------- the rule, as SQL

_D = StandingDelegation.__table__
_ACCOUNTS = UserAccount.__table__
# The hot statements (the inbox's lists and counts, the task reads) are built once with
# these two parameters and executed with `parameters(now, me)`: building the SQL anew for
# every page cost more than running it.
NOW = bindparam("standing_now", type_=UTCDateTime())
ME = bindparam("standing_me", type_=String(100))
TABLE = _D


def parameters(now: datetime, me: str | None = None) -> dict:
    """The values of NOW and ME: the time the tasks are read at, and whose lists they are."""
    return {"standing_now": now, "standing_me": me}


def in_force(now: datetime | None = None):
    """SQL: the delegation is in force at `now` (else at NOW)."""
    at = NOW if now is None else literal(now, UTCDateTime())
    return and_(_D.c.starts_at <= at, _D.c.ends_at > at)


def covers(created_at):
    """SQL: the delegation covers a task created at `created_at`."""
    return or_(_D.c.include_open == true(), _D.c.starts_at <= created_at)


def applies(created_at, now: datetime | None = None):
    """SQL: the delegation is in force (at `now`, else NOW), covers a task created at
    `created_at`, and its stand-in can still log in."""
    return and_(in_force(now), covers(created_at),
                exists().where(_ACCOUNTS.c.username == _D.c.stand_in,
                               _ACCOUNTS.c.active == true()))


def stand_in_of(user, created_at):
    """SQL: the stand-in acting at NOW for `user` on a task created at `created_at`, or NULL."""
    return (select(_D.c.stand_in).where(_D.c.delegator == user, applies(created_at))
            .limit(1).scalar_subquery())


def handed_away(created_at):
    """SQL: ME's by-name share of a task created at `created_at` is a stand-in's at NOW."""
    return exists().where(_D.c.delegator == ME, applies(created_at))


def standing_for(stand_in: str | None = None, now: datetime | None = None):
    """SQL, for joining the delegations table: it names `stand_in` (else ME) and is in force
    at `now` (else NOW); with `covers`, it covers a task."""
    return and_(_D.c.stand_in == (ME if stand_in is None else stand_in), in_force(now))


def notified(session: Session, users: Iterable[str], created_at: datetime,
             now: datetime) -> list[str]:
    """Whom to tell instead of `users` about a task created at `created_at`: each user's
    stand-in when one acts for them now. Reads nothing when there is nobody to tell."""
    users = list(dict.fromkeys(users))
    if not users:
        return users
    stand_ins = dict(session.execute(
        select(_D.c.delegator, _D.c.stand_in)
        .where(_D.c.delegator.in_(users), applies(literal(created_at, UTCDateTime()), now)))
        .all())
    return list(dict.fromkeys(stand_ins.get(user, user) for user in users))


# ---------------------------------------------------------------- reading

def people(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """username → how a person is shown: 张三（县发改局）."""
    usernames = sorted(set(usernames))
    if not usernames:
        return {}
    rows = session.execute(
        select(UserAccount.username, UserAccount.display_name, OrgUnit.name)
        .outerjoin(OrgUnit, OrgUnit.code == UserAccount.unit_code)
        .where(UserAccount.username.in_(usernames))).all()
    return {username: f"{name}（{unit}）" if unit else name for username, name, unit in rows}


def active_people(session: Session) -> list[tuple[str, str]]:
    """(username, 张三（县发改局）) of every active account, by unit then name: the picker's list."""
    rows = session.execute(
        select(UserAccount.username, UserAccount.display_name, OrgUnit.name)
        .outerjoin(OrgUnit, OrgUnit.code == UserAccount.unit_code)
        .where(UserAccount.active == true())
        .order_by(OrgUnit.sort, OrgUnit.name, UserAccount.display_name, UserAccount.username))
    return [(username, f"{name}（{unit}）" if unit else name) for username, name, unit in rows]


def administers(actor: Actor) -> bool:
    """Whether the actor sets and ends the delegations of others (an administrator)."""
    return ADMIN in actor.groups


def current_delegation(uow: UnitOfWork, username: str) -> DelegationView | None:
    """The user's delegation that has not ended (in force or planned), if any."""
    row = _open_row(uow.session, username, uow.clock.now())
    return _view(row) if row is not None else None


def _open_row(session: Session, username: str, now: datetime) -> StandingDelegation | None:
    return session.execute(select(StandingDelegation).where(
        StandingDelegation.delegator == username, StandingDelegation.ends_at > now)
        .order_by(StandingDelegation.starts_at).limit(1)).scalar_one_or_none()


def standing_in_for(uow: UnitOfWork, username: str) -> list[DelegationView]:
    """The delegations, in force or planned, that name the user as stand-in; soonest first."""
    rows = uow.session.execute(select(StandingDelegation).where(
        StandingDelegation.stand_in == username, StandingDelegation.ends_at > uow.clock.now())
        .order_by(StandingDelegation.starts_at)).scalars()
    return [_view(row) for row in rows]


def delegations(uow: UnitOfWork, *, ended_within: timedelta = timedelta(days=30)
                ) -> list[DelegationView]:
    """For administrators: every delegation not yet ended, then those that ended lately."""
    now = uow.clock.now()
    rows = uow.session.execute(select(StandingDelegation).where(
        StandingDelegation.ends_at > now - ended_within)
        .order_by(StandingDelegation.ends_at <= now, StandingDelegation.starts_at,
                  StandingDelegation.id)).scalars()
    return [_view(row) for row in rows]


# ---------------------------------------------------------------- changing

def _may_set_for(actor: Actor, delegator: str) -> None:
    if actor.username != delegator and not administers(actor):
        raise PermissionDeniedError(f"{actor.username} may not set the delegation of "
                                    f"{delegator}; only they or an administrator may")


def _active(session: Session, username: str) -> UserAccount | None:
    account = session.get(UserAccount, username)
    return account if account is not None and account.active else None


def _overlapping(session: Session, column, username: str, starts_at: datetime,
                 ends_at: datetime) -> bool:
    """Whether a delegation naming `username` in `column` shares time with the period (one
    called off before it started has no time at all)."""
    D = StandingDelegation
    query = select(D.id).where(column == username, D.starts_at < ends_at,
                               D.ends_at > starts_at, D.ends_at > D.starts_at)
    return session.execute(query.limit(1)).first() is not None


def _check(session: Session, delegator: str, stand_in: str, starts_at: datetime | None,
           ends_at: datetime | None, now: datetime) -> dict[str, list[str]]:
    """Field → error codes (webapp/delegation.py says them in Chinese); empty when all is well."""
    errors: dict[str, list[str]] = {}
    if _active(session, delegator) is None:
        errors.setdefault("delegator", []).append("no such user")
    if not stand_in:
        errors.setdefault("stand_in", []).append("required")
    elif stand_in == delegator:
        errors.setdefault("stand_in", []).append("not yourself")
    elif _active(session, stand_in) is None:
        errors.setdefault("stand_in", []).append("no such user")
    if starts_at is None:
        errors.setdefault("starts_at", []).append("required")
    if ends_at is None:
        errors.setdefault("ends_at", []).append("required")
    if starts_at is None or ends_at is None or errors:
        return errors
    if ends_at <= now:
        errors.setdefault("ends_at", []).append("in the past")
    elif ends_at <= starts_at:
        errors.setdefault("ends_at", []).append("before the start")
    elif ends_at - starts_at > LONGEST:
        errors.setdefault("ends_at", []).append("too long")
    if errors:
        return errors
    # One level only: a stand-in away in the period, or a delegator standing in for someone
    # in it, would leave the work with nobody at the desk.
    if _overlapping(session, StandingDelegation.delegator, stand_in, starts_at, ends_at):
        errors.setdefault("stand_in", []).append("away")
    if _overlapping(session, StandingDelegation.stand_in, delegator, starts_at, ends_at):
        errors.setdefault("delegator", []).append("standing in")
    return errors


def _state(row: StandingDelegation) -> dict:
    return {"stand_in": row.stand_in, "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat(), "include_open": row.include_open,
            "reason": row.reason}


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def set_delegation(uow: UnitOfWork, actor: Actor, delegator: str, stand_in: str,
                   starts_at: datetime | None, ends_at: datetime | None, *,
                   include_open: bool = False, reason: str = "") -> DelegationView:
    """委托: name a stand-in for a period (the user, or an administrator for someone away).

    A user's delegation that has not ended is changed instead (audited as changed). A start
    already past is taken as now; a delegation already in force keeps its start.
    TaskDataError with field errors when the input is refused; nothing is written then.
    """
    _may_set_for(actor, delegator)
    uow.begin_write()
    now = uow.clock.now()
    stand_in = (stand_in or "").strip()
    reason = (reason or "").strip()[:500] or None
    row = _open_row(uow.session, delegator, now)
    if row is not None and row.starts_at <= now:
        starts_at = row.starts_at
    elif starts_at is not None and starts_at < now:
        starts_at = now
    errors = _check(uow.session, delegator, stand_in, starts_at, ends_at, now)
    if errors:
        raise TaskDataError("the delegation was refused; see the fields", errors)
    if row is None:
        row = StandingDelegation(delegator=delegator, set_by=actor.username, set_at=now)
        before = None
        uow.session.add(row)
    else:
        before = _state(row)
        row.set_by, row.set_at = actor.username, now
    row.stand_in, row.starts_at, row.ends_at = stand_in, starts_at, ends_at
    row.include_open, row.reason = include_open, reason
    uow.session.flush()
    after = _state(row)
    if before is None:
        uow.audit.record(actor.username, "standing_delegation_set", subject=f"user:{delegator}",
                         delegator=delegator, **after)
    elif before != after:
        uow.audit.record(actor.username, "standing_delegation_changed",
                         subject=f"user:{delegator}", delegator=delegator, before=before,
                         after=after)
    names = people(uow.session, [delegator, stand_in])
    period = f"{_local(starts_at)} 至 {_local(ends_at)}"
    notify(uow, kind="info", users=[stand_in], title=f"{names[delegator]} 委托您代办事项",
           body=f"委托期间：{period}。" + ("含其现有待办。" if include_open else ""))
    if actor.username != delegator:
        notify(uow, kind="info", users=[delegator],
               title=f"管理员已为您设置委托：由 {names[stand_in]} 代办", body=f"委托期间：{period}。")
    uow.commit()
    return _view(row)


def end_delegation(uow: UnitOfWork, actor: Actor, delegator: str,
                   why: str = "") -> DelegationView:
    """End the user's delegation now (a planned one is called off); the user's open tasks
    are theirs again at once. NotFoundError when there is none to end."""
    _may_set_for(actor, delegator)
    uow.begin_write()
    now = uow.clock.now()
    row = _open_row(uow.session, delegator, now)
    if row is None:
        raise NotFoundError(f"{delegator} has no delegation in force or planned")
    planned_end = row.ends_at
    row.ends_at, row.ended_by = now, actor.username
    row.starts_at = min(row.starts_at, now)
    uow.audit.record(actor.username, "standing_delegation_ended", subject=f"user:{delegator}",
                     delegator=delegator, stand_in=row.stand_in,
                     planned_end=planned_end.isoformat(), why=(why or "").strip() or None)
    notify(uow, kind="info", users=[row.stand_in],
           title=f"{people(uow.session, [delegator])[delegator]} 的委托已结束")
    uow.commit()
    return _view(row)
