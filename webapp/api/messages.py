"""BPMN messages from other systems, correlated by the engine to the one waiting instance."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from engine.county import inbound_messages, policy

from ..db import write_uow
from .auth import before_body, current_actor
from .base import api_blueprint
from .schemas import MessageArgs, MessageResultSchema

bp = api_blueprint("api_messages", __name__, "/messages",
                   "Deliver a BPMN message to the instance waiting for it")


def _may_send(**_view_args) -> None:
    """Supervision roles (for the desk's messages) and the integration role send messages."""
    actor = current_actor()
    if not (policy.may_supervise(actor) or inbound_messages.INTEGRATION_ROLE in actor.groups):
        abort(403, message=f"{actor.username} may not send messages; supervision, the "
                           "sub-commanders and integrated systems do")


@bp.route("/<name>")
class Message(MethodView):
    """One message name."""

    @before_body(_may_send)
    @bp.arguments(MessageArgs)
    @bp.response(200, MessageResultSchema)
    @bp.alt_response(404, description="No instance waits for this message (under that key)")
    @bp.alt_response(409, description="More than one instance waits: give instance_id")
    def post(self, args, name):
        """Send message `name` with a payload to the instance waiting for it, found by
        business key and/or instance id. `escalate_issue` and `list_issue` are the desk's
        escalation and listing, with their checks (the issue must be in the caller's
        scope; listing is for supervisors); any other message needs the `integration` role."""
        result = inbound_messages.send_message(write_uow(), current_actor(), name,
                                               business_key=args.get("business_key"),
                                               instance_id=args.get("instance_id"),
                                               payload=args["payload"])
        return {"message": name, "instance_id": result.id, "status": result.status,
                "row_version": result.row_version}
