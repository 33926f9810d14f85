"""系统管理: units as a tree, accounts, the organisation workbook import and the administration
log — administrators only; each page calls engine/core/org_admin.py, org_import.py or
engine/ops/administration.py, which check the administrator again and audit every change.
"""

from __future__ import annotations

import functools
import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.core import imports, org_admin, org_import
from engine.core.errors import TaskDataError
from engine.core.organisation import UNIT_KINDS
from engine.ops import administration

from .auth import login_required
from .db import discard_uow, get_uow, write_uow
from .downloads import send_download
from .history import ACTIONS

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


IMPORT_ACTIONS = {"add": _l("新增"), "change": _l("修改"), "unchanged": _l("无变化")}


@bp.context_processor
def _labels() -> dict:
    return {"ACTION_LABELS": ACTIONS, "IMPORT_ACTIONS": IMPORT_ACTIONS}


def admin_required(view):
    """Logged in, and an administrator (others get 403)."""
    @functools.wraps(view)
    @login_required
    def wrapped(**kwargs):
        if org_admin.ADMIN not in g.actor.groups:
            abort(403)
        return view(**kwargs)
    return wrapped


def _choices(*, people: bool = False) -> dict:
    """The lists the forms pick from: units (tree order, active), kinds, roles; with
    `people`, the active accounts by name."""
    uow = get_uow()
    tree = org_admin.unit_tree(uow.session)
    choices = {"tree": tree, "active_units": [u for u in tree if u.active], "kinds": UNIT_KINDS,
               "roles": org_admin.PERSON_ROLES, "posts": org_admin.POSTS, "people": []}
    if people:
        active, _total = org_admin.list_accounts(uow.session, status="active", limit=10_000)
        choices["people"] = [(a.username, a.label) for a in active]
    return choices


def _refused(exc: TaskDataError) -> dict:
    discard_uow()
    flash(_("填写的内容有误，没有做任何更改。"), "error")
    return exc.field_errors


# ---------------------------------------------------------------- units

@bp.get("/")
@admin_required
def index():
    """The administration start page: the unit tree."""
    return redirect(url_for("admin.units"))


@bp.route("/units", methods=("GET", "POST"))
@admin_required
def units():
    """The unit tree, and a form to add a unit."""
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            org_admin.create_unit(write_uow(), g.actor, form.get("code", ""), form.get("name", ""),
                                  form.get("kind", ""), form.get("parent_code") or None)
            flash(_("已新建单位“%(name)s”。", name=form.get("name", "").strip()), "success")
            return redirect(url_for("admin.units"))
        except TaskDataError as exc:
            errors = _refused(exc)
    return render_template("admin/units.html", errors=errors, values=form,
                           **_choices()), 400 if errors else 200


@bp.route("/units/<unit_code>", methods=("GET", "POST"))
@admin_required
def unit(unit_code: str):
    """One unit: rename, move, kind and order; its posts; deactivate or activate."""
    uow = get_uow()
    found = org_admin.get_unit(uow.session, unit_code)
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            sort = form.get("sort", "").strip()
            if sort and not re.fullmatch(r"-?[0-9]+", sort):
                raise org_admin.OrgInputError({"sort": [_("请填写整数")]})
            org_admin.change_unit(write_uow(), g.actor, unit_code, name=form.get("name", ""),
                                  kind=form.get("kind", ""),
                                  parent_code=form.get("parent_code") or None,
                                  sort=int(sort) if sort else None, why=form.get("why"))
            flash(_("单位已保存。"), "success")
            return redirect(url_for("admin.unit", unit_code=unit_code))
        except TaskDataError as exc:
            errors = _refused(exc)
            found = org_admin.get_unit(get_uow().session, unit_code)
    return _unit_page(found, errors, form if errors else {})


def _unit_page(found, errors: dict, values, status: int | None = None):
    uow = get_uow()
    return render_template(
        "admin/unit.html", unit=found, posts_held=org_admin.posts_of_unit(uow.session, found.code),
        errors=errors, values=values, below=org_admin.descendants(uow.session, found.code),
        log=org_admin.administration_log(uow.session, f"unit:{found.code}"),
        **_choices(people=found.kind == "sub_command")), status or (400 if errors else 200)


@bp.post("/units/<unit_code>/posts")
@admin_required
def unit_posts(unit_code: str):
    """Set the commander and deputy commander of a sub-command."""
    form = request.form
    try:
        org_admin.set_posts(write_uow(), g.actor, unit_code,
                            {post: form.get(post) for post in org_admin.POSTS if post in form},
                            form.get("why"))
        flash(_("指挥长、副指挥长已保存。"), "success")
        return redirect(url_for("admin.unit", unit_code=unit_code))
    except TaskDataError as exc:
        errors = _refused(exc)
        return _unit_page(org_admin.get_unit(get_uow().session, unit_code), errors, form)


@bp.post("/units/<unit_code>/active")
@admin_required
def unit_active(unit_code: str):
    """停用 or 启用 a unit."""
    active = request.form.get("active") == "1"
    try:
        org_admin.set_unit_active(write_uow(), g.actor, unit_code, active, request.form.get("why"))
        flash(_("单位已启用。") if active else _("单位已停用。"), "success")
        return redirect(url_for("admin.unit", unit_code=unit_code))
    except TaskDataError as exc:
        errors = _refused(exc)
        return _unit_page(org_admin.get_unit(get_uow().session, unit_code), errors, {})


# ---------------------------------------------------------------- accounts

@bp.get("/accounts")
@admin_required
def accounts():
    """Accounts, searched by name or username and filtered by unit, role and status."""
    args = request.args
    page = int(args["page"]) if re.fullmatch(r"[1-9][0-9]{0,5}", args.get("page", "")) else 1
    found, total = org_admin.list_accounts(
        get_uow().session, q=args.get("q", ""), unit=args.get("unit") or None,
        role=args.get("role") or None, status=args.get("status") or None, limit=PAGE,
        offset=(page - 1) * PAGE)
    query = {k: v for k, v in args.items() if k != "page" and k in ("q", "unit", "role", "status")}
    return render_template("admin/accounts.html", accounts=found, total=total, page=page,
                           pages=max(1, -(-total // PAGE)), query=query, **_choices())


def _grants(form) -> list[tuple[str, str | None]]:
    """The roles ticked on an account form, each at its chosen unit (blank: the own unit)."""
    return [(role, form.get(f"unit_{role}") or None) for role in form.getlist("roles")]


@bp.route("/accounts/new", methods=("GET", "POST"))
@admin_required
def account_new():
    """Create an account; its one-time password is shown once."""
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            password = org_admin.create_account(
                write_uow(), g.actor, form.get("username", ""), form.get("display_name", ""),
                form.get("unit_code") or None, _grants(form), form.get("why"))
            account = org_admin.get_account(get_uow().session, form.get("username", "").strip())
            return render_template("admin/password.html", account=account, password=password,
                                   created=True)
        except TaskDataError as exc:
            errors = _refused(exc)
    return render_template("admin/account_form.html", account=None, errors=errors,
                           values=form, **_choices()), 400 if errors else 200


@bp.route("/accounts/<username>", methods=("GET", "POST"))
@admin_required
def account(username: str):
    """One account: name, unit and roles; reset password, disable or enable."""
    found = org_admin.get_account(get_uow().session, username)
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            changed = org_admin.change_account(write_uow(), g.actor, username,
                                               form.get("display_name", ""),
                                               form.get("unit_code") or None, _grants(form),
                                               form.get("why"))
            flash(_("账户已保存。") if changed else _("没有改动。"), "success")
            return redirect(url_for("admin.account", username=username))
        except TaskDataError as exc:
            errors = _refused(exc)
            found = org_admin.get_account(get_uow().session, username)
    return render_template(
        "admin/account_form.html", account=found, errors=errors, values=form if errors else {},
        log=org_admin.administration_log(get_uow().session, f"account:{username}"),
        **_choices()), 400 if errors else 200


@bp.post("/accounts/<username>/password")
@admin_required
def reset_password(username: str):
    """A new one-time password, shown once; the account's sessions end."""
    password = org_admin.reset_password(write_uow(), g.actor, username, request.form.get("why"))
    account = org_admin.get_account(get_uow().session, username)
    return render_template("admin/password.html", account=account, password=password,
                           created=False)


@bp.route("/accounts/<username>/disable", methods=("GET", "POST"))
@admin_required
def disable(username: str):
    """Disable an account: its open work is listed and reassigned in the same step."""
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            result = administration.disable_account(write_uow(), g.actor, username,
                                                    form.get("why", ""),
                                                    form.get("reassign_to") or None)
            flash(_("账户已停用，%(n)s 项待办已改派，%(t)s 个接口令牌已吊销。",
                    n=len(result.reassigned), t=len(result.tokens_revoked)), "success")
            return redirect(url_for("admin.account", username=username))
        except TaskDataError as exc:
            errors = _refused(exc)
    uow = get_uow()
    found = org_admin.get_account(uow.session, username)
    work = administration.account_work(uow, g.actor, username)
    return render_template("admin/disable.html", account=found, work=work, errors=errors,
                           values=form, **_choices(people=True)), 400 if errors else 200


@bp.post("/accounts/<username>/enable")
@admin_required
def enable(username: str):
    """Enable a disabled account again."""
    try:
        org_admin.enable_account(write_uow(), g.actor, username, request.form.get("why"))
        flash(_("账户已启用。"), "success")
    except TaskDataError as exc:
        for messages in _refused(exc).values():
            for message in messages:
                flash(message, "error")
    return redirect(url_for("admin.account", username=username))


@bp.get("/log")
@admin_required
def log():
    """The administration log: who changed which unit or account, when and why."""
    return render_template("admin/log.html",
                           log=org_admin.administration_log(get_uow().session, limit=300))


# ---------------------------------------------------------------- the workbook

@bp.get("/import")
@admin_required
def import_page():
    """Download the template, upload a filled one."""
    return render_template("admin/import.html", limits=imports)


@bp.get("/import/template.xlsx")
@admin_required
def template():
    """The organisation and accounts template."""
    return send_download(org_import.template(), "组织机构与账户导入模板.xlsx", XLSX)


@bp.post("/import")
@admin_required
def upload():
    """Read and plan an upload; nothing is written, the preview is kept to confirm."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要上传的 Excel 文件（.xlsx）。"), "error")
        return render_template("admin/import.html", limits=imports), 400
    data = upload.read(imports.MAX_FILE_BYTES + 1)
    try:
        batch_id, _plan = org_import.preview(get_uow(), g.actor, upload.filename, data)
    except imports.ImportFileError as exc:
        discard_uow()
        flash(str(exc), "error")
        return render_template("admin/import.html", limits=imports), 400
    return redirect(url_for("admin.preview", batch_id=batch_id))


@bp.get("/import/<batch_id>")
@admin_required
def preview(batch_id: str):
    """What the upload would change, row by row, and every error (sheet, row, column)."""
    try:
        batch, plan = org_import.stored_plan(get_uow(), g.actor, batch_id)
    except imports.PreviewGoneError:
        flash(_("该预览已失效（已确认、已过期或不存在），请重新上传文件。"), "error")
        return redirect(url_for("admin.import_page"))
    return render_template("admin/preview.html", batch=batch, plan=plan,
                           outdated=plan.fingerprint() != batch.fingerprint)


@bp.post("/import/<batch_id>")
@admin_required
def confirm(batch_id: str):
    """Write the previewed upload; new accounts' one-time passwords are shown once."""
    try:
        result = org_import.confirm(write_uow(), g.actor, batch_id)
    except imports.PreviewOutdatedError:
        discard_uow()
        flash(_("预览之后数据已有变化，确认的内容与预览不一致；未写入任何内容，请重新上传文件预览。"),
              "error")
        return redirect(url_for("admin.import_page"))
    except imports.PreviewGoneError:
        discard_uow()
        flash(_("该预览已失效（已确认、已过期或不存在），请重新上传文件。"), "error")
        return redirect(url_for("admin.import_page"))
    except TaskDataError as exc:
        for messages in _refused(exc).values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("admin.preview", batch_id=batch_id))
    return render_template("admin/imported.html", result=result)
