"""Starting processes and following the instances I started."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.bpm import inbox, pickers, start_forms
from engine.bpm import matter as bpm_matter
from engine.core.errors import NotFoundError, TaskDataError
from engine.county import matter

from . import attachments as attached
from .auth import login_required
from .db import discard_uow, get_uow, write_uow
from .forms import data_from, field_errors, input_fields, with_choices
from .api.instances import visible_instance
from .filters import names as display_names
from .history import timeline

bp = Blueprint("processes", __name__, url_prefix="/processes")


@bp.get("/")
@login_required
def index():
    """发起流程: the processes I may start."""
    return render_template("processes/index.html",
                           processes=start_forms.startable_processes(get_uow(), g.actor))


def start_page(key: str, *, status: int = 200, errors=None, values=None):
    """The start form of a process (again, with what was sent and its errors)."""
    uow = get_uow()
    process = start_forms.startable_process(uow, key, g.actor)
    fields = with_choices(input_fields(process.form, decision=False),
                          pickers.choices_for(uow, g.actor, process.form))
    return render_template("processes/start.html", process=process, fields=fields,
                           multipart=attached.has_file_field(process.form),
                           errors=errors or {}, values=values or {}), status


@bp.route("/<key>/start", methods=("GET", "POST"))
@login_required
def start(key: str):
    """Start one process, with its start form when the start event has one."""
    if request.method == "GET":
        return start_page(key)
    process = start_forms.startable_process(get_uow(), key, g.actor)
    data = data_from(process.form, request.form, decision=False)
    uow = write_uow()
    files, refused = attached.take_uploads(uow, process.form)
    if refused:
        discard_uow()
        flash(_("请修改标出的内容后再提交。"), "error")
        return start_page(key, status=400, errors=refused, values=request.form)
    data.update(files)
    try:
        instance = start_forms.start_with_form(
            uow, key, g.actor, business_key=request.form.get("business_key", "").strip(),
            data=data)
    except TaskDataError as exc:
        discard_uow()
        flash(_("请修改标出的内容后再提交。"), "error")
        return start_page(key, status=400, errors=field_errors(exc.field_errors),
                           values=request.form)
    flash(_("已发起：%(name)s（编号 %(id)s）", name=process.name, id=instance.id), "success")
    return redirect(url_for("processes.instance", instance_id=instance.id))


@bp.get("/started")
@login_required
def started():
    """我发起的: instances I started, newest first."""
    return render_template("processes/started.html",
                           instances=inbox.started_instances(get_uow(), g.actor))


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    """An instance I started, have a task in, or oversee: who acts next, and its history."""
    uow = get_uow()
    try:
        row = visible_instance(uow.session, instance_id, g.actor)
    except NotFoundError:
        abort(404)
    names = matter.Names(uow, display_names())
    return render_template("processes/instance.html", instance=row,
                           starter=names.actor(row.started_by),
                           steps=matter.next_steps(uow, instance_id, names),
                           waiting=bpm_matter.waiting_timers(uow, instance_id),
                           attachments=attached.listed(uow, instance_id, names),
                           history=timeline(uow, instance_id, names))
