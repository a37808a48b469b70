"""Turning exceptions into responses, in one place.

Under ``/api/`` every error is JSON of one shape,
``{"error": {"status": 404, "message": "..."}}``; everywhere else it is an
HTML page in the site layout. Unexpected exceptions are logged with their
traceback and shown as a plain 500, never as a traceback. When even the page
cannot be drawn (a request so malformed that no URL can be built for it, such
as a 5,000-character ``Host``), a small page without the layout is sent
instead: a malformed request never gets a 500.

Redirects that routing makes (``//book/x`` to ``/book/x``) carry a relative
``Location``: never one built from the request's ``Host`` header.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect

__all__ = ["init_app", "error_response"]

log = logging.getLogger(__name__)

KEPT_HEADERS = ("Allow", "Retry-After")


def _wants_json() -> bool:
    """Whether this request is an API request (JSON errors)."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def _bare_page(status: int) -> Response:
    """A minimal error page that needs no template, URL building or translation."""
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{status}</title></head>"
            f"<body><p>{status}</p><p><a href=\"/\">readpoint</a></p></body></html>")
    return Response(body, status=status, mimetype="text/html")


def error_response(status: int, message: str) -> Response:
    """The one error shape: JSON under /api/, an HTML page elsewhere (a bare page if that fails)."""
    if _wants_json():
        response = jsonify({"error": {"status": status, "message": message}})
        response.status_code = status
        return response
    if request_ctx.url_adapter is None:  # the request could not even be routed (a malformed Host)
        return _bare_page(status)
    try:
        page = render_template("errors/error.html", status=status, message=message)
    except Exception:  # noqa: BLE001 - boundary: the error page must not fail in turn
        log.exception("the error page for %d could not be drawn", status)
        return _bare_page(status)
    return Response(page, status=status, mimetype="text/html")


def _relative_routing_redirect(response: Response) -> Response:
    """Make routing's own redirect (Flask sends it without calling any handler) relative.

    Only path and query are kept, with one leading slash: never the ``Host``
    the request claimed. Redirects the views make are left as they are.
    """
    if isinstance(request.routing_exception, RequestRedirect) and "Location" in response.headers:
        target = urlsplit(response.headers["Location"])
        response.headers["Location"] = "/" + target.path.lstrip("/") + (f"?{target.query}" if target.query else "")
    return response


def _handle_http(error: HTTPException):
    """Render a deliberate HTTP error (404, 405, 416, ...)."""
    if error.code is None or error.code < 400:
        return error
    response = error_response(error.code, error.description or error.name)
    kept = dict(error.get_headers())
    for name in KEPT_HEADERS:
        if kept.get(name):
            response.headers[name] = kept[name]
    return response


def _handle_unexpected(error: Exception):
    """Log an unexpected exception and answer with a 500 in the one shape."""
    if isinstance(error, HTTPException):
        return _handle_http(error)
    log.exception("unhandled error on %s %s", request.method, request.path[:200])
    return error_response(500, InternalServerError.description)


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
    app.after_request(_relative_routing_redirect)
