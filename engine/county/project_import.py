"""Projects and their monthly schedules from an .xlsx workbook: template, preview, confirm.

Built on the generic import (engine/core/imports.py: safe reading, the plan, the preview kept
server-side and confirmed by its fingerprint). The workbook has two sheets:

- 项目: one row per project — 项目编号, 项目名称, 阶段 (储备 with 储备类别 and 储备方向, 谋划,
  前期, 建设, 竣工, 投产), 分指挥部, 主管部门, 属地乡镇, 项目单位, 项目专员, 重点级别, 投资性质,
  总投资（万元）;
- 月度计划: one row per project and month — 项目编号, 月份 (2027-03), 计划投资（万元）, 形象进度节点.

Everything is written by name, as people know it: units by their names (or codes), the
specialist by the name the pickers show, by a display name only one specialist has, or by
the username; stages, classes, tracks, levels and funding by their Chinese labels. Each
value is checked as on the registry's page (engine/county/registry.py), and each row in
error is listed with its sheet, row, column and reason.

A row of 项目 adds a project, changes one (each field before → after; a new stage is a stage
move whose reason names the file) or changes nothing. The 月度计划 rows of a project
replace its schedule: each month is added, changed or unchanged, and a month the file no
longer has is removed; a project without rows there keeps its schedule.

Who may: the office and administrators for every field, a sub-commander for the projects
of its field; another field's row is an error at its cell. An upload with any error writes
nothing; a confirmed one is written whole, in one transaction, exactly as previewed (the
plan is made again and must have the previewed fingerprint); the same file again plans
nothing to change.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..core.errors import TaskDataError
from ..core.identity import Actor
from ..core.imports import (
    Change, CellError, Column, ImportBatch, Plan, PlannedRow, Row, SheetSpec, Workbook,
    check_unchanged, load_preview, read_workbook, save_preview, template_bytes,
)
from ..core.uow import UnitOfWork
from .policy import may_manage_projects, scope_of
from .projects import Project, ScheduleMonth, move_stage, set_schedule
from .registry import (
    CODE_FIELDS, LABELS, MAX_MILESTONE, UNIT_FIELDS, Choices, ProjectFields, change_project,
    check_fields, choices, fields_of, insert_project,
)

KIND = "projects"
PROJECTS = "项目"
SCHEDULES = "月度计划"
_NOTES = {
    "code": "字母、数字和 - _ .，最多 50 个字符；已有的编号即修改该项目",
    "stage": "储备、谋划、前期、建设、竣工、投产",
    "reserve_class": "储备项目必填：意向、动议、谈判",
    "reserve_track": "储备项目必填：远期研究、近期签约、争取落地、开工建设",
    "sub_command": "分指挥部名称，见“选项”工作表",
    "lead_department": "县直部门或示范区名称",
    "township": "乡镇或示范区名称",
    "project_unit": "企业、部门、乡镇或示范区名称",
    "specialist": "项目专员姓名（可不填）",
    "key_level": "省重点工程、市重点工程、县重点工程、一般项目",
    "funding": "政府投资、企业投资",
    "planned_investment": "整数，单位万元",
}
PROJECT_SHEET = SheetSpec(PROJECTS, tuple(
    Column(f, LABELS[f], required=f in ("code", "name", "stage", "sub_command",
                                        "lead_department", "township", "project_unit",
                                        "key_level", "funding"),
           max_chars=50 if f == "code" else 200, note=_NOTES.get(f, ""))
    for f in LABELS))
SCHEDULE_SHEET = SheetSpec(SCHEDULES, (
    Column("code", "项目编号", required=True, max_chars=50, note="“项目”工作表或项目库中的编号"),
    Column("month", "月份", required=True, max_chars=20, note="如 2027-03"),
    Column("planned", "计划投资（万元）", required=True, max_chars=20, note="当月计划投资，整数"),
    Column("milestone", "形象进度节点", max_chars=MAX_MILESTONE, note="当月计划完成的节点（可不填）"),
))
SPECS = (PROJECT_SHEET, SCHEDULE_SHEET)
MAX_ROWS = 50_000  # per sheet: a few thousand projects, several years of months each
_MONTH = re.compile(r"(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})(?:\s*月)?(?:[-/]\d{1,2}(?:\s.*)?)?")


# ---------------------------------------------------------------- planning an upload

@dataclass
class _Ops:
    """What a plan would write: projects to add or change (and move), schedules to set."""

    add: list[ProjectFields] = field(default_factory=list)
    change: list[ProjectFields] = field(default_factory=list)
    schedules: dict[str, list[tuple[str, int, str | None]]] = field(default_factory=dict)


@dataclass
class ProjectPlan:
    """The preview of an upload (`plan`) and what confirming it would write."""

    plan: Plan
    ops: _Ops


def _coded(field: str, text: str) -> str | None:
    """The code a label (or the code itself) means in a coded field."""
    labels = CODE_FIELDS[field]
    if text in labels:
        return text
    return next((code for code, label in labels.items() if label == text), None)


def _resolve_row(picks: Choices, row: Row, errors: list[CellError]) -> dict[str, Any]:
    """The row's values as codes; an error at each cell naming nothing known (its value is
    then left empty, and `unresolved` in the result names those fields)."""
    values: dict[str, Any] = {"unresolved": set()}
    for name in LABELS:
        text = row.values.get(name, "")
        if name not in CODE_FIELDS and name not in UNIT_FIELDS and name != "specialist" \
                or text == "":
            values[name] = text
            continue
        if name in CODE_FIELDS:
            value = _coded(name, text)
            reason = (f"“{text}”不是可选的{LABELS[name]}；"
                      f"请填写：{'、'.join(CODE_FIELDS[name].values())}")
        else:
            value = picks.resolve(name, text)
            reason = (f"没有名为“{text}”的项目专员（或有重名），请填写“选项”工作表中的名称或用户名"
                      if name == "specialist" else
                      f"没有名为“{text}”的{LABELS[name]}（或已停用），请填写“选项”工作表中的名称")
        if value is None:
            errors.append(CellError(PROJECTS, row.number, LABELS[name], reason))
            values["unresolved"].add(name)
        values[name] = value or ""
    return values


def _whats(project: ProjectFields | Project) -> str:
    return f"{project.name}（{project.code}）"


def _shown(picks: Choices, name: str, value: Any) -> str:
    return picks.name_of(name, value) if value not in (None, "") else "（空）"


def plan_upload(uow: UnitOfWork, actor: Actor, book: Workbook) -> ProjectPlan:
    """What the uploaded rows would change, row by row, and every row in error."""
    session = uow.session
    picks = choices(session)
    scope = scope_of(actor)
    existing = {p.code: p for p in session.execute(select(Project)).scalars()}
    plan, ops = Plan(errors=list(book.errors)), _Ops()
    in_file: dict[str, ProjectFields] = {}
    first_row: dict[str, int] = {}
    for row in book.sheets.get(PROJECTS, []):
        code = row.values.get("code", "")
        if code and code in first_row:
            plan.errors.append(CellError(PROJECTS, row.number, LABELS["code"],
                                         f"与第 {first_row[code]} 行的项目编号重复"))
            continue
        first_row.setdefault(code, row.number)
        if any(e.sheet == PROJECTS and e.row == row.number for e in book.errors):
            continue  # already in error (too long, a required cell empty)
        values = _resolve_row(picks, row, plan.errors)
        unresolved = values.pop("unresolved")
        current = existing.get(code)
        if current is not None and not (scope.sees_project(current)
                                        and may_manage_projects(actor, current.sub_command)):
            plan.errors.append(CellError(PROJECTS, row.number, LABELS["code"],
                                         "该项目编号已被您无权修改的项目使用"))
            continue
        try:
            checked = check_fields(picks, values,
                                   current=fields_of(current) if current else None)
        except TaskDataError as refused:
            plan.errors.extend(CellError(PROJECTS, row.number, LABELS.get(f, f), messages[0])
                               for f, messages in refused.field_errors.items()
                               if f not in unresolved)
            continue
        if unresolved:
            continue
        if not may_manage_projects(actor, checked.sub_command):
            plan.errors.append(CellError(PROJECTS, row.number, LABELS["sub_command"],
                                         "您只能导入本分指挥部的项目"))
            continue
        in_file[code] = checked
        if current is None:
            ops.add.append(checked)
            after = checked.as_dict()
            plan.rows.append(PlannedRow(PROJECTS, row.number, "add", _whats(checked), tuple(
                Change(LABELS[f], "", _shown(picks, f, after[f]))
                for f in LABELS if f not in ("code", "name") and after[f] not in (None, ""))))
            continue
        before, after = fields_of(current), checked.as_dict()
        changes = tuple(Change(LABELS[f], _shown(picks, f, before[f]), _shown(picks, f, after[f]))
                        for f in LABELS if f != "code" and before[f] != after[f])
        if changes:
            ops.change.append(checked)
        plan.rows.append(PlannedRow(PROJECTS, row.number, "change" if changes else "unchanged",
                                    _whats(checked), changes))
    _plan_schedules(uow, actor, book, existing, in_file, first_row, plan, ops)
    plan.errors.sort()
    return ProjectPlan(plan, ops)


def _month(text: str) -> str | None:
    found = _MONTH.fullmatch(text.strip())
    if not found or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
        return None
    return f"{int(found[1]):04d}-{int(found[2]):02d}"


def _amount(text: str) -> int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number == int(number) and 0 <= number <= 100_000_000 else None


def _plan_schedules(uow, actor, book, existing, in_file, first_row, plan: Plan, ops: _Ops):
    """The 月度计划 rows: each month added, changed or unchanged, removed months; errors."""
    scope = scope_of(actor)
    header = {c.key: c.header for c in SCHEDULE_SHEET.columns}
    wanted: dict[str, dict[str, tuple[int, int, str | None]]] = defaultdict(dict)
    broken: set[str] = set()
    read_errors = {e.row for e in book.errors if e.sheet == SCHEDULES}
    for row in book.sheets.get(SCHEDULES, []):
        code = row.values.get("code", "")
        if row.number in read_errors:
            broken.add(code)
            continue
        problems = []
        project = existing.get(code)
        if code in in_file:
            pass
        elif code in first_row:
            problems.append(("code", "该项目在“项目”工作表中有错误，请先改正"))
        elif project is None:
            problems.append(("code", "项目库和“项目”工作表中都没有这个项目编号"))
        elif not (scope.sees_project(project)
                  and may_manage_projects(actor, project.sub_command)):
            problems.append(("code", "您无权修改该项目的月度计划"))
        month = _month(row.values.get("month", ""))
        if month is None:
            problems.append(("month", "请填写月份，如 2027-03"))
        elif month in wanted[code]:
            problems.append(("month", f"与第 {wanted[code][month][0]} 行的月份重复"))
        amount = _amount(row.values.get("planned", ""))
        if amount is None:
            problems.append(("planned", "请填写不小于 0 的整数（万元）"))
        if problems:
            broken.add(code)
            plan.errors.extend(CellError(SCHEDULES, row.number, header[k], why)
                               for k, why in problems)
            continue
        wanted[code][month] = (row.number, amount, row.values.get("milestone") or None)
    if not wanted:
        return
    current: dict[str, dict[str, ScheduleMonth]] = defaultdict(dict)
    for month_row in uow.session.execute(select(ScheduleMonth).where(
            ScheduleMonth.project_code.in_(list(wanted)))).scalars():
        current[month_row.project_code][month_row.month] = month_row
    for code, months in wanted.items():
        if code in broken:
            continue
        project = in_file.get(code) or existing[code]
        have = current.get(code, {})
        for month, (number, amount, milestone) in sorted(months.items(), key=lambda m: m[1][0]):
            was = have.get(month)
            what = f"{_whats(project)} {month}"
            if was is None:
                plan.rows.append(PlannedRow(SCHEDULES, number, "add", what, tuple(
                    c for c in (Change("计划投资（万元）", "", str(amount)),
                                Change("形象进度节点", "", milestone or "")) if c.after)))
                continue
            changes = tuple(c for c in (
                Change("计划投资（万元）", str(was.planned_investment), str(amount)),
                Change("形象进度节点", was.milestone or "（空）", milestone or "（空）"))
                if c.before != c.after)
            plan.rows.append(PlannedRow(SCHEDULES, number, "change" if changes else "unchanged",
                                        what, changes))
        first = min(number for number, _a, _m in months.values())
        for month in sorted(set(have) - set(months)):
            plan.rows.append(PlannedRow(SCHEDULES, first, "change",
                                        f"{_whats(project)} {month}",
                                        (Change("月度计划", f"计划投资 {have[month].planned_investment} 万元",
                                                "删除（文件中没有该月）"),)))
        new = sorted((m, a, ms) for m, (_n, a, ms) in months.items())
        old = sorted((m, r.planned_investment, r.milestone) for m, r in have.items())
        if new != old:
            ops.schedules[code] = new


# ---------------------------------------------------------------- preview and confirm

@dataclass(frozen=True)
class Preview:
    """An upload's plan, and the id to confirm it with (None when it has errors or
    changes nothing)."""

    batch_id: str | None
    filename: str
    plan: Plan


def preview_upload(uow: UnitOfWork, actor: Actor, filename: str, data: bytes) -> Preview:
    """Read an upload and plan it; a plan without errors is kept to be confirmed (commits).
    ImportFileError when the file cannot be read at all."""
    book = read_workbook(data, SPECS, max_rows=MAX_ROWS)
    planned = plan_upload(uow, actor, book)
    changes = planned.plan.count("add") + planned.plan.count("change")
    batch_id = (save_preview(uow, actor, KIND, filename, data, book, planned.plan)
                if planned.plan.ok and changes else None)
    return Preview(batch_id, filename, planned.plan)


@dataclass(frozen=True)
class Applied:
    """What a confirmed upload wrote."""

    added: int
    changed: int
    moved: int
    schedules: int


def confirm_upload(uow: UnitOfWork, actor: Actor, batch_id: str) -> Applied:
    """Write a previewed upload, exactly as previewed, in one transaction (commits);
    PreviewGoneError, or PreviewOutdatedError when the registry changed since."""
    uow.begin_write()
    batch: ImportBatch = load_preview(uow, actor, KIND, batch_id)
    planned = plan_upload(uow, actor, Workbook.from_content(batch.content))
    check_unchanged(batch, planned.plan)
    why = f"Excel 导入（{batch.filename}）"
    existing = {p.code: p for p in uow.session.execute(select(Project).where(
        Project.code.in_([c.code for c in planned.ops.change]))).scalars()}
    moved = 0
    for checked in planned.ops.add:
        insert_project(uow, actor, checked, why=why)
    uow.session.flush()
    for checked in planned.ops.change:
        project = existing[checked.code]
        change_project(uow, actor, project, checked, why=why)
        if checked.stage != project.stage:
            move_stage(uow, checked.code, checked.stage, actor.username, why)
            moved += 1
    for code, months in planned.ops.schedules.items():
        set_schedule(uow, code, months, actor.username)
    applied = Applied(len(planned.ops.add), len(planned.ops.change), moved,
                      len(planned.ops.schedules))
    uow.audit.record(actor.username, "projects_imported", subject=f"import:{batch.id}",
                     why=why, filename=batch.filename, sha256=batch.sha256,
                     added=applied.added, changed=applied.changed, moved=applied.moved,
                     schedules=applied.schedules)
    batch.applied_at = uow.clock.now()
    uow.commit()
    return applied


# ---------------------------------------------------------------- the template

def template(uow: UnitOfWork, actor: Actor) -> bytes:
    """The workbook to fill: the projects the actor keeps with their schedules (change and
    upload it again), a 说明 sheet and a 选项 sheet of the names each column takes."""
    session = uow.session
    picks = choices(session)
    mine = [p for p in session.execute(select(Project).where(
        scope_of(actor).project_condition()).order_by(Project.code)).scalars()
        if may_manage_projects(actor, p.sub_command)]
    projects = [[_cell(picks, f, getattr(p, f)) for f in LABELS] for p in mine]
    codes = {p.code for p in mine}
    months = [[r.project_code, r.month, r.planned_investment, r.milestone or ""]
              for r in session.execute(select(ScheduleMonth).order_by(
                  ScheduleMonth.project_code, ScheduleMonth.month)).scalars()
              if r.project_code in codes]
    if not projects:
        projects = [["XM-2027-001", "示例：某某产业园项目（请替换）", "储备", "谈判", "近期签约",
                     *[(picks.options[f][0].label if picks.options.get(f) else "")
                       for f in ("sub_command", "lead_department", "township", "project_unit")],
                     "", "县重点工程", "企业投资", 10000]]
        months = [["XM-2027-001", "2027-03", 500, "完成土地征收"]]
    data = template_bytes(SPECS, {PROJECTS: projects, SCHEDULES: months}, notes=[
        ("如何填写", "每个项目一行；已有的项目编号即修改该项目，新的编号即登记新项目。"),
        ("月度计划", "每个项目每月一行；某项目在“月度计划”中的各行整体替换其月度计划，"
                     "没有行的项目保留原计划。"),
        ("上传", "上传后先预览新增、修改和有错误的行，确认后才写入；同一文件重复上传不会重复写入。"),
    ])
    return _with_options(data, picks)


def _cell(picks: Choices, name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name in UNIT_FIELDS or name == "specialist":
        return next((o.label for o in picks.options.get(name, ()) if o.value == value),
                    picks.name_of(name, value))
    if name in CODE_FIELDS:
        return CODE_FIELDS[name].get(value, value)
    return value


def _with_options(data: bytes, picks: Choices) -> bytes:
    """Add the 选项 sheet (the names each column takes) and drop-down lists pointing at it."""
    import io

    from openpyxl import load_workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..core.spreadsheets import append_rows, workbook_bytes

    book = load_workbook(io.BytesIO(data))
    lists = {name: [o.label for o in picks.options.get(name, [])] for name in
             (*UNIT_FIELDS, "specialist")}
    lists |= {name: list(labels.values()) for name, labels in CODE_FIELDS.items()}
    order = [f for f in LABELS if f in lists]
    sheet = book.create_sheet("选项")
    longest = max(len(v) for v in lists.values()) if lists else 0
    append_rows(sheet, [[(lists[f][i] if i < len(lists[f]) else "") for f in order]
                        for i in range(longest)], header=[LABELS[f] for f in order])
    projects = book[PROJECTS]
    headers = [LABELS[f] for f in LABELS]
    for index, name in enumerate(order, start=1):
        if not lists[name]:
            continue
        letter = sheet.cell(row=1, column=index).column_letter
        target = projects.cell(row=1, column=headers.index(LABELS[name]) + 1).column_letter
        rule = DataValidation(type="list", allow_blank=True, showErrorMessage=False,
                              formula1=f"'选项'!${letter}$2:${letter}${len(lists[name]) + 1}")
        rule.add(f"{target}2:{target}10001")
        projects.add_data_validation(rule)
    for column in "ABCDEFGHIJKLM"[:len(order)]:
        sheet.column_dimensions[column].width = 24
    return workbook_bytes(book)
