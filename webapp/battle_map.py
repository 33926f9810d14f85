"""挂图作战: the battle map of key and government-invested projects, each project's sheet
(一图三单), the quarterly awards, dispatch reports and bulletins, meeting agendas and the
double assessment — views over engine/county/reports.py, awards.py, dispatch.py, agendas.py
and assessment.py.

Every page asks engine/county/policy.py: the map and the sheets show the projects in the
user's scope (a sheet out of scope is not found); the headquarters' papers (awards, dispatch,
bulletin, agendas, assessment) are refused to those who neither command nor supervise.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _

from engine.county import agendas, assessment, awards, dispatch, policy, reports, supervision
from engine.core.errors import PermissionDeniedError, TaskDataError
from engine.core.organisation import units
from engine.county.plates import PLATES
from engine.county.projects import STAGES
from engine.core.workcalendar import SHANGHAI

from .auth import login_required
from .db import discard_uow, get_platform, get_uow, write_uow

bp = Blueprint("battle_map", __name__, url_prefix="/board")

CHART_W, CHART_H, PAD = 560, 220, 36


@bp.context_processor
def _may_read_headquarters():
    """`may_read_headquarters`: whether the links to the headquarters' papers are shown."""
    actor = g.get("actor")
    return {"may_read_headquarters": actor is not None and policy.may_read_headquarters(actor)}


def _headquarters_only() -> None:
    """Refuse the headquarters' papers to those outside (policy.may_read_headquarters)."""
    if not policy.may_read_headquarters(g.actor):
        raise PermissionDeniedError(f"{g.actor.username} may not read the headquarters' papers")


def chart(points) -> dict:
    """The SVG polylines of cumulative planned and actual investment (一图)."""
    if not points:
        return {}
    top = max(max(p.planned, p.actual) for p in points) or 1
    step = (CHART_W - 2 * PAD) / max(len(points) - 1, 1)

    def xy(i, value):
        return f"{PAD + i * step:.0f},{CHART_H - PAD - value * (CHART_H - 2 * PAD) / top:.0f}"

    return {"planned": " ".join(xy(i, p.planned) for i, p in enumerate(points)),
            "actual": " ".join(xy(i, p.actual) for i, p in enumerate(points) if p.reported),
            "labels": [(PAD + i * step, p.month[2:]) for i, p in enumerate(points)],
            "top": top, "w": CHART_W, "h": CHART_H, "pad": PAD}


@bp.get("/")
@login_required
def battle_map():
    """The key and government-invested projects in scope by sub-command, with this month's
    plates (and the latest awards, for those who read the headquarters' papers): every
    field's counts, and one page of projects (?field= one field's, ?page=)."""
    uow = get_uow()
    page = request.args.get("page", "")
    board = reports.battle_map(uow, g.actor, request.args.get("month") or None,
                               field_code=request.args.get("field") or None,
                               page=int(page) if page.isdigit() and len(page) < 7 else 1)
    quarter = (awards.latest_award_quarter(uow.session)
               if policy.may_read_headquarters(g.actor) else None)
    stages = {key: _(label) for key, label in STAGES.items()}  # once, not per card
    return render_template("battle_map/map.html", board=board, stages=stages, quarter=quarter,
                           prizes=awards.awards_of(uow.session, quarter) if quarter else [])


@bp.get("/project/<code>")
@login_required
def project(code: str):
    """One project's progress chart and its three lists (not found out of scope)."""
    sheet = reports.project_sheet(get_uow(), g.actor, code)
    return render_template("battle_map/project.html", sheet=sheet, chart=chart(sheet.points),
                           plate_why=plate_why,
                           may_remind=policy.scope_of(g.actor).may_remind)


@bp.post("/project/<code>/remind")
@login_required
def remind_project(code: str):
    """催办 a project (oversight and the field's sub-commander): its open tasks' handlers are
    told, and the reminder counts towards the project's next plate."""
    reports.visible_project(get_uow(), g.actor, code)  # not found out of scope
    if not policy.scope_of(g.actor).may_remind:
        raise PermissionDeniedError(f"{g.actor.username} may not remind projects")
    message = request.form.get("message", "").strip()
    if len(message) > 500:
        raise TaskDataError("催办内容不超过 500 字。")
    supervision.remind_subject(write_uow(), "project", code, g.actor, message or None)
    flash(_("已催办，项目的在办事项办理人已收到提醒；本月催办计入三色牌评定。"), "success")
    return redirect(url_for("battle_map.project", code=code))


def plate_why(inputs: dict) -> str:
    """Why a plate was given, from the decision table's inputs, in words."""
    if not inputs:
        return ""
    parts = [_("累计计划投资 %(p)s 万元、累计完成 %(a)s 万元", p=inputs.get("planned_to_date", 0),
               a=inputs.get("actual_to_date", 0))]
    on = inputs.get("on_schedule")
    parts.append(_("未制定计划") if on is None else _("按计划推进") if on else _("落后于计划"))
    parts.append(_("上月和本月共催办 %(n)s 次", n=inputs.get("reminders_last_two_months", 0)))
    if inputs.get("yellow_months_in_a_row"):
        parts.append(_("此前已连续 %(n)s 个月黄牌或红牌", n=inputs["yellow_months_in_a_row"]))
    return "；".join(parts)


def _day() -> date:
    """The ?date= of the request, or today on the engine's clock."""
    text = request.args.get("date") or request.form.get("date")
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            abort(400)
    return get_platform().clock.now().astimezone(SHANGHAI).date()


def bars(rows, width: int = 560, bar: int = 16) -> dict:
    """A horizontal bar chart of planned vs completed investment per sub-command (SVG)."""
    top = max([max(r.planned, r.actual) for r in rows] + [1])
    label_w, gap = 150, 10
    scale = (width - label_w - 60) / top
    lines = [{"y": i * (2 * bar + gap), "name": r.name.replace("领域项目攻坚分指挥部", ""),
              "planned": round(r.planned * scale), "actual": round(r.actual * scale),
              "pv": r.planned, "av": r.actual} for i, r in enumerate(rows)]
    return {"lines": lines, "w": width, "h": len(rows) * (2 * bar + gap) + 20, "bar": bar,
            "x0": label_w}


@bp.get("/awards")
@login_required
def awards_page():
    """Every quarter's 羚羊奖 and 蜗牛奖, newest first."""
    _headquarters_only()
    uow = get_uow()
    quarters: dict[str, list] = {}
    for award in awards.awards_of(uow.session):
        quarters.setdefault(award.quarter, []).append(award)
    return render_template("battle_map/awards.html", quarters=quarters)


def _report(kind: str):
    uow = get_uow()
    return dispatch.dispatch_report(uow, kind, _day())


@bp.get("/dispatch")
@login_required
def dispatch_page():
    """This week's (or ten-day period's) dispatch report, printable; ?format=xlsx for Excel."""
    _headquarters_only()
    kind = request.args.get("period", "week")
    if kind not in ("week", "tenday"):
        abort(400)
    return _render_report(_report(kind))


@bp.get("/bulletin")
@login_required
def bulletin_page():
    """The monthly bulletin (?month=YYYY-MM): 晒工作、亮成绩、揭短板."""
    _headquarters_only()
    month = request.args.get("month")
    try:
        day = date.fromisoformat(f"{month}-01") if month else _day()
    except ValueError:
        abort(400)
    whole = request.args.get("format") == "xlsx"  # the .xlsx lists every plate's project
    return _render_report(dispatch.dispatch_report(get_uow(), "month", day,
                                                   names_limit=None if whole else
                                                   dispatch.HIGHLIGHT_NAMES))


def _render_report(report):
    if request.args.get("format") == "xlsx":
        return send_file(BytesIO(dispatch.to_xlsx(report)), as_attachment=True,
                         download_name=f"{report.kind}-{report.start:%Y%m%d}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument."
                                  "spreadsheetml.sheet")
    return render_template("battle_map/dispatch.html", report=report, chart=bars(report.rows),
                           headers=dispatch.HEADERS)


@bp.get("/agenda")
@login_required
def agenda_page():
    """A meeting's agenda (?meeting=sub_command:<code>|headquarters&date=…) and decisions."""
    meeting = request.args.get("meeting", "headquarters")
    field = agendas.meeting_field(meeting)
    if not policy.may_read_meeting(g.actor, field):
        raise PermissionDeniedError(f"{g.actor.username} may not read the agenda of {meeting}")
    day = _day()
    uow = get_uow()
    if request.args.get("format") == "xlsx":  # what the screen shows, as Excel
        from .filters import names

        found = agendas.agenda(uow, meeting, day)
        return send_file(BytesIO(agendas.to_xlsx(found, names().person)), as_attachment=True,
                         download_name=f"agenda-{found.meeting_key.replace(':', '-')}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument."
                                  "spreadsheetml.sheet")
    fields = [u for u in units(uow.session, "sub_command")
              if policy.may_read_meeting(g.actor, u.code)]
    return render_template("battle_map/agenda.html", agenda=agendas.agenda(uow, meeting, day),
                           day=day, fields=fields,
                           may_decide=policy.may_decide_meeting(g.actor, field))


@bp.post("/agenda/decision")
@login_required
def record_decision():
    """Record a decision against an agenda item."""
    meeting, day = request.form.get("meeting", ""), _day()
    try:
        agendas.record_decision(write_uow(), g.actor, meeting, day,
                                request.form.get("item_ref", ""), request.form.get("decision"))
    except TaskDataError:
        discard_uow()
        flash(_("请填写会议决定后再提交。"), "error")
    else:
        flash(_("会议决定已记录。"), "success")
    return redirect(url_for("battle_map.agenda_page", meeting=meeting, date=day.isoformat()))


@bp.get("/assessment")
@login_required
def assessment_page():
    """双考核: per unit, annual and work indicators of industrial projects."""
    _headquarters_only()
    return render_template("battle_map/assessment.html",
                           table=assessment.assessment(get_uow(), request.args.get("month")),
                           plates=PLATES)
