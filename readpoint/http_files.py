"""Serving immutable files from Flask: the rules of :mod:`content.http_ranges` as a Response."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Response, request

from content.http_ranges import IMMUTABLE_CACHE, parse_range, plan_file_response, read_range

__all__ = ["send_immutable", "parse_range", "IMMUTABLE_CACHE"]


def send_immutable(path: Path, etag: str, media_type: str, *, download_name: str | None = None) -> Response:
    """Serve a content-addressed file with ETag/304, Range/206/416 and a year of caching."""
    plan = plan_file_response(request.headers, os.stat(path).st_size, etag, download_name=download_name)
    if plan.status in (304, 416):
        return Response(status=plan.status, headers=plan.headers)
    body = read_range(path, plan.start, plan.length) if request.method != "HEAD" else []
    return Response(body, status=plan.status, headers=plan.headers, mimetype=media_type,
                    direct_passthrough=True)
