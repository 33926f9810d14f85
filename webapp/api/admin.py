"""Administration: API tokens and webhook subscriptions with their deliveries (administrators)."""

from __future__ import annotations

from flask.views import MethodView

from engine.ops import tokens, webhooks

from ..db import get_platform, get_uow, write_uow
from .auth import current_actor, roles
from .base import api_blueprint
from .schemas import (
    DeliveryListArgs, DeliverySchema, TokenArgs, TokenSchema, WebhookArgs, WebhookSchema,
)

bp = api_blueprint("api_admin", __name__, "/admin",
                   "API tokens and outgoing webhooks (administrators only)")
FORBIDDEN = "Administrators only"


def _token(view: tokens.TokenView, secret: str | None = None) -> dict:
    body = {**view.__dict__, "active": view.active}
    if secret:
        body["secret"] = secret
    return body


@bp.route("/tokens")
class Tokens(MethodView):
    """API tokens."""

    @bp.response(200, TokenSchema(many=True))
    @bp.alt_response(403, description=FORBIDDEN)
    def get(self):
        """Every token, newest first, with its last use (never the secret)."""
        return [_token(t) for t in tokens.list_tokens(get_uow(), current_actor())]

    @roles("admin")
    @bp.arguments(TokenArgs)
    @bp.response(201, TokenSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(409, description="A token of that name exists")
    def post(self, args):
        """Issue a token acting with the given roles (at the unit); the secret is shown once."""
        issued = tokens.create_token(write_uow(), current_actor(), args["name"],
                                         args["roles"], unit_code=args.get("unit_code"))
        return _token(issued.token, issued.secret)


@bp.route("/tokens/<int:token_id>")
class Token(MethodView):
    """One token."""

    @bp.response(200, TokenSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such token")
    def delete(self, token_id):
        """Revoke a token: it stops working at once."""
        return _token(tokens.revoke_token(write_uow(), current_actor(), token_id))


@bp.route("/webhooks")
class Webhooks(MethodView):
    """Webhook subscriptions."""

    @bp.response(200, WebhookSchema(many=True))
    @bp.alt_response(403, description=FORBIDDEN)
    def get(self):
        """Every subscription."""
        return webhooks.list_subscriptions(get_uow(), current_actor())

    @roles("admin")
    @bp.arguments(WebhookArgs)
    @bp.response(201, WebhookSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(422, description="A field is invalid, e.g. a URL that resolves to a "
                     "private, loopback or link-local address of a host not allowed by name")
    def post(self, args):
        """Register a URL for one event kind; the answer carries the signing secret once."""
        return webhooks.create_subscription(write_uow(), current_actor(), args["url"],
                                            args["event_kind"], format=args["format"],
                                            targets=get_platform().webhook_targets)


@bp.route("/webhooks/<int:subscription_id>")
class Webhook(MethodView):
    """One subscription."""

    @bp.response(200, WebhookSchema)
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such webhook")
    def delete(self, subscription_id):
        """Stop sending events to this URL (queued deliveries still go)."""
        return webhooks.deactivate_subscription(write_uow(), current_actor(), subscription_id)


@bp.route("/webhooks/<int:subscription_id>/deliveries")
class Deliveries(MethodView):
    """Deliveries of one subscription."""

    @bp.arguments(DeliveryListArgs, location="query")
    @bp.response(200, DeliverySchema(many=True))
    @bp.alt_response(403, description=FORBIDDEN)
    @bp.alt_response(404, description="No such webhook")
    def get(self, args, subscription_id):
        """Deliveries with their status, attempts and last error, newest first."""
        return webhooks.list_deliveries(get_uow(), current_actor(),
                                        subscription_id=subscription_id,
                                        status=args.get("status"), limit=args["limit"])
