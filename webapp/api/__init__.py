"""The JSON API under /api/v1 (flask-smorest): OpenAPI at /api/v1/openapi.json, docs at /api/docs.

Every blueprint authenticates the caller first (API token or browser session, see auth.py)
and answers every error with an RFC 9457 problem document (problems.py). The docs page uses
the Swagger UI files bundled in webapp/static/swagger-ui (no CDN).
"""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response

from ..security import csrf
from . import problems
from .schemas import ProblemSchema

API_PREFIX = "/api/v1"


class Api(_Api):
    """flask-smorest with problem documents as the error schema and content type."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        """A problem under /api; the plain werkzeug error page elsewhere (the pages' own)."""
        if problems.is_api_request():
            return problems.from_http_exception(error)
        return error

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def init_app(app: Flask) -> Api:
    """Register the API blueprints, its docs and the problem handlers on the app."""
    app.config.setdefault("API_TITLE", "Gongjian 攻坚 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "v1/openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/static/swagger-ui/")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": (
            "The platform's API for other systems. Authenticate with an API token made by an "
            "administrator: `Authorization: Bearer gj_…`. Errors are RFC 9457 problem "
            "documents (`application/problem+json`). Lists are paged with `limit` and the "
            "`cursor` of the page before.")},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "description": "an API token (gj_…)"}}},
    })
    api = Api(app)
    from . import admin, definitions, instances, issues, messages, org, projects, signals, tasks
    from . import attachments
    for module in (definitions, instances, tasks, messages, signals, issues, projects, admin,
                   org, attachments):
        bp = module.bp
        csrf.exempt(bp)  # auth.authenticate applies CSRF to session calls itself
        api.register_blueprint(bp, url_prefix=API_PREFIX + bp.url_prefix)
    problems.route_app_errors(app)
    return api

