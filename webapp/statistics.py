"""统计: the figures of how the processes run, with charts and an Excel workbook."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from engine.bpm.statistics import LOCAL, Period, Statistics, process_names, statistics
from engine.bpm.statistics_workbook import workbook
from engine.core.errors import PermissionDeniedError
from engine.county import policy

from .auth import login_required
from .charts import bar_chart
from .db import get_uow
from .downloads import send_download

bp = Blueprint("statistics", __name__, url_prefix="/statistics")
MAX_DAYS = 5 * 366  # a period of at most five years
TOP = 15  # rows in a chart


@bp.app_context_processor
def _may_read_statistics():
    """`may_read_statistics`: whether the navigation shows 统计."""
    actor = g.get("actor")
    return {"may_read_statistics": actor is not None and policy.may_read_statistics(actor)}


@bp.before_request
@login_required
def _readers_only():
    """The headquarters' readers and the designers (policy.may_read_statistics)."""
    if not policy.may_read_statistics(g.actor):
        raise PermissionDeniedError(f"{g.actor.username} may not read the statistics")


def _today() -> date:
    return get_uow().clock.now().astimezone(LOCAL).date()


def _presets(today: date) -> dict[str, tuple[date, date]]:
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    quarter = month.replace(month=(today.month - 1) // 3 * 3 + 1)
    return {"month": (month, today), "last_month": (last_month_end.replace(day=1), last_month_end),
            "quarter": (quarter, today), "year": (today.replace(month=1, day=1), today)}


def _period() -> tuple[Period, dict[str, str]]:
    """The period asked for (this month by default) and the errors of its fields."""
    today = _today()
    presets = _presets(today)
    first, last = presets.get(request.args.get("range", ""), presets["month"])
    errors: dict[str, str] = {}
    for name in ("from", "to"):
        text = request.args.get(name, "").strip()
        if not text:
            continue
        try:
            day = date.fromisoformat(text)
        except ValueError:
            errors[name] = _("请按 年-月-日 填写日期，例如 2026-12-01")
            continue
        if name == "from":
            first = day
        else:
            last = day
    if not errors and last < first:
        errors["to"] = _("结束日期不能早于开始日期")
    elif not errors and (last - first).days > MAX_DAYS:
        errors["to"] = _("统计区间最长五年")
    if errors:
        first, last = presets["month"]
    return Period(first, last), errors


def _figures() -> tuple[Statistics, dict[str, str]]:
    period, errors = _period()
    process = request.args.get("process", "").strip()[:200] or None
    return statistics(get_uow(), period, process_key=process), errors


@bp.app_template_global()
def days(value: float | None) -> str:
    """Working days as the tables show them: one decimal, or — when there is none."""
    return "—" if value is None else f"{value:.1f}"


@bp.app_template_global()
def percent(rate: float | None) -> str:
    """A rate as a percentage, or — when nothing was counted."""
    return "—" if rate is None else f"{rate * 100:.0f}%"


@bp.get("/")
def index():
    """The figures of the period, by process, step, unit and person, with charts."""
    figures, errors = _figures()
    charts = {
        "processes": bar_chart(_("各流程发起与办结（件）"), [
            (p.name, (p.started, p.completed)) for p in figures.processes[:TOP]],
            (_("发起"), _("办结"))),
        "steps": bar_chart(_("各环节办理用时（工作日）"), [
            (f"{s.name}", (s.duration.median, s.duration.p90))
            for s in sorted(figures.steps, key=lambda s: -(s.duration.p90 or 0))[:TOP]
            if s.ended], (_("中位数"), _("90分位数")), "{:.1f}"),
        "units": bar_chart(_("各单位办结与在办（件）"), [
            (u.name, (u.ended, u.open_now)) for u in figures.units[:TOP]],
            (_("办结"), _("在办"))),
        "people": bar_chart(_("个人办结与在办（件）"), [
            (p.name, (p.ended, p.open_now)) for p in figures.people[:TOP]],
            (_("办结"), _("在办"))),
    }
    return render_template("statistics/index.html", figures=figures, charts=charts,
                           errors=errors, args=request.args,
                           processes=process_names(get_uow().session)), 400 if errors else 200


@bp.get("/export.xlsx")
def export():
    """The same figures as an Excel workbook (one sheet each)."""
    figures, _errors = _figures()
    period = figures.period
    return send_download(workbook(figures), f"统计-{period.first}-{period.last}.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
