"""批量办理: claim, approve with one opinion, or transfer the ticked tasks of a list."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from engine.bpm import bulk as bulk_actions
from engine.core.errors import TaskDataError

from .auth import is_same_site_path, login_required
from .db import discard_uow, get_platform

bp = Blueprint("bulk", __name__, url_prefix="/tasks")
LABELS = {"claim": "认领", "approve": "同意", "transfer": "转办"}


@bp.post("/bulk")
@login_required
def run():
    """Do one action on each ticked task; say which were done and which not, and why."""
    back = request.form.get("next", "")
    back = back if is_same_site_path(back) else url_for("tasks.mine")
    action = request.form.get("action", "")
    discard_uow()  # each task is its own transaction
    try:
        outcome = bulk_actions.run_bulk(
            get_platform().uow, g.actor, action, request.form.getlist("task_ids"),
            opinion=request.form.get("opinion", "")[:2000],
            to_user=request.form.get("to_user") or None)
    except TaskDataError as exc:
        fields = exc.field_errors
        if "task_ids" in fields:
            message = (_("请先勾选要办理的事项，没有做任何更改。") if fields["task_ids"][0] ==
                       "choose at least one" else
                       _("一次最多批量办理 %(n)s 件，没有做任何更改。", n=bulk_actions.MAX_TASKS))
        elif "to_user" in fields:
            message = _("请选择转办给谁，没有做任何更改。")
        else:
            message = _("请选择批量操作，没有做任何更改。")
        flash(message, "error")
        return redirect(back)
    label = LABELS.get(action, action)
    if outcome.done:
        flash(_("已批量%(action)s %(n)s 件。", action=label, n=len(outcome.done)), "success")
    for _task_id, name, reason in outcome.failed:
        flash(_("未%(action)s“%(name)s”：%(reason)s", action=label, name=name or _("（无权查看的事项）"),
                reason=reason), "error")
    return redirect(back)
