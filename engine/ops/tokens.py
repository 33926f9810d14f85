"""API tokens: how another system acts on the platform, as a service account with roles.

A token is created by an administrator, scoped to roles (optionally at a unit), shown in
full once and stored only as a SHA-256 hash (tokens are long random strings, so a fast hash
is enough; passwords are a different matter). A revoked token stops working at once; each
use stamps `last_used_at`. The actor of a token is `api:<name>` with the groups its roles
give, computed the same way as a person's (see engine/organisation.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from ..core.errors import ConflictError, NotFoundError, PermissionDeniedError, TaskDataError
from ..core.identity import Actor
from ..core.models import Base, UTCDateTime
from ..core.organisation import ROLES, OrgUnit
from ..core.uow import UnitOfWork

PREFIX = "gj_"
ADMIN = "admin"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,60}$")


class ApiToken(Base):
    """One token of one integrating system; only the hash of the secret is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so an administrator can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


@dataclass(frozen=True)
class TokenView:
    """A token as an administrator sees it (never the secret)."""

    id: int
    name: str
    hint: str
    roles: tuple[str, ...]
    unit_code: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the token still works."""
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedToken:
    """A new token: its view and the secret, which is shown this once."""

    token: TokenView
    secret: str


def _view(row: ApiToken) -> TokenView:
    return TokenView(row.id, row.name, row.hint, tuple(row.roles), row.unit_code, row.created_by,
                     row.created_at, row.last_used_at, row.revoked_at)


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def username_of(name: str) -> str:
    """The service account name a token acts as."""
    return f"api:{name}"


def groups_for(roles: list[str] | tuple[str, ...], unit_code: str | None) -> frozenset[str]:
    """The candidate groups of a token: each role, the role at the unit, and the unit."""
    groups: set[str] = {f"unit:{unit_code}"} if unit_code else set()
    for role in roles:
        groups.add(role)
        if unit_code:
            groups.add(f"{role}@{unit_code}")
    return frozenset(groups)


def _require_admin(actor: Actor) -> None:
    if ADMIN not in actor.groups:
        raise PermissionDeniedError(f"{actor.username} is not an administrator; only "
                                    "administrators manage API tokens")


def create_token(uow: UnitOfWork, actor: Actor, name: str, roles: list[str], *,
                 unit_code: str | None = None) -> IssuedToken:
    """Issue a token scoped to roles (administrators only); the secret is returned once."""
    _require_admin(actor)
    name = (name or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not _NAME.match(name):
        errors["name"] = ["2–61 characters: lower-case letters, digits, '_', '.', '-'"]
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        errors["roles"] = [f"unknown roles {unknown}" if unknown else "at least one role"]
    if unit_code and uow.session.get(OrgUnit, unit_code) is None:
        errors["unit_code"] = [f"no unit '{unit_code}'"]
    if errors:
        raise TaskDataError("the token cannot be created: " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    uow.begin_write()
    if uow.session.execute(select(ApiToken.id).where(ApiToken.name == name)).first():
        raise ConflictError(f"a token named '{name}' exists already; revoke it or choose "
                            "another name")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(secret), hint=secret[:10],
                   roles=sorted(set(roles)), unit_code=unit_code or None,
                   created_by=actor.username, created_at=uow.clock.now())
    uow.session.add(row)
    uow.session.flush()
    uow.audit.record(actor.username, "api_token_created", subject=f"api_token:{row.id}",
                     name=name, roles=row.roles, unit=row.unit_code)
    uow.commit()
    return IssuedToken(_view(row), secret)


def list_tokens(uow: UnitOfWork, actor: Actor) -> list[TokenView]:
    """Every token, newest first (administrators only)."""
    _require_admin(actor)
    rows = uow.session.execute(select(ApiToken).order_by(ApiToken.id.desc())).scalars()
    return [_view(row) for row in rows]


def revoke_token(uow: UnitOfWork, actor: Actor, token_id: int) -> TokenView:
    """Stop a token from working, at once and for good (administrators only)."""
    _require_admin(actor)
    uow.begin_write()
    row = uow.session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"API token {token_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = uow.clock.now(), actor.username
        uow.audit.record(actor.username, "api_token_revoked", subject=f"api_token:{row.id}",
                         name=row.name)
        uow.commit()
    return _view(row)


# Read at every API call, as plain columns by a statement built once.
_TOKENS = ApiToken.__table__
_BY_HASH = select(_TOKENS.c.id, _TOKENS.c.name, _TOKENS.c.token_hash, _TOKENS.c.roles,
                  _TOKENS.c.unit_code, _TOKENS.c.last_used_at, _TOKENS.c.revoked_at
                  ).where(_TOKENS.c.token_hash == bindparam("digest"))


def authenticate_token(uow: UnitOfWork, secret: str) -> Actor | None:
    """The service actor of a live token, stamping its last use; None for anything else."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    digest = hash_token(secret)
    row = uow.session.connection().execute(_BY_HASH, {"digest": digest}).one_or_none()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = uow.clock.now()
    actor = Actor(username_of(row.name), groups_for(row.roles, row.unit_code))
    # Stamp at most once a minute, so a busy integration does not write on every call; and
    # only when the write lock is free: a read must not wait for (or fail on) another's
    # write for the sake of a stamp, which the next call makes.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= 60:
        token_id = row.id
        uow.rollback()
        if uow.begin_write_if_free():
            uow.session.get(ApiToken, token_id).last_used_at = now
            uow.commit()
    return actor
