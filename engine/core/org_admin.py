"""Changing the organisation: units as a tree, the posts of a sub-command, accounts.

Administrators only. Each change is one audit event (subject `unit:<code>` or
`account:<username>`, with what it was before and after, and why). Input is refused field by
field, in Chinese (`OrgInputError`), and nothing is written then.

The commander and the deputy commander of a sub-command both act in the group
`sub_commander@<sub-command>`, which a role grant gives (engine/core/organisation.py
`groups_of`); the `org_post` row only says which of them holds which post. Setting a post
grants the role at the sub-command to the new holder and takes it from the one replaced.

Disabling an account here ends its sessions and its login; what touches its tasks and the
API tokens it issued is engine/ops/administration.py (core knows neither).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import NotFoundError, PermissionDeniedError, TaskDataError
from .identity import Actor
from .login_sessions import end_sessions_of
from .models import Base
from .organisation import (
    ROLES, UNIT_KINDS, OrgUnit, RoleGrant, UserAccount, hash_one_time_password,
)
from .uow import UnitOfWork

ADMIN = "admin"
# The posts of a sub-command (both act in `sub_commander@<sub-command>`).
POSTS: dict[str, str] = {"commander": "指挥长", "deputy": "副指挥长"}
POST_ROLE = "sub_commander"
# Roles a person may hold (系统对接 is for another system's API token).
PERSON_ROLES: dict[str, str] = {code: label for code, label in ROLES.items()
                                if code != "integration"}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,59}$")
RESERVED_USERNAMES = frozenset({"new", "system", "timer", "admin-new"})  # page paths, actors
UNIT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
MAX_NAME = 100
MAX_SORT = 1_000_000  # the display order of a unit: -MAX_SORT … MAX_SORT

Grant = tuple[str, str | None]  # (role, the unit it is held at; None: the account's own)


class OrgPost(Base):
    """Who holds a post of a unit: the commander or deputy commander of a sub-command."""

    __tablename__ = "org_post"

    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code", ondelete="CASCADE"),
                                           primary_key=True)
    post: Mapped[str] = mapped_column(String(20), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("user_account.username", ondelete="CASCADE"), index=True)


class OrgInputError(TaskDataError):
    """Input refused: field → reasons, in Chinese; nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("；".join(m for messages in errors.values() for m in messages), errors)


def require_admin(actor: Actor) -> None:
    """PermissionDeniedError unless the actor is an administrator."""
    if ADMIN not in actor.groups:
        raise PermissionDeniedError(f"{actor.username} is not an administrator; only "
                                    "administrators change the organisation and accounts")


def person_label(display_name: str, unit_name: str | None) -> str:
    """How a person is shown: 张三（县自然资源局）."""
    return f"{display_name}（{unit_name}）" if unit_name else display_name


def one_time_password() -> str:
    """A random password to hand over once (the holder must change it at first login)."""
    # 16 characters of 55: 92 bits, so a fast salted hash keeps it (hash_one_time_password).
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


# ---------------------------------------------------------------- reading

@dataclass(frozen=True)
class UnitNode:
    """A unit as the tree shows it: depth, its posts' holders by name, its active accounts."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    sort: int
    active: bool
    depth: int
    commander: str | None
    deputy: str | None
    accounts: int
    # Of a sub-command: the others who act in `sub_commander@<code>` (e.g. set up before the
    # posts were recorded), by name.
    also_commanding: tuple[str, ...] = ()

    @property
    def kind_label(self) -> str:
        """The kind in Chinese."""
        return UNIT_KINDS.get(self.kind, self.kind)


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())


def people(session: Session, usernames) -> dict[str, str]:
    """username → 张三（县自然资源局）, with （已停用） for a disabled account."""
    names = _names(session)
    rows = session.execute(select(UserAccount.username, UserAccount.display_name,
                                  UserAccount.unit_code, UserAccount.active)
                           .where(UserAccount.username.in_(sorted(set(usernames))))).all()
    return {u: person_label(d, names.get(c)) + ("" if active else "（已停用）")
            for u, d, c, active in rows}


def unit_tree(session: Session) -> list[UnitNode]:
    """Every unit in tree order (parents before children, siblings by sort then code)."""
    units = list(session.execute(select(OrgUnit).order_by(OrgUnit.sort, OrgUnit.code)).scalars())
    posts = session.execute(select(OrgPost.unit_code, OrgPost.post, OrgPost.username)).all()
    who = people(session, [p.username for p in posts])
    held = {(p.unit_code, p.post): who.get(p.username, p.username) for p in posts}
    counts = dict(session.execute(select(UserAccount.unit_code, func.count())
                                  .where(UserAccount.active.is_(True))
                                  .group_by(UserAccount.unit_code)).all())
    commanding = _commanding(session, {u.code for u in units if u.kind == "sub_command"},
                             {p.username for p in posts})
    codes = {u.code for u in units}
    children: dict[str | None, list[OrgUnit]] = {}
    for unit in units:
        parent = unit.parent_code if unit.parent_code in codes else None
        children.setdefault(parent, []).append(unit)
    out: list[UnitNode] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for unit in children.get(parent, []):
            if unit.code in seen:
                continue
            seen.add(unit.code)
            out.append(UnitNode(unit.code, unit.name, unit.kind, unit.parent_code, unit.sort,
                                unit.active, depth, held.get((unit.code, "commander")),
                                held.get((unit.code, "deputy")), counts.get(unit.code, 0),
                                tuple(commanding.get(unit.code, ()))))
            walk(unit.code, depth + 1)

    walk(None, 0)
    return out


def _commanding(session: Session, sub_commands: set[str], posted: set[str]
                ) -> dict[str, list[str]]:
    """sub-command → the labels of active accounts without a post there in its group."""
    from .organisation import groups_of

    found: dict[str, list[str]] = {}
    names = _names(session)
    accounts = session.execute(select(UserAccount).where(
        UserAccount.active.is_(True),
        UserAccount.username.in_(select(RoleGrant.username).where(RoleGrant.role == POST_ROLE))
    ).order_by(UserAccount.username)).scalars()
    for account in accounts:
        for group in groups_of(account):
            role, _at, unit = group.partition("@")
            if role == POST_ROLE and unit in sub_commands and account.username not in posted:
                found.setdefault(unit, []).append(person_label(
                    account.display_name, names.get(account.unit_code)))
    return found


def get_unit(session: Session, code: str) -> OrgUnit:
    """The unit, or NotFoundError."""
    unit = session.get(OrgUnit, code) if code else None
    if unit is None:
        raise NotFoundError(f"no unit '{code}'")
    return unit


def posts_of_unit(session: Session, code: str) -> dict[str, str]:
    """post → username of the unit's posts."""
    return dict(session.execute(select(OrgPost.post, OrgPost.username)
                                .where(OrgPost.unit_code == code)).all())


@dataclass(frozen=True)
class AccountRow:
    """An account as the administrator's pages show it."""

    username: str
    display_name: str
    unit_code: str | None
    unit_name: str | None
    active: bool
    must_change_password: bool
    grants: tuple[Grant, ...]
    role_labels: tuple[str, ...]
    posts: tuple[str, ...]  # e.g. 产业分指挥部指挥长
    created_at: datetime

    @property
    def label(self) -> str:
        """张三（县自然资源局）."""
        return person_label(self.display_name, self.unit_name)


def _grant_label(role: str, unit: str | None, own: str | None, names: dict[str, str]) -> str:
    label = ROLES.get(role, role)
    return f"{label}（{names.get(unit, unit)}）" if unit and unit != own else label


def _row(account: UserAccount, names: dict[str, str], posts: dict[str, list[str]]) -> AccountRow:
    grants = tuple(sorted(((g.role, g.unit_code) for g in account.grants),
                          key=lambda g: (list(ROLES).index(g[0]) if g[0] in ROLES else 99,
                                         g[1] or "")))
    return AccountRow(
        account.username, account.display_name, account.unit_code,
        names.get(account.unit_code) if account.unit_code else None, account.active,
        bool(account.must_change_password), grants,
        tuple(_grant_label(r, u, account.unit_code, names) for r, u in grants),
        tuple(posts.get(account.username, ())), account.created_at)


def _post_titles(session: Session, names: dict[str, str], usernames=None) -> dict[str, list[str]]:
    query = select(OrgPost.username, OrgPost.unit_code, OrgPost.post)
    if usernames is not None:
        query = query.where(OrgPost.username.in_(usernames))
    titles: dict[str, list[str]] = {}
    for username, unit, post in session.execute(query.order_by(OrgPost.unit_code)).all():
        titles.setdefault(username, []).append(f"{names.get(unit, unit)}{POSTS[post]}")
    return titles


def get_account(session: Session, username: str) -> AccountRow:
    """One account, or NotFoundError."""
    account = session.get(UserAccount, username) if username else None
    if account is None:
        raise NotFoundError(f"no user '{username}'")
    names = _names(session)
    return _row(account, names, _post_titles(session, names, [username]))


def list_accounts(session: Session, *, q: str = "", unit: str | None = None,
                  role: str | None = None, status: str | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[AccountRow], int]:
    """Accounts matching a search (username or name), a unit, a role and a status
    ("active", "disabled"), by username; and how many match in all."""
    query = select(UserAccount)
    q = (q or "").strip()[:100]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(UserAccount.username.ilike(pattern, escape="\\"),
                                UserAccount.display_name.ilike(pattern, escape="\\")))
    if unit:
        query = query.where(UserAccount.unit_code == unit)
    if role:
        query = query.where(UserAccount.username.in_(
            select(RoleGrant.username).where(RoleGrant.role == role)))
    if status == "active":
        query = query.where(UserAccount.active.is_(True))
    elif status == "disabled":
        query = query.where(UserAccount.active.is_(False))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    accounts = list(session.execute(query.order_by(UserAccount.username)
                                    .limit(limit).offset(offset)).scalars())
    names = _names(session)
    posts = _post_titles(session, names, [a.username for a in accounts])
    return [_row(a, names, posts) for a in accounts], total


# ---------------------------------------------------------------- units

_UNSET = object()


def _check_unit_fields(session: Session, code: str, name: str, kind: str,
                       parent_code: str | None, errors: dict[str, list[str]]) -> None:
    if not name:
        errors.setdefault("name", []).append("请填写单位名称")
    elif len(name) > MAX_NAME:
        errors.setdefault("name", []).append(f"单位名称最多 {MAX_NAME} 个字")
    if kind not in UNIT_KINDS:
        errors.setdefault("kind", []).append("请从列表中选择单位类别")
    if parent_code:
        parent = session.get(OrgUnit, parent_code)
        if parent is None:
            errors.setdefault("parent_code", []).append("没有这个上级单位")
        elif not parent.active:
            errors.setdefault("parent_code", []).append(f"上级单位“{parent.name}”已停用")
        elif parent_code == code or code in _ancestors(session, parent_code):
            errors.setdefault("parent_code", []).append("不能把单位移到它自己或它的下级单位之下")


def _check_sort(sort, errors: dict[str, list[str]]) -> None:
    if sort is not None and not (isinstance(sort, int) and -MAX_SORT <= sort <= MAX_SORT):
        errors.setdefault("sort", []).append(f"排序应为 -{MAX_SORT} 到 {MAX_SORT} 之间的整数")


def _ancestors(session: Session, code: str) -> list[str]:
    """The codes above a unit, nearest first (stops at a loop)."""
    unit = session.get(OrgUnit, code)
    chain, current = [], unit.parent_code if unit is not None else None
    while current and current not in chain:
        chain.append(current)
        above = session.get(OrgUnit, current)
        current = above.parent_code if above is not None else None
    return chain


def _unit_state(unit: OrgUnit) -> dict:
    return {"name": unit.name, "kind": unit.kind, "parent": unit.parent_code, "sort": unit.sort}


def create_unit(uow: UnitOfWork, actor: Actor, code: str, name: str, kind: str,
                parent_code: str | None = None, sort: int | None = None,
                why: str | None = None) -> OrgUnit:
    """新建单位: a unit under a parent (or at the top)."""
    require_admin(actor)
    code, name, parent_code = (code or "").strip(), (name or "").strip(), parent_code or None
    uow.begin_write()
    errors: dict[str, list[str]] = {}
    if not UNIT_CODE.match(code):
        errors["code"] = ["单位编码为 1–50 位字母、数字、下划线或连字符"]
    elif uow.session.get(OrgUnit, code) is not None:
        errors["code"] = [f"单位编码“{code}”已被使用"]
    _check_unit_fields(uow.session, code, name, kind, parent_code, errors)
    _check_sort(sort, errors)
    if errors:
        raise OrgInputError(errors)
    if sort is None:
        sort = (uow.session.scalar(select(func.max(OrgUnit.sort))) or 0) + 1
    unit = OrgUnit(code=code, name=name, kind=kind, parent_code=parent_code, sort=sort,
                   active=True)
    uow.session.add(unit)
    uow.session.flush()
    uow.audit.record(actor.username, "unit_created", subject=f"unit:{code}",
                     after=_unit_state(unit), why=why or None)
    uow.commit()
    return unit


def change_unit(uow: UnitOfWork, actor: Actor, code: str, *, name=_UNSET, kind=_UNSET,
                parent_code=_UNSET, sort=_UNSET, why: str | None = None) -> OrgUnit:
    """修改单位: rename, move under another parent, change kind or order; only what is given."""
    require_admin(actor)
    uow.begin_write()
    unit = get_unit(uow.session, code)
    before = _unit_state(unit)
    new_name = unit.name if name is _UNSET else (name or "").strip()
    new_kind = unit.kind if kind is _UNSET else kind
    new_parent = unit.parent_code if parent_code is _UNSET else (parent_code or None)
    errors: dict[str, list[str]] = {}
    _check_unit_fields(uow.session, code, new_name, new_kind,
                       new_parent if new_parent != unit.parent_code else None, errors)
    _check_sort(None if sort is _UNSET else sort, errors)
    if new_kind != unit.kind and unit.kind == "sub_command" and posts_of_unit(uow.session, code):
        errors.setdefault("kind", []).append("该分指挥部已设置指挥长或副指挥长，请先撤销再改类别")
    if errors:
        raise OrgInputError(errors)
    unit.name, unit.kind, unit.parent_code = new_name, new_kind, new_parent
    if sort is not _UNSET and sort is not None:
        unit.sort = int(sort)
    after = _unit_state(unit)
    if after != before:
        changed = [k for k in after if after[k] != before[k]]
        uow.audit.record(actor.username, "unit_changed", subject=f"unit:{code}",
                         before={k: before[k] for k in changed},
                         after={k: after[k] for k in changed}, why=why or None)
        uow.commit()
    return unit


def set_unit_active(uow: UnitOfWork, actor: Actor, code: str, active: bool,
                    why: str | None = None) -> OrgUnit:
    """停用 / 启用单位. A unit with active accounts or active units under it is not deactivated."""
    require_admin(actor)
    uow.begin_write()
    unit = get_unit(uow.session, code)
    if unit.active == active:
        return unit
    if not active and not (why or "").strip():
        raise OrgInputError({"why": ["请填写停用原因"]})
    if not active:
        members = uow.session.scalar(select(func.count()).where(
            UserAccount.unit_code == code, UserAccount.active.is_(True))) or 0
        below = uow.session.scalar(select(func.count()).where(
            OrgUnit.parent_code == code, OrgUnit.active.is_(True))) or 0
        problems = []
        if members:
            problems.append(f"该单位还有 {members} 个启用的账户，请先调整或停用这些账户")
        if below:
            problems.append(f"该单位下还有 {below} 个启用的下级单位，请先移走或停用")
        if problems:
            raise OrgInputError({"active": problems})
    elif unit.parent_code:
        parent = uow.session.get(OrgUnit, unit.parent_code)
        if parent is not None and not parent.active:
            raise OrgInputError({"active": [f"上级单位“{parent.name}”已停用，请先启用上级单位"]})
    unit.active = active
    uow.audit.record(actor.username, "unit_activated" if active else "unit_deactivated",
                     subject=f"unit:{code}", name=unit.name, why=why or None)
    uow.commit()
    return unit


def _gives_post_role(account: UserAccount, unit_code: str) -> bool:
    return any(g.role == POST_ROLE and (g.unit_code or account.unit_code) == unit_code
               for g in account.grants)


def assign_post(uow: UnitOfWork, actor: Actor, unit_code: str, post: str,
                username: str | None, why: str | None = None, *, other_holder=_UNSET) -> bool:
    """Give a sub-command's post to an account (None: leave it vacant), granting the role at
    the sub-command and taking it from the holder replaced (unless that one holds the other
    post). `other_holder`: who will hold the other post (default: who holds it now). Does
    not commit; True if changed."""
    session = uow.session
    unit = get_unit(session, unit_code)
    if post not in POSTS:
        raise OrgInputError({"post": ["没有这个职务"]})
    if unit.kind != "sub_command":
        raise OrgInputError({"post": ["只有分指挥部设指挥长和副指挥长"]})
    username = (username or "").strip() or None
    held = posts_of_unit(session, unit_code)
    if held.get(post) == username:
        return False
    account = None
    if username is not None:
        account = session.get(UserAccount, username)
        if account is None:
            raise OrgInputError({post: ["没有这个账户"]})
        if not account.active:
            raise OrgInputError({post: [f"账户“{account.display_name}”已停用"]})
        other = "deputy" if post == "commander" else "commander"
        if (held.get(other) if other_holder is _UNSET else other_holder) == username:
            raise OrgInputError({post: [f"{account.display_name}已是本分指挥部的{POSTS[other]}"]})
    previous = held.get(post)
    row = session.get(OrgPost, (unit_code, post))
    if previous is not None and previous not in (
            held.get(p) for p in POSTS if p != post):
        former = session.get(UserAccount, previous)
        if former is not None:
            former.grants = [g for g in former.grants
                             if not (g.role == POST_ROLE
                                     and (g.unit_code or former.unit_code) == unit_code)]
    if account is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            session.add(OrgPost(unit_code=unit_code, post=post, username=username))
        else:
            row.username = username
        if not _gives_post_role(account, unit_code):
            account.grants.append(RoleGrant(role=POST_ROLE, unit_code=unit_code))
    session.flush()
    uow.audit.record(actor.username, "unit_post_set", subject=f"unit:{unit_code}",
                     post=post, before=previous, after=username, why=why or None)
    return True


def set_post(uow: UnitOfWork, actor: Actor, unit_code: str, post: str, username: str | None,
             why: str | None = None) -> bool:
    """设置分指挥部指挥长 / 副指挥长 (None: vacant); True when something changed."""
    return set_posts(uow, actor, unit_code, {post: username}, why)


def set_posts(uow: UnitOfWork, actor: Actor, unit_code: str, wanted: dict[str, str | None],
              why: str | None = None) -> bool:
    """Set several posts of a sub-command at once (the two may swap); True when changed."""
    require_admin(actor)
    uow.begin_write()
    wanted = {post: (name or "").strip() or None for post, name in wanted.items()}
    if wanted.get("commander") and wanted.get("commander") == wanted.get("deputy"):
        raise OrgInputError({"deputy": ["指挥长和副指挥长不能是同一人"]})
    held = posts_of_unit(uow.session, get_unit(uow.session, unit_code).code)
    final = {**held, **wanted}
    changed = False
    for post, username in wanted.items():
        other = "deputy" if post == "commander" else "commander"
        changed |= assign_post(uow, actor, unit_code, post, username, why,
                               other_holder=final.get(other))
    if changed:
        uow.commit()
    return changed


def descendants(session: Session, code: str) -> set[str]:
    """The codes of every unit below a unit."""
    children: dict[str | None, list[str]] = {}
    for child, parent in session.execute(select(OrgUnit.code, OrgUnit.parent_code)).all():
        children.setdefault(parent, []).append(child)
    found, todo = set(), list(children.get(code, []))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


# ---------------------------------------------------------------- accounts

def _check_grants(session: Session, grants: list[Grant], errors: dict[str, list[str]]) -> None:
    for role, unit in grants:
        if role not in PERSON_ROLES:
            errors.setdefault("roles", []).append(f"没有“{role}”这个角色")
        elif unit is not None:
            found = session.get(OrgUnit, unit)
            if found is None:
                errors.setdefault("roles", []).append(
                    f"{PERSON_ROLES[role]}：没有这个单位")
            elif not found.active:
                errors.setdefault("roles", []).append(
                    f"{PERSON_ROLES[role]}：单位“{found.name}”已停用")


def _check_account_fields(session: Session, display_name: str, unit_code: str | None,
                          grants: list[Grant], errors: dict[str, list[str]],
                          current_unit: str | None = None) -> None:
    if not display_name:
        errors["display_name"] = ["请填写姓名"]
    elif len(display_name) > MAX_NAME:
        errors["display_name"] = [f"姓名最多 {MAX_NAME} 个字"]
    if unit_code:
        unit = session.get(OrgUnit, unit_code)
        if unit is None:
            errors["unit_code"] = ["没有这个单位"]
        elif not unit.active and unit_code != current_unit:
            errors["unit_code"] = [f"单位“{unit.name}”已停用"]
    else:
        errors["unit_code"] = ["请选择所在单位"]
    if not grants:
        errors["roles"] = ["请至少选择一个角色"]
    _check_grants(session, grants, errors)


def _normal_grants(grants) -> list[Grant]:
    seen: dict[Grant, None] = {}
    for role, unit in grants:
        seen[(str(role).strip(), (unit or None))] = None
    return list(seen)


def _account_state(account: UserAccount) -> dict:
    return {"display_name": account.display_name, "unit": account.unit_code,
            "roles": sorted(f"{g.role}@{g.unit_code}" if g.unit_code else g.role
                            for g in account.grants)}


def _admins_left(session: Session, besides: str) -> int:
    return session.scalar(select(func.count(func.distinct(UserAccount.username)))
                          .join(RoleGrant, RoleGrant.username == UserAccount.username)
                          .where(RoleGrant.role == ADMIN, UserAccount.active.is_(True),
                                 UserAccount.username != besides)) or 0


def add_account(uow: UnitOfWork, actor: Actor, username: str, display_name: str,
                unit_code: str | None, grants, why: str | None = None) -> str:
    """Add an account with a one-time password (returned); does not commit."""
    session = uow.session
    username, display_name = (username or "").strip(), (display_name or "").strip()
    grants = _normal_grants(grants)
    errors: dict[str, list[str]] = {}
    # Without a flush per account (an import adds thousands): the ones added in this
    # transaction and not yet written are remembered in the session's own `info`.
    transaction = session.get_transaction()
    remembered = session.info.get("org_admin.accounts_added")
    if remembered is None or remembered[0] is not transaction:  # a new transaction: none yet
        remembered = session.info["org_admin.accounts_added"] = (transaction, set())
    added = remembered[1]
    with session.no_autoflush:
        taken = username in added or session.get(UserAccount, username) is not None
    if not USERNAME.match(username) or username in RESERVED_USERNAMES:
        errors["username"] = ["用户名为 2–60 位小写字母、数字、下划线、点或连字符，以字母或数字开头"]
    elif taken:
        errors["username"] = [f"用户名“{username}”已被使用"]
    _check_account_fields(session, display_name, unit_code, grants, errors)
    if errors:
        raise OrgInputError(errors)
    password = one_time_password()
    account = UserAccount(username=username, display_name=display_name, unit_code=unit_code,
                          password_hash=hash_one_time_password(password), active=True,
                          created_at=uow.clock.now(), session_generation=0,
                          must_change_password=True,
                          grants=[RoleGrant(role=r, unit_code=u) for r, u in grants])
    session.add(account)
    added.add(username)
    uow.audit.record(actor.username, "account_created", subject=f"account:{username}",
                     after=_account_state(account), why=why or None)
    return password


def create_account(uow: UnitOfWork, actor: Actor, username: str, display_name: str,
                   unit_code: str | None, grants, why: str | None = None) -> str:
    """新建账户; returns its one-time password, to hand over once."""
    require_admin(actor)
    uow.begin_write()
    password = add_account(uow, actor, username, display_name, unit_code, grants, why)
    uow.commit()
    return password


def update_account(uow: UnitOfWork, actor: Actor, username: str, display_name: str,
                   unit_code: str | None, grants, why: str | None = None) -> bool:
    """Change an account's name, unit and roles; does not commit. True when it changed."""
    session = uow.session
    account = session.get(UserAccount, username)
    if account is None:
        raise NotFoundError(f"no user '{username}'")
    display_name = (display_name or "").strip()
    grants = _normal_grants(grants)
    errors: dict[str, list[str]] = {}
    _check_account_fields(session, display_name, unit_code, grants, errors, account.unit_code)
    if username == actor.username and not any(r == ADMIN for r, _u in grants):
        errors.setdefault("roles", []).append("不能取消自己的系统管理员角色")
    for (unit, post), holder in {(p.unit_code, p.post): p.username for p in session.execute(
            select(OrgPost).where(OrgPost.username == username)).scalars()}.items():
        if not any(r == POST_ROLE and (u or unit_code) == unit for r, u in grants):
            name = session.get(OrgUnit, unit).name
            errors.setdefault("roles", []).append(
                f"该账户是{name}{POSTS[post]}，须保留在该分指挥部的分指挥长角色；"
                "如需更换，请先在单位页面另设人选")
    if errors:
        raise OrgInputError(errors)
    before = _account_state(account)
    account.display_name, account.unit_code = display_name, unit_code
    current = {(g.role, g.unit_code) for g in account.grants}
    if current != set(grants):
        account.grants = [g for g in account.grants if (g.role, g.unit_code) in set(grants)]
        account.grants.extend(RoleGrant(role=r, unit_code=u) for r, u in grants
                              if (r, u) not in current)
    session.flush()
    after = _account_state(account)
    if after == before:
        return False
    changed = [k for k in after if after[k] != before[k]]
    uow.audit.record(actor.username, "account_changed", subject=f"account:{username}",
                     before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed}, why=why or None)
    return True


def change_account(uow: UnitOfWork, actor: Actor, username: str, display_name: str,
                   unit_code: str | None, grants, why: str | None = None) -> bool:
    """修改账户: display name, unit and roles (the groups follow at the next request)."""
    require_admin(actor)
    uow.begin_write()
    changed = update_account(uow, actor, username, display_name, unit_code, grants, why)
    if changed:
        uow.commit()
    return changed


def reset_password(uow: UnitOfWork, actor: Actor, username: str,
                   why: str | None = None) -> str:
    """重置密码: a new one-time password (returned), to be changed at the next login; the
    account's sessions end."""
    require_admin(actor)
    uow.begin_write()
    account = uow.session.get(UserAccount, username)
    if account is None:
        raise NotFoundError(f"no user '{username}'")
    password = one_time_password()
    account.password_hash = hash_one_time_password(password)
    account.must_change_password = True
    account.session_generation = (account.session_generation or 0) + 1
    end_sessions_of(uow.session, username)
    uow.audit.record(actor.username, "account_password_reset", subject=f"account:{username}",
                     why=why or None)
    uow.commit()
    return password


def mark_disabled(uow: UnitOfWork, actor: Actor, username: str, why: str) -> UserAccount:
    """Disable an account: no login, its sessions end at once. Does not commit (the caller
    also hands its work on: engine/ops/administration.py)."""
    require_admin(actor)
    why = (why or "").strip()
    account = uow.session.get(UserAccount, username)
    if account is None:
        raise NotFoundError(f"no user '{username}'")
    errors: dict[str, list[str]] = {}
    if not why:
        errors["why"] = ["请填写停用原因"]
    if username == actor.username:
        errors["username"] = ["不能停用自己的账户"]
    elif account.active and any(g.role == ADMIN for g in account.grants) \
            and _admins_left(uow.session, username) == 0:
        errors["username"] = ["这是最后一个启用的系统管理员账户，不能停用"]
    if errors:
        raise OrgInputError(errors)
    if account.active:
        account.active = False
        account.session_generation = (account.session_generation or 0) + 1
        end_sessions_of(uow.session, username)
        uow.audit.record(actor.username, "account_disabled", subject=f"account:{username}",
                         why=why)
    return account


def enable_account(uow: UnitOfWork, actor: Actor, username: str,
                   why: str | None = None) -> bool:
    """启用账户 again (its password is unchanged; reset it if it may be known to others)."""
    require_admin(actor)
    uow.begin_write()
    account = uow.session.get(UserAccount, username)
    if account is None:
        raise NotFoundError(f"no user '{username}'")
    if account.active:
        return False
    if account.unit_code:
        unit = uow.session.get(OrgUnit, account.unit_code)
        if unit is not None and not unit.active:
            raise OrgInputError({"unit_code": [f"所在单位“{unit.name}”已停用，请先调整单位"]})
    account.active = True
    uow.audit.record(actor.username, "account_enabled", subject=f"account:{username}",
                     why=why or None)
    uow.commit()
    return True


def inactive_users(session: Session, usernames) -> set[str]:
    """Of these usernames, the accounts that exist and are disabled."""
    names = sorted({u for u in usernames if u})
    if not names:
        return set()
    return set(session.execute(select(UserAccount.username).where(
        UserAccount.username.in_(names), UserAccount.active.is_(False))).scalars())


# ---------------------------------------------------------------- the administration log

ACTIONS = ("unit_created", "unit_changed", "unit_deactivated", "unit_activated",
           "unit_post_set", "account_created", "account_changed", "account_password_reset",
           "account_disabled", "account_enabled", "organisation_imported", "task_reassigned",
           "api_token_revoked", "api_token_created")
FIELD_LABELS = {"name": "名称", "kind": "类别", "parent": "上级单位", "sort": "排序",
                "display_name": "姓名", "unit": "所在单位", "roles": "角色"}


@dataclass(frozen=True)
class LogEntry:
    """One administration event as people read it: by name, fields in Chinese."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    changes: tuple[tuple[str, str, str], ...]  # (field, before, after)
    why: str | None


def administration_log(session: Session, subject: str | None = None,
                       limit: int = 200) -> list[LogEntry]:
    """The newest administration events (of one `unit:…` or `account:…` subject), by name."""
    import json

    from .models import AuditEvent

    query = select(AuditEvent).where(AuditEvent.action.in_(ACTIONS))
    if subject:
        query = query.where(AuditEvent.subject == subject)
    events = list(session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit)).scalars())
    details = [json.loads(e.detail or "{}") for e in events]
    users = {e.actor for e in events}
    for event, detail in zip(events, details):
        if (event.subject or "").startswith("account:"):
            users.add(event.subject.split(":", 1)[1])
        for key in ("before", "after"):
            if isinstance(detail.get(key), str):
                users.add(detail[key])
    who, units = people(session, users), _names(session)

    def value(key: str, raw) -> str:
        if raw is None or raw == "":
            return "（无）"
        if key in ("parent", "unit"):
            return units.get(raw, raw)
        if key == "kind":
            return UNIT_KINDS.get(raw, raw)
        if key == "roles":
            return "、".join(_grant_label(*(r.split("@", 1) + [None])[:2], None, units)
                            for r in raw) or "（无）"
        return str(raw)

    out = []
    for event, detail in zip(events, details):
        kind, _colon, code = (event.subject or "").partition(":")
        name = (units.get(code, code) if kind == "unit" else
                who.get(code, code) if kind == "account" else detail.get("name") or
                detail.get("filename") or code)
        before, after = detail.get("before"), detail.get("after")
        changes: list[tuple[str, str, str]] = []
        if isinstance(after, dict):
            for key, new in after.items():
                old = before.get(key) if isinstance(before, dict) else None
                changes.append((FIELD_LABELS.get(key, key),
                                value(key, old) if isinstance(before, dict) else "",
                                value(key, new)))
        elif event.action in ("unit_post_set", "task_reassigned"):
            label = POSTS.get(detail.get("post"), "办理人")
            changes.append((label, who.get(before, before) if before else "（空缺）",
                            who.get(after, after) if after else "（空缺）"))
        elif event.action == "organisation_imported":
            changes.append(("新增", "", str(detail.get("added", 0))))
            changes.append(("修改", "", str(detail.get("changed", 0))))
        if event.action == "task_reassigned":
            name = detail.get("name") or name
        out.append(LogEntry(event.seq, event.at, who.get(event.actor, event.actor),
                            event.action, name, tuple(changes), detail.get("why")))
    return out
