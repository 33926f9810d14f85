"""站内消息: the actor's notifications, newest first, and marking them read."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.core import notifications

from .auth import login_required
from .db import get_uow, write_uow

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

KIND_LABELS = {
    "assigned": _l("待办"), "reminder": _l("催办"), "cc": _l("抄送"), "returned": _l("退回"),
    "escalated": _l("升级"), "transferred": _l("转办"), "delegated": _l("委派"),
    "withdrawn": _l("撤回"), "info": _l("通知"),
}


@bp.get("/")
@login_required
def index():
    """My notifications, unread ones marked; `?unread=1` shows only those."""
    unread_only = request.args.get("unread") == "1"
    items = notifications.notifications_for(get_uow().session, g.actor,
                                            unread_only=unread_only, limit=100)
    return render_template("notifications/list.html", items=items, unread_only=unread_only,
                           kinds=KIND_LABELS)


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    """Mark one notification read; then open what it is about when asked to."""
    notifications.mark_read(write_uow(), g.actor, [notification_id])
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all():
    """Mark every unread notification read."""
    count = notifications.mark_read(write_uow(), g.actor)
    flash(_("已将 %(n)s 条消息标为已读", n=count), "success")
    return redirect(url_for("notifications.index"))


@bp.app_context_processor
def unread_notifications() -> dict:
    """The unread count for the navigation badge."""
    if g.get("actor") is None:
        return {}
    if "nav_unread" not in g:
        try:
            g.nav_unread = notifications.unread_count(get_uow().session, g.actor, cap=100)
        except Exception:  # the badge must never break an error page
            g.nav_unread = None
    return {"nav_unread": g.nav_unread}
