"""Small request-side helpers shared by the views: the library, paging, book lookups."""

from __future__ import annotations

from flask import abort, current_app, request, url_for

from content.library import Library

__all__ = ["library", "page_number", "book_or_404", "thumb_url", "file_url", "setting", "local_path",
           "small_number"]

MAX_PAGE = 10_000


def library() -> Library:
    """The app's library."""
    return current_app.extensions["library"]


def setting(name: str):
    """One resolved setting of the app."""
    return current_app.config["READPOINT"][name]


def page_number() -> int:
    """The ``page`` query argument, clamped to 1..MAX_PAGE (garbage means 1)."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def small_number(text: str) -> int | None:
    """``text`` as a number if it is 1-9 ASCII digits, else None.

    ``str.isdigit`` also accepts "²" (which ``int`` refuses) and any number of
    digits (``int`` refuses over 4,300): checked here, so neither is a 500.
    """
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        return None
    return int(text)


def book_or_404(book_id: str) -> dict:
    """An active book by id, or a 404 (hidden and withdrawn books are not shown)."""
    if len(book_id) > 64:
        abort(404)
    book = library().catalog.get_book(book_id)
    if book is None or book["status"] != "active":
        abort(404, description="No such book.")
    return book


def thumb_url(book: dict) -> str | None:
    """The immutable URL of a book's thumbnail, if it has one."""
    sha = book.get("thumb_sha256")
    return url_for("files.thumb", sha256=sha) if sha else None


def file_url(sha256: str) -> str:
    """The immutable URL of a stored file."""
    return url_for("files.stored_file", sha256=sha256)


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site (never ``//host``, ``/\\host`` or a scheme), else None.

    Browsers drop tabs and newlines inside URLs (``/<tab>/host`` becomes
    ``//host``), so any whitespace, control character or backslash is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//") or len(target) > 2000:
        return None
    if "\\" in target or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    return target
