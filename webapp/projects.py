"""项目库: the project registry's pages — the list, register, edit (with the monthly schedule),
stage moves with a reason, and the xlsx import with its preview — views over
engine/county/registry.py and engine/county/project_import.py.

The list shows the projects in the user's scope; registering, editing, moving and importing
are for those engine/county/policy.py `may_manage_projects` lets keep the projects (the
office, administrators, a sub-commander in the field). Fields that name a unit or a person
are pickers of names; the engine checks every value and refuses a bad one at its field.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.core.errors import ConflictError, PermissionDeniedError, TaskDataError
from engine.core.imports import ImportFileError, PreviewGoneError, PreviewOutdatedError
from engine.county import policy, project_import, registry
from engine.county.projects import (
    FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGE_ORDER, STAGES, schedule_of,
)
from engine.county.reports import stage_moves
from engine.core.workcalendar import SHANGHAI

from .auth import login_required
from .db import discard_uow, get_uow, write_uow
from .downloads import send_download

bp = Blueprint("projects", __name__, url_prefix="/projects")

LABELS = {
    "code": _l("项目编号"), "name": _l("项目名称"), "stage": _l("阶段"),
    "reserve_class": _l("储备类别"), "reserve_track": _l("储备方向"),
    "sub_command": _l("分指挥部"), "lead_department": _l("主管部门"),
    "township": _l("属地乡镇"), "project_unit": _l("项目单位"), "specialist": _l("项目专员"),
    "key_level": _l("重点级别"), "funding": _l("投资性质"),
    "planned_investment": _l("总投资（万元）"),
}
CODED = {"stage": STAGES, "reserve_class": RESERVE_CLASSES, "reserve_track": RESERVE_TRACKS,
         "key_level": KEY_LEVELS, "funding": FUNDING}
ACTIONS = {"add": _l("新增"), "change": _l("修改"), "unchanged": _l("无变化")}
BLANK_MONTHS = 3  # empty schedule rows offered below the filled ones
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_keeper() -> None:
    """403 unless the user keeps the projects of some field."""
    if not policy.may_manage_projects(g.actor):
        raise PermissionDeniedError(f"{g.actor.username} does not keep the project registry")


@bp.app_context_processor
def _may_keep_projects():
    """`may_keep_projects` (any field) and `may_keep_project(field)`: whether the links to
    register, edit, move and import are shown."""
    actor = g.get("actor")

    def may_keep_project(sub_command: str | None) -> bool:
        return actor is not None and policy.may_manage_projects(actor, sub_command)

    return {"may_keep_projects": actor is not None and policy.may_manage_projects(actor),
            "may_keep_project": may_keep_project}


@bp.app_template_filter("local_day")
def local_day(value) -> str:
    """'2026-12-01': the county's date of a moment."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d") if value else ""


def _page_number() -> int:
    page = request.args.get("page", "")
    return int(page) if page.isdigit() and len(page) < 7 else 1


@bp.get("/")
@login_required
def index():
    """项目库: the projects in the user's scope, filtered by text, field and stage."""
    uow = get_uow()
    stage = request.args.get("stage") if request.args.get("stage") in STAGES else None
    listing = registry.registry_page(
        uow, g.actor, text=(request.args.get("q") or "").strip()[:100] or None,
        sub_command=(request.args.get("sub_command") or None), stage=stage,
        page=_page_number())
    picks = registry.choices(uow.session)
    return render_template("projects/list.html", listing=listing, stages=STAGES,
                           sub_commands=picks.options["sub_command"])


# ---------------------------------------------------------------- the form

def _values(form, fields) -> dict[str, str]:
    return {field: form.get(field, "").strip() for field in fields}


def _schedule_rows(form) -> list[dict[str, str]]:
    """The schedule rows of the form, in their order (`schedule-<n>-month|planned|milestone`)."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "schedule" and parts[1].isdigit() and \
                len(parts[1]) < 5 and parts[2] in ("month", "planned", "milestone"):
            rows.setdefault(int(parts[1]), {})[parts[2]] = value.strip()
    return [rows[n] for n in sorted(rows)]


def _form_page(template_values: dict, *, project=None, months=None, errors=None,
               status: int = 200):
    picks = registry.choices(get_uow().session)
    months = [m for m in months or [] if any(m.values())]
    months += [{"month": "", "planned": "", "milestone": ""}] * BLANK_MONTHS
    return render_template("projects/form.html", project=project, values=template_values,
                           months=months, errors=errors or {}, picks=picks, labels=LABELS,
                           coded=CODED), status


def _check_schedule(rows, errors: dict) -> None:
    try:
        registry.check_schedule(rows)
    except TaskDataError as exc:
        errors.update(exc.field_errors)


@bp.route("/new", methods=("GET", "POST"))
@login_required
def new():
    """登记项目: a new project with its monthly schedule."""
    _require_keeper()
    if request.method == "GET":
        return _form_page({"stage": "reserve", "key_level": "none", "funding": "enterprise",
                           "planned_investment": "0"})
    values, rows = _values(request.form, registry.FIELDS), _schedule_rows(request.form)
    errors: dict[str, list[str]] = {}
    uow = write_uow()
    try:
        registry.register_project(uow, g.actor, values)
    except TaskDataError as exc:
        errors.update(exc.field_errors)
    _check_schedule(rows, errors)
    if errors:
        discard_uow()
        flash(_("请修改标出的内容后再提交，没有保存任何内容。"), "error")
        return _form_page(values, months=rows, errors=errors, status=400)
    uow.session.flush()
    registry.replace_schedule(uow, g.actor, values["code"], rows)
    uow.commit()
    flash(_("已登记项目：%(name)s", name=values["name"]), "success")
    return redirect(url_for("battle_map.project", code=values["code"]))


@bp.route("/<code>/edit", methods=("GET", "POST"))
@login_required
def edit(code: str):
    """编辑项目: the project's values and monthly schedule (its stage moves on its own page)."""
    uow = get_uow()
    project = registry.managed_project(uow, g.actor, code)
    if request.method == "GET":
        months = [{"month": m.month, "planned": str(m.planned_investment),
                   "milestone": m.milestone or ""} for m in schedule_of(uow.session, code)]
        return _form_page({**registry.fields_of(project), "row_version": project.row_version},
                          project=project, months=months)
    values = _values(request.form, registry.EDITABLE)
    rows, version = _schedule_rows(request.form), request.form.get("row_version", "")
    errors: dict[str, list[str]] = {}
    uow = write_uow()
    try:
        changes = registry.update_project(uow, g.actor, code, values,
                                          row_version=int(version) if version.isdigit() else None)
    except ConflictError:
        discard_uow()
        flash(_("该项目刚被他人修改，您的修改没有保存；页面已刷新为最新内容，请重新修改。"), "error")
        return redirect(url_for("projects.edit", code=code))
    except TaskDataError as exc:
        changes = {}
        errors.update(exc.field_errors)
    _check_schedule(rows, errors)
    if errors:
        discard_uow()
        flash(_("请修改标出的内容后再提交，没有保存任何内容。"), "error")
        project = registry.managed_project(get_uow(), g.actor, code)
        return _form_page({**registry.fields_of(project), **values,
                           "row_version": version}, project=project, months=rows,
                          errors=errors, status=400)
    scheduled = registry.replace_schedule(uow, g.actor, code, rows)
    uow.commit()
    flash(_("已保存修改。") if changes or scheduled else _("没有改动，未保存任何内容。"),
          "success")
    return redirect(url_for("battle_map.project", code=code))


# ---------------------------------------------------------------- stage moves

def _stage_page(project, *, values=None, errors=None, status=200):
    here = STAGE_ORDER.index(project.stage)
    following = STAGE_ORDER[here + 1] if here + 1 < len(STAGE_ORDER) else None
    return render_template("projects/stage.html", project=project, stages=STAGES,
                           values=values or {"stage": following or ""}, errors=errors or {},
                           moves=stage_moves(get_uow().session, project.code), coded=CODED,
                           labels=LABELS), status


@bp.route("/<code>/stage", methods=("GET", "POST"))
@login_required
def stage(code: str):
    """转阶段: move the project to another stage, with the reason."""
    uow = get_uow()
    project = registry.managed_project(uow, g.actor, code)
    if request.method == "GET":
        return _stage_page(project)
    values = _values(request.form, ("stage", "reason", "reserve_class", "reserve_track",
                                    "row_version"))
    before = STAGES[project.stage]
    try:
        moved = registry.move_project_stage(
            write_uow(), g.actor, code, values["stage"], values["reason"],
            reserve_class=values["reserve_class"] or None,
            reserve_track=values["reserve_track"] or None,
            row_version=int(values["row_version"]) if values["row_version"].isdigit() else None)
    except ConflictError:
        discard_uow()
        flash(_("该项目刚被他人修改，没有转阶段；请看最新状态后重试。"), "error")
        return redirect(url_for("projects.stage", code=code))
    except TaskDataError as exc:
        discard_uow()
        flash(_("请修改标出的内容后再提交，没有做任何更改。"), "error")
        project = registry.managed_project(get_uow(), g.actor, code)
        return _stage_page(project, values=values, errors=exc.field_errors, status=400)
    get_uow().commit()
    flash(_("已转阶段：%(before)s → %(after)s", before=before, after=STAGES[moved.stage]),
          "success")
    return redirect(url_for("battle_map.project", code=code))


# ---------------------------------------------------------------- the import

@bp.get("/import/template")
@login_required
def template():
    """The xlsx template, holding the projects the user keeps with their schedules."""
    _require_keeper()
    return send_download(project_import.template(get_uow(), g.actor), "项目库导入模板.xlsx", XLSX)


def _import_page(*, error: str | None = None, preview=None, status: int = 200):
    return render_template("projects/import.html", error=error, preview=preview,
                           actions=ACTIONS), status


@bp.route("/import", methods=("GET", "POST"))
@login_required
def import_projects():
    """项目导入: download the template, upload it, see the preview of every row."""
    _require_keeper()
    if request.method == "GET":
        return _import_page()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(error=_("请选择要上传的 Excel 文件（.xlsx）。"), status=400)
    data = upload.read()
    try:
        preview = project_import.preview_upload(write_uow(), g.actor, upload.filename, data)
    except ImportFileError as exc:
        discard_uow()
        return _import_page(error=str(exc), status=400)
    return _import_page(preview=preview, status=200 if preview.plan.ok else 400)


@bp.post("/import/<batch_id>/confirm")
@login_required
def confirm_import(batch_id: str):
    """Write a previewed upload, exactly as it was previewed."""
    _require_keeper()
    try:
        applied = project_import.confirm_upload(write_uow(), g.actor, batch_id)
    except (PreviewGoneError, PreviewOutdatedError, PermissionDeniedError) as exc:
        discard_uow()
        return _import_page(error=str(exc), status=409)
    flash(_("已导入：新增 %(added)s 个项目，修改 %(changed)s 个（其中转阶段 %(moved)s 个），"
            "更新 %(schedules)s 个项目的月度计划。", added=applied.added, changed=applied.changed,
            moved=applied.moved, schedules=applied.schedules), "success")
    return redirect(url_for("projects.index"))
