"""查账 pages: a project's and an instance's audit trail (who, when, what, why), filtered,
paged, checked against the hash chain and exported to Excel — views over engine/audit_trails.py.
"""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from typing import Any

from flask import Blueprint, abort, g, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.county import audit_trails, policy, registry
from engine.county.audit_trails import EXPORT_LIMIT, Trail, TrailEvent, TrailFilters, TrailInstance
from engine.county.supervision_desk import unit_names
from engine.county.plates import PLATES
from engine.county.projects import (
    FUNDING, KEY_LEVELS, RESERVE_CLASSES, RESERVE_TRACKS, STAGES,
)
from engine.core.spreadsheets import append_rows, workbook_bytes

from .auth import login_required
from .db import get_platform, get_uow
from .downloads import download_name
from .filters import local_time
from .history import ACTIONS, DECISIONS

bp = Blueprint("audit_trails", __name__, url_prefix="/audit")

KIND_LABELS = {"project": _l("项目本身"), "awards": _l("季度评奖"), "meeting": _l("会议决定")}
SYSTEM_ACTORS = {"timer": _l("定时器（系统）"), "system": _l("系统")}
# Labels of the detail keys the engine writes; form fields carry their own labels.
FACT_LABELS = {
    "before": _l("原为"), "after": _l("改为"), "to": _l("给"), "to_user": _l("交回给"),
    "business_key": _l("业务编号"), "version": _l("版本"), "assignee": _l("办理人"),
    "candidates": _l("候选"), "due_at": _l("办理时限"), "decision": _l("结论"),
    "month": _l("月份"), "actual_investment": _l("本月完成投资（万元）"),
    "milestone_done": _l("节点完成"), "months": _l("月度计划"), "inputs": _l("评定依据"),
    "automatic": _l("自动"), "notified": _l("已通知"), "tasks": _l("涉及待办"),
    "sub_command": _l("分指挥部"), "best": _l("最佳项目"), "worst": _l("最差项目"),
    "antelope": _l("羚羊奖"), "snail": _l("蜗牛奖"), "item": _l("议题"),
    "message": _l("消息"), "payload": _l("消息内容"), "attempts": _l("尝试次数"),
    "error": _l("错误"), "last_error": _l("错误"), "provisional": _l("预估"),
    "from_version": _l("原版本"), "to_version": _l("新版本"), "waiting_at": _l("停留环节"),
    # the start data of the project processes
    "project_code": _l("项目编号"), "project_name": _l("项目名称"), "project_unit": _l("项目单位"),
    "lead_department": _l("主管部门"), "township": _l("乡镇"), "funding": _l("投资性质"),
    "title": _l("标题"), "responsible_unit": _l("责任单位"), "scope": _l("范围"),
    "severity": _l("严重程度"), "plate": _l("三色牌"), "source": _l("批示来源"),
    "complexity": _l("复杂程度"), "instruction": _l("批示内容"),
    # the project registry (engine/county/registry.py, project_import.py)
    "code": _l("项目编号"), "name": _l("项目名称"), "stage": _l("阶段"),
    "reserve_class": _l("储备类别"), "reserve_track": _l("储备方向"), "specialist": _l("项目专员"),
    "key_level": _l("重点级别"), "planned_investment": _l("总投资（万元）"),
    "completed_by": _l("办结人"), "process": _l("流程"), "filename": _l("文件"),
    "sha256": _l("文件校验值"), "added": _l("新增"), "changed": _l("修改"),
    "moved": _l("转阶段"), "schedules": _l("更新月度计划"),
}
UNIT_KEYS = {"sub_command", "project_unit", "lead_department", "township", "responsible_unit"}
PERSON_KEYS = {"specialist", "completed_by"}  # usernames, named from `units` as "user:<name>"
CODE_LABELS = {"stage": STAGES, "reserve_class": RESERVE_CLASSES, "reserve_track": RESERVE_TRACKS,
               "key_level": KEY_LEVELS, "funding": FUNDING}
COLUMNS = [("seq", _l("序号")), ("at", _l("时间")), ("who", _l("操作人")),
           ("username", _l("用户名")), ("what", _l("操作")), ("where", _l("事项")),
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


def value_text(action: str, key: str, value: Any, units: dict[str, str] | None = None) -> str:
    """One detail value as people read it: codes named, times local, lists joined."""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(value_text(action, key, v, units) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{FACT_LABELS.get(k, k)}：{value_text(action, k, v, units)}"
                        for k, v in value.items())
    if value is None:
        return _("（空）")
    if isinstance(value, str):
        if key in UNIT_KEYS and units and value in units:
            return units[value]
        if key in PERSON_KEYS and units and f"user:{value}" in units:
            return units[f"user:{value}"]
        if key in CODE_LABELS and value in CODE_LABELS[key]:
            return CODE_LABELS[key][value]
        if key == "decision" and value in DECISIONS:
            return str(DECISIONS[value])
        if action == "project_stage_moved" and value in STAGES:
            return STAGES[value]
        if action == "plate_evaluated" and value in PLATES:
            return PLATES[value]
        if key.endswith("_at") or (key in ("before", "after") and "T" in value):
            try:
                return local_time(datetime.fromisoformat(value))
            except ValueError:
                return value
    return str(value)


def row_cells(event: TrailEvent, instances: dict[int, TrailInstance],
              units: dict[str, str]) -> dict[str, str]:
    """One event as the texts of COLUMNS (screen and Excel); `units` names unit codes."""
    instance = instances.get(event.instance_id) if event.instance_id else None
    if instance is not None:
        name = instance.title or instance.business_key or ""
        where = f"{instance.process_name} #{instance.id} {name}"
    else:
        where = str(KIND_LABELS.get(event.kind, event.subject or ""))
    facts = "；".join(f"{fact.label or FACT_LABELS.get(fact.key, fact.key)}："
                     f"{value_text(event.action, fact.key, fact.value, units)}"
                     for fact in event.facts)
    return {"seq": str(event.seq), "at": local_time(event.at),
            "who": str(SYSTEM_ACTORS.get(event.actor, event.actor_name)),
            "username": event.actor, "what": str(ACTIONS.get(event.action, event.action)),
            "where": where.strip(), "task": event.task_name or "", "why": event.why or "",
            "facts": facts, "hash": event.hash}


def _rows(trail: Trail) -> list[tuple[TrailEvent, dict[str, str]]]:
    instances = {i.id: i for i in trail.instances}
    session = get_uow().session
    units = {**unit_names(session), **{f"user:{username}": name for username, name in
                                       registry.choices(session).people.items()}}
    return [(event, row_cells(event, instances, units)) for event in trail.events]


def _trail(scope: str, ref: Any, page: int = 1, page_size: int | None = None) -> Trail:
    read = audit_trails.project_trail if scope == "project" else audit_trails.instance_trail
    return read(get_uow(), g.actor, ref, _filters(), page,
                page_size or audit_trails.PAGE_SIZE)


def _show(scope: str, ref: Any):
    if request.args.get("format") == "xlsx":
        return _xlsx(_trail(scope, ref, 1, EXPORT_LIMIT))
    trail = _trail(scope, ref, _page())
    return render_template("audit_trails/trail.html", trail=trail, rows=_rows(trail),
                           ACTIONS=ACTIONS, KIND_LABELS=KIND_LABELS, link=_link)


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
        check.append([_("异常"), problem])
    buffer = BytesIO(workbook_bytes(book))
    stamp = get_platform().clock.now().strftime("%Y%m%d")
    return send_file(buffer, as_attachment=True,
                     download_name=download_name(f"audit-{trail.scope}-{trail.key}-{stamp}.xlsx"),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
