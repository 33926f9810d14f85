"""The organisation: units, user accounts and role grants, and the groups a user acts in.

A user acts in these candidate groups, which BPMN lanes and `camunda:candidateGroups` name:
- the role, e.g. `approver` — any approver;
- the role at a unit, e.g. `approver@sthj` — the approvers of the environment bureau;
- the unit, e.g. `unit:sthj` — anyone of the environment bureau.
Lane names may be a role code or its Chinese label (`项目专员` is `specialist`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean, ForeignKey, Integer, String, UniqueConstraint, and_, case, delete, false, literal,
    or_, select, true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import dialect_insert
from .errors import GongjianError, NotFoundError
from .identity import Actor
from .models import Base, UTCDateTime
from .uow import UnitOfWork

ROLES: dict[str, str] = {
    "county_head": "总指挥（县长）",
    "deputy_commander": "副总指挥",
    "sub_commander": "分指挥长",
    "department_head": "部门主要负责人",
    "township_head": "乡镇主要负责人",
    "specialist": "项目专员",
    "approver": "审批人",
    "supervisor": "督办人员",
    "project_unit": "项目单位",
    "office": "指挥部办公室",
    "designer": "流程设计员",
    "admin": "系统管理员",
    "integration": "系统对接",  # another system's token that sends BPMN messages
}

UNIT_KINDS: dict[str, str] = {
    "headquarters": "指挥部",
    "office": "指挥部办公室",
    "working_group": "作战小组",
    "sub_command": "分指挥部",
    "department": "县直部门",
    "township": "乡镇",
    "zone": "示范区",
    "company": "企业",
}

_ROLE_BY_LABEL = {label: code for code, label in ROLES.items()}


class OrgUnit(Base):
    """A body of the county: headquarters, office, group, sub-command, department, township, company."""

    __tablename__ = "org_unit"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    # A deactivated unit keeps its history; it is offered for nothing new.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class UserAccount(Base):
    """A person's login (accounts carry role titles, never names from the notice)."""

    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Raised by "log out everywhere" and by a password change: sessions carrying an older
    # generation are ended at their next request.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set with a one-time password (a new account, a reset): the next login must change it.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())

    grants: Mapped[list[RoleGrant]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    unit: Mapped[OrgUnit | None] = relationship(lazy="joined")


class RoleGrant(Base):
    """One role a user holds, at a unit (e.g. approver at the environment bureau)."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("username", "role", "unit_code", name="uq_role_grant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("user_account.username", ondelete="CASCADE"),
                                          index=True)
    role: Mapped[str] = mapped_column(String(50))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))


# ---------------------------------------------------------------- passwords

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: `scrypt$n$r$p$salt$hash`."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def hash_one_time_password(secret: str) -> str:
    """A salted SHA-256, `sha256$salt$hash`, for a random one-time password the system made
    (90 bits and more: out of reach of guessing however fast the hash, like an API token's).
    A password a person chooses always gets `hash_password`'s scrypt."""
    salt = os.urandom(16)
    return f"sha256${salt.hex()}${hashlib.sha256(salt + secret.encode('utf-8')).hexdigest()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` or `hash_one_time_password`
    (constant-time compare)."""
    if stored.startswith("sha256$"):
        _scheme, salt, digest = (stored.split("$") + ["", ""])[:3]
        # As long as a scrypt check, so timing tells nobody which accounts have one.
        hashlib.scrypt(password.encode("utf-8"), salt=bytes(16), dklen=32, **_SCRYPT)
        try:
            candidate = hashlib.sha256(bytes.fromhex(salt) + password.encode("utf-8"))
        except ValueError:
            return False
        return hmac.compare_digest(candidate.hexdigest(), digest)
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), dklen=32,
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


# ---------------------------------------------------------------- password rules

MIN_PASSWORD_LENGTH = 10
# The most used passwords of the public breach lists, plus the obvious local ones.
COMMON_PASSWORDS = frozenset({
    "1234567890", "0123456789", "12345678910", "123456789a", "a123456789", "1qaz2wsx3edc",
    "qwertyuiop", "1q2w3e4r5t", "password123", "password1234", "passw0rd123", "admin12345",
    "administrator", "iloveyou123", "qwerty12345", "abc1234567", "abcd123456", "1111111111",
    "0000000000", "8888888888", "6666666666", "5201314520", "woaini1314", "woaini520",
    "aa12345678", "asdfghjkl;", "zxcvbnm123", "qazwsxedc123", "p@ssw0rd123", "welcome123",
    "changeme123", "gongjian123", "gongjian2026", "mima123456", "mima-2026!", "admin@123456",
    "lingchuan123", "123456789abc", "987654321a", "abc123456789",
})


class PasswordRuleError(GongjianError):
    """A new password breaks the password rules; `problems` says which, in Chinese."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("；".join(problems))


def password_problems(password: str, username: str) -> list[str]:
    """What is wrong with a new password (empty when it may be used)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    lowered = password.strip().lower()
    if username and lowered == username.strip().lower():
        problems.append("密码不能与用户名相同")
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        problems.append("密码过于常见，请换一个不易猜到的密码")
    return problems


def check_password_rules(password: str, username: str) -> None:
    """Raise PasswordRuleError when the password breaks a rule."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordRuleError(problems)


def change_password(session: Session, username: str, current: str, new: str,
                    now: datetime) -> int:
    """Set a new password after checking the current one; ends the account's other sessions.

    Returns the new session generation (the caller's own session keeps working with it).
    """
    account = session.get(UserAccount, username)
    if account is None or not account.active:
        raise NotFoundError(f"no active user '{username}'")
    if not verify_password(account.password_hash, current):
        raise PasswordRuleError(["当前密码不正确"])
    check_password_rules(new, username)
    if verify_password(account.password_hash, new):
        raise PasswordRuleError(["新密码不能与当前密码相同"])
    account.password_hash = hash_password(new)
    account.password_changed_at = now
    account.must_change_password = False
    account.session_generation = (account.session_generation or 0) + 1
    return account.session_generation


def end_all_sessions(session: Session, username: str) -> int:
    """"Log out everywhere": raise the account's session generation; returns the new one."""
    account = session.get(UserAccount, username)
    if account is None:
        raise NotFoundError(f"no user '{username}'")
    account.session_generation = (account.session_generation or 0) + 1
    return account.session_generation


def session_generation(session: Session, username: str) -> int | None:
    """The account's current session generation (None when it is gone or inactive)."""
    account = session.get(UserAccount, username)
    if account is None or not account.active:
        return None
    return account.session_generation or 0


# ---------------------------------------------------------------- login throttling

# Counted in the database, so the limits hold across web processes and hosts. A name
# is throttled per client address, so a stranger who knows it locks only their own
# address out; the higher account-wide limit still slows a guess spread over many
# addresses, and the address limit one address guessing many names.
PAIR_FAILURES = 5       # one account from one address
ACCOUNT_FAILURES = 50   # one account from any address
ADDRESS_FAILURES = 20   # one address, any names (one office often shares one address)
LOCK_FOR = timedelta(minutes=15)


class LoginThrottle(Base):
    """Recent failed logins of an account from an address, of an account, or of an address."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(250), primary_key=True)  # pair:…, user:… or addr:…
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginLockedError(GongjianError):
    """Too many failed logins for this account or address; try again after `until`."""

    def __init__(self, until: datetime):
        self.until = until
        super().__init__(f"too many failed logins; try again after {until.isoformat()}")


@dataclass(frozen=True)
class _Limit:
    key: str
    limit: int


def _limits(username: str, address: str | None) -> list[_Limit]:
    name = username.strip().lower()
    where = (address or "-")[:90]
    limits = [_Limit(f"pair:{where}|{name[:150]}", PAIR_FAILURES),
              _Limit("user:" + name[:200], ACCOUNT_FAILURES)]
    if address:
        limits.append(_Limit("addr:" + address[:200], ADDRESS_FAILURES))
    return limits


def login_locked_until(session: Session, username: str, address: str | None,
                       now: datetime) -> datetime | None:
    """Until when a login of `username` from `address` is locked; None when it is not."""
    keys = [limit.key for limit in _limits(username, address)]
    # Plain rows, not mapped objects: a count written by a statement in this session
    # must not be read back from a stale identity map.
    locks = session.execute(select(LoginThrottle.locked_until).where(
        LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now)).scalars()
    return max(locks, default=None)


def record_login_failure(session: Session, username: str, address: str | None,
                         now: datetime) -> datetime | None:
    """Count one failed login against each limit, each in one atomic statement.

    Returns until when the login is now locked (None when no limit is reached). The
    caller should have declared its write first (`uow.begin_write()`).
    """
    until = None
    for limit in _limits(username, address):
        locked = _count_failure(session, limit, now)
        if locked is not None and locked > now:
            until = max(until or locked, locked)
    return until


def _count_failure(session: Session, limit: _Limit, now: datetime) -> datetime | None:
    """Add one failure to a limit's row (insert or update in one statement); its lock."""
    table = LoginThrottle.__table__
    at = literal(now, UTCDateTime())
    stale = or_(table.c.first_failure_at < now - LOCK_FOR,
                and_(table.c.locked_until.is_not(None), table.c.locked_until <= now))
    failures = case((stale, 1), else_=table.c.failures + 1)
    insert = dialect_insert(session)(table).values(
        key=limit.key, failures=1, first_failure_at=now,
        locked_until=now + LOCK_FOR if limit.limit <= 1 else None)
    upsert = insert.on_conflict_do_update(index_elements=[table.c.key], set_={
        "failures": failures,
        "first_failure_at": case((stale, at), else_=table.c.first_failure_at),
        "locked_until": case((failures >= limit.limit, literal(now + LOCK_FOR, UTCDateTime())),
                             (stale, literal(None, UTCDateTime())),
                             else_=table.c.locked_until),
    }).returning(table.c.locked_until)
    return session.execute(upsert).scalar_one()


def login(uow: UnitOfWork, username: str, password: str, address: str | None) -> Actor | None:
    """Authenticate with throttling: the actor, None for a wrong name or password, or
    LoginLockedError (raised before the password is even checked). The caller commits."""
    now = uow.clock.now()
    until = login_locked_until(uow.session, username, address, now)
    if until is not None:
        raise LoginLockedError(until)
    pair_key = _limits(username, address)[0].key
    had_failures = uow.session.execute(
        select(LoginThrottle.key).where(LoginThrottle.key == pair_key)).first() is not None
    actor = authenticate(uow.session, username, password)
    # The password is checked outside any write lock; the counting that follows is a
    # short write transaction of its own, declared before its first statement.
    uow.rollback()
    if actor is None:
        uow.begin_write()
        until = record_login_failure(uow.session, username, address, now)
        if until is not None:
            raise LoginLockedError(until)
        return None
    if had_failures:
        # This account's count from this address starts again; the account's and the
        # address's do not (a success from one place says nothing of the others).
        uow.begin_write()
        uow.session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair_key))
    return actor


# ---------------------------------------------------------------- groups and actors

def role_code(name: str) -> str:
    """The role code of a lane name, which may be the code or its Chinese label."""
    return _ROLE_BY_LABEL.get(name.strip(), name.strip())


def groups_of(account: UserAccount) -> frozenset[str]:
    """The candidate groups an account acts in."""
    groups: set[str] = set()
    if account.unit_code:
        groups.add(f"unit:{account.unit_code}")
    for grant in account.grants:
        groups.add(grant.role)
        unit = grant.unit_code or account.unit_code
        if unit:
            groups.add(f"{grant.role}@{unit}")
    return frozenset(groups)


def actor_for(session: Session, username: str) -> Actor:
    """The actor of an active account, with its groups; NotFoundError otherwise."""
    account = session.get(UserAccount, username)
    if account is None or not account.active:
        raise NotFoundError(f"no active user '{username}'")
    return Actor(account.username, groups_of(account))


def authenticate(session: Session, username: str, password: str) -> Actor | None:
    """The actor when the username and password match an active account, else None."""
    account = session.get(UserAccount, username)
    if account is None or not account.active:
        # Spend the same time as a real check, so timing does not reveal which names exist.
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(account.password_hash, password):
        return None
    return Actor(account.username, groups_of(account))


_DUMMY_HASH = hash_password("not a password")


def add_unit(session: Session, code: str, name: str, kind: str, parent: str | None = None,
             sort: int = 0) -> OrgUnit:
    """Create or update an org unit."""
    if kind not in UNIT_KINDS:
        raise ValueError(f"unknown unit kind {kind!r}; one of {sorted(UNIT_KINDS)}")
    unit = session.get(OrgUnit, code) or OrgUnit(code=code)
    unit.name, unit.kind, unit.parent_code, unit.sort = name, kind, parent, sort
    session.add(unit)
    return unit


def add_user(session: Session, username: str, display_name: str, password: str, *,
             unit: str | None, roles: list[str | tuple[str, str]], now: datetime) -> UserAccount:
    """Create or replace an account with its role grants (a role, or (role, unit))."""
    for role in roles:
        code = role if isinstance(role, str) else role[0]
        if code not in ROLES:
            raise ValueError(f"unknown role {code!r}; one of {sorted(ROLES)}")
    account = session.get(UserAccount, username) or UserAccount(username=username, created_at=now)
    account.display_name, account.unit_code = display_name, unit
    account.password_hash, account.active = hash_password(password), True
    account.grants = [RoleGrant(role=r, unit_code=None) if isinstance(r, str)
                      else RoleGrant(role=r[0], unit_code=r[1]) for r in roles]
    session.add(account)
    return account


def units(session: Session, kind: str | None = None) -> list[OrgUnit]:
    """Org units, optionally of one kind, in display order."""
    query = select(OrgUnit).order_by(OrgUnit.sort, OrgUnit.code)
    if kind:
        query = query.where(OrgUnit.kind == kind)
    return list(session.execute(query).scalars())
