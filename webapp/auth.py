"""Login, logout (here and everywhere), password change, session expiry and the current actor."""

from __future__ import annotations

import functools
import ipaddress
import unicodedata
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _

from engine.core import login_sessions, organisation
from engine.core.errors import NotFoundError

from .db import get_platform

bp = Blueprint("auth", __name__, url_prefix="/auth")

IDLE_TIMEOUT = timedelta(minutes=30)   # app.config["SESSION_IDLE_TIMEOUT"] overrides
ABSOLUTE_TIMEOUT = timedelta(hours=10)  # PERMANENT_SESSION_LIFETIME
# Peers whose X-Forwarded-For is believed (app.config["TRUSTED_PROXIES"] overrides): the
# nginx of deploy/ on the same host. Login throttling counts per client address, so behind
# the proxy the address must be the browser's, not the proxy's.
TRUSTED_PROXIES = ("127.0.0.1", "::1")


def _now() -> datetime:
    # The platform's clock, the one every service call reads: a test that freezes it
    # governs sessions and login locks too.
    return get_platform().clock.now()


def _absolute_limit() -> timedelta:
    return current_app.config.get("PERMANENT_SESSION_LIFETIME", ABSOLUTE_TIMEOUT)


def _expired(now: datetime) -> bool:
    """Whether the session has been idle too long or lived past its absolute limit."""
    idle = current_app.config.get("SESSION_IDLE_TIMEOUT", IDLE_TIMEOUT)
    absolute = _absolute_limit()
    try:
        login_at = datetime.fromisoformat(session["login_at"])
        seen_at = datetime.fromisoformat(session["seen_at"])
    except (KeyError, TypeError, ValueError):
        return True
    return now - seen_at > idle or now - login_at > absolute


@bp.before_app_request
def load_actor() -> None:
    """Put the logged-in actor and their display name on `g` (None when logged out).

    Ends the session when it is idle or too old, when it logged out (a copy of its cookie
    replayed), or when the account logged out everywhere.
    """
    g.actor, g.display_name, g.must_change_password = None, None, False
    username = session.get("username")
    if username is None:
        return
    now = _now()
    if _expired(now):
        session.clear()
        flash(_("登录已超时，请重新登录。"), "error")
        return
    # A short unit of work of its own, so the views start with no transaction open.
    with get_platform().uow() as uow:
        try:
            actor = organisation.actor_for(uow.session, username)
        except NotFoundError:
            session.clear()
            return
        account = uow.session.get(organisation.UserAccount, username)
        if (account.session_generation or 0) != session.get("generation"):
            session.clear()
            flash(_("您的账号已在其他地方退出或修改了密码，请重新登录。"), "error")
            return
        if not login_sessions.session_is_live(uow.session, username, session.get("sid"), now):
            session.clear()
            return
        g.actor, g.display_name = actor, account.display_name
        g.must_change_password = bool(account.must_change_password)
    if _is_a_visit():
        session["seen_at"] = now.isoformat()


# What an account with a one-time password may still open: the change itself, logging
# out, the language and static files.
OPEN_BEFORE_PASSWORD_CHANGE = frozenset({"auth.change_password", "auth.logout",
                                         "auth.logout_everywhere", "set_language", "static"})


@bp.before_app_request
def require_password_change():
    """An account with a one-time password (the first administrator, a new or reset account)
    changes it before anything else: a page sends it to the change-password page, and the API
    answers it as a caller not signed in."""
    if g.get("actor") is None or not g.get("must_change_password"):
        return None
    if request.endpoint in OPEN_BEFORE_PASSWORD_CHANGE:
        return None
    if request.path.startswith("/api/"):
        g.actor = None
        return None
    return redirect(url_for("auth.change_password"))


def _is_a_visit() -> bool:
    """Whether the request is a person opening a page or sending a form.

    Only visits move the idle clock. A request a page makes in the background (the task
    page fetching its diagram) must not write the session: its response would carry the
    cookie as it was when the page loaded, and replace one written meanwhile, losing the
    message (flash) a form submission had just stored there. Browsers say which is which
    in Sec-Fetch-Mode; a client that does not send it counts as a visit.
    """
    return (request.endpoint != "static"
            and request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate")


def login_required(view):
    """Send anonymous visitors to the login page, then back."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.actor is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: `target` when it is a path of this site, else the inbox."""
    return target if target and is_same_site_path(target) else url_for("tasks.mine")


def is_same_site_path(target: str) -> bool:
    """Whether `target` is a path on this site that no browser could read as another site.

    Checked as given, percent-decoded (thrice, for double encoding) and NFKC-normalised
    (full-width ／ and ＼ become / and \\): each form must start with one "/", have no
    scheme or host, no backslash, and no control, format or separator character but the
    plain space. Browsers drop tabs and newlines, so "/\\t/evil.example" is "//evil.example".
    """
    if len(target) > 2000:
        return False
    forms, decoded = [target], target
    for _ in range(3):
        decoded = unquote(decoded)
        forms.append(decoded)
    forms += [unicodedata.normalize("NFKC", form) for form in forms]
    return all(_is_plain_path(form) for form in forms)


def _is_plain_path(form: str) -> bool:
    if not form.startswith("/") or form.startswith("//") or "\\" in form:
        return False
    if any(ch != " " and (ord(ch) < 0x20 or ord(ch) == 0x7F
                          or unicodedata.category(ch)[0] in "CZ") for ch in form):
        return False
    parts = urlsplit(form)
    return not parts.scheme and not parts.netloc


def client_address() -> str | None:
    """The browser's address: the proxy's X-Forwarded-For when a trusted proxy sent the request."""
    peer = request.remote_addr
    if peer not in current_app.config.get("TRUSTED_PROXIES", TRUSTED_PROXIES):
        return peer
    # The last entry is the one the trusted proxy added; any before it came from the client.
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return peer


def _start_session(username: str, generation: int, now: datetime, token: str) -> None:
    session.clear()
    session["username"] = username
    session["generation"] = generation
    session["sid"] = token  # names the server-side session that logout ends
    session["login_at"] = session["seen_at"] = now.isoformat()
    session.permanent = True


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form; on success start a fresh session. Failures are throttled."""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:100]
        now = _now()
        with get_platform().uow() as uow:
            try:
                actor = organisation.login(uow, username,
                                           request.form.get("password", "")[:1000],
                                           client_address())
            except organisation.LoginLockedError:
                uow.commit()
                flash(_("登录失败次数过多，已暂时锁定，请 15 分钟后再试。"), "error")
                return render_template("auth/login.html", username=username), 429
            if actor is None:
                uow.commit()
                flash(_("用户名或密码不正确"), "error")
                return render_template("auth/login.html", username=username), 401
            uow.begin_write()
            must_change = uow.session.get(organisation.UserAccount,
                                          actor.username).must_change_password
            generation = organisation.session_generation(uow.session, actor.username)
            token = login_sessions.start_session(uow.session, actor.username, now,
                                                 _absolute_limit())
            uow.commit()
        _start_session(actor.username, generation or 0, now, token)
        if must_change:
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout():
    """End this session, on the server too: a copy of its cookie is refused afterwards."""
    token = session.get("sid")
    if token:
        with get_platform().uow() as uow:
            uow.begin_write()
            login_sessions.end_session(uow.session, token)
            uow.commit()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """End every session of the account, on every device, this one included."""
    with get_platform().uow() as uow:
        uow.begin_write()
        organisation.end_all_sessions(uow.session, g.actor.username)
        login_sessions.end_sessions_of(uow.session, g.actor.username)
        uow.commit()
    session.clear()
    flash(_("已在所有设备上退出登录。"), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=("GET", "POST"))
@login_required
def change_password():
    """Change one's own password; other sessions of the account end."""
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            flash(_("两次输入的新密码不一致"), "error")
            return render_template("auth/password.html"), 400
        now = _now()
        with get_platform().uow() as uow:
            try:
                generation = organisation.change_password(
                    uow.session, g.actor.username, request.form.get("current_password", ""),
                    new, now)
            except organisation.PasswordRuleError as exc:
                for problem in exc.problems:
                    flash(problem, "error")
                return render_template("auth/password.html"), 400
            # Every session of the account ends, this one too; this browser gets a new one.
            login_sessions.end_sessions_of(uow.session, g.actor.username)
            token = login_sessions.start_session(uow.session, g.actor.username, now,
                                                 _absolute_limit())
            uow.commit()
        _start_session(g.actor.username, generation, now, token)
        flash(_("密码已修改，其他设备上的登录已失效。"), "success")
        return redirect(url_for("tasks.mine"))
    return render_template("auth/password.html")
