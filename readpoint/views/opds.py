"""OPDS catalogs for reader apps (KOReader, Librera, Moon+ Reader, Thorium): 1.2 at ``/opds``, 2.0 at ``/opds/v2``.

Both versions serve the same feeds under the same paths (the 2.0 ones after
``/v2``): the root (navigation), ``new`` and ``popular`` (acquisition),
``categories`` and ``languages`` (navigation) leading to ``category/<id>`` and
``language/<code>`` (acquisition, paged with ``?page=``), ``search`` (the
box's own search, with its Vietnamese, Thai and Tai Viet analysis) and
``book/<id>`` (one book's complete entry or publication). OPDS 1.2 adds
``search.xml``, the OpenSearch description; OPDS 2.0 adds
``book/<id>/manifest.json``, an audiobook's Readium manifest.

Feeds are kept like pages (:mod:`readpoint.fragment_cache`): the document's
bytes per URL and UI language until the catalog changes, so serving one is a
lookup; each carries an ETag and answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_babel import gettext, ngettext

from content.catalog import now_iso
from content.catalog.usage import most_read
from content.search import SearchQuery
from readpoint.fragment_cache import FragmentCache, page_key
from readpoint.i18n import localized_name
from readpoint.formatting import language_name
from readpoint.opds_atom import atom_entry, atom_feed, opensearch_description
from readpoint.opds_feeds import (
    ACQUISITION_TYPE, AUDIOBOOK_MANIFEST_TYPE, ENTRY_TYPE, NAVIGATION_TYPE, OPDS2_PUBLICATION_TYPE, OPDS2_TYPE,
    OPENSEARCH_TYPE, REL_SORT_NEW, REL_SORT_POPULAR, BookItem, Feed, NavItem, Paging,
)
from readpoint.opds_json import absolute_links, opds2_feed, opds2_publication
from readpoint.ttl_cache import TtlCache
from readpoint.views.common import book_or_404, file_url, library, page_number, setting, thumb_url
from readpoint.views.listen import audio_chapters
from readpoint.views.search import run_search, search_query

__all__ = ["bp", "POPULAR_SIZE", "FEED_CACHE_BYTES"]

bp = Blueprint("opds", __name__)

POPULAR_SIZE = 24
POPULAR_SECONDS = 60
FEED_CACHE_BYTES = 4 * 1024 * 1024  # kept feeds, keys included (see readpoint.fragment_cache)
BOOK_FILE_ROLES = ("primary", "chapter")
V1, V2 = 1, 2


@bp.record_once
def _set_up_app(state) -> None:
    """Every app gets its own feed cache and its own "most read" count (once a minute)."""
    state.app.extensions["opds_feeds"] = FragmentCache(max_bytes=FEED_CACHE_BYTES)
    state.app.extensions["opds_most_read"] = TtlCache(POPULAR_SECONDS)


def _route(path: str, **options) -> Callable:
    """Register a view under ``/opds<path>`` (version 1) and ``/opds/v2<path>`` (version 2)."""

    def register(view: Callable) -> Callable:
        """Add both rules; ``url_for(..., version=2)`` builds the second."""
        bp.add_url_rule(f"/opds{path}", view_func=view, defaults={"version": V1}, **options)
        bp.add_url_rule(f"/opds/v2{path}", view_func=view, defaults={"version": V2}, **options)
        return view

    return register


# -- responses -------------------------------------------------------------

def _send(body: bytes, content_type: str) -> Response:
    """A feed with a strong ETag (the gzip hook adds ``-gz`` to it); 304 when the client has it."""
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if request.if_none_match.contains(etag) or request.if_none_match.contains(f"{etag}-gz"):
        return Response(status=304, headers=headers)
    return Response(body, headers=headers, content_type=content_type)


def _content_type(version: int, kind: str) -> str:
    """The media type of a feed of this version and kind."""
    if version == V2:
        return f"{OPDS2_TYPE}; charset=utf-8"
    return f"{NAVIGATION_TYPE if kind == 'navigation' else ACQUISITION_TYPE};charset=utf-8"


def _render(version: int, feed: Feed) -> bytes:
    """The feed as OPDS 1.2 Atom or OPDS 2.0 JSON bytes."""
    if version == V1:
        count_text = lambda n: ngettext("%(num)s book", "%(num)s books", n)  # noqa: E731
        return atom_feed(feed, site_name=setting("site_name"), count_text=count_text)
    return _json(opds2_feed(feed))


def _json(document: dict) -> bytes:
    """An OPDS 2.0 document as compact UTF-8 JSON, its links absolute on the host the client asked."""
    document = absolute_links(document, request.host_url.rstrip("/"))
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _cached_feed(version: int, kind: str, build: Callable[[], Feed], *extra_key) -> Response:
    """The feed for this URL and UI language, built and rendered only when not kept."""
    cache: FragmentCache = current_app.extensions["opds_feeds"]
    body = cache.get(page_key("opds", request.host_url, *extra_key), lambda: _render(version, build()))
    return _send(body, _content_type(version, kind))


# -- building feeds ----------------------------------------------------------

def _catalog_updated() -> str:
    """When any active book last changed (the feeds' ``updated``), now for an empty catalog."""
    row = library().catalog.db.execute("SELECT max(updated_at) FROM books WHERE status = 'active'").fetchone()
    return row[0] or now_iso()


# The feed one level up from each listing (the root for the others).
UP = {"opds.category": "opds.categories", "opds.language": "opds.languages"}


def _feed(version: int, endpoint: str, title: str, kind: str, **args) -> Feed:
    """An empty feed for ``endpoint`` with its self, start, up and search links."""
    section = endpoint.rsplit(".", 1)[-1]
    suffix = "".join(f":{quote(str(value), safe='')}" for value in args.values())
    return Feed(
        id=f"urn:readpoint:opds:{section}{suffix}",
        title=title,
        kind=kind,
        self_url=url_for(endpoint, version=version, **args),
        start_url=url_for("opds.root", version=version),
        search_url=(url_for("opds.opensearch") if version == V1
                    else url_for("opds.search", version=V2) + "{?query}"),
        updated=_catalog_updated(),
        up_url=url_for(UP.get(endpoint, "opds.root"), version=version) if endpoint != "opds.root" else None,
    )


def _book_item(book: dict, version: int, categories: dict[str, dict]) -> BookItem:
    """A book with its files, images, categories and (audiobooks) chapters, as the feeds need it."""
    catalog = library().catalog
    rows = catalog.files_of(book["id"])
    files = [dict(row, url=url_for("files.stored_file", sha256=row["sha256"], download=1))
             for row in rows if row["role"] in BOOK_FILE_ROLES]
    cover = next((row for row in rows if row["role"] == "cover"), None)
    item = BookItem(
        book=book,
        entry_url=url_for("opds.book", version=version, book_id=book["id"]),
        html_url=url_for("books.book", book_id=book["id"]),
        files=files,
        categories=[(c, localized_name(categories[c])) for c in book.get("categories", []) if c in categories],
        thumb_url=thumb_url(book),
        # A book without a cover of its own has the generated one (its thumbnail) as its image.
        cover_url=file_url(cover["sha256"]) if cover else thumb_url(book),
        cover_type=cover["media_type"] if cover else "image/jpeg",
    )
    if book["format"] == "audio":
        item.chapters = audio_chapters(book["id"])
        item.manifest_url = url_for("opds.audiobook_manifest", book_id=book["id"])
    return item


def _book_items(books: list[dict], version: int) -> list[BookItem]:
    """Catalog entries for books listed without their categories (fetched here, once per book)."""
    catalog = library().catalog
    categories = {c["id"]: c for c in catalog.categories()}
    items = []
    for listed in books:
        book = catalog.get_book(listed["id"])
        if book is not None and book["status"] == "active":
            items.append(_book_item(book, version, categories))
    return items


def _paging(endpoint: str, version: int, page: int, total: int, args: dict) -> Paging:
    """The paging of a listing: 404 for a page past the end."""
    size = setting("page_size")
    pages = max(1, -(-total // size))
    if page > pages:
        abort(404, description="No such page.")

    def url(number: int) -> str:
        """The URL of page ``number`` (page 1 without ``?page=``)."""
        return url_for(endpoint, version=version, page=number if number > 1 else None, **args)

    return Paging(page=page, per_page=size, total=total, first=url(1), last=url(pages),
                  previous=url(page - 1) if page > 1 else None, next=url(page + 1) if page < pages else None)


def _listing(version: int, endpoint: str, title: str, filters: dict, args: dict, order: str) -> Feed:
    """A paged acquisition feed of the active books matching ``filters``."""
    catalog = library().catalog
    page = page_number()
    size = setting("page_size")
    feed = _feed(version, endpoint, title, "acquisition", **args)
    feed.paging = _paging(endpoint, version, page, catalog.count_listed(**filters), args)
    books = catalog.list_books(order=order, limit=size, offset=(page - 1) * size, **filters)
    feed.books = _book_items(books, version)
    return feed


def _root(version: int) -> Feed:
    """The navigation root: newest, most read, categories, languages."""
    catalog = library().catalog
    feed = _feed(version, "opds.root", setting("site_name"), "navigation")
    feed.navigation = [
        NavItem("urn:readpoint:opds:new", gettext("Newest"), url_for("opds.new", version=version), "acquisition",
                catalog.count_books(), REL_SORT_NEW),
        NavItem("urn:readpoint:opds:popular", gettext("Most read"), url_for("opds.popular", version=version),
                "acquisition", None, REL_SORT_POPULAR),
        NavItem("urn:readpoint:opds:categories", gettext("Categories"),
                url_for("opds.categories", version=version), "navigation"),
        NavItem("urn:readpoint:opds:languages", gettext("Languages"),
                url_for("opds.languages", version=version), "navigation"),
    ]
    return feed


def _popular_ids() -> tuple[str, ...]:
    """The most read books' ids, counted at most once a minute."""
    cache: TtlCache = current_app.extensions["opds_most_read"]
    return cache.get("popular", lambda: tuple(b["id"] for b in most_read(library().catalog, limit=POPULAR_SIZE)))


# -- the feeds -------------------------------------------------------------

@_route("")
def root(version: int):
    """The catalog root (navigation)."""
    return _cached_feed(version, "navigation", lambda: _root(version))


@_route("/new")
def new(version: int):
    """Every book, newest first, paged."""
    return _cached_feed(version, "acquisition",
                        lambda: _listing(version, "opds.new", gettext("Newest"), {}, {}, "newest"))


@_route("/popular")
def popular(version: int):
    """The most read books (read, listened to, downloaded on this box)."""
    ids = _popular_ids()

    def build() -> Feed:
        """One page: the counted books that are still active."""
        feed = _feed(version, "opds.popular", gettext("Most read"), "acquisition")
        feed.rel = REL_SORT_POPULAR
        feed.books = _book_items([{"id": book_id} for book_id in ids], version)
        return feed

    return _cached_feed(version, "acquisition", build, ids)


@_route("/categories")
def categories(version: int):
    """The categories that hold books, each leading to its listing."""

    def build() -> Feed:
        """One entry per category with its count."""
        feed = _feed(version, "opds.categories", gettext("Categories"), "navigation")
        feed.navigation = [
            NavItem(f"urn:readpoint:opds:category:{c['id']}", localized_name(c),
                    url_for("opds.category", version=version, category_id=c["id"]), "acquisition", c["books"])
            for c in library().catalog.categories() if c["books"]
        ]
        return feed

    return _cached_feed(version, "navigation", build)


@_route("/category/<category_id>")
def category(version: int, category_id: str):
    """The books of one category, by title, paged (checked only when the feed is built: a kept feed is a lookup)."""

    def build() -> Feed:
        """The listing, or 404 for a category that does not exist."""
        known = {c["id"]: c for c in library().catalog.categories()}
        if category_id not in known:
            abort(404, description="No such category.")
        return _listing(version, "opds.category", localized_name(known[category_id]), {"category": category_id},
                        {"category_id": category_id}, "title")

    return _cached_feed(version, "acquisition", build)


@_route("/languages")
def languages(version: int):
    """The languages books are written or read in, each leading to its listing."""

    def build() -> Feed:
        """One entry per language with its count."""
        feed = _feed(version, "opds.languages", gettext("Languages"), "navigation")
        feed.navigation = [
            NavItem(f"urn:readpoint:opds:language:{row['language']}", language_name(row["language"]),
                    url_for("opds.language", version=version, code=row["language"]), "acquisition", row["books"])
            for row in library().catalog.languages() if row["language"]
        ]
        return feed

    return _cached_feed(version, "navigation", build)


@_route("/language/<code>")
def language(version: int, code: str):
    """The books in one language, by title, paged."""
    if len(code) > 35:
        abort(404)

    def build() -> Feed:
        """The listing, or 404 for a language no book is in."""
        if not library().catalog.count_listed(language=code):
            abort(404, description="No books in this language.")
        return _listing(version, "opds.language", language_name(code), {"language": code}, {"code": code}, "title")

    return _cached_feed(version, "acquisition", build)


@_route("/search")
def search(version: int):
    """Search results as an acquisition feed (never kept: a search is also a usage event).

    OPDS 1.2 apps send ``q`` (the OpenSearch template), OPDS 2.0 apps ``query``.
    """
    text = request.args.get("query", "") if version == V2 else request.args.get("q", "")
    query = search_query(per_page=setting("page_size"))
    query = SearchQuery(text=text[:1000], lang=query.lang, format=query.format, category=query.category,
                        page=query.page, per_page=query.per_page, budget=query.budget)
    found = run_search(query) if text.strip() else None
    title = gettext("Results for “%(query)s”", query=text.strip()) if text.strip() else gettext("Search books")
    args = {"q" if version == V1 else "query": text} if text else {}
    feed = _feed(version, "opds.search", title, "acquisition", **args)
    if found is not None:
        feed.paging = _paging("opds.search", version, min(found.page, found.pages), found.total, args)
        feed.books = _book_items([{"id": hit.id} for hit in found.results], version)
    return _send(_render(version, feed), _content_type(version, "acquisition"))


@bp.route("/opds/search.xml")
def opensearch():
    """The OpenSearch description that tells OPDS 1.2 apps how to search this box."""
    template = request.url_root.rstrip("/") + url_for("opds.search", version=V1) + "?q={searchTerms}"
    body = opensearch_description(short_name=setting("site_name"), description=gettext("Search books"),
                                  template=template)
    return _send(body, f"{OPENSEARCH_TYPE}; charset=utf-8")


@_route("/book/<book_id>")
def book(version: int, book_id: str):
    """One book's complete catalog entry (1.2) or publication (2.0)."""
    found = book_or_404(book_id)
    categories_by_id = {c["id"]: c for c in library().catalog.categories()}

    def render() -> bytes:
        """The entry or the publication document."""
        item = _book_item(found, version, categories_by_id)
        if version == V1:
            return atom_entry(item)
        return _json(opds2_publication(item))

    cache: FragmentCache = current_app.extensions["opds_feeds"]
    body = cache.get(page_key("opds-book", request.host_url), render)
    return _send(body, f"{ENTRY_TYPE};charset=utf-8" if version == V1 else f"{OPDS2_PUBLICATION_TYPE}; charset=utf-8")


@bp.route("/opds/v2/book/<book_id>/manifest.json")
def audiobook_manifest(book_id: str):
    """An audiobook as a Readium audiobook manifest: what an audiobook app plays."""
    found = book_or_404(book_id)
    if found["format"] != "audio":
        abort(404, description="This book is not an audiobook.")
    categories_by_id = {c["id"]: c for c in library().catalog.categories()}

    def render() -> bytes:
        """The manifest: the publication with itself as ``self``."""
        item = _book_item(found, V2, categories_by_id)
        manifest = opds2_publication(item, self_url=item.manifest_url, self_type=AUDIOBOOK_MANIFEST_TYPE)
        return _json({"@context": "https://readium.org/webpub-manifest/context.jsonld", **manifest})

    cache: FragmentCache = current_app.extensions["opds_feeds"]
    body = cache.get(page_key("opds-manifest", request.host_url), render)
    return _send(body, f"{AUDIOBOOK_MANIFEST_TYPE}; charset=utf-8")
