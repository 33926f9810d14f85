"""The organisation and its accounts from a workbook: the template, the plan, the import.

One workbook with two sheets (either may be left out):
- 单位: code, name, kind, parent (code or exact name), order, and for a sub-command the
  usernames of its commander and deputy commander;
- 账户: username, name, unit (code or exact name), roles — role names separated by 、；; or
  new lines, each with the unit it is held at in brackets when not the person's own:
  `审批人`, `分指挥长（产业分指挥部）`.

A row names a unit or account by its code or username: one that exists is changed to what the
row says (an empty order or post leaves it as it is); one that does not is added (an account
with a one-time password, shown once). Units and accounts the file does not name are left
alone. Planning reads the database once and the rows once; nothing is written until
`apply_plan`, which plans again inside its transaction and writes only if the plan is the one
previewed (engine/core/imports.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import imports, org_admin
from .identity import Actor
from .imports import CellError, Change, Column, Plan, PlannedRow, SheetSpec, Workbook
from .organisation import ROLES, UNIT_KINDS, OrgUnit, UserAccount
from .uow import EnlistedUnitOfWork, UnitOfWork

KIND = "organisation"
UNITS = SheetSpec("单位", (
    Column("code", "单位编码", required=True, max_chars=50, example="zrzy",
           note="字母、数字、下划线或连字符；导入后不能修改，其他行用它指代本单位"),
    Column("name", "单位名称", required=True, max_chars=100, example="县自然资源局"),
    Column("kind", "类别", required=True, max_chars=20, example="县直部门",
           note="、".join(UNIT_KINDS.values())),
    Column("parent", "上级单位", max_chars=100, example="hq",
           note="上级单位的编码或全称；留空为最上级"),
    Column("sort", "排序", max_chars=10, example="10", note="整数，小的在前；留空不变"),
    Column("commander", "指挥长（用户名）", max_chars=60,
           note="仅分指挥部：指挥长的用户名（已有账户或本文件“账户”表中的账户）；留空不变"),
    Column("deputy", "副指挥长（用户名）", max_chars=60, note="仅分指挥部：副指挥长的用户名；留空不变"),
))
ACCOUNTS = SheetSpec("账户", (
    Column("username", "用户名", required=True, max_chars=60, example="zhangsan",
           note="2–60 位小写字母、数字、下划线、点或连字符；登录用"),
    Column("display_name", "姓名", required=True, max_chars=100, example="张三"),
    Column("unit", "所在单位", required=True, max_chars=100, example="zrzy",
           note="单位编码或全称"),
    Column("roles", "角色", required=True, max_chars=500, example="审批人",
           note="多个角色用、或；分隔；在其他单位担任的角色在后面加括号写单位，如"
                "“分指挥长（产业分指挥部）”。可用角色：" + "、".join(
                    org_admin.PERSON_ROLES.values())),
))
SHEETS = (UNITS, ACCOUNTS)
EXAMPLES = {
    "单位": [["hq", "某某县项目攻坚指挥部", "指挥部", "", "0", "", ""],
             ["office", "指挥部办公室（设在县发改局）", "指挥部办公室", "hq", "1", "", ""],
             ["sc_industry", "产业分指挥部", "分指挥部", "hq", "10", "commander_industry",
              "deputy_industry"],
             ["gxj", "县工信局", "县直部门", "", "20", "", ""]],
    "账户": [["commander_industry", "分指挥长（产业）", "sc_industry", "分指挥长"],
             ["deputy_industry", "副指挥长（产业）", "gxj",
              "部门主要负责人；分指挥长（产业分指挥部）"],
             ["approver_gxj", "县工信局审批人", "gxj", "审批人"]],
}
NOTES = [
    ("如何导入", "填写“单位”和“账户”两个工作表（可只填其一），在“系统管理 → 导入”上传；"
                 "系统先列出将新增、修改的每一行和每一处错误（工作表、行、列、原因），"
                 "确认后才写入。同一文件再次上传不会做任何更改。"),
    ("不在文件中的", "文件没有列出的单位和账户保持不变；停用请在页面上操作。"),
    ("新账户的密码", "新账户的一次性密码在确认导入后显示一次，本人首次登录时必须修改。"),
]
_KIND_BY_LABEL = {label: code for code, label in UNIT_KINDS.items()}
_SPLIT = re.compile(r"[、；;,，\n]+")


def template() -> bytes:
    """The organisation template (.xlsx): 单位 and 账户 with examples, and a 说明 sheet."""
    return imports.template_bytes(SHEETS, EXAMPLES, NOTES)


def read(data: bytes) -> Workbook:
    """The rows of an uploaded organisation workbook (ImportFileError for a bad file)."""
    return imports.read_workbook(data, SHEETS)


# ---------------------------------------------------------------- what the database holds

@dataclass
class _Now:
    """The organisation as it is, read once."""

    units: dict[str, OrgUnit]
    by_name: dict[str, list[str]]
    accounts: dict[str, UserAccount]
    posts: dict[tuple[str, str], str]

    @classmethod
    def read(cls, session: Session) -> _Now:
        units = {u.code: u for u in session.execute(select(OrgUnit)).scalars()}
        by_name: dict[str, list[str]] = {}
        for unit in units.values():
            by_name.setdefault(unit.name, []).append(unit.code)
        accounts = {a.username: a for a in session.execute(select(UserAccount)).scalars()}
        posts = {(p.unit_code, p.post): p.username
                 for p in session.execute(select(org_admin.OrgPost)).scalars()}
        return cls(units, by_name, accounts, posts)


# ---------------------------------------------------------------- the plan

@dataclass(frozen=True)
class UnitOp:
    """Add or change one unit."""

    code: str
    name: str
    kind: str
    parent: str | None
    sort: int | None
    new: bool


@dataclass(frozen=True)
class AccountOp:
    """Add or change one account (grants include those its posts give)."""

    username: str
    display_name: str
    unit: str
    grants: tuple[tuple[str, str | None], ...]
    new: bool


@dataclass
class OrgPlan:
    """The plan to show, and the operations that carry it out."""

    plan: Plan
    units: list[UnitOp] = field(default_factory=list)
    accounts: list[AccountOp] = field(default_factory=list)
    posts: list[tuple[str, str, str]] = field(default_factory=list)  # unit, post, username


class _Planner:
    """Turns the rows into an OrgPlan against `_Now`."""

    def __init__(self, now: _Now, book: Workbook, actor: Actor):
        self.now, self.book, self.actor = now, book, actor
        self.out = OrgPlan(Plan(errors=list(book.errors)))
        self.unit_rows = book.sheets.get(UNITS.name, [])
        self.account_rows = book.sheets.get(ACCOUNTS.name, [])
        self.file_units: dict[str, imports.Row] = {}
        self.file_names: dict[str, list[str]] = {}
        self.file_accounts: dict[str, imports.Row] = {}
        self.final_parent: dict[str, str | None] = {c: u.parent_code for c, u in now.units.items()}
        self.final_names = {c: u.name for c, u in now.units.items()}
        self.final_kind = {c: u.kind for c, u in now.units.items()}
        self.final_posts = dict(now.posts)
        self.bad_rows: set[tuple[str, int]] = {(e.sheet, e.row) for e in book.errors}

    def error(self, sheet: SheetSpec, row: imports.Row, key: str, reason: str) -> None:
        self.out.plan.errors.append(CellError(sheet.name, row.number, sheet.column(key).header,
                                              reason))
        self.bad_rows.add((sheet.name, row.number))

    # -- references

    def unit_ref(self, text: str) -> tuple[str | None, str | None]:
        """(code, problem) of a unit named by code or exact name, in the file or the database."""
        text = text.strip()
        if not text:
            return None, None
        if text in self.file_units or text in self.now.units:
            return text, None
        codes = sorted(set(self.file_names.get(text, [])) | {
            c for c in self.now.by_name.get(text, []) if c not in self.file_units})
        if len(codes) == 1:
            return codes[0], None
        if len(codes) > 1:
            return None, f"有多个单位名为“{text}”，请填写单位编码"
        return None, f"没有编码或名称为“{text}”的单位（系统中和本文件“单位”表中都没有）"

    def unit_name(self, code: str | None) -> str:
        return self.final_names.get(code, code) if code else "（无）"

    def unit_active(self, code: str) -> bool:
        unit = self.now.units.get(code)
        return unit is None or unit.active

    # -- units

    def collect_units(self) -> None:
        for row in self.unit_rows:
            code = row.values.get("code", "")
            if not code:
                continue
            if code in self.file_units:
                self.error(UNITS, row, "code", f"单位编码与第 {self.file_units[code].number} 行重复")
                continue
            self.file_units[code] = row
            self.file_names.setdefault(row.values.get("name", ""), []).append(code)

    def plan_units(self) -> list[tuple[imports.Row, dict]]:
        planned = []
        for row in self.unit_rows:
            values = row.values
            code = values.get("code", "")
            if not code or self.file_units.get(code) is not row:
                continue
            if not org_admin.UNIT_CODE.match(code):
                self.error(UNITS, row, "code", "单位编码为 1–50 位字母、数字、下划线或连字符")
            kind_text = values.get("kind", "")
            kind = _KIND_BY_LABEL.get(kind_text, kind_text if kind_text in UNIT_KINDS else None)
            if kind is None and kind_text:
                self.error(UNITS, row, "kind", f"没有“{kind_text}”这个类别；可填："
                           + "、".join(UNIT_KINDS.values()))
            parent, problem = self.unit_ref(values.get("parent", ""))
            if problem:
                self.error(UNITS, row, "parent", problem)
            elif parent == code:
                self.error(UNITS, row, "parent", "上级单位不能是本单位")
            elif parent and not self.unit_active(parent):
                self.error(UNITS, row, "parent", f"上级单位“{self.unit_name(parent)}”已停用")
            sort_text = values.get("sort", "")
            sort = None
            if sort_text:
                try:
                    sort = int(sort_text)
                except ValueError:
                    self.error(UNITS, row, "sort", "请填写整数")
                else:
                    if abs(sort) > org_admin.MAX_SORT:
                        self.error(UNITS, row, "sort", f"排序应在 ±{org_admin.MAX_SORT} 之内")
            if (UNITS.name, row.number) in self.bad_rows:
                continue
            self.final_parent[code] = parent
            self.final_names[code] = values["name"]
            self.final_kind[code] = kind
            planned.append((row, {"code": code, "name": values["name"], "kind": kind,
                                  "parent": parent, "sort": sort}))
        self.check_cycles(planned)
        return planned

    def check_cycles(self, planned) -> None:
        for row, wanted in planned:
            seen, current = {wanted["code"]}, wanted["parent"]
            while current:
                if current in seen:
                    self.error(UNITS, row, "parent", "上级单位形成循环（单位不能在自己的下级之下）")
                    break
                seen.add(current)
                current = self.final_parent.get(current)

    def emit_units(self, planned) -> None:
        for row, wanted in planned:
            if (UNITS.name, row.number) in self.bad_rows:
                continue
            code, unit = wanted["code"], self.now.units.get(wanted["code"])
            what = f"{wanted['name']}（{UNIT_KINDS[wanted['kind']]}）"
            if unit is None:
                parent = self.unit_name(wanted["parent"]) if wanted["parent"] else "（最上级）"
                changes = (Change("上级单位", "", parent),)
                self.out.units.append(UnitOp(code, wanted["name"], wanted["kind"],
                                             wanted["parent"], wanted["sort"], True))
                self.out.plan.rows.append(PlannedRow(UNITS.name, row.number, "add", what, changes))
                continue
            changes = []
            if unit.name != wanted["name"]:
                changes.append(Change("单位名称", unit.name, wanted["name"]))
            if unit.kind != wanted["kind"]:
                changes.append(Change("类别", UNIT_KINDS.get(unit.kind, unit.kind),
                                      UNIT_KINDS[wanted["kind"]]))
            if unit.parent_code != wanted["parent"]:
                changes.append(Change("上级单位", self.now_unit_name(unit.parent_code),
                                      self.unit_name(wanted["parent"])))
            if wanted["sort"] is not None and unit.sort != wanted["sort"]:
                changes.append(Change("排序", str(unit.sort), str(wanted["sort"])))
            if changes:
                self.out.units.append(UnitOp(code, wanted["name"], wanted["kind"],
                                             wanted["parent"], wanted["sort"], False))
            self.out.plan.rows.append(PlannedRow(UNITS.name, row.number,
                                                 "change" if changes else "unchanged", what,
                                                 tuple(changes)))

    def now_unit_name(self, code: str | None) -> str:
        if not code:
            return "（无）"
        unit = self.now.units.get(code)
        return unit.name if unit else code

    # -- posts

    def plan_posts(self) -> dict[int, list[Change]]:
        """Post changes by unit row number (shown with the unit's row)."""
        changes: dict[int, list[Change]] = {}
        for row in self.unit_rows:
            code = row.values.get("code", "")
            if (UNITS.name, row.number) in self.bad_rows or self.file_units.get(code) is not row:
                continue
            wanted = {post: row.values.get(post, "") for post in org_admin.POSTS}
            if not any(wanted.values()):
                continue
            if self.final_kind.get(code) != "sub_command":
                for post, username in wanted.items():
                    if username:
                        self.error(UNITS, row, post, "只有分指挥部设指挥长和副指挥长")
                continue
            if wanted["commander"] and wanted["commander"] == wanted["deputy"]:
                self.error(UNITS, row, "deputy", "指挥长和副指挥长不能是同一人")
                continue
            for post, username in wanted.items():
                if not username:
                    continue
                problem = self.account_problem(username)
                if problem:
                    self.error(UNITS, row, post, problem)
                    continue
                other = "deputy" if post == "commander" else "commander"
                if not wanted[other] and self.final_posts.get((code, other)) == username:
                    self.error(UNITS, row, post, f"此人已是本分指挥部的{org_admin.POSTS[other]}")
                    continue
                before = self.now.posts.get((code, post))
                if before != username:
                    self.final_posts[(code, post)] = username
                    self.out.posts.append((code, post, username))
                    changes.setdefault(row.number, []).append(Change(
                        org_admin.POSTS[post],
                        self.person(before, current=True) if before else "（空缺）",
                        self.person(username)))
        return changes

    def account_problem(self, username: str) -> str | None:
        if username in self.file_accounts:
            return None
        account = self.now.accounts.get(username)
        if account is None:
            return f"没有用户名为“{username}”的账户（系统中和本文件“账户”表中都没有）"
        if not account.active:
            return f"账户“{account.display_name}”已停用"
        return None

    def person(self, username: str, *, current: bool = False) -> str:
        """张三（单位） as the file makes it, or (`current`) as it is now."""
        row = None if current and username in self.now.accounts else \
            self.file_accounts.get(username)
        if row is not None:
            unit, _problem = self.unit_ref(row.values.get("unit", ""))
            return org_admin.person_label(row.values.get("display_name", username),
                                          self.unit_name(unit) if unit else None)
        account = self.now.accounts.get(username)
        if account is None:
            return username
        return org_admin.person_label(account.display_name, self.now_unit_name(
            account.unit_code) if account.unit_code else None)

    # -- accounts

    def collect_accounts(self) -> None:
        for row in self.account_rows:
            username = row.values.get("username", "")
            if not username:
                continue
            if username in self.file_accounts:
                self.error(ACCOUNTS, row, "username",
                           f"用户名与第 {self.file_accounts[username].number} 行重复")
                continue
            self.file_accounts[username] = row

    def grants_of(self, row: imports.Row, own_unit: str | None) -> list[tuple[str, str | None]]:
        grants = []
        for part in (p.strip() for p in _SPLIT.split(row.values.get("roles", ""))):
            if not part:
                continue
            role, unit_text = _role_and_unit(part)
            if role is None:
                self.error(ACCOUNTS, row, "roles", f"没有“{part}”这个角色；可用角色："
                           + "、".join(org_admin.PERSON_ROLES.values()))
                continue
            unit = None
            if unit_text:
                unit, problem = self.unit_ref(unit_text)
                if problem:
                    self.error(ACCOUNTS, row, "roles", f"{part}：{problem}")
                    continue
                if unit == own_unit:
                    unit = None
            grants.append((role, unit))
        return list(dict.fromkeys(grants))

    def plan_accounts(self) -> None:
        for row in self.account_rows:
            values = row.values
            username = values.get("username", "")
            if not username or self.file_accounts.get(username) is not row:
                continue
            if not org_admin.USERNAME.match(username):
                self.error(ACCOUNTS, row, "username",
                           "用户名为 2–60 位小写字母、数字、下划线、点或连字符，以字母或数字开头")
            unit, problem = self.unit_ref(values.get("unit", ""))
            if problem:
                self.error(ACCOUNTS, row, "unit", problem)
            elif unit and not self.unit_active(unit):
                account = self.now.accounts.get(username)
                if account is None or account.unit_code != unit:
                    self.error(ACCOUNTS, row, "unit", f"单位“{self.unit_name(unit)}”已停用")
            grants = self.grants_of(row, unit)
            for code, post in [k for k, v in self.final_posts.items() if v == username]:
                if not any(r == org_admin.POST_ROLE and (u or unit) == code for r, u in grants):
                    grants.append((org_admin.POST_ROLE, None if code == unit else code))
            if username == self.actor.username and not any(r == org_admin.ADMIN
                                                           for r, _u in grants):
                self.error(ACCOUNTS, row, "roles", "不能取消自己的系统管理员角色")
            if (ACCOUNTS.name, row.number) in self.bad_rows:
                continue
            self.emit_account(row, username, unit, grants)

    def emit_account(self, row, username: str, unit: str, grants) -> None:
        name = row.values["display_name"]
        what = org_admin.person_label(name, self.unit_name(unit))
        labels = _grant_labels(grants, unit, self.unit_name)
        account = self.now.accounts.get(username)
        key = tuple(sorted(grants, key=lambda g: (g[0], g[1] or "")))
        if account is None:
            self.out.accounts.append(AccountOp(username, name, unit, key, True))
            self.out.plan.rows.append(PlannedRow(ACCOUNTS.name, row.number, "add", what, (
                Change("用户名", "", username), Change("角色", "", labels))))
            return
        current = [(g.role, g.unit_code if g.unit_code != account.unit_code else None)
                   for g in account.grants]
        changes = []
        if account.display_name != name:
            changes.append(Change("姓名", account.display_name, name))
        if account.unit_code != unit:
            changes.append(Change("所在单位", self.now_unit_name(account.unit_code),
                                  self.unit_name(unit)))
        if set(current) != set(grants):
            changes.append(Change("角色", _grant_labels(current, account.unit_code,
                                                        self.now_unit_name), labels))
        if changes:
            self.out.accounts.append(AccountOp(username, name, unit, key, False))
        self.out.plan.rows.append(PlannedRow(ACCOUNTS.name, row.number,
                                             "change" if changes else "unchanged", what,
                                             tuple(changes)))

    def run(self) -> OrgPlan:
        self.collect_units()
        self.collect_accounts()
        planned = self.plan_units()
        post_changes = self.plan_posts()
        self.emit_units(planned)
        self.attach_posts(post_changes)
        self.plan_accounts()
        if not self.out.plan.ok:
            self.out.units, self.out.accounts, self.out.posts = [], [], []
        self.out.plan.errors.sort()
        return self.out

    def attach_posts(self, post_changes: dict[int, list[Change]]) -> None:
        rows = self.out.plan.rows
        for index, planned in enumerate(rows):
            extra = post_changes.get(planned.row) if planned.sheet == UNITS.name else None
            if extra:
                kind = "change" if planned.action == "unchanged" else planned.action
                rows[index] = PlannedRow(planned.sheet, planned.row, kind, planned.what,
                                         planned.changes + tuple(extra))


# Role names as a row may write them, longest first (总指挥（县长） before a shorter match).
_ROLE_NAMES = sorted([(label, code) for code, label in org_admin.PERSON_ROLES.items()]
                     + [(code, code) for code in org_admin.PERSON_ROLES],
                     key=lambda item: -len(item[0]))


def _role_and_unit(part: str) -> tuple[str | None, str | None]:
    """(role code, unit text) of `分指挥长（产业分指挥部）`, `审批人`, `approver(zrzy)`."""
    for label, code in _ROLE_NAMES:
        if part == label:
            return code, None
        if part.startswith(label):
            rest = part[len(label):].strip()
            if rest[:1] in "（(" and rest[-1:] in "）)" and len(rest) > 2:
                return code, rest[1:-1].strip()
    return None, None


def _grant_labels(grants, own_unit, name_of) -> str:
    order = list(ROLES)
    parts = [ROLES.get(r, r) + (f"（{name_of(u)}）" if u and u != own_unit else "")
             for r, u in sorted(grants, key=lambda g: (order.index(g[0]) if g[0] in order
                                                       else 99, g[1] or ""))]
    return "、".join(parts)


def plan(session: Session, book: Workbook, actor: Actor) -> OrgPlan:
    """What the rows would change, against the database as it is now."""
    return _Planner(_Now.read(session), book, actor).run()


# ---------------------------------------------------------------- preview and confirm

def preview(uow: UnitOfWork, actor: Actor, filename: str, data: bytes) -> tuple[str, Plan]:
    """Read and plan an upload, keep it for confirmation; (preview id, plan). Commits."""
    org_admin.require_admin(actor)
    book = read(data)
    found = plan(uow.session, book, actor)
    batch = imports.save_preview(uow, actor, KIND, filename, data, book, found.plan)
    return batch, found.plan


def stored_plan(uow: UnitOfWork, actor: Actor, batch_id: str) -> tuple[imports.ImportBatch, Plan]:
    """A kept preview and its plan made again now (to show it again)."""
    org_admin.require_admin(actor)
    batch = imports.load_preview(uow, actor, KIND, batch_id)
    book = Workbook.from_content(batch.content)
    return batch, plan(uow.session, book, actor).plan


@dataclass(frozen=True)
class ImportResult:
    """What a confirmed import wrote, and the new accounts' one-time passwords (shown once)."""

    summary: dict[str, int]
    passwords: list[tuple[str, str, str]]  # username, 张三（单位）, password


def confirm(uow: UnitOfWork, actor: Actor, batch_id: str) -> ImportResult:
    """Write a previewed upload, if the plan made now is the one previewed; one transaction."""
    org_admin.require_admin(actor)
    uow.begin_write()
    batch = imports.load_preview(uow, actor, KIND, batch_id)
    # Held for the whole call: the session keeps what it loaded only while it is referenced,
    # and the services below find every unit and account in it instead of asking again.
    state = _Now.read(uow.session)
    found = _Planner(state, Workbook.from_content(batch.content), actor).run()
    imports.check_unchanged(batch, found.plan)
    if not found.plan.ok:
        raise org_admin.OrgInputError({"file": ["文件中有错误，请修改后重新上传"]})
    work = EnlistedUnitOfWork(uow)
    why = f"导入文件 {batch.filename}"
    for op in _parents_first(found.units):
        if op.new:
            state.units[op.code] = org_admin.create_unit(work, actor, op.code, op.name, op.kind,
                                                         op.parent, op.sort, why)
        else:
            org_admin.change_unit(work, actor, op.code, name=op.name, kind=op.kind,
                                  parent_code=op.parent, sort=op.sort, why=why)
    passwords = []
    for op in found.accounts:
        if op.new:
            password = org_admin.add_account(work, actor, op.username, op.display_name, op.unit,
                                             op.grants, why)
            unit = uow.session.get(OrgUnit, op.unit)
            passwords.append((op.username, org_admin.person_label(
                op.display_name, unit.name if unit else None), password))
    for unit_code, post, username in found.posts:
        org_admin.assign_post(work, actor, unit_code, post, username, why)
    for op in found.accounts:
        if not op.new:
            org_admin.update_account(work, actor, op.username, op.display_name, op.unit,
                                     op.grants, why)
    batch.applied_at = uow.clock.now()
    summary = found.plan.summary()
    uow.audit.record(actor.username, "organisation_imported", subject=f"import:{batch.id}",
                     filename=batch.filename, sha256=batch.sha256, added=summary["add"],
                     changed=summary["change"])
    uow.commit()
    return ImportResult(summary, passwords)


def _parents_first(ops: list[UnitOp]) -> list[UnitOp]:
    by_code = {op.code: op for op in ops}
    done: set[str] = set()
    ordered: list[UnitOp] = []

    def visit(op: UnitOp, path: set[str]) -> None:
        if op.code in done or op.code in path:
            return
        parent = by_code.get(op.parent) if op.parent else None
        if parent is not None:
            visit(parent, path | {op.code})
        done.add(op.code)
        ordered.append(op)

    for op in ops:
        visit(op, set())
    return ordered
