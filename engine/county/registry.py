"""The project registry kept by people: register and edit a project, replace its monthly
schedule, move its stage with a reason — and the move a finished permit approval makes by
itself (前期 → 建设).

Who may is engine/county/policy.py `may_manage_projects`: the office and administrators
everywhere, a sub-commander in its own field. A project out of the actor's scope is not
found; one in scope but not the actor's to keep is forbidden.

Every value that names a unit or a person is checked against the organisation — the
sub-command is a sub-command, the lead department a department (or the demonstration
zone), the township a township or the zone, the project unit a company, department,
township or the zone, the specialist an active account holding the specialist role; only
active units are offered for something new — and every bad value is refused at its field
in Chinese (`TaskDataError.field_errors`), with nothing written. Every change is audited
with before → after; a change that changes nothing is not a change and is not recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, or_, select

from ..bpm.hooks import FinishedStep, SaveSummary
from ..core.errors import ConflictError, NotFoundError, PermissionDeniedError, TaskDataError
from ..core.identity import SYSTEM, Actor
from ..core.organisation import OrgUnit, RoleGrant, UserAccount
from ..core.uow import UnitOfWork
from .policy import may_manage_projects, scope_of
from .projects import (
    FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGES, Project, follow_project,
    move_stage, on_battle_map, set_schedule,
)

LABELS: dict[str, str] = {
    "code": "项目编号", "name": "项目名称", "stage": "阶段", "reserve_class": "储备类别",
    "reserve_track": "储备方向", "sub_command": "分指挥部", "lead_department": "主管部门",
    "township": "属地乡镇", "project_unit": "项目单位", "specialist": "项目专员",
    "key_level": "重点级别", "funding": "投资性质", "planned_investment": "总投资（万元）",
}
FIELDS = tuple(LABELS)
# The fields an edit may change (the code never; the stage by a stage move with a reason).
EDITABLE = tuple(f for f in FIELDS if f not in ("code", "stage"))
# The kinds of unit each field that names a unit takes.
UNIT_FIELDS: dict[str, tuple[str, ...]] = {
    "sub_command": ("sub_command",),
    "lead_department": ("department", "zone"),
    "township": ("township", "zone"),
    "project_unit": ("company", "department", "township", "zone"),
}
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}")
MAX_NAME = 200
MAX_INVESTMENT = 100_000_000  # 万元: a trillion yuan
MAX_REASON = 500
# What each coded field offers, code → label.
CODE_FIELDS: dict[str, dict[str, str]] = {
    "stage": STAGES, "reserve_class": RESERVE_CLASSES, "reserve_track": RESERVE_TRACKS,
    "key_level": KEY_LEVELS, "funding": FUNDING,
}


# ---------------------------------------------------------------- what the pickers offer

@dataclass(frozen=True)
class Option:
    """One choice of a picker: the value kept (a unit code, a username) and the name shown."""

    value: str
    label: str


@dataclass(frozen=True)
class Choices:
    """What each unit and person field offers, and every unit's and account's name."""

    options: dict[str, list[Option]]
    unit_names: dict[str, str]
    people: dict[str, str]

    def offers(self, field: str, value: str) -> bool:
        """Whether the field's picker offers this code or username."""
        return any(option.value == value for option in self.options.get(field, ()))

    def resolve(self, field: str, text: str) -> str | None:
        """The code a typed or picked text means in a field: the code itself, the label the
        picker shows, or a name that only one choice has; None when nothing matches."""
        text = (text or "").strip()
        if not text:
            return None
        options = self.options.get(field, ())
        for option in options:
            if text == option.value or text == option.label:
                return option.value
        named = [o.value for o in options if _bare(o.label) == text]
        return named[0] if len(named) == 1 else None

    def name_of(self, field: str, value: str | None) -> str:
        """The name a stored value is shown by (a unit's name, a person's, a code's label)."""
        if value is None or value == "":
            return ""
        if field in UNIT_FIELDS:
            return self.unit_names.get(value, value)
        if field == "specialist":
            return self.people.get(value, value)
        if field in CODE_FIELDS:
            return CODE_FIELDS[field].get(value, value)
        return str(value)


def _bare(label: str) -> str:
    """A label without the unit in brackets: 项目专员一（县行政审批局） → 项目专员一."""
    return label.split("（", 1)[0]


def choices(session) -> Choices:
    """The pickers' options from the organisation: active units of each field's kinds and
    the active specialists, each named so that no two options look the same."""
    units = list(session.execute(select(OrgUnit).order_by(OrgUnit.sort, OrgUnit.code)).scalars())
    unit_names = {u.code: u.name for u in units}
    options: dict[str, list[Option]] = {}
    for field, kinds in UNIT_FIELDS.items():
        offered = [u for u in units if u.kind in kinds and getattr(u, "active", True)]
        options[field] = _unique([(u.code, u.name) for u in offered])
    accounts = session.execute(
        select(UserAccount.username, UserAccount.display_name, UserAccount.unit_code)
        .where(UserAccount.active.is_(True), UserAccount.username.in_(
            select(RoleGrant.username).where(RoleGrant.role == "specialist")))
        .order_by(UserAccount.display_name, UserAccount.username)).all()
    people = dict(session.execute(select(UserAccount.username, UserAccount.display_name)).all())
    options["specialist"] = _unique([
        (a.username, f"{a.display_name}（{unit_names[a.unit_code]}）"
         if a.unit_code in unit_names else a.display_name) for a in accounts])
    return Choices(options, unit_names, people)


def _unique(pairs: list[tuple[str, str]]) -> list[Option]:
    """Options whose labels differ: a label two share carries its code too."""
    seen: dict[str, int] = {}
    for _value, label in pairs:
        seen[label] = seen.get(label, 0) + 1
    return [Option(value, label if seen[label] == 1 else f"{label}（{value}）")
            for value, label in pairs]


# ---------------------------------------------------------------- checking a project's values

@dataclass(frozen=True)
class ProjectFields:
    """A project's registry values, checked."""

    code: str
    name: str
    stage: str
    reserve_class: str | None
    reserve_track: str | None
    sub_command: str
    lead_department: str
    township: str
    project_unit: str
    specialist: str | None
    key_level: str
    funding: str
    planned_investment: int

    def as_dict(self) -> dict[str, Any]:
        """The values by field."""
        return asdict(self)


def fields_of(project: Project) -> dict[str, Any]:
    """A registered project's values by field."""
    return {field: getattr(project, field) for field in FIELDS}


def _text(values: Mapping[str, Any], field: str) -> str:
    value = values.get(field)
    return "" if value is None else str(value).strip()


def _amount(text: str, errors: dict[str, list[str]], field: str) -> int:
    if text == "":
        return 0
    try:
        number = float(text)
    except ValueError:
        errors[field] = ["请填写数字（万元）"]
        return 0
    if number != int(number):
        errors[field] = ["请填写整数（万元）"]
    elif number < 0:
        errors[field] = ["不能小于 0"]
    elif number > MAX_INVESTMENT:
        errors[field] = [f"不能大于 {MAX_INVESTMENT}"]
    return int(number) if not errors.get(field) else 0


def check_fields(picks: Choices, values: Mapping[str, Any],
                 current: Mapping[str, Any] | None = None) -> ProjectFields:
    """The checked values of a project (`current`: its values before an edit, whose units
    and specialist may stay even if no longer offered); TaskDataError naming each bad field."""
    errors: dict[str, list[str]] = {}
    text = {field: _text(values, field) for field in FIELDS}
    if not CODE_PATTERN.fullmatch(text["code"]):
        errors["code"] = (["此项必填"] if not text["code"] else
                          ["项目编号只能由字母、数字和 - _ . 组成，最多 50 个字符"])
    if not text["name"]:
        errors["name"] = ["此项必填"]
    elif len(text["name"]) > MAX_NAME:
        errors["name"] = [f"最多 {MAX_NAME} 个字"]
    for field, offered in CODE_FIELDS.items():
        if text[field] and text[field] not in offered:
            errors[field] = ["请从选项中选择"]
    for field in ("stage", "key_level", "funding"):
        if not text[field]:
            errors[field] = ["此项必填"]
    if text["stage"] == "reserve":
        for field in ("reserve_class", "reserve_track"):
            if not text[field]:
                errors[field] = ["储备项目必须选择" + LABELS[field]]
    was = current or {}
    for field in (*UNIT_FIELDS, "specialist"):
        value = text[field]
        if not value:
            if field != "specialist":
                errors[field] = ["此项必填"]
        elif not picks.offers(field, value) and value != was.get(field):
            errors[field] = [_unknown(field)]
    amount = _amount(text["planned_investment"], errors, "planned_investment")
    if errors:
        raise TaskDataError("; ".join(f"{LABELS.get(f, f)}: {m[0]}" for f, m in errors.items()),
                            errors)
    reserve = text["stage"] == "reserve"
    return ProjectFields(
        code=text["code"], name=text["name"], stage=text["stage"],
        reserve_class=text["reserve_class"] if reserve else None,
        reserve_track=text["reserve_track"] if reserve else None,
        sub_command=text["sub_command"], lead_department=text["lead_department"],
        township=text["township"], project_unit=text["project_unit"],
        specialist=text["specialist"] or None, key_level=text["key_level"],
        funding=text["funding"], planned_investment=amount)


def _unknown(field: str) -> str:
    if field == "specialist":
        return "没有这个项目专员，请从列表中选择"
    return f"没有这个{LABELS[field]}（或已停用），请从列表中选择"


# ---------------------------------------------------------------- registering and editing

def managed_project(uow: UnitOfWork, actor: Actor, code: str) -> Project:
    """A project the actor keeps: NotFoundError out of scope, PermissionDeniedError when it
    sees it but does not keep its field."""
    project = uow.session.get(Project, code)
    if project is None or not scope_of(actor).sees_project(project):
        raise NotFoundError(f"project {code} does not exist or is not yours to see")
    if not may_manage_projects(actor, project.sub_command):
        raise PermissionDeniedError(f"{actor.username} may not change project {code}; the "
                                    "office, administrators and its sub-commander do")
    return project


def _check_field_allowed(actor: Actor, sub_command: str) -> None:
    if not may_manage_projects(actor, sub_command):
        raise TaskDataError(f"{actor.username} does not keep the projects of {sub_command}",
                            {"sub_command": ["只能登记您所在分指挥部的项目"]})


def _check_version(project: Project, row_version: int | None) -> None:
    if row_version is not None and int(row_version) != project.row_version:
        raise ConflictError(f"project {project.code} was changed by someone else since it "
                            "was read; reload it and make the change again")


def register_project(uow: UnitOfWork, actor: Actor, values: Mapping[str, Any]) -> Project:
    """Register a new project (audited `project_registered`); the caller commits."""
    if not may_manage_projects(actor):
        raise PermissionDeniedError(f"{actor.username} may not register projects")
    checked = check_fields(choices(uow.session), values)
    _check_field_allowed(actor, checked.sub_command)
    if uow.session.get(Project, checked.code) is not None:
        raise TaskDataError(f"project {checked.code} is already registered",
                            {"code": ["该项目编号已被使用"]})
    return insert_project(uow, actor, checked)


def insert_project(uow: UnitOfWork, actor: Actor, checked: ProjectFields,
                   why: str | None = None) -> Project:
    """Add a checked new project, audited `project_registered` (`why`: e.g. the import)."""
    project = Project(**checked.as_dict())
    uow.session.add(project)
    uow.audit.record(actor.username, "project_registered", subject=f"project:{project.code}",
                     after={k: v for k, v in checked.as_dict().items() if v is not None},
                     why=why)
    return project


def update_project(uow: UnitOfWork, actor: Actor, code: str, values: Mapping[str, Any], *,
                   row_version: int | None = None) -> dict[str, tuple[Any, Any]]:
    """Change a project's values (fields not given keep theirs; not its code or stage),
    audited `project_updated` with the fields that changed; those changes (field → before,
    after), empty when nothing changed. The caller commits."""
    project = managed_project(uow, actor, code)
    _check_version(project, row_version)
    unknown = sorted(set(values) - set(EDITABLE) - {"code", "stage"})
    if unknown:
        raise TaskDataError(f"unknown fields {unknown}", {f: ["未知字段"] for f in unknown})
    if "stage" in values and str(values["stage"] or "") != project.stage:
        raise TaskDataError("the stage moves with a reason, not by an edit",
                            {"stage": ["阶段请通过“转阶段”变更并填写理由"]})
    before = fields_of(project)
    checked = check_fields(choices(uow.session), {**before, **values, "code": project.code,
                                                  "stage": project.stage}, current=before)
    if checked.sub_command != project.sub_command:
        _check_field_allowed(actor, checked.sub_command)
    return change_project(uow, actor, project, checked)


def change_project(uow: UnitOfWork, actor: Actor, project: Project, checked: ProjectFields,
                   why: str | None = None) -> dict[str, tuple[Any, Any]]:
    """Give a project the checked values of its editable fields, audited `project_updated`
    with what changed (nothing when nothing did); the changes, field → (before, after)."""
    before, after = fields_of(project), checked.as_dict()
    changes = {f: (before[f], after[f]) for f in EDITABLE if before[f] != after[f]}
    if not changes:
        return {}
    place = (project.sub_command, on_battle_map(project))
    for field, (_old, new) in changes.items():
        setattr(project, field, new)
    follow_project(uow.session, project.code, place, (project.sub_command, on_battle_map(project)))
    uow.audit.record(actor.username, "project_updated", subject=f"project:{project.code}",
                     before={f: old for f, (old, _new) in changes.items()},
                     after={f: new for f, (_old, new) in changes.items()}, why=why)
    return changes


def move_project_stage(uow: UnitOfWork, actor: Actor, code: str, to_stage: str, reason: str,
                       *, reserve_class: str | None = None, reserve_track: str | None = None,
                       row_version: int | None = None) -> Project:
    """Move a project to another stage with a reason (into 储备 with its class and track),
    audited `project_stage_moved`; the caller commits."""
    project = managed_project(uow, actor, code)
    _check_version(project, row_version)
    errors: dict[str, list[str]] = {}
    if to_stage not in STAGES:
        errors["stage"] = ["请从列表中选择阶段"]
    elif to_stage == project.stage:
        errors["stage"] = [f"项目已在{STAGES[to_stage]}阶段，请选择另一个阶段"]
    if not (reason or "").strip():
        errors["reason"] = ["请填写转阶段的理由"]
    elif len(reason.strip()) > MAX_REASON:
        errors["reason"] = [f"最多 {MAX_REASON} 个字"]
    if to_stage == "reserve":
        if reserve_class not in RESERVE_CLASSES:
            errors["reserve_class"] = ["转入储备须选择储备类别"]
        if reserve_track not in RESERVE_TRACKS:
            errors["reserve_track"] = ["转入储备须选择储备方向"]
    if errors:
        raise TaskDataError("; ".join(f"{f}: {m[0]}" for f, m in errors.items()), errors)
    before = (project.reserve_class, project.reserve_track)
    project.reserve_class = reserve_class if to_stage == "reserve" else None
    project.reserve_track = reserve_track if to_stage == "reserve" else None
    reserve = ({"reserve_class": project.reserve_class, "reserve_track": project.reserve_track}
               if to_stage == "reserve" or any(before) else {})
    return move_stage(uow, code, to_stage, actor.username, reason, **reserve)


# ---------------------------------------------------------------- the monthly schedule

MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
MAX_MILESTONE = 200


def check_schedule(rows: list[Mapping[str, Any]]) -> list[tuple[str, int, str | None]]:
    """Checked schedule rows (month YYYY-MM, planned 万元, milestone); blank rows are left
    out; TaskDataError naming each bad cell as `schedule-<n>-<month|planned|milestone>`."""
    errors: dict[str, list[str]] = {}
    months: list[tuple[str, int, str | None]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        month, planned = _text(row, "month"), _text(row, "planned")
        milestone = _text(row, "milestone")
        if not (month or planned or milestone):
            continue
        key = f"schedule-{n}-"
        found = MONTH_PATTERN.fullmatch(month)
        if not found or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
            errors[key + "month"] = ["请填写月份，如 2027-03"]
        elif month in seen:
            errors[key + "month"] = ["该月份已填写过"]
        seen.add(month)
        amount = _amount(planned, errors, key + "planned")
        if len(milestone) > MAX_MILESTONE:
            errors[key + "milestone"] = [f"最多 {MAX_MILESTONE} 个字"]
        months.append((month, amount, milestone or None))
    if errors:
        raise TaskDataError("the schedule has errors", errors)
    return sorted(months)


def replace_schedule(uow: UnitOfWork, actor: Actor, code: str,
                     rows: list[Mapping[str, Any]]) -> bool:
    """Replace a project's monthly schedule (audited `schedule_set` when it changes);
    whether it changed. The caller commits."""
    managed_project(uow, actor, code)
    return set_schedule(uow, code, check_schedule(rows), actor.username)


# ---------------------------------------------------------------- the permit approval's end

def start_construction(uow: UnitOfWork, summary: SaveSummary, step: FinishedStep,
                       actor: Actor) -> None:
    """A finished permit approval moves its project 前期 → 建设, as the system on behalf of
    the process; anything else is recorded as nothing to do (`project_stage_unchanged`).

    The marked step's properties name the data: `project_variable` (default
    `project_code`) names the project and `when_variable`, if given, the flag that must be
    true (the permit approval's `ready_to_build`: every item approved, the construction
    permit among them).
    """
    code = str(step.data.get(step.properties.get("project_variable") or "project_code") or "")
    flag = step.properties.get("when_variable")
    where = f"{step.name or step.element_id}（流程 #{summary.instance.id}）"
    project = uow.session.get(Project, code) if code else None
    if project is None:
        why = f"{where}：项目库中没有项目 {code or '（未指明）'}，无需转阶段"
    elif project.stage != "prework":
        why = f"{where}：项目现处{STAGES[project.stage]}阶段，不在前期，无需转阶段"
    elif flag and not step.data.get(flag):
        why = f"{where}：前期手续未全部准予（含施工许可），项目仍在前期"
    else:
        move_stage(uow, code, "construction", SYSTEM, f"{where}：前期手续全部办结，施工许可已准予",
                   instance_id=summary.instance.id, completed_by=actor.username,
                   process=summary.instance.process_key)
        return
    uow.audit.record(SYSTEM, "project_stage_unchanged", subject=f"project:{code}",
                     instance_id=summary.instance.id, why=why,
                     stage=project.stage if project else None,
                     process=summary.instance.process_key)


# ---------------------------------------------------------------- the registry's list

@dataclass(frozen=True)
class RegistryRow:
    """One project of the registry's list, by name, and whether the reader may change it."""

    code: str
    name: str
    stage: str
    stage_label: str
    reserve: str
    sub_command: str
    lead_department: str
    township: str
    project_unit: str
    specialist: str
    key_level: str
    funding: str
    planned_investment: int
    may_change: bool


@dataclass(frozen=True)
class RegistryPage:
    """One page of the registry's list."""

    rows: list[RegistryRow]
    total: int
    page: int
    pages: int


def registry_page(uow: UnitOfWork, actor: Actor, *, text: str | None = None,
                  sub_command: str | None = None, stage: str | None = None, page: int = 1,
                  page_size: int = 100) -> RegistryPage:
    """The projects in the actor's scope by code, filtered by a text in the code or name,
    a field and a stage; one page of them."""
    query = select(Project).where(scope_of(actor).project_condition())
    if text:
        query = query.where(or_(Project.code.contains(text, autoescape=True),
                                Project.name.contains(text, autoescape=True)))
    if sub_command:
        query = query.where(Project.sub_command == sub_command)
    if stage:
        query = query.where(Project.stage == stage)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    picks = choices(uow.session)
    rows = []
    for project in uow.session.execute(query.order_by(Project.code).offset(
            (page - 1) * page_size).limit(page_size)).scalars():
        reserve = ("、".join(filter(None, (picks.name_of("reserve_class", project.reserve_class),
                                           picks.name_of("reserve_track", project.reserve_track))))
                   if project.stage == "reserve" else "")
        rows.append(RegistryRow(
            project.code, project.name, project.stage, STAGES[project.stage], reserve,
            *(picks.name_of(f, getattr(project, f)) for f in (
                "sub_command", "lead_department", "township", "project_unit", "specialist",
                "key_level", "funding")),
            project.planned_investment, may_manage_projects(actor, project.sub_command)))
    return RegistryPage(rows, total, page, pages)


def managed_version(uow: UnitOfWork, code: str) -> int:
    """A project's row version (its ETag); NotFoundError when there is none."""
    project = uow.session.get(Project, code)
    if project is None:
        raise NotFoundError(f"project {code} does not exist")
    return project.row_version
