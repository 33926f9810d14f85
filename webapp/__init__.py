"""The thin Flask shell over the engine: pages, login and the task inbox."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from datetime import timedelta
from typing import Any

from flask import Flask, redirect, send_from_directory, url_for

from engine.core.config import (
    DEFAULT_INSTANCE_DIR, Settings, SmtpSettings, webhook_allow_hosts_from_env,
)
from engine.ops.platform import Platform

from . import converters


def _instance_secret_key() -> str:
    """A random key made once per install and kept in the instance folder (mode 0600).

    Sessions then survive restarts without anyone having to set SECRET_KEY; several web
    nodes must share one key, so production sets SECRET_KEY explicitly.
    """
    folder = Path(os.environ.get("GONGJIAN_INSTANCE_DIR", DEFAULT_INSTANCE_DIR))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        # Written whole under a private name, then linked into place: when several workers
        # start together on a fresh install, the first link wins and nobody reads a key
        # half-written (os.link refuses to replace an existing file).
        draft = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: one engine Platform per app, blueprints, CSRF, i18n and error pages.

    `config` overrides settings: `DATABASE_URL`, `SECRET_KEY`, `TESTING`, `CLOCK`
    (an engine clock, e.g. a FrozenClock in tests), `WEBHOOK_ALLOW_HOSTS` (hosts webhooks
    may reach on private addresses; else GONGJIAN_WEBHOOK_ALLOW_HOSTS).
    """
    app = Flask(__name__)
    converters.init_app(app)  # before any route is added
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        DATABASE_URL=None,
        CLOCK=None,
        WEBHOOK_ALLOW_HOSTS=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),  # absolute limit of a login
        # The cookie is sent again only when the session changed (see webapp.auth: the idle
        # clock moves on page visits), so a background request cannot put back an older one.
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_IDLE_TIMEOUT=timedelta(minutes=30),
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        WTF_CSRF_TIME_LIMIT=None,
    )
    if config:
        app.config.update(config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = Settings.from_env().database_url
    # Cookies travel only over HTTPS in production; debug and tests run on plain HTTP.
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    if not (app.debug or app.testing or app.config.get("INSECURE_COOKIES")):
        app.config["SESSION_COOKIE_SECURE"] = True
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key()

    if app.config["WEBHOOK_ALLOW_HOSTS"] is None:
        app.config["WEBHOOK_ALLOW_HOSTS"] = webhook_allow_hosts_from_env()

    if app.config.get("SMTP") is None:
        app.config["SMTP"] = SmtpSettings.from_env()

    app.extensions["gongjian"] = Platform(app.config["DATABASE_URL"], app.config["CLOCK"],
                                          webhook_allow_hosts=app.config["WEBHOOK_ALLOW_HOSTS"],
                                          smtp=app.config["SMTP"])

    from . import (
        api, audit_trails, auth, battle_map, db, designer, errors, filters, i18n, notifications,
        processes, schedule, supervision, tasks,
    )
    from . import security
    from . import delegation
    from . import admin
    from . import projects
    from . import incidents
    from . import approval_sheets
    from . import statistics
    from . import search
    from . import channels
    from . import bulk
    from . import instances_admin
    from . import attachments
    from . import extensions

    security.init_app(app)  # CSRF, security headers, request size limit
    i18n.init_app(app)
    db.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(designer.bp)
    app.register_blueprint(battle_map.bp)
    app.register_blueprint(audit_trails.bp)
    app.register_blueprint(delegation.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(schedule.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(approval_sheets.bp)
    app.register_blueprint(statistics.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(channels.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(instances_admin.bp)
    attachments.init_app(app)  # the download route; the upload forms' request limit
    app.register_blueprint(extensions.bp)
    api.init_app(app)  # the JSON API under /api/v1, after the pages' error handlers

    @app.get("/")
    def index():
        return redirect(url_for("tasks.mine"))

    @app.get("/favicon.ico")
    def favicon():
        """The site's icon, where browsers ask for it whatever the page says."""
        return send_from_directory(app.static_folder, "favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=86400)

    return app
