"""Headers every response carries, and compression of text responses.

The Content-Security-Policy allows nothing from outside the box and no inline
script; book content rendered into pages is sanitised separately.
"""

from __future__ import annotations

import gzip
import hashlib

from flask import Flask, Response, current_app, request

from readpoint.fragment_cache import FragmentCache

__all__ = ["init_app", "CSP", "SECURITY_HEADERS", "COMPRESSIBLE", "accepts_gzip"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "media-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
COMPRESSIBLE = ("text/", "application/json", "application/javascript", "application/xml",
                "application/atom+xml", "image/svg+xml", "application/opds", "application/audiobook+json",
                "application/opensearchdescription+xml")
MIN_COMPRESS = 512
MEMO_BYTES = 4 * 1024 * 1024
MEMO_MAX_BODY = 64 * 1024
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


def _security_headers(response: Response) -> Response:
    """Add CSP, nosniff and referrer policy; compress text bodies for phones that accept gzip."""
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
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
    if not accepts_gzip():
        return
    data = response.get_data()
    if len(data) < MIN_COMPRESS:
        return
    response.set_data(_gzip(data))
    response.headers["Content-Encoding"] = "gzip"
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        response.headers["ETag"] = etag[:-1] + '-gz"'


def accepts_gzip() -> bool:
    """Whether the client accepts gzip (and did not refuse it with ``q=0``)."""
    return request.accept_encodings.quality("gzip") > 0


def _gzip(data: bytes) -> bytes:
    """The gzip of a response body (deterministic: mtime 0).

    Cached pages go out again and again, so the compressed form of recent bodies
    of up to ``MEMO_MAX_BODY`` bytes is remembered (keyed by the body itself:
    hashing 30 KB costs microseconds, compressing it a quarter of a millisecond),
    keyed by a digest of the body, not the body, so the memo holds only compressed bytes.
    """
    if len(data) > MEMO_MAX_BODY:
        return gzip.compress(data, compresslevel=6, mtime=0)
    memo: FragmentCache = current_app.extensions["gzip_memo"]
    key = hashlib.blake2b(data, digest_size=20).digest()
    return memo.get(key, lambda: gzip.compress(data, compresslevel=6, mtime=0))


def init_app(app: Flask) -> None:
    """Install the after-request hook."""
    app.extensions["gzip_memo"] = FragmentCache(max_bytes=MEMO_BYTES)
    app.after_request(_security_headers)
