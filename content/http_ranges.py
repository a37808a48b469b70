"""HTTP rules for immutable, content-addressed files: byte ranges, strong ETags, conditions.

Framework-free, so the box's web app, the provincial hub and the sync client
share one reading of RFC 9110: a content-addressed file never changes, so its
sha256 is a perfect strong ETag and it can be cached for a year. One range per
request (phones' media players ask for one), ``If-Range`` honoured, 416 with
``Content-Range: bytes */size`` for a range past the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

__all__ = ["IMMUTABLE_CACHE", "CHUNK", "FilePlan", "parse_range", "etag_matches", "plan_file_response", "read_range"]

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


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (or ``*``)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == f'"{etag}"':
            return True
    return False


@dataclass
class FilePlan:
    """What to answer for a request of an immutable file: status, headers, and which bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    start: int = 0
    length: int = 0


def plan_file_response(request_headers: Mapping[str, str], size: int, etag: str, *,
                       download_name: str | None = None) -> FilePlan:
    """Decide 200/206/304/416 for a file of ``size`` bytes named by ``etag``.

    ``request_headers`` is any case-insensitive mapping (Flask's, requests').
    """
    headers = {"ETag": f'"{etag}"', "Cache-Control": IMMUTABLE_CACHE, "Accept-Ranges": "bytes"}
    if download_name:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download_name)}"
    if etag_matches(request_headers.get("If-None-Match"), etag):
        return FilePlan(304, headers)
    wanted = parse_range(request_headers.get("Range"), size)
    if_range = request_headers.get("If-Range")
    if wanted is not None and if_range and if_range.strip() != f'"{etag}"':
        wanted = None  # the client's copy is of other bytes: send it all
    if wanted == "unsatisfiable":
        headers["Content-Range"] = f"bytes */{size}"
        headers["Cache-Control"] = "no-store"  # an answer to this request's Range, not the file's
        return FilePlan(416, headers)
    if wanted is None:
        start, length, status = 0, size, 200
    else:
        start, end = wanted
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    return FilePlan(status, headers, start, length)


def read_range(path: Path, start: int, length: int) -> Iterator[bytes]:
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
