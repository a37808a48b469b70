"""Static assets (CSS, JS, icons) under content-hashed URLs, cached for a year.

``asset_url("site.css")`` gives ``/static/<hash>/site.css``; the hash is of the
file's bytes, computed once per file per process, so a new release never
serves a stale cached asset.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app

from readpoint.http_files import send_immutable

__all__ = ["init_app", "asset_url", "bp"]

bp = Blueprint("assets", __name__)


def _static_dir() -> Path:
    """The kiosk-ui static folder of this app."""
    return current_app.config["UI_DIR"] / "static"


def _asset_hash(name: str) -> str:
    """The (cached) short hash of a static file's bytes; '' if it does not exist."""
    cache = current_app.extensions.setdefault("asset_hashes", {})
    if name not in cache:
        path = _safe_path(name)
        cache[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path else ""
    return cache[name]


def _safe_path(name: str) -> Path | None:
    """The file for an asset name, only if it is inside the static folder."""
    root = _static_dir().resolve()
    candidate = (root / name).resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def asset_url(name: str) -> str:
    """The content-hashed URL of a static asset."""
    return f"/static/{_asset_hash(name)}/{name}"


@bp.route("/static/<digest>/<path:name>", methods=["GET", "HEAD"])
def static_file(digest: str, name: str):
    """Serve one static asset; the URL's hash must be the file's current hash."""
    if _safe_path(name) is None or digest != _asset_hash(name):
        abort(404)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type == "application/javascript":
        media_type += "; charset=utf-8"
    response = send_immutable(_safe_path(name), digest, media_type)
    return response


def init_app(app: Flask) -> None:
    """Register the asset route and the template helper."""
    app.register_blueprint(bp)
    app.jinja_env.globals["asset_url"] = asset_url
