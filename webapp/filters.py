"""Template helpers: local times, due badges, and names for codes.

The names are engine/county/names.py's (one display layer for pages, exports and
notifications); these filters only hand them to the templates: `person`, `unit`, `group`,
`groups`, `value(key)` and `variable`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.bpm import sla
from engine.core.calendar_admin import load_calendar
from engine.county.names import Names

from .db import get_platform, get_uow

LOCAL = ZoneInfo("Asia/Shanghai")
SLA_LABELS = {"overdue": _l("已超期"), "due_soon": _l("即将到期"), "on_time": _l("未到期")}
STATE_LABELS = {"open": _l("待认领"), "claimed": _l("办理中"), "completed": _l("已办结"),
                "cancelled": _l("已取消"), "running": _l("进行中"), "suspended": _l("已挂起")}


def local_time(value: datetime | None) -> str:
    """'2026-12-01 09:00' in county time."""
    return value.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if value else ""


def sla_of(due_at: datetime | None) -> sla.SlaState | None:
    """The SLA state of a due time now, in working days (the calendar is read once a request)."""
    if due_at is None:
        return None
    if "calendar" not in g:
        g.calendar = load_calendar(get_uow().session)
    return sla.sla_state(due_at, get_platform().clock.now(), g.calendar)


def due_badge(due_at: datetime | None) -> dict | None:
    """The due badge of a task: its SLA state, label and local due time."""
    state = sla_of(due_at)
    if state is None:
        return None
    label = str(SLA_LABELS[state.state])
    if state.state == sla.OVERDUE:
        label = _("超期 %(n)s 个工作日", n=state.overdue_days)
    return {"state": state.state, "label": label, "at": local_time(due_at)}


def names() -> Names:
    """The request's display names (read once a request)."""
    if "names" not in g:
        g.names = Names(get_uow().session)
    return g.names


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.filters["person"] = lambda u: _(names().person(u)) if u else ""
    app.jinja_env.filters["unit"] = lambda c: names().unit(c)
    app.jinja_env.filters["group"] = lambda c: _(names().group(c)) if c else ""
    app.jinja_env.filters["groups"] = lambda cs: names().groups(cs)
    app.jinja_env.filters["value"] = lambda v, key: _(names().value(key, v))
    app.jinja_env.filters["variable"] = lambda k: _(names().variable(k))
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["state_label"] = lambda s: str(STATE_LABELS.get(s, s))
    app.jinja_env.globals["due_badge"] = due_badge
    app.jinja_env.globals["SLA_LABELS"] = SLA_LABELS
