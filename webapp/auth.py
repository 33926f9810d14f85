"""Login, logout and the current actor."""

from __future__ import annotations

import functools

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import organisation
from engine.errors import NotFoundError

from .db import get_platform

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def load_actor() -> None:
    """Put the logged-in actor and their display name on `g` (None when logged out)."""
    g.actor, g.display_name = None, None
    username = session.get("username")
    if username is None:
        return
    # A short unit of work of its own, so the views start with no transaction open.
    with get_platform().uow() as uow:
        try:
            g.actor = organisation.actor_for(uow.session, username)
        except NotFoundError:
            session.clear()
            return
        g.display_name = uow.session.get(organisation.UserAccount, username).display_name


def login_required(view):
    """Send anonymous visitors to the login page, then back."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.actor is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def _safe_next(target: str | None) -> str:
    # Only same-site paths, so the login page cannot bounce users to another site.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.mine")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form; on success start a fresh session."""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        with get_platform().uow() as uow:
            actor = organisation.authenticate(uow.session, username,
                                              request.form.get("password", ""))
        if actor is not None:
            session.clear()
            session["username"] = actor.username
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        flash(_("用户名或密码不正确"), "error")
        return render_template("auth/login.html", username=username), 401
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout():
    """End the session."""
    session.clear()
    return redirect(url_for("auth.login"))
