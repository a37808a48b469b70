"""The home page (categories, newest) and the category and language listings."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for

from readpoint.i18n import LOCALES
from readpoint.views.common import library, page_number, setting

__all__ = ["bp"]

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    """Categories and the newest books."""
    catalog = library().catalog
    return render_template(
        "home/index.html",
        categories=[c for c in catalog.categories() if c["books"]],
        newest=catalog.list_books(limit=12),
    )


@bp.route("/category/<category_id>")
def category(category_id: str):
    """Books in one category, by title, paged."""
    catalog = library().catalog
    known = {c["id"]: c for c in catalog.categories()}
    if category_id not in known:
        abort(404, description="No such category.")
    return _listing(known[category_id], category=category_id)


@bp.route("/language/<language>")
def language(language: str):
    """Books in one language, by title, paged."""
    if len(language) > 35:
        abort(404)
    return _listing(None, language=language)


def _listing(category: dict | None, **filters):
    """Render a paged listing for a category or language filter."""
    catalog = library().catalog
    page = page_number()
    size = setting("page_size")
    total = catalog.count_listed(**filters)
    books = catalog.list_books(order="title", limit=size, offset=(page - 1) * size, **filters)
    if page > 1 and not books:
        abort(404, description="No such page.")
    return render_template(
        "home/listing.html",
        category=category,
        language=filters.get("language"),
        books=books,
        page=page,
        pages=max(1, -(-total // size)),
        total=total,
    )


@bp.route("/lang/<code>")
def set_language(code: str):
    """Remember the phone's UI language in a cookie and go back (or home)."""
    if code not in LOCALES:
        abort(404)
    target = request.referrer if _same_site(request.referrer) else url_for("home.index")
    response = redirect(target)
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _same_site(url: str | None) -> bool:
    """Whether a Referer points back into this site (never redirect elsewhere)."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.netloc == request.host and parts.scheme in ("http", "https")
