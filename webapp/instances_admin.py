"""流程实例管理 (/admin/instances): every instance, filtered; 撤销, 挂起, 恢复 with a reason."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.bpm import inbox, instance_admin, task_actions
from engine.core.errors import TaskDataError

from .db import discard_uow, get_uow, write_uow
from .schedule import admin_required

bp = Blueprint("instances_admin", __name__, url_prefix="/admin/instances")
LOCAL = ZoneInfo("Asia/Shanghai")
ACTIONS = {"suspend": (task_actions.suspend, _("已挂起")), "resume": (task_actions.resume, _("已恢复")),
           "cancel": (task_actions.cancel, _("已撤销"))}


def _day(name: str, errors: dict[str, str]) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("请按 年-月-日 填写日期，例如 2026-12-01")
        return None


def _filter(errors: dict[str, str]) -> instance_admin.InstanceFilter:
    first, last = _day("from", errors), _day("to", errors)
    before = request.args.get("before", "")
    return instance_admin.InstanceFilter(
        process_key=request.args.get("process") or None,
        status=request.args.get("status") or None,
        started_from=datetime.combine(first, time(), LOCAL) if first else None,
        started_before=datetime.combine(last + timedelta(days=1), time(), LOCAL) if last else None,
        started_by=request.args.get("by") or None,
        before_id=int(before) if before.isdigit() and len(before) < 12 else None)


@bp.get("/")
@admin_required
def index():
    """The instances, newest first, 50 a page, with their actions."""
    errors: dict[str, str] = {}
    where = _filter(errors)
    uow = get_uow()
    rows = instance_admin.list_instances(uow, g.actor, where)
    more = (url_for("instances_admin.index", **{**request.args, "before": rows[-1].id})
            if len(rows) == instance_admin.PAGE else None)
    return render_template("instances_admin/index.html", rows=rows,
                           processes=inbox.process_names(uow), errors=errors, more=more,
                           STATUSES=instance_admin.STATUSES), 400 if errors else 200


@bp.post("/<int:instance_id>/<any(suspend, resume, cancel):action>")
@admin_required
def act(instance_id: int, action: str):
    """挂起, 恢复 or 撤销 one instance, with the reason typed on its row."""
    service, done = ACTIONS[action]
    try:
        service(write_uow(), instance_id, g.actor, request.form.get("reason", "")[:2000])
    except TaskDataError:
        discard_uow()
        flash(_("请填写原因（第 %(id)s 号），没有做任何更改。", id=instance_id), "error")
    else:
        flash(_("第 %(id)s 号%(done)s。", id=instance_id, done=done), "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/admin/instances") else url_for("instances_admin.index"))
