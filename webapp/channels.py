"""接收渠道: where else one's messages go — DingTalk or WeCom group robots, e-mail."""

from __future__ import annotations

from flask import (
    Blueprint, flash, g, redirect, render_template, request, url_for,
)
from flask_babel import gettext as _

from engine.core.errors import TaskDataError
from engine.ops import channels

from .auth import login_required
from .db import discard_uow, get_platform, get_uow, write_uow

bp = Blueprint("channels", __name__, url_prefix="/me/channels")


def _page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    return render_template(
        "channels/index.html", items=channels.list_channels(get_uow(), g.actor),
        CHANNELS=channels.CHANNELS, KIND_LABELS=channels.KIND_LABELS,
        DEFAULT_KINDS=channels.DEFAULT_KINDS, email_ready=get_platform().smtp.host is not None,
        errors=errors or {}, values=values or {}), status


@bp.get("/")
@login_required
def index():
    """My channels and the form to add one."""
    return _page()


@bp.post("/")
@login_required
def add():
    """Add a channel; a bad field is shown at the field and nothing is saved."""
    form = request.form
    values = {"kind": form.get("kind", ""), "target": form.get("target", "")[:1000],
              "kinds": form.getlist("kinds")}
    platform = get_platform()
    try:
        channels.add_channel(write_uow(), g.actor, values["kind"], values["target"],
                             secret=form.get("secret", "")[:300], kinds=values["kinds"],
                             targets=platform.webhook_targets, smtp=platform.smtp)
    except TaskDataError as exc:
        discard_uow()
        return _page(exc.field_errors, values, 400)
    flash(_("已添加接收渠道。可点“发送测试消息”确认能收到。"), "success")
    return redirect(url_for("channels.index"))


@bp.post("/<int:channel_id>/test")
@login_required
def test(channel_id: int):
    """Queue a test message on the channel (the worker sends it within its next pass)."""
    channels.send_test(write_uow(), g.actor, channel_id)
    flash(_("测试消息已排队，稍后刷新本页查看发送结果。"), "success")
    return redirect(url_for("channels.index"))


@bp.post("/<int:channel_id>/remove")
@login_required
def remove(channel_id: int):
    """Stop a channel."""
    channels.remove_channel(write_uow(), g.actor, channel_id)
    flash(_("已删除接收渠道。"), "success")
    return redirect(url_for("channels.index"))
