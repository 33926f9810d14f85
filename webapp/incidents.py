"""故障: the failures nobody has resolved yet, for administrators and designers — a step of
a process that failed (script, condition, decision), a request that failed unforeseen, and
timers that failed again and again — with the instance, element and error; a failure is
marked resolved with a note, a timer retried (engine/bpm/incidents.py, definition_admin)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.bpm import definition_admin, incidents
from engine.bpm.inbox import process_names
from engine.core.errors import TaskDataError

from .db import get_uow, write_uow
from .designer import designer_required

bp = Blueprint("incidents", __name__, url_prefix="/admin/incidents")


@bp.get("/")
@designer_required
def index():
    """The open incidents, newest first, and the timer incidents."""
    uow = get_uow()
    return render_template("incidents/index.html", open=incidents.open_incidents(uow),
                           timers=definition_admin.incidents(uow),
                           process_names=process_names(uow))


@bp.post("/<int:number>/resolve")
@designer_required
def resolve(number: int):
    """Mark one incident resolved with what was done (audited)."""
    note = request.form.get("note", "").strip()
    if not note:
        raise TaskDataError("请填写处理说明：做了什么，或为什么无需处理。")
    incidents.resolve_incident(write_uow(), number, g.actor.username, note)
    flash(_("事件 %(n)s 已标记为已处理。", n=number), "success")
    return redirect(url_for("incidents.index"))


@bp.post("/timers/<job_id>/retry")
@designer_required
def retry_timer(job_id: str):
    """Try a failed timer again now (the worker runs it)."""
    definition_admin.retry_incident(write_uow(), job_id, g.actor.username)
    flash(_("已重新安排定时器，稍后由后台执行。"), "success")
    return redirect(url_for("incidents.index"))
