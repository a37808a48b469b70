"""Static assets (CSS, JS, icons) under content-hashed URLs, cached for a year.

``asset_url("site.css")`` gives ``/static/<hash>/site.css``; the hash is of the
file's bytes, computed once per file per process, so a new release never
serves a stale cached asset. Text assets (CSS, JS, SVG; pdf.js too) are
gzip-compressed once, kept in memory, and sent compressed to every phone
that accepts gzip (``Vary: Accept-Encoding``, ETag ``"<hash>-gz"``).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request, url_for

from readpoint.http_files import IMMUTABLE_CACHE, send_immutable
from readpoint.security import COMPRESSIBLE, accepts_gzip

__all__ = ["init_app", "asset_url", "bp", "PRECOMPRESS_MAX"]

bp = Blueprint("assets", __name__)

PRECOMPRESS_MAX = 4 * 1024 * 1024  # pdf.js's worker (1.1 MB) is the largest asset
# Caches below are keyed by the names of the static folder's files only: bounded by the folder.


def _static_dir() -> Path:
    """The kiosk-ui static folder of this app."""
    return current_app.config["UI_DIR"] / "static"


def _asset_hash(name: str) -> str:
    """The (cached) short hash of a static file's bytes; '' if it does not exist."""
    cache = current_app.extensions.setdefault("asset_hashes", {})
    if name not in cache:
        path = _safe_path(name)
        if path is None:
            return ""  # not kept: any request could name a new missing file, the cache would grow forever
        cache[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return cache[name]


def _static_files() -> dict[str, Path]:
    """Every file inside the static folder by its name there ("icons/book.svg"), listed once per process."""
    files = current_app.extensions.get("asset_files")
    if files is None:
        root = _static_dir().resolve()
        files = {}
        for path in sorted(root.rglob("*")):
            resolved = path.resolve()
            if resolved.is_file() and root in resolved.parents:
                files[path.relative_to(root).as_posix()] = resolved
        current_app.extensions["asset_files"] = files
    return files


def _safe_path(name: str) -> Path | None:
    """The file for an asset name, only if the name is one of the static folder's files, spelled as listed.

    Any other spelling (``./site.css``, ``a/../site.css``, ``site.css%00``, a
    300-character name) is refused by one dictionary lookup, before any file
    system work, so no spelling costs more than a 404 or takes a place in a cache.
    """
    return _static_files().get(name)


def asset_url(name: str) -> str:
    """The content-hashed URL of a static asset (under the app's URL prefix, if any)."""
    digest = _asset_hash(name) or "missing"  # a missing file gets a link that 404s, not a 500 (BuildError)
    return url_for("assets.static_file", digest=digest, name=name)


def _gzipped(name: str, path: Path) -> bytes | None:
    """The asset's bytes gzip-compressed (made once per process), or None if that saves nothing."""
    cache = current_app.extensions.setdefault("asset_gzip", {})
    if name not in cache:
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        cache[name] = packed if len(packed) < len(data) else None
    return cache[name]


def _compressed(name: str, path: Path, digest: str, media_type: str) -> Response | None:
    """The precompressed response for a text asset, or None to send the file as it is."""
    if not media_type.startswith(COMPRESSIBLE) or path.stat().st_size > PRECOMPRESS_MAX:
        return None
    packed = _gzipped(name, path) if accepts_gzip() else None
    if packed is None:
        return None
    etag = f"{digest}-gz"
    headers = {"ETag": f'"{etag}"', "Cache-Control": IMMUTABLE_CACHE, "Vary": "Accept-Encoding"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    headers["Content-Encoding"] = "gzip"
    body = packed if request.method != "HEAD" else b""
    response = Response(body, mimetype=media_type, headers=headers)
    response.content_length = len(packed)
    return response


@bp.route("/static/<digest>/<path:name>", methods=["GET", "HEAD"])
def static_file(digest: str, name: str):
    """Serve one static asset; the URL's hash must be the file's current hash."""
    path = _safe_path(name)
    if path is None or digest != _asset_hash(name):
        abort(404)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = _compressed(name, path, digest, media_type)
    if response is None:
        response = send_immutable(path, digest, media_type)
        if media_type.startswith(COMPRESSIBLE):
            response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    """Register the asset route and the template helper."""
    app.register_blueprint(bp)
    app.jinja_env.globals["asset_url"] = asset_url
