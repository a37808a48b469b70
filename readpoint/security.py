"""Headers every response carries, and compression of text responses.

The Content-Security-Policy allows nothing from outside the box and no inline
script; book content rendered into pages is sanitised separately.
"""

from __future__ import annotations

import gzip
import threading

from flask import Flask, Response, request

__all__ = ["init_app", "CSP"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "media-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
COMPRESSIBLE = ("text/", "application/json", "application/javascript", "application/xml",
                "application/atom+xml", "image/svg+xml")
MIN_COMPRESS = 512


def _security_headers(response: Response) -> Response:
    """Add CSP, nosniff and referrer policy; compress text bodies for phones that accept gzip."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    _maybe_compress(response)
    return response


def _maybe_compress(response: Response) -> None:
    """gzip a small text response in place when the client accepts it."""
    if response.direct_passthrough or response.status_code < 200 or response.status_code in (204, 206, 304):
        return
    if "Content-Encoding" in response.headers:
        return
    if not (response.mimetype or "").startswith(COMPRESSIBLE):
        return
    response.vary.add("Accept-Encoding")
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return
    data = response.get_data()
    if len(data) < MIN_COMPRESS:
        return
    response.set_data(_gzip(data))
    response.headers["Content-Encoding"] = "gzip"
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        response.headers["ETag"] = etag[:-1] + '-gz"'


class _GzipMemo:
    """The gzip of recent response bodies: cached pages are sent again and again.

    Keyed by the body itself (hashing 30 KB costs microseconds, compressing it a
    quarter of a millisecond); at most ``max_entries`` bodies of up to ``max_body`` bytes (a few MB in
    all), oldest dropped.
    """

    def __init__(self, max_entries: int = 128, max_body: int = 64 * 1024):
        self.max_entries = max_entries
        self.max_body = max_body
        self._compressed: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> bytes:
        """The gzip of ``data`` (deterministic: mtime 0)."""
        found = self._compressed.get(data)
        if found is not None:
            return found
        compressed = gzip.compress(data, compresslevel=6, mtime=0)
        if len(data) > self.max_body:
            return compressed
        with self._lock:
            if len(self._compressed) >= self.max_entries:
                self._compressed.pop(next(iter(self._compressed)))
            self._compressed[data] = compressed
        return compressed


_gzip = _GzipMemo()


def init_app(app: Flask) -> None:
    """Install the after-request hook."""
    app.after_request(_security_headers)
