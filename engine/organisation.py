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
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .errors import NotFoundError
from .identity import Actor
from .models import Base, UTCDateTime

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


class UserAccount(Base):
    """A person's login (accounts carry role titles, never names from the notice)."""

    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

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


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), dklen=32,
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


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
