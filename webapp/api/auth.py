"""Who is calling the API: an API token (systems) or the browser session (pages' users).

Token calls are exempt from CSRF (no cookie is involved); session calls that change
something must carry the CSRF token, exactly as the pages' forms do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request
from flask_smorest import abort

from engine.county import policy
from engine.core.identity import Actor
from engine.ops import tokens

from ..db import get_platform
from ..security import csrf

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _unauthorized(detail: str):
    abort(401, message=detail, headers={"WWW-Authenticate": 'Bearer realm="gongjian"'})


def authenticate() -> None:
    """Before each API request: put the caller on `g.actor`, or answer 401."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            _unauthorized("use `Authorization: Bearer <API token>`")
        with get_platform().uow() as uow:
            actor = tokens.authenticate_token(uow, secret.strip())
        if actor is None:
            _unauthorized("the API token is unknown or revoked")
        g.actor, g.api_token = actor, True
        return
    if g.get("actor") is None:
        _unauthorized("sign in, or send an API token as `Authorization: Bearer <token>`")
    g.api_token = False
    if request.method not in SAFE_METHODS:
        csrf.protect()


def current_actor() -> Actor:
    """The caller (set by `authenticate`)."""
    return g.actor


def require_any(*groups: str) -> Actor:
    """The caller, when in one of the groups; 403 otherwise."""
    actor = current_actor()
    if not actor.groups & set(groups):
        abort(403, message=f"{actor.username} needs one of the roles {', '.join(groups)}")
    return actor


def before_body(check: Callable[..., object]):
    """Decorate a view (above its `@bp.arguments`) to run `check(**view_args)` before the
    request body is parsed: a caller who may not act is refused with 403 (or 404 for what it
    may not see) whatever the body holds, and only a caller let through learns what was
    wrong with the body."""
    def decorate(view):
        @functools.wraps(view)
        def gated(*args, **kwargs):
            check(**kwargs)
            return view(*args, **kwargs)
        return gated
    return decorate


def roles(*groups: str):
    """`before_body` for a view open to the callers in one of the groups only."""
    return before_body(lambda **_view_args: require_any(*groups))


def oversees(actor: Actor) -> bool:
    """Whether the actor sees every instance and issue (the policy's oversight roles)."""
    return policy.oversees(actor)


def require_supervising() -> Actor:
    """The caller, when the policy lets it remind, escalate and send messages; 403 otherwise."""
    actor = current_actor()
    if not policy.may_supervise(actor):
        abort(403, message=f"{actor.username} may not remind, escalate or send supervision "
                           "messages; supervision, leadership and the sub-commanders do")
    return actor
