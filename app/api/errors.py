"""The one place where failures become HTTP answers.

Every handler rolls the session back first, so a failed request never leaves half a change
behind, then answers `{"error": {"code", "message", "details"}}`. Nothing here ever echoes an
exception's text for unexpected errors: that could leak SQL, values or secrets.
"""
import logging

from flask import Flask, current_app, has_request_context, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from app.domain.errors import AppError, ServiceUnavailable
from app.extensions import db

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


# An app that serves pages too (app.web) puts a renderer here: outside /api, errors answer HTML.
PAGE_RENDERER = "capconduit.error_page"


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    render_page = current_app.extensions.get(PAGE_RENDERER) if has_request_context() else None
    if render_page is not None and not is_api_request():
        return render_page(status, code, message, details or {}, headers)
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the request is failing anyway
        log.debug("rollback after error failed", exc_info=True)


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests field errors under their location (json, query…); clients want fields."""
    details: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            details.update(fields)
        else:
            details[location] = fields
    return details


def handle_app_error(error: AppError):
    _rollback_quietly()
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def handle_http_exception(error: HTTPException):
    _rollback_quietly()
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if status == 422 and isinstance(messages, dict):
        details = _flatten_webargs_messages(messages)
        if set(details) == {"_schema"}:
            # The body parsed as JSON but is not an object (a list, a string…).
            return error_response(400, "bad_request", "The request body must be a JSON object.",
                                  details)
        return error_response(422, "validation_failed", "Some fields are invalid.", details)
    if status == 400 and isinstance(messages, dict):
        return error_response(400, "bad_request", "The request body is not valid JSON.",
                              _flatten_webargs_messages(messages))
    code = HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
    message = data.get("message") or error.description or error.name
    return error_response(status, code, message, headers=data.get("headers"))


def handle_database_unavailable(error: DBAPIError):
    _rollback_quietly()
    if isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated:
        log.error("database unavailable: %s", type(error.orig).__name__ if error.orig else error)
        return handle_app_error(ServiceUnavailable("The database is unavailable; try again shortly."))
    return handle_unexpected(error)


def handle_unexpected(error: Exception):
    _rollback_quietly()
    log.exception("unhandled error")
    return error_response(500, "internal_error", "An unexpected error occurred.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
