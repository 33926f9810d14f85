"""延期申请: a task holder asks for more working days on the task page; those who supervise
decide on 督办台 → 延期申请 (engine/county/extensions.py)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.bpm import task_actions
from engine.core.errors import TaskDataError
from engine.county import extensions
from engine.county.policy import may_supervise

from .auth import login_required
from .db import discard_uow, get_uow, write_uow
from .filters import local_time

bp = Blueprint("extensions", __name__, url_prefix="/extensions")


@bp.app_template_global()
def task_extensions(task) -> dict:
    """What the task page shows of 延期申请: the task's requests, and whether one may ask."""
    uow = get_uow()
    requests = extensions.requests_of_task(uow, task.id)
    record = task_actions.load_task(uow, task.id, g.actor)  # with its candidates
    may_ask = (record.due_at is not None and record.state in ("open", "claimed")
               and task_actions.may("complete", record, g.actor)
               and not any(r.state == "pending" for r in requests))
    return {"requests": requests, "may_ask": may_ask, "max_days": extensions.MAX_DAYS,
            "STATES": extensions.STATES}


@bp.post("/tasks/<task_id>")
@login_required
def ask(task_id: str):
    """Ask for more working days on a task one holds; a bad field is said, nothing changes."""
    days = request.form.get("days", "").strip()
    try:
        extensions.request_extension(write_uow(), task_id, g.actor,
                                     int(days) if days.isdigit() and len(days) < 4 else 0,
                                     request.form.get("reason", "")[:2000])
    except TaskDataError as exc:
        discard_uow()
        for messages in exc.field_errors.values():
            for message in messages:
                flash(_("延期申请未提交：%(why)s", why=message), "error")
        return redirect(url_for("tasks.show", task_id=task_id) + "#extension")
    flash(_("已提交延期申请，等待督办人员审批。"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.get("/")
@login_required
def pending():
    """The requests waiting for my decision."""
    if not may_supervise(g.actor):
        return render_template("extensions/pending.html", items=[], may_decide=False)
    return render_template("extensions/pending.html", may_decide=True,
                           items=extensions.pending_for(get_uow(), g.actor))


@bp.post("/<int:request_id>/decide")
@login_required
def decide(request_id: int):
    """Approve (the deadline moves) or refuse (an opinion required)."""
    approve = request.form.get("approve") == "1"
    try:
        view = extensions.decide_extension(write_uow(), request_id, g.actor, approve,
                                           request.form.get("opinion", "")[:2000])
    except TaskDataError:
        discard_uow()
        flash(_("不同意延期时请填写理由，没有做任何更改。"), "error")
        return redirect(url_for("extensions.pending"))
    if approve:
        flash(_("已同意延期，新的办理时限为 %(due)s。", due=local_time(view.due_after)), "success")
    else:
        flash(_("已退回延期申请。"), "success")
    return redirect(url_for("extensions.pending"))
