"""The book page: cover, metadata, download sizes, chapters, read/listen/download."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from readpoint.positions import position_for
from readpoint.usage import record_event
from readpoint.views.common import book_or_404, library

__all__ = ["bp"]

bp = Blueprint("books", __name__)


def _chapter_links(book: dict, chapters: list[dict]) -> list[str | None]:
    """Where each chapter of the contents list opens (reader or player), None when it cannot."""
    if book["format"] == "epub":
        return [url_for("reader.chapter", book_id=book["id"], chapter=n) for n in range(1, len(chapters) + 1)]
    if book["format"] == "audio":
        return [url_for("listen.player", book_id=book["id"], chapter=n) for n in range(1, len(chapters) + 1)]
    return [None] * len(chapters)


@bp.route("/book/<book_id>")
def book(book_id: str):
    """One book's page."""
    found = book_or_404(book_id)
    catalog = library().catalog
    files = catalog.files_of(book_id)
    chapters = catalog.chapters_of(book_id)
    if found["format"] == "pdf":
        chapters = []  # a PDF's "chapters" are its pages: the reader has them
    record_event("view", book_id)
    categories = {c["id"]: c for c in catalog.categories()}
    return render_template(
        "books/book.html",
        book=found,
        downloads=[f for f in files if f["role"] in ("primary", "chapter")],
        chapters=list(zip(chapters, _chapter_links(found, chapters))),
        categories=[categories[c] for c in found["categories"] if c in categories],
        position=position_for(book_id),
        first_chapter=catalog.first_text_chapter(book_id) if found["format"] == "epub" else 1,
    )
