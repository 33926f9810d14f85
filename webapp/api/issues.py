"""Issues (问题): register into the ledger, list, get, remind, escalate, supervision record.

An issue is one `issue_lifecycle` instance; its registered facts come from the audit event
of its start (lists never restore workflows), its open work from the human-task table.
"""

from __future__ import annotations

import json

from flask.views import MethodView
from sqlalchemy import select

from engine.bpm import start_forms
from engine.county import supervision_desk, supervision
from engine.core.errors import NotFoundError, PermissionDeniedError
from engine.county.issue_ledger import scope_of
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.bpm.projection import OPEN_STATES

from ..db import get_uow, write_uow
from .auth import SUPERVISORS, before_body, current_actor, oversees, require_any
from .base import api_blueprint
from .etags import instance_etag
from .instances import involved, keyset, paged
from .schemas import (
    EscalateArgs, EscalationSchema, IssueListArgs, IssuePageSchema, IssueSchema, ListArgs,
    ListingSchema,
    RegisterIssueArgs, ReminderSchema, RemindArgs, SupervisionSchema,
)

bp = api_blueprint("api_issues", __name__, "/issues",
                   "The issue ledger (问题台账) and its supervision (督办)")
ISSUE_PROCESS = "issue_lifecycle"
ESCALATE_MESSAGE = "escalate_issue"
FACTS = ("title", "project_code", "scope", "severity", "responsible_unit", "sub_command")
def open_tasks(tasks: list[HumanTask]) -> list[dict]:
    """Open tasks in summary form."""
    return [{"id": t.id, "name": t.name, "assignee": t.assignee, "due_at": t.due_at}
            for t in tasks]


def issue_views(session, rows: list[ProcessInstance]) -> list[dict]:
    """The ledger lines of issue instances."""
    ids = [r.id for r in rows]
    facts: dict[int, dict] = {}
    tasks: dict[int, list[HumanTask]] = {}
    if ids:
        for event in session.execute(select(AuditEvent).where(
                AuditEvent.instance_id.in_(ids), AuditEvent.action == "instance_started")
                ).scalars():
            facts[event.instance_id] = json.loads(event.detail or "{}").get("data") or {}
        for task in session.execute(select(HumanTask).where(
                HumanTask.instance_id.in_(ids), HumanTask.state.in_(OPEN_STATES))
                .order_by(HumanTask.created_at)).scalars():
            tasks.setdefault(task.instance_id, []).append(task)
    return [{**{k: facts.get(r.id, {}).get(k) for k in FACTS},
             "id": r.id, "status": r.status, "registered_by": r.started_by,
             "registered_at": r.started_at, "ended_at": r.ended_at,
             "rung": supervision.current_rung(session, instance_id=r.id),
             "row_version": r.row_version, "open_tasks": open_tasks(tasks.get(r.id, []))}
            for r in rows]


def _issue_row(session, issue_id: int) -> ProcessInstance:
    actor = current_actor()
    query = select(ProcessInstance).where(ProcessInstance.id == issue_id,
                                          ProcessInstance.process_key == ISSUE_PROCESS)
    if not oversees(actor):
        query = query.where(involved(actor))
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"issue {issue_id} does not exist or is not yours to see")
    return row


def _one(issue_id: int):
    uow = get_uow()
    uow.rollback()
    row = _issue_row(uow.session, issue_id)
    return issue_views(uow.session, [row])[0], 200, {"ETag": instance_etag(row.row_version)}


def _may_register(**_view_args) -> None:
    """Before the body: 404 when issue_lifecycle is not deployed, 403 outside its start lane."""
    start_forms.startable_process(get_uow(), ISSUE_PROCESS, current_actor())


def _supervising(issue_id: int) -> None:
    """Before the body: 403 outside supervision and leadership, 404 for an issue not seen."""
    require_any(*SUPERVISORS)
    _issue_row(get_uow().session, issue_id)


def _listing(issue_id: int) -> None:
    """Before the body: 404 for an issue not seen, 403 outside the supervision group."""
    _issue_row(get_uow().session, issue_id)
    if not scope_of(current_actor()).may_list:
        raise PermissionDeniedError(f"{current_actor().username} may not list or lift the "
                                    f"listing of issue {issue_id}; supervisors do")


@bp.route("")
class Issues(MethodView):
    """The ledger."""

    @bp.arguments(IssueListArgs, location="query")
    @bp.response(200, IssuePageSchema)
    def get(self, args):
        """Issues, newest first: all for supervision and administration, else those I
        registered or have work in."""
        session = get_uow().session
        query = select(ProcessInstance).where(ProcessInstance.process_key == ISSUE_PROCESS)
        if not oversees(current_actor()):
            query = query.where(involved(current_actor()))
        if args.get("project_code"):
            query = query.where(ProcessInstance.business_key == args["project_code"])
        if args.get("status"):
            query = query.where(ProcessInstance.status == args["status"])
        rows = list(session.execute(keyset(query, ProcessInstance.id, args)).scalars())
        result = paged(rows, args["limit"], lambda r: r)
        result["items"] = issue_views(session, result["items"])
        return result

    @before_body(_may_register)
    @bp.arguments(RegisterIssueArgs)
    @bp.response(201, IssueSchema)
    @bp.alt_response(403, description="Only the supervision lane registers issues")
    @bp.alt_response(404, description="issue_lifecycle is not deployed")
    def post(self, args):
        """问题登记: put an issue into the ledger; routing and assignment follow at once."""
        view = start_forms.start_with_form(write_uow(), ISSUE_PROCESS, current_actor(),
                                           business_key=args["project_code"], data=args)
        body, _, headers = _one(view.id)
        return body, 201, {**headers, "Location": f"/api/v1/issues/{view.id}"}


@bp.route("/<int:issue_id>")
class Issue(MethodView):
    """One issue."""

    @bp.response(200, IssueSchema)
    @bp.alt_response(404, description="No such issue, or not yours to see")
    def get(self, issue_id):
        """An issue with its current rung and open work."""
        return _one(issue_id)


@bp.route("/<int:issue_id>/remind")
class Remind(MethodView):
    """催办."""

    @before_body(_supervising)
    @bp.arguments(RemindArgs)
    @bp.response(201, ReminderSchema)
    @bp.alt_response(403, description="Only supervision and leadership remind")
    @bp.alt_response(404, description="No such issue")
    @bp.alt_response(409, description="The issue has no open work to remind")
    def post(self, args, issue_id):
        """Remind the handlers of every open task of the issue."""
        return supervision.remind_instance(write_uow(), issue_id, current_actor(),
                                           args.get("message"))


@bp.route("/<int:issue_id>/escalate")
class Escalate(MethodView):
    """升级."""

    @before_body(_supervising)
    @bp.arguments(EscalateArgs)
    @bp.response(201, EscalationSchema)
    @bp.alt_response(403, description="Only supervision and leadership escalate")
    @bp.alt_response(404, description="No such issue")
    @bp.alt_response(409, description="The issue is not being rectified (nothing to escalate)")
    def post(self, args, issue_id):
        """Escalate the issue one rung through its process (BPMN message `escalate_issue`);
        the process records the move with the reason given."""
        uow = write_uow()
        supervision_desk.escalate_issue(uow, current_actor(), issue_id, args["reason"])
        return supervision.escalation_history(uow.session, instance_id=issue_id)[-1]


@bp.route("/<int:issue_id>/listing")
class Listing(MethodView):
    """挂牌督办: listed supervision of one issue."""

    @before_body(_listing)
    @bp.arguments(ListArgs)
    @bp.response(201, ListingSchema)
    @bp.alt_response(403, description="Only the supervision group lists issues")
    @bp.alt_response(404, description="No such issue")
    @bp.alt_response(409, description="Not being rectified, or already listed")
    def post(self, args, issue_id):
        """List the issue under supervision with its own deadline (default five working days)."""
        return supervision_desk.list_issue(write_uow(), current_actor(), issue_id, args["reason"],
                                 args.get("due"))

    @before_body(_listing)
    @bp.arguments(EscalateArgs)
    @bp.response(200, ListingSchema)
    @bp.alt_response(403, description="Only the supervision group lifts a listing")
    @bp.alt_response(404, description="No such issue")
    @bp.alt_response(409, description="The issue is not listed")
    def delete(self, args, issue_id):
        """Lift the listing, with a reason."""
        return supervision_desk.lift_listing(write_uow(), current_actor(), issue_id, args["reason"])


@bp.route("/<int:issue_id>/supervision")
class Supervision(MethodView):
    """The supervision record."""

    @bp.response(200, SupervisionSchema)
    @bp.alt_response(404, description="No such issue")
    def get(self, issue_id):
        """Reminders and escalations of the issue, oldest first."""
        session = get_uow().session
        _issue_row(session, issue_id)
        return {"reminders": supervision.reminders(session, "instance", str(issue_id)),
                "escalations": supervision.escalation_history(session, instance_id=issue_id)}
