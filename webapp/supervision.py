"""督办台: the overdue board, the issue ledger (with its Excel export), the 13710 desk and the
county-head view — each a call to a read view of engine/county/supervision_desk.py — and the
board's actions, calls to engine/county/desk_actions.py; scopes come from engine/county/policy.py.
"""

from __future__ import annotations

import re

from datetime import date
from io import BytesIO

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.bpm import inbox
from engine.county import desk_actions, supervision_desk
from engine.core.errors import PermissionDeniedError, TaskDataError
from engine.county.issue_ledger import clearance_missing, refresh_projections
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
    """The request's unit of work, the clearance tally filled if it never was (once, after the
    upgrade that added it). Catching up with saves that bypassed the projection reads every
    instance, so the worker does it when it starts (refresh_projections), not each page."""
    uow = get_uow()
    if clearance_missing(uow.session):
        refresh_projections(uow)
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


BOARD_LINES = 50  # late lines a page of the desk, most urgent first (the export has them all)


def _back_to() -> str:
    """Where the forms of a desk line or an issue send the user back to after acting."""
    return request.full_path if request.method == "GET" else request.form.get("next", "")


_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def _line_urls():
    """url_for for the desk's lines: the address of an endpoint for one id (or a few plain
    values) is built once with stand-ins and then filled in, not routed again for each of
    two hundred lines; any other call is url_for's own."""
    shapes: dict = {}

    def plain(value) -> bool:
        if type(value) is int:
            return value >= 0
        return isinstance(value, str) and _PLAIN.fullmatch(value) is not None

    def build(endpoint: str, **values) -> str:
        if not values or not all(map(plain, values.values())):
            return url_for(endpoint, **values)
        names = tuple(sorted(values))
        key = (endpoint, names, tuple(type(values[name]) for name in names))
        shape = shapes.get(key)
        if shape is None:
            stand_ins = {name: (900_000_001 + n if isinstance(values[name], int) else f"zq{n}qz")
                         for n, name in enumerate(names)}
            pieces = re.split("(" + "|".join(str(v) for v in stand_ins.values()) + ")",
                              url_for(endpoint, **stand_ins))
            named = {str(v): name for name, v in stand_ins.items()}
            # literal, name, literal, name, ... literal: each stand-in once, or url_for's own
            fits = sorted(pieces[1::2]) == sorted(named)
            shape = shapes[key] = [named.get(p, p) if n % 2 else p
                                   for n, p in enumerate(pieces)] if fits else False
        if shape is False:
            return url_for(endpoint, **values)
        return "".join(str(values[p]) if n % 2 else p for n, p in enumerate(shape))

    return build


_STAND_IN = 900_000_001  # an issue id no county reaches, where a line's own goes


def _actions_blocks():
    """The supervision actions of a desk line (supervision/_actions.html): the same for every
    issue in the same step, rung and listing but for the issue's id, so each kind is
    rendered once with a stand-in id and then given each line's; the line whose action was
    just refused (its error at its field) is rendered on its own."""
    shapes: dict = {}

    @pass_context
    def block(context, item, listed_view: bool) -> Markup:
        values = {"a": _actions_of(item), "origin": "desk",
                  "suffix": "-listed" if listed_view else ""}
        template = context.environment.get_template("supervision/_actions.html")
        errors = context.get("errors") or {}
        if errors.get("ref") == str(item.instance_id):
            return Markup(template.render({**context.get_all(), **values,
                                           "iid": item.instance_id}))
        key = (values["a"], values["suffix"])
        if key not in shapes:
            shapes[key] = template.render({**context.get_all(), **values,
                                           "iid": _STAND_IN}).split(str(_STAND_IN))
        return Markup(str(item.instance_id).join(shapes[key]))

    return block


def _line_helpers() -> dict:
    """What every line of the desk asks the same: its forms' token and way back, and the
    templates' gettext with this request's catalogue looked up once, not at each of the two
    thousand texts of two hundred lines (the same texts as Flask-Babel's gettext gives), and
    the labels of rungs and steps in this request's language once; url_for as `_line_urls`,
    the lines' actions as `_actions_blocks`."""
    translations = get_translations()
    texts: dict = {}

    @pass_context
    def gettext(context, string: str, **variables):
        key = (string, context.eval_ctx.autoescape)
        text = texts.get(key)
        if text is None:
            text = texts[key] = (Markup if key[1] else str)(translations.ugettext(string))
        return text % variables

    token = generate_csrf()
    return {"gettext": gettext, "_": gettext, "csrf_token": lambda: token, "back_to": _back_to(),
            "url_for": _line_urls(), "actions_block": _actions_blocks(),
            "RUNG_LABELS": {n: str(label) for n, label in RUNG_LABELS.items()},
            "STEP_LABELS": {step: str(label) for step, label in STEP_LABELS.items()}}


def render_board(status: int = 200, errors: dict | None = None):
    """The board page (also shown again, with the error at its field, when an action was
    refused)."""
    uow = _refreshed_uow()
    page = _page_number()
    board = supervision_desk.overdue_board(uow, g.actor, _filters(), limit=BOARD_LINES,
                                           offset=(page - 1) * BOARD_LINES)
    pages = max(1, -(-board.late // BOARD_LINES))
    if page > pages:  # past the end (lines were dealt with meanwhile): the last page
        page = pages
        board = supervision_desk.overdue_board(uow, g.actor, _filters(), limit=BOARD_LINES,
                                               offset=(page - 1) * BOARD_LINES)
    query = {k: v for k, v in request.args.items() if k != "page"}
    paging = {"page": page, "pages": pages,
             "previous": url_for("supervision.board", page=page - 1, **query) if page > 1
             else None,
             "next": url_for("supervision.board", page=page + 1, **query) if page < pages
             else None}
    return render_template("supervision/board.html", board=board, errors=errors or {},
                           shown=BOARD_LINES, paging=paging, **_choices(uow),
                           **{**_labels(uow), **_line_helpers()}), status


def _page_number() -> int:
    given = request.args.get("page", "")
    return int(given) if re.fullmatch(r"[1-9][0-9]{0,5}", given) else 1


def _actions_of(item) -> desk_actions.IssueActions:
    """What the actor may do to a board line or an issue (desk_actions.actions_on)."""
    return desk_actions.actions_on(g.actor, item.step, item.rung, item.listed)


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


@bp.post("/remind")
@login_required
def remind_many():
    """催办 several board lines at once (the ticked ones), each audited and told."""
    if not scope_of(g.actor).may_remind:
        raise PermissionDeniedError(f"{g.actor.username} may not remind")
    picked = [value.split(":", 1) for value in request.form.getlist("item") if ":" in value]
    if not picked:
        flash(_("请先勾选要催办的事项，没有做任何更改。"), "error")
        return render_board(400, {"form": "remind_many", "item": _("请先勾选要催办的事项。")})
    uow = write_uow()
    message = request.form.get("message")
    for kind, ref in picked:
        desk_actions.remind_item(uow, g.actor, "issue" if kind == "issue" else "task", ref,
                                 message)
    flash(_("已催办 %(n)s 项，办理人已收到提醒。", n=len(picked)), "success")
    return _back()


# The words at a refused field, by action and field.
FIELD_ERRORS = {
    ("escalate", "reason"): _l("请填写提级理由。"),
    ("list", "reason"): _l("请填写挂牌理由。"),
    ("list", "due"): _l("挂牌办结时限应为今天或以后的日期。"),
    ("lift", "reason"): _l("请填写摘牌理由。"),
}


def _act(form: str, instance_id: int, action, message: str, *args):
    """Run a desk action; refused input is shown again at its field, on the page it came from."""
    try:
        action(write_uow(), g.actor, instance_id, *args)
    except TaskDataError as exc:
        discard_uow()
        errors = {"form": form, "ref": str(instance_id)}
        for field in exc.field_errors or {"reason": []}:
            errors[field] = str(FIELD_ERRORS.get((form, field), _("请检查填写的内容。")))
        flash(_("填写的内容有误，没有做任何更改。"), "error")
        if request.form.get("origin") == "issue":
            return render_issue(instance_id, 400, errors)
        return render_board(400, errors)
    flash(message, "success")
    return _back()


def _due() -> date | None:
    """The listing's deadline as typed; a text that is not a date is refused at its field."""
    raw = request.form.get("due", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise TaskDataError("the listing's deadline is not a date", {"due": ["not a date"]})


@bp.post("/issues/<int:instance_id>/escalate")
@login_required
def escalate(instance_id: int):
    """提级: one rung up the ladder, with a reason."""
    return _act("escalate", instance_id, desk_actions.escalate_issue,
                _("已提级，新的责任主体已收到交办。"), request.form.get("reason", ""))


@bp.post("/issues/<int:instance_id>/list")
@login_required
def list_issue(instance_id: int):
    """挂牌督办 with its own deadline."""
    def listing(uow, actor, issue, reason):
        return desk_actions.list_issue(uow, actor, issue, reason, _due())

    return _act("list", instance_id, listing, _("已挂牌督办。"), request.form.get("reason", ""))


@bp.post("/issues/<int:instance_id>/lift")
@login_required
def lift(instance_id: int):
    """摘牌: lift listed supervision."""
    return _act("lift", instance_id, desk_actions.lift_listing, _("已摘牌。"),
                request.form.get("reason", ""))


# The desk's columns, on the screen's lines and in its Excel export alike.
BOARD_COLUMNS = [
    ("section", _l("类别")), ("title", _l("事项")), ("process", _l("流程")),
    ("business_key", _l("编号")), ("responsible_unit", _l("责任单位")),
    ("sub_command", _l("分指挥部")), ("township", _l("乡镇")), ("rung", _l("处置层级")),
    ("step", _l("办理环节")), ("due_at", _l("时限")), ("sla", _l("状态")),
    ("reminders", _l("催办次数")), ("listed", _l("挂牌督办")),
]


def board_cells(item, section: str, names: dict, processes: dict) -> list[str]:
    """One desk line as the texts of BOARD_COLUMNS."""
    if section == "listed":
        due, state, days = item.listed_due_at, item.listed_sla, item.listed_overdue_days
    else:
        due, state, days = item.due_at, item.sla, item.overdue_days
    sla_text = (_("超期 %(n)s 个工作日", n=days) if state == "overdue"
                else _("即将到期") if state == "due_soon" else _("未到期") if state else "")
    values = {
        "section": _("挂牌督办") if section == "listed" else _("超期与即将到期"),
        "title": item.title, "process": processes.get(item.process_key, ""),
        "business_key": item.business_key or "",
        "responsible_unit": names.get(item.responsible_unit, item.responsible_unit or ""),
        "sub_command": names.get(item.sub_command, item.sub_command or ""),
        "township": names.get(item.township, item.township or ""),
        "rung": f"{item.rung} {RUNG_LABELS.get(item.rung, '')}".strip() if item.rung else "",
        "step": str(STEP_LABELS.get(item.step, "")), "due_at": local_time(due),
        "sla": str(sla_text), "reminders": str(item.reminder_count),
        "listed": _("挂牌中") if item.listed else "",
    }
    return [str(values[key]) for key, _label in BOARD_COLUMNS]


@bp.get("/board.xlsx")
@login_required
def board_xlsx():
    """The desk as it is on the screen (the same filters), as an Excel workbook: its lines,
    and the counts by unit and by field."""
    from openpyxl import Workbook

    uow = _refreshed_uow()
    board = supervision_desk.overdue_board(uow, g.actor, _filters())
    names, processes = supervision_desk.unit_names(uow.session), inbox.process_names(uow)
    book = Workbook()
    sheet = book.active
    sheet.title = _("督办台")
    lines = ([board_cells(i, "late", names, processes) for i in board.items]
             + [board_cells(i, "listed", names, processes) for i in board.listed])
    append_rows(sheet, lines, [label for _key, label in BOARD_COLUMNS])
    sheet.freeze_panes = "A2"
    for title, column, groups in ((_("按责任单位"), _("责任单位"), board.by_unit),
                                  (_("按分指挥部"), _("分指挥部"), board.by_sub_command)):
        counts = book.create_sheet(title)
        append_rows(counts, ([names.get(grp.code, grp.code or _("未指定")), grp.overdue,
                              grp.due_soon] for grp in groups),
                    [column, _("已超期"), _("即将到期")])
    stamp = get_platform().clock.now().strftime("%Y%m%d")
    return send_file(BytesIO(workbook_bytes(book)), as_attachment=True,
                     download_name=f"supervision-desk-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


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


LEDGER_PAGE = 50  # issues per page of the ledger (the export holds every one)


def _ledger_table(uow, limit: int | None = None, offset: int = 0):
    rows = supervision_desk.ledger(uow, g.actor, _filters(), limit=limit, offset=offset)
    names = supervision_desk.unit_names(uow.session)
    reminders = supervision_desk.reminder_counts(uow, rows)
    return rows, [(row, ledger_cells(row, names, reminders)) for row in rows]


@bp.get("/ledger")
@login_required
def ledger():
    """问题台账: the issues in scope a page at a time, with 清零率 per unit and per field."""
    uow = _refreshed_uow()
    given = request.args.get("page", "")
    page = int(given) if re.fullmatch(r"[1-9][0-9]{0,5}", given) else 1
    filters = _filters()
    total = supervision_desk.ledger_count(uow, g.actor, filters)
    _rows, table = _ledger_table(uow, LEDGER_PAGE, (page - 1) * LEDGER_PAGE)
    query = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "supervision/ledger.html", table=table, columns=LEDGER_COLUMNS, total=total, page=page,
        pages=max(1, -(-total // LEDGER_PAGE)), query=query,
        by_unit=supervision_desk.ledger_clearance(uow, g.actor, filters, "unit"),
        by_field=supervision_desk.ledger_clearance(uow, g.actor, filters, "field"),
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


def render_issue(instance_id: int, status: int = 200, errors: dict | None = None):
    """One issue's page (also shown again, with the error at its field, when an action on it
    was refused)."""
    uow = _refreshed_uow()
    detail = supervision_desk.issue_detail(uow, g.actor, instance_id)
    row = detail.row
    return render_template(
        "supervision/issue.html", d=detail, history=timeline(uow, instance_id),
        actions=desk_actions.actions_on(g.actor, row.step, row.rung, row.listed),
        errors=errors or {}, back_to=_back_to(),
        ACTION_LABELS=ACTION_LABELS, **_labels(uow)), status


@bp.get("/issues/<int:instance_id>")
@login_required
def issue(instance_id: int):
    """One issue: its rung, steps, reminders, escalations, listings and history, and the
    supervision actions the actor may take on it at any rung, whatever its due state."""
    return render_issue(instance_id)


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


# The county head's view in Excel: the columns of its cards.
COUNTY_HEAD_COLUMNS = [_l("编号"), _l("问题"), _l("项目"), _l("责任单位"), _l("分指挥部"),
                       _l("处置层级"), _l("办理环节"), _l("整改时限"), _l("提级经过"),
                       _l("销号时间")]


@bp.get("/county-head.xlsx")
@login_required
def county_head_xlsx():
    """The county head's view as on the screen, as an Excel workbook: one row an issue, its
    escalations (who, from which rung to which, why) in one cell."""
    from openpyxl import Workbook

    from .filters import names

    uow = _refreshed_uow()
    units = supervision_desk.unit_names(uow.session)
    rows = []
    for detail in supervision_desk.county_head_issues(uow, g.actor):
        r = detail.row
        climbs = "；".join(
            _("%(who)s %(at)s 提级 第%(a)s级 → 第%(b)s级：%(why)s", who=names().person(e.by),
              at=local_time(e.at), a=e.from_rung or "—", b=e.to_rung, why=e.reason or "")
            for e in detail.escalations)
        rows.append([r.business_key or str(r.instance_id), r.title,
                     r.project_name or r.project_code or "",
                     units.get(r.responsible_unit, r.responsible_unit or ""),
                     units.get(r.sub_command, r.sub_command or ""),
                     f"{r.rung} {RUNG_LABELS.get(r.rung, '')}".strip() if r.rung else "",
                     str(STEP_LABELS.get(r.step, "")),
                     local_time(r.due_at) if r.step not in ("cleared", "cancelled") else "",
                     climbs, local_time(r.cleared_at)])
    book = Workbook()
    sheet = book.active
    sheet.title = _("县长层级")
    append_rows(sheet, rows, COUNTY_HEAD_COLUMNS)
    sheet.freeze_panes = "A2"
    stamp = get_platform().clock.now().strftime("%Y%m%d")
    return send_file(BytesIO(workbook_bytes(book)), as_attachment=True,
                     download_name=f"county-head-issues-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
