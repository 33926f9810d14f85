"""The task inbox: my tasks, group tasks to claim, tasks done, and the task page."""

from __future__ import annotations

from flask import (
    Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for,
)
from flask_babel import gettext as _

from engine.bpm import bulk, inbox, pickers, runtime, task_actions
from engine.county import matter, supervision
from engine.core.clock import as_utc
from engine.core.errors import ConflictError, TaskDataError
from engine.bpm.sla import SLA_STATES

from . import attachments as attached
from .auth import login_required
from .db import discard_uow, get_uow, write_uow
from .filters import local_time, names as display_names, sla_of
from .forms import data_from, field_errors, input_fields, with_choices
from .history import ACTIONS, timeline

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def _filtered(tasks: list) -> list:
    """Tasks narrowed by the `process` and `sla` query arguments."""
    process, sla = request.args.get("process") or None, request.args.get("sla") or None
    def sla_matches(task) -> bool:
        state = sla_of(task.due_at)
        return state is not None and state.state == sla
    return [t for t in tasks if (process is None or t.process_key == process)
            and (sla is None or sla_matches(t))]


def _inbox(template_title: str, tasks: list, kind: str, all_count: int | None = None,
           next_page: str | None = None):
    uow = get_uow()
    processes = inbox.process_names(uow)
    shown = tasks if all_count is not None else _filtered(tasks)
    withdrawable = (task_actions.withdrawable(uow, g.actor, [t.id for t in shown])
                    if kind == "done" else set())
    bulk_people = ([(c.value, c.label) for c in pickers.people(uow, g.actor)]
                   if kind == "mine" and shown else [])
    return render_template("tasks/list.html", title=template_title, tasks=shown,
                           all_count=len(tasks) if all_count is None else all_count,
                           processes=processes, kind=kind, withdrawable=withdrawable,
                           next_page=next_page, bulk_people=bulk_people,
                           bulk_approvable=bulk.approvable)


PAGE = 50


def _after() -> inbox.TaskKey | None:
    """The list position in the `after` argument (a page link), or None for the first page."""
    try:
        due, created, task_id = (request.args.get("after") or "").split(",")
        return as_utc(due), as_utc(created), task_id
    except ValueError:
        return None  # no or a garbled position: the first page


def _open_list(scope: str, title: str):
    """A page of open tasks, filtered in the database by process and SLA, with a next link."""
    sla = request.args.get("sla") or None
    tasks = inbox.list_tasks(get_uow(), g.actor, scope=scope,
                             process_key=request.args.get("process") or None,
                             sla_state=sla if sla in SLA_STATES else None,
                             after=_after(), limit=PAGE + 1)
    next_page = None
    if len(tasks) > PAGE:
        tasks = tasks[:PAGE]
        due, created, task_id = inbox.task_key(tasks[-1])
        next_page = url_for(request.endpoint, **{
            **request.args, "after": f"{due.isoformat()},{created.isoformat()},{task_id}"})
    counts = inbox.count_tasks(get_uow(), g.actor)
    return _inbox(title, tasks, scope, all_count=counts[scope], next_page=next_page)


@bp.get("/")
@login_required
def mine():
    """我的待办: open tasks I hold, soonest due first."""
    return _open_list("mine", _("我的待办"))


@bp.get("/group")
@login_required
def group():
    """待认领: open tasks offered to my groups that nobody holds yet."""
    return _open_list("group", _("待认领"))


@bp.get("/done")
@login_required
def done():
    """已办: tasks I completed, newest first."""
    return _inbox(_("已办"), inbox.completed_tasks(get_uow(), g.actor), "done")


@bp.get("/copied")
@login_required
def copied():
    """抄送我的: tasks others copied to me."""
    return _inbox(_("抄送我的"), task_actions.copied_to_me(get_uow(), g.actor), "copied")


def render_task(task_id: str, *, status: int = 200, errors: dict | None = None,
                values=None):
    """The task page: form, decision buttons, other actions and the history timeline."""
    uow = get_uow()
    row = task_actions.load_task(uow, task_id, g.actor)
    task = runtime.task_view(row)
    decision = task_actions.has_decision(task.form)
    # 转办, 委派, 加签, 抄送 go to a person picked by name: 张三（县自然资源局）.
    users = [(c.value, c.label) for c in pickers.people(uow, g.actor)]
    actions = task_actions.allowed_actions(row, g.actor, uow.oversight)
    if "withdraw" in actions and task.id not in task_actions.withdrawable(uow, g.actor, [task.id]):
        actions = tuple(a for a in actions if a != "withdraw")
    diagram = inbox.task_diagram(uow, row)
    names = matter.Names(uow, display_names())
    return render_template(
        "tasks/task.html", task=task, decision=decision,
        fields=with_choices(input_fields(task.form, decision=decision),
                            pickers.choices_for(uow, g.actor, task.form)), actions=actions,
        return_targets=(task_actions.return_targets(uow, task_id, g.actor)
                        if "return" in actions else []),
        delegator=task_actions.delegated_by(row), diagram=diagram,
        process_name=inbox.process_names(uow).get(task.process_key, task.process_key),
        history=timeline(uow, task.instance_id, names), users=users,
        matter=matter.matter_view(uow, row, names),
        assignee=matter.holders(names, task)[0] if task.assignee else None,
        attachments=attached.listed(uow, task.instance_id, names),
        multipart=attached.has_file_field(task.form),
        errors=errors or {}, values=values if values is not None else {}), status


@bp.get("/<task_id>")
@login_required
def show(task_id: str):
    """One task."""
    return render_task(task_id)


@bp.get("/<task_id>/diagram.xml")
@login_required
def diagram_xml(task_id: str):
    """The BPMN XML the task's diagram is drawn from, for a task the user may see."""
    diagram = inbox.task_diagram(get_uow(), task_actions.load_task(get_uow(), task_id, g.actor))
    if diagram is None:
        abort(404)
    return Response(diagram.xml, mimetype="application/xml",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"})


@bp.post("/<task_id>/claim")
@login_required
def claim(task_id: str):
    """认领."""
    task = task_actions.claim(write_uow(), task_id, g.actor)
    flash(_("已认领：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    """取消认领."""
    task = task_actions.unclaim(write_uow(), task_id, g.actor)
    flash(_("已取消认领：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.group"))


@bp.post("/<task_id>/complete")
@login_required
def complete(task_id: str):
    """提交 a form, or 同意/退回/不同意 on a decision task; errors come back at the fields."""
    uow = write_uow()
    checked = task_actions.prepare(uow, "complete", task_id, g.actor)  # decide: the same rule
    task = checked.subject
    decision = task_actions.has_decision(task.form)
    data = data_from(task.form, request.form, decision=decision)
    files, refused = attached.take_uploads(uow, task.form)
    if refused:
        discard_uow()
        flash(_("请修改标出的内容后再提交。"), "error")
        return render_task(task_id, status=400, errors=refused, values=request.form)
    data.update(files)
    try:
        if decision:
            task_actions.decide(uow, task_id, g.actor, request.form.get("decision", ""),
                                request.form.get("opinion", ""), data, checked=checked)
        else:
            task_actions.complete(uow, task_id, g.actor, data, checked=checked)
    except TaskDataError as exc:
        discard_uow()
        flash(_("请修改标出的内容后再提交。"), "error")
        return render_task(task_id, status=400, errors=field_errors(exc.field_errors),
                           values=request.form)
    flash(_("已办理：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.mine"))


def _failed(task_id: str, exc: TaskDataError):
    """The task page again with the errors at the fields of the form that was sent."""
    discard_uow()
    flash(_("请修改标出的内容后再提交。"), "error")
    return render_task(task_id, status=400, errors=field_errors(exc.field_errors),
                       values=request.form)


def _person(username: str) -> str:
    """A person as pages name them, 张三（县自然资源局）; the username when it is unknown."""
    picked = pickers.choice(get_uow(), g.actor, pickers.PickerKind("user"), username)
    return picked.label if picked else username


def _hand_over(task_id: str, service, message: str, *, stay: bool = False):
    """转办, 委派, 抄送 or 加签 to the user named in the form."""
    try:
        task = service(write_uow(), task_id, g.actor, request.form.get("to_user", ""),
                       request.form.get("why", ""))
    except TaskDataError as exc:
        return _failed(task_id, exc)
    flash(message % {"name": task.name, "user": _person(request.form.get("to_user", ""))},
          "success")
    return redirect(url_for("tasks.show", task_id=task_id) if stay else url_for("tasks.mine"))


@bp.post("/<task_id>/transfer")
@login_required
def transfer(task_id: str):
    """转办: the task now belongs to another user."""
    return _hand_over(task_id, task_actions.transfer, _("已将“%(name)s”转办给 %(user)s"))


@bp.post("/<task_id>/delegate")
@login_required
def delegate(task_id: str):
    """委派: another user works on it and hands it back."""
    return _hand_over(task_id, task_actions.delegate, _("已将“%(name)s”委派给 %(user)s"))


@bp.post("/<task_id>/cc")
@login_required
def carbon_copy(task_id: str):
    """抄送: another user may read the task."""
    return _hand_over(task_id, task_actions.carbon_copy, _("已将“%(name)s”抄送给 %(user)s"),
                      stay=True)


@bp.post("/<task_id>/sign-before")
@login_required
def sign_before(task_id: str):
    """前加签: another user signs first, then the task comes back."""
    return _hand_over(task_id, task_actions.add_signer_before,
                      _("已前加签：“%(name)s”先请 %(user)s 办理，之后回到您这里"))


@bp.post("/<task_id>/sign-after")
@login_required
def sign_after(task_id: str):
    """后加签: I sign now, another user signs after me."""
    return _hand_over(task_id, task_actions.add_signer_after,
                      _("已后加签：“%(name)s”交由 %(user)s 接着办理"))


@bp.post("/<task_id>/return")
@login_required
def return_to(task_id: str):
    """退回 to an earlier task of the instance, with a required opinion."""
    try:
        task = task_actions.return_task(write_uow(), task_id, g.actor,
                                        request.form.get("to_element_id", ""),
                                        request.form.get("opinion", ""))
    except TaskDataError as exc:
        return _failed(task_id, exc)
    flash(_("已退回到：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.mine"))


@bp.post("/<task_id>/withdraw")
@login_required
def withdraw(task_id: str):
    """撤回 a task I completed, while the next handler has not acted."""
    try:
        task = task_actions.withdraw(write_uow(), task_id, g.actor, request.form.get("why", ""))
    except ConflictError:
        discard_uow()
        flash(_("下一环节已经办理或流程已结束，不能撤回；没有做任何更改。"), "error")
        return redirect(url_for("tasks.done"))
    flash(_("已撤回：%(name)s，请重新办理", name=task.name), "success")
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.post("/<task_id>/remind")
@login_required
def remind(task_id: str):
    """催办 by those the table lets remind: the handlers of the open task are notified."""
    uow = write_uow()
    task = task_actions.prepare(uow, "remind", task_id, g.actor).subject
    supervision.remind_task(uow, task_id, g.actor, request.form.get("message", ""))
    flash(_("已催办：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/<task_id>/resolve")
@login_required
def resolve(task_id: str):
    """办理完毕交回 a delegated task."""
    task = task_actions.resolve_delegation(write_uow(), task_id, g.actor,
                                           request.form.get("opinion", ""))
    flash(_("已交回：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.mine"))


@bp.app_template_filter("local_iso")
def local_iso(value: str | None) -> str:
    """An ISO time of the matter's plain data in county time."""
    return local_time(as_utc(value)) if value else ""


@bp.app_template_global("action_label")
def action_label(action: str) -> str:
    """An audited action in words (提级, 收到消息 …)."""
    return str(ACTIONS.get(action, _("其他操作")))


NAV_CAP = 100  # a badge shows "99+" from here on, and its count reads no further


@bp.app_context_processor
def navigation_counts() -> dict:
    """Counts for the navigation: my open tasks and the group tasks waiting to be claimed."""
    if g.get("actor") is None:
        return {}
    if "nav_counts" not in g:
        try:
            g.nav_counts = inbox.count_tasks(get_uow(), g.actor, cap=NAV_CAP)
        except Exception:  # the counts must never break an error page
            g.nav_counts = {"mine": None, "group": None}
    return {"nav_counts": g.nav_counts}
