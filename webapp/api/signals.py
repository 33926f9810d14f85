"""BPMN signals from other systems, delivered by the engine to every instance in scope that
waits for them."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from engine.bpm import signals

from ..db import write_uow
from .auth import before_body, current_actor
from .base import api_blueprint
from .schemas import SignalArgs, SignalResultSchema

bp = api_blueprint("api_signals", __name__, "/signals",
                   "Deliver a BPMN signal to the instances waiting for it")


def _may_send(**_view_args) -> None:
    """Integrated systems (the integration role) and administrators send signals."""
    actor = current_actor()
    if not signals.may_send_signal(actor):
        abort(403, message=f"{actor.username} may not send signals; integrated systems (the "
                           "integration role) and administrators do")


@bp.route("/<name>")
class Signal(MethodView):
    """One signal name."""

    @before_body(_may_send)
    @bp.arguments(SignalArgs)
    @bp.response(200, SignalResultSchema)
    @bp.alt_response(404, description="No running instance in scope waits for this signal")
    def post(self, args, name):
        """Send signal `name` to the running instances that wait for it: all of them
        (`scope` all), those of one business key, or one instance. The payload lands in the
        catching task's data as `<name>_payload`. Each instance receives it in its own
        transaction; one whose process fails on it is left as it was and listed in `failed`."""
        result = signals.send_signal(write_uow(), name, current_actor(), scope=args["scope"],
                                     business_key=args.get("business_key"),
                                     instance_id=args.get("instance_id"),
                                     payload=args["payload"])
        return {"signal": result.name, "scope": result.scope, "delivered": result.delivered,
                "failed": [{"instance_id": i, "detail": d} for i, d in result.failed]}
