"""The JSON API: ``/healthz`` and ``/api/books/<id>``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from content.disk import disk_space
from readpoint import __version__
from readpoint.views.common import book_or_404, file_url, library, thumb_url

__all__ = ["bp", "book_json"]

bp = Blueprint("api", __name__)


@bp.route("/healthz")
def healthz():
    """Liveness, a count of active books and the state of the disk, for the fleet, the librarian and tests.

    ``disk_full`` is true while writes fail for want of space (usage events are
    being dropped); ``disk_free`` is the free space in bytes.
    """
    space = disk_space(library().data_dir)
    return jsonify({
        "status": "ok",
        "books": library().catalog.count_books(),
        "version": __version__,
        "disk_free": space.free,
        "disk_full": current_app.extensions["events"].disk_full or space.free == 0,
    })


def book_json(book: dict) -> dict:
    """A book's public JSON: metadata, files with URLs, chapters."""
    catalog = library().catalog
    files = [
        {
            "sha256": row["sha256"],
            "url": file_url(row["sha256"]),
            "role": row["role"],
            "size": row["size"],
            "media_type": row["media_type"],
            "name": row["name"],
            "duration": row["duration"],
        }
        for row in catalog.files_of(book["id"])
    ]
    chapters = [
        {
            "position": row["position"],
            "title": row["title"],
            "href": row["href"],
            "url": file_url(row["file_sha256"]) if row["file_sha256"] else None,
            "start": row["start"],
            "duration": row["duration"],
        }
        for row in catalog.chapters_of(book["id"])
    ]
    keys = ("id", "title", "authors", "language", "description", "publisher", "date",
            "subjects", "identifiers", "categories", "format", "origin", "status", "size",
            "duration", "added_at", "updated_at")
    data = {key: book.get(key) for key in keys}
    data.update(thumbnail=thumb_url(book), files=files, chapters=chapters)
    return data


@bp.route("/api/books/<book_id>")
def book(book_id: str):
    """One book's metadata, files and chapters."""
    return jsonify(book_json(book_or_404(book_id)))
