"""委托: name a stand-in for a period (one's own, or an administrator for someone away), and
"代 张三" on the tasks a stand-in handles for another (engine/bpm/standing.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.bpm import inbox, standing
from engine.core.clock import as_utc
from engine.core.errors import NotFoundError, TaskDataError

from .auth import login_required
from .db import discard_uow, get_uow, write_uow

bp = Blueprint("delegation", __name__, url_prefix="/delegation")
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELDS = ("delegator", "stand_in", "starts_at", "ends_at", "include_open", "reason")
# The engine's field error codes, in the user's language.
MESSAGES = {
    "required": _l("此项必填"),
    "not yourself": _l("请选择本人以外的人员"),
    "no such user": _l("没有这个在用的账号，请从列表中选择"),
    "not a time": _l("请输入有效的日期和时间"),
    "in the past": _l("结束时间已过，请选择以后的时间"),
    "before the start": _l("结束时间应晚于开始时间"),
    "too long": _l("委托期最长一年"),
    "away": _l("此人在这段时间也委托了他人，请另选代办人"),
    "standing in": _l("这段时间其正在代他人办理，请先结束或调整那项委托"),
}


def _when(text: str | None) -> datetime | None:
    """A `datetime-local` value, read as Beijing time, in UTC; None when empty."""
    return as_utc(datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)) if text else None


def _local_input(at: datetime) -> str:
    """A UTC time as a `datetime-local` value in Beijing time."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _defaults(current) -> dict:
    """The form's values: the delegation in place, else from now to six days on at 18:00."""
    if current is not None:
        return {"stand_in": current.stand_in, "starts_at": _local_input(current.starts_at),
                "ends_at": _local_input(current.ends_at), "reason": current.reason or "",
                "include_open": current.include_open}
    now = get_uow().clock.now()
    end = (now.astimezone(SHANGHAI) + timedelta(days=6)).replace(hour=18, minute=0)
    return {"starts_at": _local_input(now), "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
            "include_open": True}


def _set(delegator: str):
    """Set (or change) `delegator`'s delegation from the form; field errors, or None."""
    form = request.form
    errors: dict[str, list[str]] = {}
    times = {}
    for name in ("starts_at", "ends_at"):
        try:
            times[name] = _when(form.get(name, "").strip())
        except ValueError:
            errors[name] = ["not a time"]
    if errors:
        return errors
    try:
        standing.set_delegation(write_uow(), g.actor, delegator, form.get("stand_in", ""),
                                times["starts_at"], times["ends_at"],
                                include_open=form.get("include_open") in ("on", "1", "true"),
                                reason=form.get("reason", ""))
    except TaskDataError as exc:
        discard_uow()
        return exc.field_errors
    return None


def _translated(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {field: [str(MESSAGES.get(code, code)) for code in codes]
            for field, codes in errors.items()}


def _page(template: str, *, status: int = 200, errors=None, values=None, **context):
    uow = get_uow()
    people = standing.active_people(uow.session)
    names = dict(people)
    return render_template(template, people=people, names=names, now=uow.clock.now(),
                           errors=_translated(errors or {}), values=values, **context), status


def _mine(status: int = 200, errors=None):
    uow = get_uow()
    current = standing.current_delegation(uow, g.actor.username)
    values = request.form if errors else _defaults(current)
    return _page("delegation/mine.html", status=status, errors=errors, values=values,
                 current=current, standing_for=standing.standing_in_for(uow, g.actor.username),
                 handed=inbox.handed_to_stand_in(uow, g.actor),
                 administers=standing.administers(g.actor))


@bp.get("/")
@login_required
def mine():
    """我的委托: my stand-in and period, whom I stand in for, my tasks now with my stand-in."""
    return _mine()


@bp.post("/")
@login_required
def set_mine():
    """Name (or change) my stand-in for a period."""
    errors = _set(g.actor.username)
    if errors:
        flash(_("请修改标出的内容后再提交，委托没有保存。"), "error")
        return _mine(400, errors)
    flash(_("委托已保存：委托期间，指名给您的待办由代办人办理。"), "success")
    return redirect(url_for("delegation.mine"))


@bp.post("/end")
@login_required
def end_mine():
    """End my delegation now; my open tasks are mine again at once."""
    try:
        standing.end_delegation(write_uow(), g.actor, g.actor.username, request.form.get("why", ""))
    except NotFoundError:
        discard_uow()
        flash(_("您当前没有进行中或待生效的委托。"), "info")
        return redirect(url_for("delegation.mine"))
    flash(_("委托已结束，您的待办已回到您这里。"), "success")
    return redirect(url_for("delegation.mine"))


def _administrator() -> None:
    if not standing.administers(g.actor):
        abort(403)


def _admin(status: int = 200, errors=None):
    return _page("delegation/admin.html", status=status, errors=errors,
                 values=request.form if errors else _defaults(None),
                 delegations=standing.delegations(get_uow()))


@bp.get("/admin")
@login_required
def admin():
    """委托管理 (administrators): every delegation in force, planned or lately ended."""
    _administrator()
    return _admin()


@bp.post("/admin")
@login_required
def admin_set():
    """Set the delegation of someone who is away."""
    _administrator()
    delegator = request.form.get("delegator", "").strip()
    errors = {"delegator": ["required"]} if not delegator else _set(delegator)
    if errors:
        flash(_("请修改标出的内容后再提交，委托没有保存。"), "error")
        return _admin(400, errors)
    flash(_("已为 %(user)s 设置委托。", user=standing.people(get_uow().session, [delegator])
            .get(delegator, delegator)), "success")
    return redirect(url_for("delegation.admin"))


@bp.post("/admin/end")
@login_required
def admin_end():
    """End someone's delegation now."""
    _administrator()
    delegator = request.form.get("delegator", "").strip()
    if not delegator:
        abort(400)
    try:
        standing.end_delegation(write_uow(), g.actor, delegator, request.form.get("why", ""))
    except NotFoundError:
        discard_uow()
        flash(_("此人当前没有进行中或待生效的委托。"), "info")
        return redirect(url_for("delegation.admin"))
    flash(_("委托已结束。"), "success")
    return redirect(url_for("delegation.admin"))


# ---------------------------------------------------------------- on the task pages

def _names(usernames) -> dict[str, str]:
    """Display names, read once per request and only when a page shows a delegated task."""
    known = g.setdefault("delegation_names", {})
    missing = set(usernames) - known.keys()
    if missing:
        known.update(standing.people(get_uow().session, missing))
    return known


@bp.app_template_global()
def on_behalf(task) -> str | None:
    """The user, by name, for whom the current user handles the task as stand-in (代 张三)."""
    if g.get("actor") is None:
        return None
    users = [user for user, stand_in in getattr(task, "standing", ())
             if stand_in == g.actor.username]
    return _names(users).get(users[0], users[0]) if users else None


@bp.app_template_global()
def stand_in_for_me(task) -> str | None:
    """The stand-in, by name, who handles the current user's task now (已委托 李四)."""
    if g.get("actor") is None:
        return None
    stand_ins = [stand_in for user, stand_in in getattr(task, "standing", ())
                 if user == g.actor.username]
    return _names(stand_ins).get(stand_ins[0], stand_ins[0]) if stand_ins else None
