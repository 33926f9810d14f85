"""Errors under /api as RFC 9457 problem documents: never an HTML page, never a stack trace."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Response, current_app, json, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from engine.bpm.finding_texts import tell
from engine.core.errors import (
    ConflictError, DefinitionError, GongjianError, InvalidStateError, NotFoundError,
    PermissionDeniedError, TaskDataError, WorkflowExecutionError,
)

from ..db import discard_uow
from ..errors import record_incident

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:gongjian:problem:"
LOCATIONS = ("json", "query", "files", "form", "headers", "view_args", "path", "cookies")
log = logging.getLogger(__name__)

# domain error → (status, problem kind)
DOMAIN: list[tuple[type[GongjianError], int, str]] = [
    (NotFoundError, 404, "not-found"),
    (PermissionDeniedError, 403, "forbidden"),
    (ConflictError, 409, "conflict"),
    (InvalidStateError, 409, "invalid-state"),
    (TaskDataError, 422, "validation-failed"),
    (DefinitionError, 422, "definition-rejected"),
    # Nothing was changed and the cause is nearly always the submitted data (a start or
    # task value a script or decision table cannot use), so it is the client's to fix.
    (WorkflowExecutionError, 422, "workflow-failed"),
]
KINDS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
         405: "method-not-allowed", 409: "conflict", 412: "precondition-failed",
         413: "too-large", 415: "unsupported-media-type", 422: "validation-failed",
         428: "precondition-required", 429: "too-many-requests", 500: "internal-error",
         501: "not-implemented", 503: "unavailable"}


def is_api_request() -> bool:
    """Whether the current request is one of the JSON API's."""
    return request.path == "/api" or request.path.startswith("/api/")


def problem(status: int, detail: str | None = None, *, kind: str | None = None,
            errors: dict | None = None, headers: dict | None = None, **extra) -> Response:
    """A problem+json response."""
    body = {"type": TYPE_BASE + (kind or KINDS.get(status, "error")),
            "title": HTTPStatus(status).phrase, "status": status, "instance": request.path}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype=PROBLEM_JSON, headers=headers)
    return response


def field_errors(messages) -> dict[str, list[str]]:
    """marshmallow/webargs messages, flattened to field → list of strings."""
    if not isinstance(messages, dict):
        return {"_": [str(messages)]}
    if messages and set(messages) <= set(LOCATIONS):
        merged: dict = {}
        for location, inner in messages.items():
            if isinstance(inner, dict):
                merged.update(field_errors(inner))
            else:  # a message about the whole body (invalid JSON) is named by its location
                merged[location] = [str(m) for m in inner] if isinstance(inner, list) \
                    else [str(inner)]
        return merged
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            for sub, msgs in field_errors(value).items():
                out[f"{key}.{sub}"] = msgs
        elif isinstance(value, list):
            out[str(key)] = [m if isinstance(m, str) else json.dumps(m, ensure_ascii=False)
                             for m in value]
        else:
            out[str(key)] = [str(value)]
    return out


def from_http_exception(exc: HTTPException) -> Response:
    """A problem for an HTTP error raised by Flask, werkzeug or webargs."""
    discard_uow()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    detail = data.get("message") or (exc.description if status < 500 else None)
    if isinstance(exc, CSRFError):
        detail = ("a browser-session request must carry the CSRF token (X-CSRFToken header); "
                  "systems use an API token instead")
    if errors and status == 422:
        detail = detail or "the request has errors; see `errors`"
    return problem(status, detail, errors=field_errors(errors) if errors else None,
                   headers=headers or None)


def from_domain_error(exc: GongjianError) -> Response:
    """A problem for an engine error."""
    if isinstance(exc, ConflictError) and isinstance(exc.__cause__, OperationalError):
        return from_database_unavailable(exc)  # the database was busy, not another user first
    discard_uow()
    for cls, status, kind in DOMAIN:
        if isinstance(exc, cls):
            break
    else:
        status, kind = 400, "bad-request"
    extra = {}
    if isinstance(exc, DefinitionError):
        told = tell(exc.rule, exc.params, exc.message, "zh_CN")
        extra = {"filename": exc.filename, "line": exc.line, "element_id": exc.element_id,
                 "rule": exc.rule or None, "message_zh": told.message, "hint_zh": told.hint}
    errors = getattr(exc, "field_errors", None) or None
    if isinstance(exc, WorkflowExecutionError):
        log.warning("API workflow error: %s", exc)
        extra["incident"] = record_incident(exc)  # listed for designers and administrators
    return problem(status, str(exc), kind=kind, errors=errors, **extra)


def from_unexpected(exc: Exception) -> Response:
    """A 500 problem for anything unforeseen: logged in full, told to the client in one line."""
    discard_uow()
    log.exception("unexpected error in %s %s", request.method, request.path)
    incident = record_incident(exc)
    return problem(500, "an unexpected error occurred; it was recorded as an incident for the "
                   "administrator. Nothing you sent was saved unless a later read shows it.",
                   incident=incident)


def from_database_unavailable(exc: Exception) -> Response:
    """503 with Retry-After: the database could not be reached; nothing was written."""
    discard_uow()
    log.error("database unavailable in %s %s: %s", request.method, request.path, exc)
    text = f"{exc} {exc.__cause__}".lower()
    if "disk is full" in text or "no space left" in text:  # waiting will not help
        return problem(503, "the database's disk is full; nothing was saved, and what was "
                       "saved before is intact. Ask the administrator to free disk space, then "
                       "try again.", kind="unavailable")
    return problem(503, "the database is unavailable for the moment; nothing was saved. "
                   "Try again in a few seconds.", kind="unavailable", headers={"Retry-After": "5"})


def from_unstorable_data(exc: Exception) -> Response:
    """422: the database refused a value (too long for its column, say); nothing was saved."""
    discard_uow()
    log.warning("value refused by the database in %s %s: %s", request.method, request.path,
                exc)
    return problem(422, "a value could not be stored (too long, or a character the database "
                   "refuses); nothing was saved", kind="validation-failed")


def install(bp) -> None:
    """Register the problem handlers on an API blueprint."""
    bp.register_error_handler(DataError, from_unstorable_data)
    bp.register_error_handler(DBAPIError, from_database_unavailable)
    bp.register_error_handler(GongjianError, from_domain_error)
    bp.register_error_handler(HTTPException, from_http_exception)
    bp.register_error_handler(Exception, _unexpected_or_reraise)


def _unexpected_or_reraise(exc: Exception):
    if current_app.testing:
        raise exc  # tests see the real error and its traceback
    return from_unexpected(exc)


def route_app_errors(app) -> None:
    """Make the app's page error handlers answer /api requests with problems too.

    A 404 or 405 for a path no API view matched is handled at app level, where the pages'
    handlers render HTML; wrapping them keeps every answer under /api a problem document.
    """
    for handlers in app.error_handler_spec.get(None, {}).values():
        for cls, handler in list(handlers.items()):
            handlers[cls] = _api_aware(handler)


def _api_aware(handler):
    def handle(exc):
        if not is_api_request():
            return handler(exc)
        if isinstance(exc, HTTPException):
            return from_http_exception(exc)
        if isinstance(exc, GongjianError):
            return from_domain_error(exc)
        if isinstance(exc, DataError):
            return from_unstorable_data(exc)
        if isinstance(exc, DBAPIError):
            return from_database_unavailable(exc)
        return from_unexpected(exc)
    handle.__wrapped__ = handler
    return handle
