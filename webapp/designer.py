"""流程设计: definitions and their versions, the editors, validate / deploy / roll back,
migration of running instances, the instance diagram, heat map and timer incidents.

Only designers and administrators come here. The views call engine services and hand plain
data to the templates and to the page scripts (JSON for validate and deploy).
"""

from __future__ import annotations

import functools
import json

from flask import (
    Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for,
)
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from engine.bpm import definition_admin as admin
from engine.bpm import instance_migration
from engine.bpm.finding_texts import tell, tell_error
from engine.ops import dry_run
from engine.core.errors import DefinitionError, GongjianError, InvalidStateError
from engine.bpm.forms import text_problem
from engine.core.models import ProcessInstance

from .auth import login_required
from .db import discard_uow, get_uow, write_uow
from .downloads import send_download
from .filters import LOCAL, SLA_LABELS, names

bp = Blueprint("designer", __name__, url_prefix="/designer")

DESIGNER_ROLES = ("designer", "admin")
MAX_UPLOAD = 2_000_000


def designer_required(view):
    """Logged-in designers and administrators only (others get 403)."""
    @functools.wraps(view)
    @login_required
    def wrapped(**kwargs):
        if not any(role in g.actor.groups for role in DESIGNER_ROLES):
            abort(403)
        return view(**kwargs)
    return wrapped


def _told(finding) -> dict:
    """A finding for the page, its message and hint in the reader's language."""
    told = tell(finding.rule, finding.params, finding.message, str(get_locale()))
    return {"severity": finding.severity, "element_id": finding.element_id,
            "line": finding.line, "rule": finding.rule, "message": told.message,
            "hint": told.hint}


def _report_json(report: admin.ValidationReport, **extra) -> dict:
    return {"ok": report.ok, "key": report.key, "kind": report.kind,
            "findings": [_told(f) for f in report.findings], **extra}


def _posted_file() -> tuple[str, bytes]:
    """(filename, bytes) from a JSON body {filename, xml} or an uploaded file."""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deep for the parser: not a definition either
            body = None
        if not isinstance(body, dict):
            abort(400)
        xml, filename = body.get("xml"), body.get("filename")
        if not isinstance(xml, str) or not isinstance(filename, str) or not filename.strip():
            abort(400)
        filename = filename.strip()
        if text_problem(filename) or text_problem(xml):
            abort(400)
        return filename, xml.encode("utf-8")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400)
    return upload.filename, upload.read(MAX_UPLOAD + 1)


# ---------------------------------------------------------------- definitions and versions

@bp.get("/")
@designer_required
def index():
    """Every process and decision with its versions."""
    return render_template("designer/index.html", definitions=admin.list_definitions(get_uow()))


@bp.get("/<key>/")
@designer_required
def definition(key: str):
    """One key: versions (who, when, hash, instances), diff, rollback, migration, edit."""
    summary = admin.get_definition(get_uow(), key)
    return render_template("designer/definition.html", d=summary)


@bp.get("/<key>/v<int:version>.xml")
@designer_required
def download(key: str, version: int):
    """The XML of one version, as a file."""
    filename, xml = admin.version_xml(get_uow(), key, version)
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    suffix = ".dmn" if filename.endswith(".dmn") else ".bpmn"
    return send_download(xml, f"{stem[:100]}-v{version}{suffix}", "application/xml",
                         inline=request.args.get("inline") == "1")


@bp.get("/<key>/diff")
@designer_required
def diff(key: str):
    """What changed between two versions."""
    old, new = request.args.get("old", type=int), request.args.get("new", type=int)
    if not old or not new:
        abort(400)
    return render_template("designer/diff.html", key=key,
                           diff=admin.diff_versions(get_uow(), key, old, new))


# ---------------------------------------------------------------- editors, validate, deploy

@bp.get("/new")
@designer_required
def new():
    """The modeler with an empty process (or decision with ?kind=decision)."""
    kind = "decision" if request.args.get("kind") == "decision" else "process"
    return render_template("designer/editor.html", key=None, version=None, kind=kind,
                           filename="new.dmn" if kind == "decision" else "new.bpmn")


@bp.get("/<key>/edit")
@designer_required
def edit(key: str):
    """The modeler on a version (the latest unless ?version=)."""
    dep = admin.deployment_of(get_uow(), key, request.args.get("version", type=int))
    return render_template("designer/editor.html", key=key, version=dep.version, kind=dep.kind,
                           filename=dep.filename)


@bp.post("/validate")
@designer_required
def validate():
    """Every finding of every check, as JSON, for the panel beside the diagram."""
    filename, data = _posted_file()
    return jsonify(_report_json(admin.validate_definition(get_uow(), data, filename)))


@bp.post("/deploy")
@designer_required
def deploy():
    """Validate, then deploy a new version when nothing blocks it (JSON or an upload form)."""
    filename, data = _posted_file()
    report, result = admin.deploy_validated(write_uow(), data, filename, g.actor.username)
    if result is None:
        discard_uow()
    url = url_for("designer.definition", key=result.key) if result else None
    if request.is_json:
        return jsonify(_report_json(report, version=result and result.version,
                                    created=result and result.created, url=url)), \
            200 if result else 422
    if result is None:
        flash(_("没有部署：文件有 %(n)s 个错误。", n=len(report.errors)), "error")
        return render_template("designer/findings.html", report=report,
                               findings=[_told(f) for f in report.findings]), 422
    if result.created:
        flash(_("已部署 %(key)s 第 %(v)s 版。", key=result.key, v=result.version), "success")
    else:
        flash(_("内容与最新版本相同，没有生成新版本。"), "success")
    return redirect(url)


@bp.post("/<key>/rollback")
@designer_required
def rollback(key: str):
    """Make an earlier version the latest again (as a new version with its content)."""
    version = request.form.get("version", type=int)
    try:
        result = admin.rollback_to(write_uow(), key, version or 0, g.actor.username,
                                   request.form.get("reason", ""))
    except (InvalidStateError, DefinitionError) as exc:
        discard_uow()
        message = tell_error(exc, str(get_locale())) if isinstance(exc, DefinitionError) \
            else str(exc)
        flash(_("没有回滚：%(msg)s", msg=message), "error")
        return redirect(url_for("designer.definition", key=key))
    flash(_("已回滚：第 %(old)s 版的内容成为第 %(new)s 版（最新）。", old=version,
            new=result.version), "success")
    return redirect(url_for("designer.definition", key=key))


# ---------------------------------------------------------------- migration

@bp.route("/<key>/migrate", methods=("GET", "POST"))
@designer_required
def migrate(key: str):
    """Preview (GET) and run (POST) moving running instances to a newer version."""
    source = request.values.get("from", type=int)
    target = request.values.get("to", type=int)
    if not source or not target:
        abort(400)
    if request.method == "POST":
        ids = [int(i) for i in request.form.getlist("instance") if i.isdigit()] or None
        result = instance_migration.migrate_instances(write_uow(), key, source, target,
                                                      g.actor.username, ids)
        flash(_("已迁移 %(n)s 个实例（%(t)s 个待办随新版本更新），%(m)s 个无法迁移，保持不变。",
                n=len(result.migrated), t=result.tasks_moved, m=len(result.skipped)), "success")
        return redirect(url_for("designer.definition", key=key))
    try:
        plan = instance_migration.preview_migration(get_uow(), key, source, target)
    except InvalidStateError as exc:
        flash(str(exc), "error")
        return redirect(url_for("designer.definition", key=key))
    return render_template("designer/migrate.html", plan=plan)


# ---------------------------------------------------------------- diagrams: version, instance

def _incident_marks(found: list[admin.ElementIncident]) -> list[dict]:
    """The incidents for the diagram's badges: what failed, and where to retry or resolve it."""
    marks = []
    for i in found:
        mark = {"element_id": i.element_id, "kind": i.kind, "message": i.message[:300],
                "instance": i.instance_id}
        if i.kind == "timer":
            mark["label"] = _("定时器失败 %(n)s 次", n=i.attempts)
            mark["retry_url"] = url_for("designer.retry", job_id=i.job_id)
        else:
            mark["label"] = _("步骤失败（事件 %(n)s）", n=i.number)
            mark["resolve_url"] = url_for("incidents.index") + f"#incident-{i.number}"
        marks.append(mark)
    return marks


@bp.get("/<key>/v<int:version>/")
@designer_required
def version(key: str, version: int):
    """A version's diagram with the instances waiting at each element and its incidents."""
    uow = get_uow()
    dep = admin.deployment_of(uow, key, version)
    return render_template("designer/version.html", dep=dep, heat=admin.heat_map(uow, dep.id),
                           incidents=admin.incidents(uow, dep.id),
                           marks=_incident_marks(admin.element_incidents(
                               uow, deployment_id=dep.id)))


@bp.post("/incidents/<job_id>/retry")
@designer_required
def retry(job_id: str):
    """Reset a timer incident so the worker tries it again."""
    admin.retry_incident(write_uow(), job_id, g.actor.username)
    flash(_("已重新安排定时器，稍后由后台执行。"), "success")
    return redirect(request.form.get("next") or url_for("designer.index"))


@bp.get("/instances/<int:instance_id>")
@designer_required
def instance(instance_id: int):
    """An instance on its diagram: where its tokens are and the path it has finished."""
    row = get_uow().session.get(ProcessInstance, instance_id)
    if row is None:
        abort(404)
    return render_template("designer/instance.html", instance=row,
                           waiting=sorted(set(admin.waiting_elements(row.state))),
                           finished=sorted(set(admin.finished_elements(row.state))),
                           marks=_incident_marks(admin.element_incidents(
                               get_uow(), instance_id=instance_id)))


# ---------------------------------------------------------------- dry run

def _steps_from(text: str) -> list[dry_run.SimulatedStep]:
    """One step a line: `groups | {"field": value}` (groups comma-separated; data optional)."""
    steps = []
    for line in text.splitlines():
        if not line.strip():
            continue
        groups, _sep, data = line.partition("|")
        steps.append(dry_run.SimulatedStep(
            tuple(g.strip() for g in groups.split(",") if g.strip()),
            json.loads(data) if data.strip() else {}))
    return steps


# ---------------------------------------------------------------- rehearsing the editor's draft

_STATUS = {"running": _l("运行中"), "completed": _l("已结束"), "cancelled": _l("已撤销"),
           "error": _l("出错")}
_WEEKDAYS = (_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日"))
_MOVES = {"hours": 24 * 31, "days": 400, "working_days": 250}  # the most one step may move


def _action(raw) -> dry_run.CompleteTask | dry_run.MoveTime:
    """One step of a rehearsal from the page:办理 a task, or move time forward."""
    if not isinstance(raw, dict):
        raise ValueError(_("步骤格式不对"))
    if raw.get("do") == "complete" and isinstance(raw.get("element_id"), str):
        data = raw.get("data") or {}
        if not isinstance(data, dict):
            raise ValueError(_("表单数据必须是 JSON 对象，如 {\"approved\": true}"))
        return dry_run.CompleteTask(raw["element_id"], data)
    if raw.get("do") == "move":
        amounts = {unit: raw.get(unit, 0) for unit in _MOVES}
        if (all(type(n) is int and 0 <= n <= _MOVES[unit] for unit, n in amounts.items())
                and any(amounts.values())):
            return dry_run.MoveTime(**amounts)
        raise ValueError(_("前进的时间应为 1 到 400 天（或相应的小时、工作日）"))
    raise ValueError(_("步骤格式不对"))


def _when(moment) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local:%Y-%m-%d %H:%M} {_WEEKDAYS[local.weekday()]}"


def _held_by(username: str | None) -> str | None:
    """Who holds a rehearsed task, by name; a name the county does not know is quoted."""
    if not username:
        return None
    known = names().person(username)  # the username itself for an account never made here
    return _(known) if known != username else _("未登记的用户 %(u)s", u=username)


def _step_json(step: dry_run.RehearsalStep) -> dict:
    """A rehearsal step for the page: names, times and states in the reader's language."""
    def timer(t: dry_run.FiredTimer) -> dict:
        return {"element_id": t.element_id, "name": t.name, "due": _when(t.due_at)}
    return {
        "action": step.action, "subject": step.subject, "at": _when(step.at),
        "status": str(_STATUS.get(step.status, step.status)), "error": step.error,
        "fired": [timer(t) for t in step.fired], "timers": [timer(t) for t in step.timers],
        "tasks": [{"element_id": t.element_id, "name": t.name,
                   "offered_to": _("、").join(_(names().group(c)) for c in t.candidates),
                   "assignee": _held_by(t.assignee),
                   "due": _when(t.due_at) if t.due_at else None, "sla": t.sla,
                   "sla_label": str(SLA_LABELS[t.sla]) if t.sla else None} for t in step.tasks],
    }


@bp.post("/rehearse")
@designer_required
def rehearse():
    """Run the editor's draft in a throwaway database, steps and time moves included (JSON)."""
    filename, data = _posted_file()
    body = request.get_json(silent=True) or {}
    start_data, raw_actions = body.get("data") or {}, body.get("actions") or []
    try:
        if not isinstance(start_data, dict) or not isinstance(raw_actions, list):
            raise ValueError(_("发起数据必须是 JSON 对象"))
        actions = [_action(raw) for raw in raw_actions]
        if len(actions) > dry_run.MAX_ACTIONS:
            raise ValueError(_("试运行最多 %(n)s 步", n=dry_run.MAX_ACTIONS))
        run = dry_run.rehearse_draft(get_uow(), filename, data, start_data, actions)
    except ValueError as exc:
        return jsonify({"ok": False, "error": str(exc)}), 422
    except DefinitionError as exc:
        report = admin.validate_definition(get_uow(), data, filename)
        findings = [_told(f) for f in report.errors] or [_told(admin.finding_of(exc))]
        return jsonify({"ok": False, "error": _("草稿不能部署，先修正错误"),
                        "findings": findings}), 422
    except GongjianError as exc:
        return jsonify({"ok": False, "error": str(exc)}), 422
    return jsonify({"ok": True, "key": run.key, "stopped": run.stopped,
                    "steps": [_step_json(step) for step in run.steps]})


@bp.route("/<key>/v<int:version>/dry-run", methods=("GET", "POST"))
@designer_required
def dry_run_page(key: str, version: int):
    """Run a version with chosen data and simulated users in a throwaway database."""
    dep = admin.deployment_of(get_uow(), key, version)
    report, error = None, None
    if request.method == "POST":
        try:
            data = json.loads(request.form.get("data") or "{}")
            report = dry_run.dry_run(get_uow(), key, version, data,
                                     _steps_from(request.form.get("steps", "")))
        except (ValueError, GongjianError) as exc:
            error = str(exc)
    return render_template("designer/dry_run.html", dep=dep, report=report, error=error,
                           form=request.form)
