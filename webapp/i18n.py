"""Languages: Simplified Chinese by default, English when chosen (Flask-Babel)."""

from __future__ import annotations

from flask import Flask, redirect, request, session, url_for
from flask_babel import Babel

LANGUAGES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    """The language chosen in this session, else Chinese."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "zh_CN"


def init_app(app: Flask) -> None:
    """Set up Babel and the language switch."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES

    @app.get("/lang/<code>")
    def set_language(code: str):
        if code in LANGUAGES:
            session["lang"] = code
        target = request.referrer or ""
        return redirect(target if target.startswith(request.host_url) else url_for("index"))
