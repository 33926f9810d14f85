"""查账 pages: a project's and an instance's audit trail (who, when, what, why), filtered,
paged, checked against the hash chain and exported to Excel — views over engine/audit_trails.py.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from io import BytesIO
from typing import Any

from flask import Blueprint, abort, g, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.county import audit_trails, policy
from engine.county.audit_trails import EXPORT_LIMIT, Trail, TrailEvent, TrailFilters, TrailInstance
from engine.county.names import Names
from engine.county.plates import PLATES
from engine.county.projects import STAGES
from engine.core.spreadsheets import append_rows, workbook_bytes

from .auth import login_required
from .db import get_platform, get_uow
from .downloads import download_name
from .filters import local_time
from .history import ACTIONS, DECISIONS

bp = Blueprint("audit_trails", __name__, url_prefix="/audit")

KIND_LABELS = {"project": _l("项目本身"), "awards": _l("季度评奖"), "meeting": _l("会议决定")}
COLUMNS = [("seq", _l("序号")), ("at", _l("时间")), ("who", _l("操作人")),
           ("what", _l("操作")), ("where", _l("事项")),
           ("task", _l("环节")), ("why", _l("理由或意见")), ("facts", _l("内容")),
           ("hash", _l("哈希"))]


@bp.app_context_processor
def _may_read():
    """`may_read_trails`: whether the links to the trails are worth showing this user."""
    return {"may_read_trails": bool(g.get("actor")) and policy.may_read_trails(g.actor)}


def _date(name: str) -> date | None:
    text = request.args.get(name) or ""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        abort(400)


def _filters() -> TrailFilters:
    args = request.args
    instance = args.get("instance", "")
    return TrailFilters(instance_id=int(instance) if instance.isdigit() else None,
                        kind=args.get("kind") or None, action=args.get("action") or None,
                        actor=args.get("actor") or None, since=_date("since"),
                        until=_date("until"), newest_first=args.get("order") == "newest")


def _page() -> int:
    page = request.args.get("page", "")
    return int(page) if page.isdigit() and len(page) < 7 else 1


def value_text(action: str, key: str, value: Any, names: Names,
               picker: str | None = None) -> str:
    """One detail value as people read it (engine/county/names.py): codes named, times
    local, lists joined; a decision, a plate or a stage by its label; what a form's picker
    chose (a unit, a person, a project) by its name."""
    if isinstance(value, str) and picker in ("unit", "user", "project"):
        return {"unit": names.unit, "user": names.person,
                "project": lambda code: names.ref(f"project:{code}")}[picker](value)
    if isinstance(value, str):
        if key == "decision" and value in DECISIONS:
            return str(DECISIONS[value])
        if action == "project_stage_moved" and value in STAGES:
            return STAGES[value]
        if action == "plate_evaluated" and value in PLATES:
            return PLATES[value]
        if key in ("message", "name") and action in ("message_received", "signal_received"):
            return names.message(value)
    return _(names.value(key, value))


def row_cells(event: TrailEvent, instances: dict[int, TrailInstance],
              names: Names) -> dict[str, str]:
    """One event as the texts of COLUMNS (screen and Excel), every code named."""
    instance = instances.get(event.instance_id) if event.instance_id else None
    if instance is not None:
        name = instance.title or instance.business_key or ""
        where = f"{instance.process_name} #{instance.id} {name}"
    else:
        where = str(KIND_LABELS.get(event.kind, "")) or _("其他")
    facts = "；".join(f"{fact.label or _(names.variable(fact.key))}："
                     f"{value_text(event.action, fact.key, fact.value, names, fact.picker)}"
                     for fact in event.facts)
    return {"seq": str(event.seq), "at": local_time(event.at),
            "who": _(names.person(event.actor)),
            "what": str(ACTIONS.get(event.action, _("其他操作"))),
            "where": where.strip(), "task": event.task_name or "", "why": event.why or "",
            "facts": facts, "hash": event.hash}


def _rows(trail: Trail) -> list[tuple[TrailEvent, dict[str, str]]]:
    instances = {i.id: i for i in trail.instances}
    names = Names(get_uow().session)
    return [(event, row_cells(event, instances, names)) for event in trail.events]


# The chain check's findings (engine/county/audit_trails.py check_events) in Chinese.
CHAIN_PROBLEMS = [
    (re.compile(r"^event seq (\d+): contents were changed after it was written$"),
     lambda m: _("第 %(n)s 条记录：写入后内容被改动", n=m[1])),
    (re.compile(r"^event seq (\d+): the event before it \(seq (\d+)\) is missing$"),
     lambda m: _("第 %(n)s 条记录：它之前的第 %(b)s 条记录已缺失", n=m[1], b=m[2])),
    (re.compile(r"^event seq (\d+): does not follow the event before it.*$"),
     lambda m: _("第 %(n)s 条记录：与前一条记录接不上（记录链在此被截断或调换了顺序）", n=m[1])),
    (re.compile(r"^(\d+) events between seq (\d+) and (\d+) are missing$"),
     lambda m: _("第 %(a)s 至 %(b)s 条之间缺失 %(n)s 条记录", n=m[1], a=m[2], b=m[3])),
    (re.compile(r"^the chain's head is behind seq (\d+): it was rewound$"),
     lambda m: _("记录链的末端落后于第 %(n)s 条：记录链被回退", n=m[1])),
]


def chain_problem(problem: str) -> str:
    """One finding of the chain check, in Chinese."""
    for pattern, told in CHAIN_PROBLEMS:
        found = pattern.match(problem)
        if found:
            return told(found)
    return _("记录链异常：%(p)s", p=problem)


def _trail(scope: str, ref: Any, page: int = 1, page_size: int | None = None) -> Trail:
    read = audit_trails.project_trail if scope == "project" else audit_trails.instance_trail
    return read(get_uow(), g.actor, ref, _filters(), page,
                page_size or audit_trails.PAGE_SIZE)


def _show(scope: str, ref: Any):
    if request.args.get("format") == "xlsx":
        return _xlsx(_trail(scope, ref, 1, EXPORT_LIMIT))
    trail = _trail(scope, ref, _page())
    return render_template("audit_trails/trail.html", trail=trail, rows=_rows(trail),
                           ACTIONS=ACTIONS, KIND_LABELS=KIND_LABELS, link=_link,
                           chain_problem=chain_problem)


FILTER_ARGS = ("instance", "kind", "action", "actor", "since", "until", "order")


def _link(**changes) -> str:
    """This page's URL with its filters and the given changes (page, format)."""
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    return url_for(request.endpoint, **{**args, **(request.view_args or {}), **changes})


@bp.get("/projects/<code>")
@login_required
def project(code: str):
    """A project's audit trail: its instances' events and its own, for supervisors."""
    return _show("project", code)


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    """One instance's audit trail (an issue, a permit request, an instruction …)."""
    return _show("instance", instance_id)


def _xlsx(trail: Trail):
    """The filtered trail, oldest or newest first as asked, with the chain check, as Excel."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = _("审计记录")
    rows = [[cells[key] for key, _label in COLUMNS] for _event, cells in _rows(trail)]
    if trail.total > len(trail.events):
        rows.append([_("仅导出前 %(n)s 条，请缩小筛选范围。", n=len(trail.events))])
    append_rows(sheet, rows, [label for _key, label in COLUMNS])
    sheet.freeze_panes = "A2"
    check = book.create_sheet(_("链校验"))
    check.append([_("已核验记录"), trail.chain.checked])
    check.append([_("结果"), _("完整") if trail.chain.ok else _("发现异常")])
    for problem in trail.chain.problems:
        check.append([_("异常"), chain_problem(problem)])
    buffer = BytesIO(workbook_bytes(book))
    stamp = get_platform().clock.now().strftime("%Y%m%d")
    return send_file(buffer, as_attachment=True,
                     download_name=download_name(f"audit-{trail.scope}-{trail.key}-{stamp}.xlsx"),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
