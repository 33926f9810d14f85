"""Issues (问题): register into the ledger, list, get, remind, escalate, supervision record.

An issue is one `issue_lifecycle` instance; lists and records are read from the issue ledger
projection through engine/county/supervision_desk.py (lists never restore workflows), and
who sees or acts on which issue is engine/county/policy.py's answer, as on the pages.
"""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView
from flask_smorest import abort

from engine.bpm import start_forms
from engine.core.errors import NotFoundError, PermissionDeniedError
from engine.county import desk_actions, policy, supervision, supervision_desk
from engine.county.issue_ledger import ISSUE_PROCESS
from engine.county.supervision_desk import IssueRecord

from ..converters import MAX_ID
from ..db import get_uow, write_uow
from .auth import before_body, current_actor, require_supervising
from .base import api_blueprint
from .etags import instance_etag
from .paging import decode_cursor, encode_cursor
from .schemas import (
    EscalateArgs, EscalationSchema, IssueListArgs, IssuePageSchema, IssueSchema, ListArgs,
    ListingSchema, RegisterIssueArgs, ReminderSchema, RemindArgs, SupervisionSchema,
)

bp = api_blueprint("api_issues", __name__, "/issues",
                   "The issue ledger (问题台账) and its supervision (督办)")


def issue_body(record: IssueRecord) -> dict:
    """An issue record as the API's IssueSchema reads it."""
    return asdict(record)


def _one(issue_id: int):
    uow = get_uow()
    uow.rollback()  # read what the service just committed
    record = supervision_desk.issue_record(uow, current_actor(), issue_id)
    return issue_body(record), 200, {"ETag": instance_etag(record.row_version)}


def _before(args) -> int | None:
    """The issue id of the cursor (the last of the page before), or None."""
    after = decode_cursor(args["cursor"])
    if after is None:
        return None
    if type(after[0]) is not int or not 0 < after[0] <= MAX_ID + 1:  # ids fit an integer
        abort(422, errors={"cursor": ["cursor of another list"]})
    return after[0]


def _may_register(**_view_args) -> None:
    """Before the body: 404 when issue_lifecycle is not deployed, 403 for who is not one of
    its candidate starters (supervision, office, sub-commanders, department and township
    heads, specialists); which projects, the start form's project picker checks."""
    start_forms.startable_process(get_uow(), ISSUE_PROCESS, current_actor())


def _supervising(issue_id: int) -> None:
    """Before the body: 403 for who may not supervise at all, 404 for an issue not seen."""
    require_supervising()
    supervision_desk.issue_row(get_uow(), current_actor(), issue_id)


def _listing(issue_id: int) -> None:
    """Before the body: 404 for an issue not seen, 403 outside the supervision group."""
    actor = current_actor()
    supervision_desk.issue_row(get_uow(), actor, issue_id)
    if not policy.scope_of(actor).may_list:
        raise PermissionDeniedError(f"{actor.username} may not list or lift the listing of "
                                    f"issue {issue_id}; supervisors do")


@bp.route("")
class Issues(MethodView):
    """The ledger."""

    @bp.arguments(IssueListArgs, location="query")
    @bp.response(200, IssuePageSchema)
    def get(self, args):
        """Issues in the caller's scope, newest first: the county for supervision and
        leadership, a sub-commander's fields, else those of the caller's units."""
        limit = args["limit"]
        records = supervision_desk.issue_records(
            get_uow(), policy.scope_of(current_actor()), project_code=args.get("project_code"),
            status=args.get("status"), before=_before(args), limit=limit + 1)
        more, records = len(records) > limit, records[:limit]
        return {"items": [issue_body(r) for r in records],
                "next_cursor": encode_cursor([records[-1].id]) if more and records else None}

    @before_body(_may_register)
    @bp.arguments(RegisterIssueArgs)
    @bp.response(201, IssueSchema)
    @bp.alt_response(403, description="Only the issue process's candidate starters register "
                                      "issues (supervision, office, sub-commanders, department "
                                      "and township heads, specialists)")
    @bp.alt_response(404, description="issue_lifecycle is not deployed")
    def post(self, args):
        """问题登记: put an issue into the ledger; routing and assignment follow at once.

        The project must be one the caller may see, the responsible unit a department,
        township, zone or company, the sub-command one of the sub-commands (422 at the
        field otherwise)."""
        view = start_forms.start_with_form(write_uow(), ISSUE_PROCESS, current_actor(),
                                           business_key=args["project_code"], data=args)
        try:
            body, _, headers = _one(view.id)
            return body, 201, {**headers, "Location": f"/api/v1/issues/{view.id}"}
        except NotFoundError:
            # A township or specialist may register an issue that another unit handles:
            # the registrant gets it back this once and follows it as the instance it
            # started (the issue itself is seen by its responsible unit and field).
            record = supervision_desk.issue_records(get_uow(), policy.COUNTY,
                                                    before=view.id + 1, limit=1)[0]
            return issue_body(record), 201, {"ETag": instance_etag(record.row_version),
                                             "Location": f"/api/v1/instances/{view.id}"}


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
        return desk_actions.remind_item(write_uow(), current_actor(), "issue", str(issue_id),
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
        desk_actions.escalate_issue(uow, current_actor(), issue_id, args["reason"])
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
        return desk_actions.list_issue(write_uow(), current_actor(), issue_id, args["reason"],
                                       args.get("due"))

    @before_body(_listing)
    @bp.arguments(EscalateArgs)
    @bp.response(200, ListingSchema)
    @bp.alt_response(403, description="Only the supervision group lifts a listing")
    @bp.alt_response(404, description="No such issue")
    @bp.alt_response(409, description="The issue is not listed")
    def delete(self, args, issue_id):
        """Lift the listing, with a reason."""
        return desk_actions.lift_listing(write_uow(), current_actor(), issue_id,
                                         args["reason"])


@bp.route("/<int:issue_id>/supervision")
class Supervision(MethodView):
    """The supervision record."""

    @bp.response(200, SupervisionSchema)
    @bp.alt_response(404, description="No such issue")
    def get(self, issue_id):
        """Reminders and escalations of the issue, oldest first."""
        return supervision_desk.supervision_record(get_uow(), current_actor(), issue_id)
