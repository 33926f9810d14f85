"""督办台: the overdue board, the issue ledger (with its Excel export), the 13710 desk and the
county-head view — each a call to a read view of engine/county/supervision_desk.py — and the
board's actions, calls to engine/county/desk_actions.py; scopes come from engine/county/policy.py.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.bpm import inbox
from engine.county import desk_actions, supervision_desk
from engine.core.calendar_admin import load_calendar
from engine.core.errors import TaskDataError
from engine.county.issue_ledger import refresh_projections
from engine.county.policy import scope_of
from engine.core.spreadsheets import append_rows, workbook_bytes

from .auth import login_required
from .db import discard_uow, get_platform, get_uow, write_uow
from .filters import local_time
from .history import timeline

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

RUNG_LABELS = {1: _l("立即整改"), 2: _l("主责单位限期整改"), 3: _l("分指挥部研究解决"),
               4: _l("县长亲自解决")}
STEP_LABELS = {"registered": _l("已登记"), "assigned": _l("已交办"), "committed": _l("已承诺"),
               "reported": _l("已报告待核验"), "cleared": _l("已销号"), "cancelled": _l("已撤销"),
               "open": _l("待认领"), "claimed": _l("办理中")}
STEP_13710 = {"registered": _l("待交办"), "assigned": _l("已交办"),
              "progress_reported": _l("已反馈进展"), "result_reported": _l("已报送结果"),
              "plan_accepted": _l("方案跟踪中"), "closed": _l("已办结"), "cancelled": _l("已撤销")}
CLOCK_LABELS = {"assign": _l("当天交办"), "progress": _l("3日内反馈进展"),
                "result": _l("7日或1个月内办结")}
RATING_LABELS = {"excellent": _l("优秀"), "good": _l("良好"), "pass": _l("合格"),
                 "fail": _l("不合格")}
ACTION_LABELS = {"reminded": _l("催办"), "escalated": _l("提级"),
                 "issue_escalation_requested": _l("申请提级"), "issue_listed": _l("挂牌督办"),
                 "issue_listing_lifted": _l("摘牌")}
# The ledger's columns, on the screen and in the Excel export alike.
LEDGER_COLUMNS = [
    ("business_key", _l("编号")), ("title", _l("问题")), ("project", _l("项目")),
    ("sub_command", _l("分指挥部")), ("township", _l("乡镇")), ("responsible_unit", _l("责任单位")),
    ("rung", _l("处置层级")), ("step", _l("办理环节")), ("promised_date", _l("承诺完成日期")),
    ("due_at", _l("整改时限")), ("listed", _l("挂牌督办")), ("reminders", _l("催办次数")),
    ("opened_at", _l("登记时间")), ("cleared_at", _l("销号时间")),
]


def _refreshed_uow():
    """The request's unit of work after the ledger caught up with any unprojected save."""
    refresh_projections(get_uow())
    return get_uow()


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _filters() -> supervision_desk.BoardFilters:
    listed = request.args.get("listed")
    return supervision_desk.BoardFilters(
        sub_command=request.args.get("sub_command") or None,
        township=request.args.get("township") or None,
        process=request.args.get("process") or None, rung=_int("rung"),
        unit=request.args.get("unit") or None, step=request.args.get("step") or None,
        listed=None if not listed else listed == "1")


def _choices(uow) -> dict:
    """Options of the filter selects: fields, townships, units, processes."""
    from engine.core.organisation import units

    return {"sub_commands": [(u.code, u.name) for u in units(uow.session, "sub_command")],
            "townships": [(u.code, u.name) for u in units(uow.session, "township")],
            "processes": inbox.process_names(uow)}


def _labels(uow) -> dict:
    return {"names": supervision_desk.unit_names(uow.session), "RUNG_LABELS": RUNG_LABELS,
            "STEP_LABELS": STEP_LABELS, "scope": scope_of(g.actor)}


def render_board(status: int = 200):
    """The board page (also shown again, with the error, when an action was refused)."""
    uow = _refreshed_uow()
    board = supervision_desk.overdue_board(uow, g.actor, _filters())
    return render_template("supervision/board.html", board=board, **_choices(uow),
                           **_labels(uow)), status


@bp.get("/")
@login_required
def board():
    """督办台: what is late or due within a working day, by unit and by field."""
    return render_board()


def _back():
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("supervision.board"))


@bp.post("/remind/<kind>/<ref>")
@login_required
def remind(kind: str, ref: str):
    """催办 a board line."""
    desk_actions.remind_item(write_uow(), g.actor, "issue" if kind == "issue" else "task", ref,
                       request.form.get("message"))
    flash(_("已催办，办理人已收到提醒。"), "success")
    return _back()


def _act(action, message: str, *args):
    try:
        action(write_uow(), g.actor, *args)
    except TaskDataError:
        discard_uow()
        flash(_("请填写理由后再提交，没有做任何更改。"), "error")
        return render_board(400)
    flash(message, "success")
    return _back()


@bp.post("/issues/<int:instance_id>/escalate")
@login_required
def escalate(instance_id: int):
    """提级: one rung up the ladder, with a reason."""
    return _act(desk_actions.escalate_issue, _("已提级，新的责任主体已收到交办。"), instance_id,
                request.form.get("reason", ""))


@bp.post("/issues/<int:instance_id>/list")
@login_required
def list_issue(instance_id: int):
    """挂牌督办 with its own deadline."""
    raw = request.form.get("due", "")
    try:
        due = date.fromisoformat(raw) if raw else None
    except ValueError:
        due = None
    return _act(desk_actions.list_issue, _("已挂牌督办。"), instance_id, request.form.get("reason", ""),
                due)


@bp.post("/issues/<int:instance_id>/lift")
@login_required
def lift(instance_id: int):
    """摘牌: lift listed supervision."""
    return _act(desk_actions.lift_listing, _("已摘牌。"), instance_id, request.form.get("reason", ""))


# ---------------------------------------------------------------- the ledger

def ledger_cells(row, names: dict, reminders: dict) -> list[str]:
    """One ledger row as the texts of LEDGER_COLUMNS (screen and Excel)."""
    values = {
        "business_key": row.business_key or str(row.instance_id), "title": row.title,
        "project": row.project_name or row.project_code or "",
        "sub_command": names.get(row.sub_command, row.sub_command or ""),
        "township": names.get(row.township, row.township or ""),
        "responsible_unit": names.get(row.responsible_unit, row.responsible_unit or ""),
        "rung": f"{row.rung} {RUNG_LABELS.get(row.rung, '')}".strip() if row.rung else "",
        "step": str(STEP_LABELS.get(row.step, row.step)),
        "promised_date": row.promised_date.isoformat() if row.promised_date else "",
        "due_at": local_time(row.due_at) if row.step not in ("cleared", "cancelled") else "",
        "listed": (_("挂牌中，限 %(at)s", at=local_time(row.listed_due_at)) if row.listed_due_at
                   else _("挂牌中")) if row.listed else "",
        "reminders": str(reminders.get(row.instance_id, 0)),
        "opened_at": local_time(row.opened_at), "cleared_at": local_time(row.cleared_at),
    }
    return [str(values[key]) for key, _label in LEDGER_COLUMNS]


def _ledger_table(uow):
    rows = supervision_desk.ledger(uow, g.actor, _filters())
    names = supervision_desk.unit_names(uow.session)
    reminders = supervision_desk.reminder_counts(uow, rows)
    return rows, [(row, ledger_cells(row, names, reminders)) for row in rows]


@bp.get("/ledger")
@login_required
def ledger():
    """问题台账: every issue in scope, with 清零率 per unit and per field."""
    uow = _refreshed_uow()
    rows, table = _ledger_table(uow)
    calendar = load_calendar(uow.session)
    return render_template(
        "supervision/ledger.html", table=table, columns=LEDGER_COLUMNS,
        by_unit=supervision_desk.clearance(rows, calendar, lambda r: r.responsible_unit),
        by_field=supervision_desk.clearance(rows, calendar, lambda r: r.sub_command),
        steps=[s for s in STEP_LABELS if s not in ("open", "claimed")], **_choices(uow),
        **_labels(uow))


@bp.get("/ledger.xlsx")
@login_required
def ledger_xlsx():
    """The ledger as it is on the screen, as an Excel workbook."""
    from openpyxl import Workbook

    _rows, table = _ledger_table(_refreshed_uow())
    book = Workbook()
    sheet = book.active
    sheet.title = _("问题台账")
    append_rows(sheet, (cells for _row, cells in table), [label for _key, label in LEDGER_COLUMNS])
    sheet.freeze_panes = "A2"
    buffer = BytesIO(workbook_bytes(book))
    stamp = get_platform().clock.now().strftime("%Y%m%d")
    return send_file(buffer, as_attachment=True, download_name=f"issue-ledger-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/issues/<int:instance_id>")
@login_required
def issue(instance_id: int):
    """One issue: its rung, steps, reminders, escalations, listings and history."""
    uow = _refreshed_uow()
    detail = supervision_desk.issue_detail(uow, g.actor, instance_id)
    return render_template("supervision/issue.html", d=detail, history=timeline(uow, instance_id),
                           ACTION_LABELS=ACTION_LABELS, **_labels(uow))


# ---------------------------------------------------------------- 13710 and the county head

@bp.get("/13710")
@login_required
def desk_13710():
    """13710 督办: each instruction's clocks, the next to run out, ratings once closed."""
    uow = _refreshed_uow()
    return render_template("supervision/desk_13710.html",
                           items=supervision_desk.instruction_desk(uow, g.actor), CLOCK_LABELS=CLOCK_LABELS,
                           STEP_13710=STEP_13710, RATING_LABELS=RATING_LABELS, **_labels(uow))


@bp.get("/county-head")
@login_required
def county_head():
    """县长层级: issues that reached the county head, and how they got there."""
    uow = _refreshed_uow()
    return render_template("supervision/county_head.html",
                           details=supervision_desk.county_head_issues(uow, g.actor), **_labels(uow))
