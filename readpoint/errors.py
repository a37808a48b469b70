"""Turning exceptions into responses, in one place.

Under ``/api/`` every error is JSON of one shape,
``{"error": {"status": 404, "message": "..."}}``; everywhere else it is an
HTML page in the site layout. Unexpected exceptions are logged with their
traceback and shown as a plain 500, never as a traceback.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

__all__ = ["init_app", "error_response"]

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    """Whether this request is an API request (JSON errors)."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, message: str):
    """The one error shape: JSON under /api/, an HTML page elsewhere."""
    if _wants_json():
        response = jsonify({"error": {"status": status, "message": message}})
    else:
        response = render_template("errors/error.html", status=status, message=message)
    return response, status


def _handle_http(error: HTTPException):
    """Render a deliberate HTTP error (404, 405, 416, ...)."""
    if error.code is None or error.code < 400:
        return error
    response, status = error_response(error.code, error.description or error.name)
    if hasattr(response, "headers"):
        for name in ("Allow", "Retry-After"):
            if error.get_headers() and dict(error.get_headers()).get(name):
                response.headers[name] = dict(error.get_headers())[name]
    return response, status


def _handle_unexpected(error: Exception):
    """Log an unexpected exception and answer with a 500 in the one shape."""
    if isinstance(error, HTTPException):
        return _handle_http(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, InternalServerError.description)


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
