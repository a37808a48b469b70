"""The home page (continue, categories, newest, most read), the listings and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from markupsafe import Markup

from content.catalog.collection import Collection
from content.catalog.usage import most_read
from readpoint.fragment_cache import FragmentCache, catalog_marker, page_key
from readpoint.i18n import LOCALES, current_locale
from readpoint.positions import COOKIE_YEAR, Position, read_positions
from readpoint.ttl_cache import TtlCache
from readpoint.views.common import library, local_path, page_number, setting

__all__ = ["bp", "resume_url", "MOST_READ_SECONDS"]

bp = Blueprint("home", __name__)

MOST_READ_SECONDS = 60
SHELF_SIZE = 12
MAX_CONTINUE = 3
KNOWN_ICONS = frozenset({"farming", "health", "law", "children", "culture", "language", "other"})


@bp.record_once
def _set_up_app(state) -> None:
    """Every app gets its own caches: the "most read" aggregate and the rendered shelves."""
    state.app.extensions["most_read_cache"] = TtlCache(MOST_READ_SECONDS)
    state.app.extensions["home_fragments"] = FragmentCache(max_bytes=2 * 1024 * 1024)
    state.app.extensions["home_pages"] = FragmentCache(max_bytes=4 * 1024 * 1024)


def resume_url(position: Position) -> str:
    """Where to send this phone to go on with a book."""
    if position.kind == "l":
        return url_for("listen.player", book_id=position.book_id, chapter=position.chapter)
    if position.kind == "p":
        return url_for("reader.open_book", book_id=position.book_id)
    part = position.part if position.part > 1 else None
    return url_for("reader.chapter", book_id=position.book_id, chapter=position.chapter, part=part)


def _continue_items() -> list[dict]:
    """The books this phone was last reading or hearing (still active), most recent first."""
    items = []
    catalog = library().catalog
    for position in read_positions()[:MAX_CONTINUE]:
        book = catalog.get_book(position.book_id)
        if book is not None and book["status"] == "active":
            items.append({"book": book, "position": position, "url": resume_url(position)})
    return items


def _most_read_ids() -> tuple[str, ...]:
    """The ids of the most read books, counted at most once a minute."""
    cache: TtlCache = current_app.extensions["most_read_cache"]
    return cache.get("most_read", lambda: tuple(b["id"] for b in most_read(library().catalog, limit=SHELF_SIZE)))


def _active_books(book_ids: tuple[str, ...]) -> list[dict]:
    """The books with these ids that are still active (one may have been hidden since the count)."""
    catalog = library().catalog
    books = [catalog.get_book(book_id) for book_id in book_ids]
    return [book for book in books if book is not None and book["status"] == "active"]


def category_icon(category: dict) -> str:
    """The static file name of a category's icon (a generic one for unknown icons)."""
    icon = category.get("icon") or ""
    return f"icons/{icon if icon in KNOWN_ICONS else 'other'}.svg"


def _render_shelves(popular: tuple[str, ...]) -> str:
    """The HTML of the featured, categories, newest, most read and languages sections."""
    catalog = library().catalog
    return render_template(
        "home/shelves.html",
        featured=Collection(catalog).featured_books()[:SHELF_SIZE],
        categories=[c for c in catalog.categories() if c["books"]],
        newest=catalog.list_books(limit=SHELF_SIZE),
        most_read=_active_books(popular),
        languages=catalog.languages(),
        category_icon=category_icon,
    )


def _render_home(popular: tuple[str, ...]) -> str:
    """The whole home page: this phone's "continue" list, then the shelves (kept per language)."""
    key = (catalog_marker(library().catalog), current_locale(), request.script_root, popular)
    cache: FragmentCache = current_app.extensions["home_fragments"]
    shelves = cache.get(key, lambda: _render_shelves(popular))
    return render_template("home/index.html", continuing=_continue_items(), shelves=Markup(shelves))


@bp.route("/")
def index():
    """Continue (this phone's books), then the shelves.

    The page is kept for phones with the same positions cookie (most have
    none), language and theme until the catalog changes; the shelves alone
    are kept for everyone else.
    """
    popular = _most_read_ids()
    pages: FragmentCache = current_app.extensions["home_pages"]
    positions = "~".join(position.encode() for position in read_positions()[:MAX_CONTINUE])  # not the raw cookie
    return pages.get(page_key(positions, popular), lambda: _render_home(popular))


@bp.route("/category/<category_id>")
def category(category_id: str):
    """Books in one category, by title, paged."""
    catalog = library().catalog
    known = {c["id"]: c for c in catalog.categories()}
    if category_id not in known:
        abort(404, description="No such category.")
    return _listing(known[category_id], {"category": category_id})


@bp.route("/language/<language>")
def language(language: str):
    """Books in one language, by title, paged."""
    if len(language) > 35:
        abort(404)
    return _listing(None, {"language": language})


def _listing(heading: dict | None, filters: dict):
    """Render a paged listing for a category (``heading``) or language filter."""
    catalog = library().catalog
    page = page_number()
    size = setting("page_size")
    total = catalog.count_listed(**filters)
    books = catalog.list_books(order="title", limit=size, offset=(page - 1) * size, **filters)
    if page > 1 and not books:
        abort(404, description="No such page.")
    return render_template(
        "home/listing.html",
        category=heading,
        language=filters.get("language"),
        books=books,
        page=page,
        pages=max(1, -(-total // size)),
        total=total,
        category_icon=category_icon,
    )



@bp.route("/lang/<code>")
def set_language(code: str):
    """Remember the phone's UI language in a cookie and go back to ``?next=`` (or home).

    The page passes its own path in ``next``: with ``Referrer-Policy:
    no-referrer`` there is no Referer to go back to.
    """
    if code not in LOCALES:
        abort(404)
    target = local_path(request.args.get("next")) or url_for("home.index")
    response = redirect(target)
    response.set_cookie("lang", code, max_age=COOKIE_YEAR, samesite="Lax", httponly=True)
    return response
