"""The book page: cover, metadata, download sizes, chapters, read/listen/download."""

from __future__ import annotations

from flask import Blueprint, render_template

from readpoint.usage import record_event
from readpoint.views.common import book_or_404, library

__all__ = ["bp"]

bp = Blueprint("books", __name__)


@bp.route("/book/<book_id>")
def book(book_id: str):
    """One book's page."""
    found = book_or_404(book_id)
    catalog = library().catalog
    files = catalog.files_of(book_id)
    record_event("view", book_id)
    return render_template(
        "books/book.html",
        book=found,
        downloads=[f for f in files if f["role"] in ("primary", "chapter")],
        chapters=catalog.chapters_of(book_id),
        categories={c["id"]: c for c in catalog.categories()},
    )
