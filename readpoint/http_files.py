"""HTTP concerns of serving immutable files: byte ranges, strong ETags, caching.

Content-addressed files never change, so their sha256 is a perfect strong ETag
and they can be cached for a year. Ranges follow RFC 9110: one range per
request (phones' media players ask for one), ``If-Range`` honoured, 416 with
``Content-Range: bytes */size`` for a range past the end.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from flask import Response, request

__all__ = ["send_immutable", "parse_range", "IMMUTABLE_CACHE"]

IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
CHUNK = 64 * 1024
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
MAX_DIGITS = 18
_HUGE = 10**MAX_DIGITS  # past the end of any file


def _position(digits: str) -> int:
    """A byte position from a Range header; more than 18 significant digits means "past any end".

    ``int()`` refuses over 4,300 digits (a ValueError, so a 500): never reached.
    """
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= MAX_DIGITS else _HUGE


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """The (start, end inclusive) of a single-range header, None for "whole file",
    or ``"unsatisfiable"`` when the range lies outside the file."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match:
        return None  # multiple or malformed ranges: RFC 9110 lets us send the whole file
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = _position(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = _position(first)
    end = _position(last) if last else size - 1
    if start >= size or (last and end < start):
        return "unsatisfiable"
    return start, min(end, size - 1)


def _etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (or ``*``)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == f'"{etag}"':
            return True
    return False


def _read_range(path: Path, start: int, length: int):
    """Yield the bytes of ``path`` from ``start``, ``length`` bytes, in chunks."""
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def send_immutable(path: Path, etag: str, media_type: str, *, download_name: str | None = None) -> Response:
    """Serve a content-addressed file with ETag/304, Range/206/416 and a year of caching."""
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": IMMUTABLE_CACHE,
        "Accept-Ranges": "bytes",
    }
    if download_name:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download_name)}"
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return Response(status=304, headers=headers)
    size = os.stat(path).st_size
    wanted = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if wanted is not None and if_range and if_range.strip() != f'"{etag}"':
        wanted = None  # the client's copy is of other bytes: send it all
    if wanted == "unsatisfiable":
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status=416, headers=headers)
    if wanted is None:
        start, length, status = 0, size, 200
    else:
        start, end = wanted
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    body = _read_range(path, start, length) if request.method != "HEAD" else []
    response = Response(body, status=status, headers=headers, mimetype=media_type, direct_passthrough=True)
    return response
