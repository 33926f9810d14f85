"""Process instances: start, list with filters, get with history, cancel (If-Match)."""

from __future__ import annotations

import json

from flask import g
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import bindparam, exists, or_, select

from engine.bpm import runtime, sla, start_forms, task_actions
from engine.bpm.projection import OPEN_STATES
from engine.bpm.task_access import seen_by
from engine.core.calendar_admin import load_calendar
from engine.core.db import constants
from engine.core.errors import NotFoundError
from engine.county import matter
from engine.core.identity import Actor
from engine.core.models import HumanTask, ProcessInstance

from ..converters import MAX_ID
from ..db import get_uow, write_uow
from .auth import before_body, current_actor, oversees
from .base import api_blueprint
from .etags import check_if_match, instance_etag
from .paging import decode_cursor, encode_cursor
from .schemas import (
    CancelArgs, InstanceListArgs, InstancePageSchema, InstanceSchema, StartInstanceArgs,
)

bp = api_blueprint("api_instances", __name__, "/instances",
                   "Process instances: start, follow, cancel")


def involved(actor: Actor):
    """SQL condition: the actor started the instance or may see one of its tasks (holds,
    ended, is offered, delegated or was copied one: engine/bpm/task_access.py)."""
    return or_(ProcessInstance.started_by == actor.username,
               exists().where(HumanTask.instance_id == ProcessInstance.id, seen_by(actor)))


def visible_instance(session, instance_id: int, actor: Actor) -> ProcessInstance:
    """The instance row when the actor may see it; NotFoundError otherwise (ids reveal nothing)."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    if not oversees(actor):
        query = query.where(involved(actor))
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"process instance {instance_id} does not exist or is not yours to see")
    return row


# Built once: every completion through the API answers with its instance's open tasks.
_TASKS = HumanTask.__table__
_OPEN_TASK_NAMES = (select(_TASKS.c.instance_id, _TASKS.c.name)
                    .where(_TASKS.c.instance_id.in_(bindparam("ids", expanding=True)),
                           _TASKS.c.state.in_(constants(OPEN_STATES)))
                    .order_by(_TASKS.c.created_at))


def open_task_names(session, ids: list[int]) -> dict[int, list[str]]:
    """Instance id → names of its open tasks."""
    names: dict[int, list[str]] = {}
    if ids:
        for instance_id, name in session.connection().execute(_OPEN_TASK_NAMES,
                                                              {"ids": list(ids)}):
            names.setdefault(instance_id, []).append(name)
    return names


def summary(row: ProcessInstance, open_tasks: list[str]) -> dict:
    """An instance in a list (no process data: lists never restore workflows)."""
    return {"id": row.id, "process_key": row.process_key, "version": row.deployment.version,
            "business_key": row.business_key, "status": row.status,
            "started_by": row.started_by, "started_at": row.started_at,
            "ended_at": row.ended_at, "row_version": row.row_version, "open_tasks": open_tasks}


def keyset(query, model_id, args) -> tuple:
    """Apply `id < cursor` (newest first) and the limit + 1 used to see if more follow."""
    after = decode_cursor(args["cursor"])
    if after is not None:
        if type(after[0]) is not int or not 0 < after[0] <= MAX_ID + 1:  # ids fit an integer
            abort(422, errors={"cursor": ["cursor of another list"]})
        query = query.where(model_id < after[0])
    return query.order_by(model_id.desc()).limit(args["limit"] + 1)


def paged(rows: list, limit: int, make) -> dict:
    """The page envelope of keyset rows fetched with limit + 1."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [make(r) for r in rows],
            "next_cursor": encode_cursor([rows[-1].id]) if more and rows else None}


def detail(uow, instance_id: int, view: runtime.InstanceView | None = None, *,
           steps: bool = False) -> dict:
    """An instance with its process data and history (`view`: the service's answer, when a
    service just ran on it, so the workflow need not be restored again); who acts next is
    read when no service ran (a GET) or when asked (`steps`: a start), so a completion reads
    its task once."""
    fresh = view is None or steps
    view = view or runtime.get_instance(uow, instance_id)
    history = [{"at": h.at, "actor": h.actor, "action": h.action, "task_id": h.task_id,
                "detail": json.loads(h.detail or "{}")}
               for h in runtime.instance_history(uow, instance_id)]
    names = open_task_names(uow.session, [instance_id]).get(instance_id, [])
    return {**view.__dict__, "data": json.loads(json.dumps(view.data, default=str)),
            "history": history, "open_tasks": names,
            **({"next_steps": next_steps(uow, instance_id)} if fresh else {})}


# The API's names of the SLA states (as the task list's `sla` filter names them).
_API_SLA = {"on_time": "ok", "due_soon": "due_soon", "overdue": "overdue"}


def next_steps(uow, instance_id: int) -> list[dict]:
    """Who acts next: each open step with its holders by name, due time and SLA state."""
    now, calendar = uow.clock.now(), load_calendar(uow.session)
    steps = []
    for step in matter.next_steps(uow, instance_id):
        state = sla.sla_state(step["due_at"], now, calendar)
        steps.append({**step, "sla": _API_SLA[state.state] if state else None,
                      "overdue_days": state.overdue_days if state else None})
    return steps


@bp.route("")
class Instances(MethodView):
    """Start and list."""

    @bp.arguments(InstanceListArgs, location="query")
    @bp.response(200, InstancePageSchema)
    def get(self, args):
        """Instances I started or have tasks in (administration and supervision: all), newest first."""
        actor, session = current_actor(), get_uow().session
        query = select(ProcessInstance)
        if not oversees(actor):
            query = query.where(involved(actor))
        for name in ("process_key", "business_key", "status"):
            if args.get(name):
                query = query.where(getattr(ProcessInstance, name) == args[name])
        rows = list(session.execute(keyset(query, ProcessInstance.id, args)).scalars())
        names = open_task_names(session, [r.id for r in rows])
        return paged(rows, args["limit"], lambda r: summary(r, names.get(r.id, [])))

    @bp.arguments(StartInstanceArgs)
    @bp.response(201, InstanceSchema)
    @bp.alt_response(403, description="The caller may not start it (not a candidate starter, "
                                      "not in the start event's lane), or nobody starts it by "
                                      "hand: the system or another process does")
    @bp.alt_response(404, description="No such process")
    def post(self, args):
        """Start the latest version of a process (its start form is validated: picker fields
        take only a unit, person or project of their list, for the caller)."""
        uow = write_uow()
        view = start_forms.start_with_form(uow, args["process_key"], current_actor(),
                                           business_key=args.get("business_key"),
                                           data=args["data"])
        return detail(get_uow(), view.id, view, steps=True), 201, {
            "ETag": instance_etag(view.row_version), "Location": f"{bp.url_prefix}/{view.id}"}


@bp.route("/<int:instance_id>")
class Instance(MethodView):
    """One instance."""

    @bp.response(200, InstanceSchema)
    @bp.alt_response(404, description="No such instance, or not yours to see")
    def get(self, instance_id):
        """An instance with its process data and history; ETag = row version."""
        uow = get_uow()
        row = visible_instance(uow.session, instance_id, current_actor())
        return detail(uow, instance_id), 200, {"ETag": instance_etag(row.row_version)}


def _may_cancel(instance_id: int) -> None:
    """Before the body, the write declared and the instance read once: 404 unless visible,
    412 for a stale If-Match, then the table's `cancel` (403 unless the caller started the
    instance or is an administrator, 409 once it ended)."""
    actor, uow = current_actor(), write_uow()
    row = visible_instance(uow.session, instance_id, actor)
    check_if_match(instance_etag(row.row_version))
    # The table reads the row from the session (no second statement) and checks it.
    g.checked = task_actions.prepare(uow, "cancel", instance_id, actor)


@bp.route("/<int:instance_id>/cancel")
class Cancel(MethodView):
    """Cancel."""

    @before_body(_may_cancel)
    @bp.arguments(CancelArgs)
    @bp.response(200, InstanceSchema)
    @bp.alt_response(403, description="Only the starter or an administrator cancels")
    @bp.alt_response(404, description="No such instance")
    @bp.alt_response(409, description="Already ended")
    @bp.alt_response(412, description="If-Match does not match the row version")
    def post(self, args, instance_id):
        """Cancel a running instance, with a reason; send If-Match to guard against races."""
        view = task_actions.cancel(get_uow(), instance_id, current_actor(), args["reason"],
                                   checked=g.checked)
        return detail(get_uow(), instance_id), 200, {"ETag": instance_etag(view.row_version)}
