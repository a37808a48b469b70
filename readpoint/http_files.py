"""Serving immutable files from Flask: the rules of :mod:`content.http_ranges` as a Response.

The body goes out through the server's ``wsgi.file_wrapper`` when it has one
(waitress does): the open file, positioned at the range's start, is handed to
the connection, and waitress's event loop sends it as fast as the phone reads,
from the file, without a worker thread. A phone that reads a 500 MB
audiobook for an hour, or walks out of Wi-Fi range mid-download, holds a
connection and an open file, never one of the few workers. Without a file
wrapper (Flask's test client) the bytes are read in chunks as before.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Response, request

from content.http_ranges import CHUNK, IMMUTABLE_CACHE, parse_range, plan_file_response, read_range

__all__ = ["send_immutable", "parse_range", "IMMUTABLE_CACHE"]


def _body(path: Path, start: int, length: int):
    """The response body for ``length`` bytes of ``path`` from ``start``: a file wrapper if the server has one."""
    file_wrapper = request.environ.get("wsgi.file_wrapper")
    if file_wrapper is None or length == 0:
        return read_range(path, start, length)
    handle = open(path, "rb")  # closed by the server once sent (or when the phone goes away)
    try:
        handle.seek(start)
        return file_wrapper(handle, CHUNK)  # waitress sends Content-Length bytes from here
    except BaseException:
        handle.close()
        raise


def send_immutable(path: Path, etag: str, media_type: str, *, download_name: str | None = None) -> Response:
    """Serve a content-addressed file with ETag/304, Range/206/416 and a year of caching."""
    plan = plan_file_response(request.headers, os.stat(path).st_size, etag, download_name=download_name)
    if plan.status in (304, 416):
        return Response(status=plan.status, headers=plan.headers)
    body = _body(path, plan.start, plan.length) if request.method != "HEAD" else []
    return Response(body, status=plan.status, headers=plan.headers, mimetype=media_type,
                    direct_passthrough=True)
