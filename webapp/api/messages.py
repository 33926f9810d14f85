"""BPMN messages from other systems, correlated by the engine to the one waiting instance."""

from __future__ import annotations

from flask.views import MethodView

from engine.bpm import messages

from ..db import write_uow
from .auth import before_body, current_actor, require_supervising
from .base import api_blueprint
from .schemas import MessageArgs, MessageResultSchema

bp = api_blueprint("api_messages", __name__, "/messages",
                   "Deliver a BPMN message to the instance waiting for it")


@bp.route("/<name>")
class Message(MethodView):
    """One message name."""

    @before_body(lambda **_view_args: require_supervising())
    @bp.arguments(MessageArgs)
    @bp.response(200, MessageResultSchema)
    @bp.alt_response(404, description="No instance waits for this message (under that key)")
    @bp.alt_response(409, description="More than one instance waits: give instance_id")
    def post(self, args, name):
        """Send message `name` with a payload to the instance waiting for it, found by
        business key and/or instance id (supervision and leadership roles)."""
        result = messages.send_message(write_uow(), name, current_actor(),
                                       business_key=args.get("business_key"),
                                       instance_id=args.get("instance_id"),
                                       payload=args["payload"])
        return {"message": name, "instance_id": result.id, "status": result.status,
                "row_version": result.row_version}
