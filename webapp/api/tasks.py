"""Tasks: the caller's lists, one task with its form, and every action of the inbox."""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from engine.bpm import inbox, runtime, sla, task_actions
from engine.core.clock import as_utc
from engine.core.errors import TaskDataError
from engine.core.models import HumanTask
from engine.county import matter
from engine.bpm.projection import TaskRecord, load_tasks

from ..db import get_uow, write_uow
from ..filters import sla_of
from .auth import before_body, current_actor
from .base import api_blueprint
from .etags import check_if_match, instance_etag, task_etag
from .instances import detail
from .paging import decode_cursor, encode_cursor, page
from .schemas import (
    CompleteArgs, HandOverArgs, InstanceSchema, ResolveArgs, ReturnArgs, TaskListArgs,
    TaskPageSchema, TaskSchema, WithdrawArgs,
)

bp = api_blueprint("api_tasks", __name__, "/tasks",
                   "Human tasks: the inbox, forms, and approval actions")
ERRORS = {404: "No such task, or another unit's", 409: "Taken or ended by someone else",
          412: "If-Match does not match the task's ETag"}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _task(row: HumanTask | TaskRecord) -> dict:
    view = runtime.task_view(row)
    actor = current_actor()
    return {**view.__dict__, "form_fields": view.form.get("fields", []),
            "decision": task_actions.has_decision(view.form),
            # The task actions this API serves: without the oversight rule, so no 催办
            # (reminders go through /issues/<id>/remind).
            "actions": list(task_actions.allowed_actions(row, actor)),
            "delegated_by": task_actions.delegated_by(row)}


# The API's names of the SLA states.
API_SLA = {"ok": sla.ON_TIME, "due_soon": sla.DUE_SOON, "overdue": sla.OVERDUE}


def _open_page(args) -> dict:
    """A page of open tasks, filtered, ordered and cut in the database (see inbox.list_tasks)."""
    after = decode_cursor(args["cursor"])
    if after is not None:
        try:
            due, created, task_id = after
            after = (as_utc(due), as_utc(created), str(task_id))
        except (ValueError, TypeError, AttributeError):
            abort(422, message="the cursor does not fit this list; start again without it",
                  errors={"cursor": ["cursor of another list"]})
    limit = args["limit"]
    records = inbox.list_task_records(get_uow(), current_actor(), scope=args["scope"],
                                      process_key=args.get("process"),
                                      sla_state=API_SLA.get(args.get("sla")), after=after,
                                      limit=limit + 1)
    cursor = None
    if len(records) > limit:
        records = records[:limit]
        due, created, task_id = inbox.task_key(records[-1])
        cursor = encode_cursor([due.isoformat(), created.isoformat(), task_id])
    return {"items": records, "next_cursor": cursor}


def _listed(args) -> tuple[list, Callable]:
    """Tasks done or copied to me, newest first, and their cursor key."""
    uow, actor, scope = get_uow(), current_actor(), args["scope"]
    views = (inbox.completed_tasks(uow, actor, limit=5000) if scope == "done"
             else task_actions.copied_to_me(uow, actor, limit=5000))
    when = (lambda t: t.ended_at) if scope == "done" else (lambda t: t.created_at)
    # Newest first: a descending order with the id as the tie-break.
    views.sort(key=lambda t: (_iso(when(t)) or "", t.id), reverse=True)
    key = lambda t: [_neg(_iso(when(t)) or ""), _neg(t.id)]  # noqa: E731
    if args.get("process"):
        views = [t for t in views if t.process_key == args["process"]]
    if args.get("sla"):
        wanted = API_SLA[args["sla"]]
        views = [t for t in views if (s := sla_of(t.due_at)) is not None and s.state == wanted]
    return views, key


def _neg(text: str) -> str:
    # Turn a descending string order into an ascending one for the cursor comparison.
    return "".join(chr(0x10FFFF - ord(c)) for c in text) + "\U0010ffff"


@bp.route("")
class Tasks(MethodView):
    """The caller's task lists."""

    @bp.arguments(TaskListArgs, location="query")
    @bp.response(200, TaskPageSchema)
    def get(self, args):
        """My open tasks (held and offered to my groups), done, or copied to me."""
        if args["scope"] in inbox.TASK_SCOPES:
            result = _open_page(args)  # read as records already: once
            result["items"] = [_task(record) for record in result["items"]]
            return result
        views, key = _listed(args)
        result = page(views, key, args["limit"], args["cursor"])
        # Rows and candidates of the whole page in one statement.
        rows = load_tasks(get_uow().session, [t.id for t in result["items"]],
                          get_uow().clock.now())  # with who stands in now (委托)
        result["items"] = [_task(rows[t.id]) for t in result["items"]]
        return result


@bp.route("/<task_id>")
class Task(MethodView):
    """One task."""

    @bp.response(200, TaskSchema)
    @bp.alt_response(404, description=ERRORS[404])
    def get(self, task_id):
        """A task with its form fields and the actions I may take; ETag for If-Match."""
        uow = get_uow()
        row = task_actions.load_task(uow, task_id, current_actor())
        return ({**_task(row), "matter": matter.matter_view(uow, row)}, 200,
                {"ETag": task_etag(row)})


def _may(action: str):
    """The check run before the body is read: the write is declared and the task read once;
    404 for a task the caller may not see, 412 when If-Match is stale, then 403 or 409 when
    the transition table refuses the action now. The view hands the checked task on to the
    service, which neither reads nor checks it again."""
    def check(task_id: str) -> None:
        g.checked = task_actions.prepare(write_uow(), action, task_id, current_actor(),
                                         guard=lambda row: check_if_match(task_etag(row)))
    return check


def _after(task_id: str):
    uow = get_uow()
    uow.rollback()
    row = task_actions.load_task(uow, task_id, current_actor())
    return _task(row), 200, {"ETag": task_etag(row)}


def _action(name: str, service: str, doc: str, args_schema=None, call=lambda args: (),
            action: str | None = None):
    """Register POST /tasks/<id>/<name>: the task_actions `service`, with `call(args)` after
    (uow, task_id, actor); answers with the task as it stands afterwards. The transition
    table's `action` (default: the service's name) is checked before the body is read."""
    def run(task_id, args=None):
        getattr(task_actions, service)(get_uow(), task_id, current_actor(), *call(args),
                                       checked=g.checked)
        return _after(task_id)

    if args_schema:
        def view(args, task_id):
            return run(task_id, args)
    else:
        def view(task_id):
            return run(task_id)
    view.__name__, view.__doc__ = f"task_{service}", doc
    for status, text in ERRORS.items():
        view = bp.alt_response(status, description=text)(view)
    view = bp.response(200, TaskSchema)(view)
    if args_schema:
        view = bp.arguments(args_schema)(view)
    view = before_body(_may(action or service))(view)
    bp.route(f"/<task_id>/{name}", methods=["POST"], endpoint=f"task_{service}")(view)


def _to_user(args) -> tuple:
    return args["to_user"], args["why"]


_action("claim", "claim", "认领: take a group task as my own.")
_action("unclaim", "unclaim", "取消认领: give a claimed task back to its groups.")
_action("transfer", "transfer", "转办: hand the task to another user.", HandOverArgs, _to_user)
_action("delegate", "delegate", "委派: another user works on it, then hands it back to me.",
        HandOverArgs, _to_user)
_action("cc", "carbon_copy", "抄送: let another user read the task (`why` is the note).",
        HandOverArgs, _to_user)
_action("resolve", "resolve_delegation", "办理完毕交回: the delegate hands the task back.",
        ResolveArgs, lambda args: (args["opinion"],))
_action("add-signer-before", "add_signer_before",
        "前加签: another user signs first, then the task comes back to me.", HandOverArgs,
        _to_user)
_action("add-signer-after", "add_signer_after",
        "后加签: I sign now (`why` is my opinion) and another user signs after me.",
        HandOverArgs, _to_user)
_action("return", "return_task",
        "退回: send the process back to an earlier user task, with an opinion.", ReturnArgs,
        lambda args: (args["to_element_id"], args["opinion"]), action="return")
_action("withdraw", "withdraw", "撤回: recall a task I completed while nothing followed on it.",
        WithdrawArgs, lambda args: (args["why"],))


@bp.route("/<task_id>/complete", methods=["POST"], endpoint="task_complete")
@before_body(_may("complete"))  # decide has the same rule
@bp.arguments(CompleteArgs)
@bp.response(200, InstanceSchema)
@bp.alt_response(404, description=ERRORS[404])
@bp.alt_response(409, description=ERRORS[409])
@bp.alt_response(412, description=ERRORS[412])
def complete(args, task_id):
    """提交 with form data, or 同意/退回/不同意 on a decision task (an opinion is required to
    return or reject). Answers with the instance as it stands after the engine ran on."""
    actor, uow, checked = current_actor(), get_uow(), g.checked
    if task_actions.has_decision(checked.subject.form):
        if not args.get("decision"):
            raise TaskDataError("this task needs a decision: approve, return or reject",
                                {"decision": ["required"]})
        view = task_actions.decide(uow, task_id, actor, args["decision"], args["opinion"],
                                   args["data"], checked=checked)
    else:
        if args.get("decision"):
            raise TaskDataError("this task has no decision; send only `data`",
                                {"decision": ["not a decision task"]})
        view = task_actions.complete(uow, task_id, actor, args["data"], checked=checked)
    return detail(get_uow(), view.id, view), 200, {"ETag": instance_etag(view.row_version)}
