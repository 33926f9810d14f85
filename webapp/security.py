"""Browser-facing protection shared by the blueprints: CSRF (Flask-WTF) and response headers.

The content security policy lets the pages run only the scripts and styles served from
/static; the one inline script (the API docs' start-up) carries the request's nonce.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g
from flask_wtf.csrf import CSRFProtect

from . import inputs

csrf = CSRFProtect()

MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # the API takes several 5 MB definition files at once


def csp_nonce() -> str:
    """This request's nonce for an inline <script> or <style> (one per request)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    """The policy: own origin only; no plugins, no framing, no inline script without nonce."""
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        # bpmn-js and Swagger UI position SVG and popups with style attributes; an attribute
        # cannot load or run anything, unlike a <style> element or a script.
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def set_security_headers(response: Response) -> Response:
    """Every response: CSP, no sniffing, no framing, no cross-site referrers; HSTS over HTTPS."""
    from flask import current_app
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if g.get("actor") is not None and response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")  # no signed-in page in shared caches
    return response


def init_app(app: Flask) -> None:
    """CSRF, the nonce for templates, the headers, the request size limit and the limits of
    a form's values (inputs.py)."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    csrf.init_app(app)
    inputs.init_app(app)  # after CSRF: a forged form is refused as forged
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_security_headers)
