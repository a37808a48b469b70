"""Managing books: find any book (hidden ones too), fix its details, hide, unhide, remove, feature.

Every change to a book goes through the book door, ``library.books``; the
featured shelf is arranged through :class:`content.catalog.collection.Collection`.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from content.catalog.collection import STATUSES, CategoryError, Collection
from content.errors import ContentError
from readpoint.views.admin import bp, current_librarian
from readpoint.views.common import library, page_number, setting

MAX_TITLE = 1000
MAX_AUTHORS = 20
MAX_AUTHOR = 200
MAX_DESCRIPTION = 20_000
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")
# Languages offered first in the editor; any other BCP 47 code may be typed.
COMMON_LANGUAGES = ("vi", "th", "en", "blt", "hmn", "lo", "km", "zh")


def collection() -> Collection:
    """The librarian's view of this app's catalog."""
    return Collection(library().catalog)


def actor() -> str:
    """Who is changing the catalog, as the door's history records it."""
    return f"librarian:{current_librarian()['name']}"


def _book_or_404(book_id: str) -> dict:
    """A book in any status, or a 404."""
    book = library().catalog.get_book(book_id) if len(book_id) <= 64 else None
    if book is None:
        abort(404, description="No such book.")
    return book


@bp.route("/books")
def books():
    """Every book, searched by title or author, filtered by status, by title, paged."""
    query = request.args.get("q", "")[:200]
    status = request.args.get("status", "")
    size = setting("page_size")
    page = page_number()
    found, total = collection().find_books(query, status=status if status in STATUSES else None,
                                           limit=size, offset=(page - 1) * size)
    return render_template(
        "admin/books.html", books=found, total=total, query=query, status=status,
        counts=collection().status_counts(), page=page, pages=max(1, -(-total // size)),
        featured=set(collection().featured_ids()),
    )


def _changed_fields(book: dict, form) -> tuple[dict, str | None]:
    """The fields the form changes (only those), and what is wrong with them (translated) or None."""
    title = " ".join(form.get("title", "").split())
    authors = [" ".join(line.split()) for line in form.get("authors", "").splitlines()]
    authors = [name for name in authors if name]
    description = form.get("description", "").replace("\r\n", "\n").strip()
    language = form.get("language", "").strip()
    known = {category["id"] for category in collection().categories()}
    categories = sorted(set(form.getlist("categories")) & known)
    if not title or len(title) > MAX_TITLE:
        return {}, _("A title of 1 to %(count)s characters is needed.", count=MAX_TITLE)
    if len(authors) > MAX_AUTHORS or any(len(name) > MAX_AUTHOR for name in authors):
        return {}, _("At most %(count)s authors, one per line.", count=MAX_AUTHORS)
    if len(description) > MAX_DESCRIPTION:
        return {}, _("The description is too long.")
    if language and not _LANGUAGE_RE.fullmatch(language):
        return {}, _("The language must be a code such as vi, th or en.")
    wanted = {"title": title, "authors": authors, "description": description, "language": language,
              "categories": categories}
    current = {"title": book["title"], "authors": book["authors"], "description": book["description"],
               "language": book["language"], "categories": sorted(book["categories"])}
    return {name: value for name, value in wanted.items() if value != current[name]}, None


@bp.route("/books/<book_id>", methods=["GET", "POST"])
def book(book_id: str):
    """One book's details in a form; saving sends only what changed through the door."""
    found = _book_or_404(book_id)
    error, status = None, 200
    if request.method == "POST":
        fields, error = _changed_fields(found, request.form)
        if error is None:
            if fields:
                try:
                    library().books.edit(book_id, fields, actor=actor())
                except ContentError as problem:
                    error = _("The change was refused: %(reason)s", reason=str(problem))
                else:
                    flash(_("Saved."))
                    return redirect(url_for("admin.book", book_id=book_id), 303)
            else:
                flash(_("Nothing was changed."))
                return redirect(url_for("admin.book", book_id=book_id), 303)
        status = 400
    languages = list(COMMON_LANGUAGES)
    if found["language"] and found["language"] not in languages:
        languages.insert(0, found["language"])
    return render_template(
        "admin/book.html", book=found, form=request.form if error else None, error=error,
        categories=collection().categories(), languages=languages,
        featured=book_id in collection().featured_ids(),
        history=library().books.history(book_id=book_id, limit=10),
    ), status


@bp.route("/books/<book_id>/status", methods=["POST"])
def book_status(book_id: str):
    """Hide a book from phones (``hidden``) or show it again (``active``)."""
    _book_or_404(book_id)
    status = request.form.get("status", "")
    if status not in ("active", "hidden"):
        abort(400, description="Unknown status.")
    library().books.set_status(book_id, status, actor=actor())
    flash(_("The book is hidden from phones.") if status == "hidden" else _("Phones can see the book again."))
    return redirect(url_for("admin.book", book_id=book_id), 303)


@bp.route("/books/<book_id>/remove", methods=["POST"])
def book_remove(book_id: str):
    """Remove a book for good (its files go when no other book uses them); needs the confirm box ticked."""
    found = _book_or_404(book_id)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the removal."))
        return redirect(url_for("admin.book", book_id=book_id), 303)
    library().books.remove(book_id, actor=actor())
    flash(_("“%(title)s” was removed.", title=found["title"]))
    return redirect(url_for("admin.books"), 303)


@bp.route("/books/<book_id>/featured", methods=["POST"])
def book_featured(book_id: str):
    """Put a book on the home page's featured shelf or take it off."""
    _book_or_404(book_id)
    wanted = request.form.get("featured") == "1"
    try:
        collection().set_featured(book_id, wanted)
    except CategoryError:
        flash(_("The featured shelf is full: take a book off first."))
    else:
        flash(_("The book is on the featured shelf.") if wanted else _("The book is off the featured shelf."))
    return redirect(url_for("admin.book", book_id=book_id), 303)
