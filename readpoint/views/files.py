"""``/files/<sha256>`` and ``/thumbs/<sha256>.jpg``: immutable, content-addressed downloads.

The request text is only ever checked against ``[0-9a-f]{64}``; the path is
built by the store from that hash, so no request can name another file.
"""

from __future__ import annotations

from flask import Blueprint, abort, request

from content.store import is_sha256
from readpoint.http_files import send_immutable
from readpoint.usage import record_event
from readpoint.views.common import library

__all__ = ["bp"]

bp = Blueprint("files", __name__)


@bp.route("/files/<sha256>", methods=["GET", "HEAD"])
def stored_file(sha256: str):
    """One stored file (book, audio, cover) with Range, ETag and a year of caching."""
    if not is_sha256(sha256):
        abort(404, description="No such file.")
    lib = library()
    row = lib.catalog.file_row(sha256)
    if row is None or not lib.store.has(sha256):
        abort(404, description="No such file.")
    download = request.args.get("download") == "1"
    if download and "Range" not in request.headers:
        record_event("download", row["book_id"])
    name = row["name"] if download else None
    return send_immutable(lib.store.path_for(sha256), sha256, row["media_type"], download_name=name)


@bp.route("/thumbs/<sha256>.jpg", methods=["GET", "HEAD"])
def thumb(sha256: str):
    """A book's phone-sized thumbnail (derived data, named by its own hash)."""
    if not is_sha256(sha256):
        abort(404)
    path = library().thumb_path(sha256)
    if not path.is_file():
        abort(404)
    return send_immutable(path, sha256, "image/jpeg")
