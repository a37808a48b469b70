"""OPDS 1.2: a :class:`~readpoint.opds_feeds.Feed` written as an Atom feed, and the OpenSearch description.

Built with the standard library's ElementTree, so every text and attribute is
escaped by the serializer; texts are cleaned of characters XML 1.0 cannot
carry first (:func:`~readpoint.opds_feeds.clean_text`). Links are paths on
this box (``/opds/new``): reader apps resolve them against the feed's URL, and
a feed so written is the same whatever name the phone used for the box.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from readpoint.opds_feeds import (
    ACQUISITION_TYPE, CATEGORY_SCHEME, ENTRY_TYPE, NAVIGATION_TYPE, OPENSEARCH_TYPE, REL_ACQUISITION,
    REL_IMAGE, REL_THUMBNAIL, BookItem, Feed, NavItem, clean_text, iso_date, language_tag,
)

__all__ = ["atom_feed", "atom_entry", "opensearch_description", "ATOM", "DC", "OPDS", "OPENSEARCH"]

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/terms/"
OPDS = "http://opds-spec.org/2010/catalog"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
_PREFIXES = {"": ATOM, "dc": DC, "opds": OPDS, "opensearch": OPENSEARCH}
FEED_TYPES = {"navigation": NAVIGATION_TYPE, "acquisition": ACQUISITION_TYPE}
SHORT_NAME_CHARS = 16  # OpenSearch: "16 or fewer characters"


def _element(parent: ET.Element | None, tag: str, text: str | None = None, ns: str = ATOM, **attrs) -> ET.Element:
    """A new element (under ``parent`` if given) with cleaned text and the attributes that are not None."""
    name = f"{{{ns}}}{tag}"
    values = {key.rstrip("_"): clean_text(str(value)) for key, value in attrs.items() if value is not None}
    node = ET.Element(name, values) if parent is None else ET.SubElement(parent, name, values)
    if text is not None:
        node.text = clean_text(text)
    return node


def _link(parent: ET.Element, rel: str, href: str, type_: str, **attrs) -> ET.Element:
    """An ``atom:link``."""
    return _element(parent, "link", rel=rel, href=href, type=type_, **attrs)


def _serialize(root: ET.Element) -> bytes:
    """The document as UTF-8 bytes with an XML declaration and our namespace prefixes."""
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _feed_head(feed: Feed, site_name: str) -> ET.Element:
    """The ``atom:feed`` element with its id, title, dates, author and feed-level links."""
    root = _element(None, "feed")
    _element(root, "id", feed.id)
    _element(root, "title", feed.title)
    _element(root, "updated", feed.updated)
    author = _element(root, "author")
    _element(author, "name", site_name)
    own_type = FEED_TYPES[feed.kind]
    _link(root, "self", feed.self_url, own_type)
    _link(root, "start", feed.start_url, NAVIGATION_TYPE)
    if feed.up_url:
        _link(root, "up", feed.up_url, NAVIGATION_TYPE)
    _link(root, "search", feed.search_url, OPENSEARCH_TYPE)
    if feed.rel:
        _link(root, feed.rel, feed.self_url, own_type)
    if feed.paging:
        paging = feed.paging
        _link(root, "first", paging.first, own_type)
        _link(root, "last", paging.last, own_type)
        if paging.previous:
            _link(root, "previous", paging.previous, own_type)
        if paging.next:
            _link(root, "next", paging.next, own_type)
        _element(root, "totalResults", str(paging.total), ns=OPENSEARCH)
        _element(root, "itemsPerPage", str(paging.per_page), ns=OPENSEARCH)
        _element(root, "startIndex", str((paging.page - 1) * paging.per_page + 1), ns=OPENSEARCH)
    return root


def _nav_entry(parent: ET.Element, item: NavItem, updated: str, count_text) -> None:
    """One entry of a navigation feed: a link to another feed."""
    entry = _element(parent, "entry")
    _element(entry, "title", item.title)
    _element(entry, "id", item.id)
    _element(entry, "updated", updated)
    if item.count is not None:
        _element(entry, "content", count_text(item.count), type="text")
    _link(entry, item.rel, item.href, FEED_TYPES[item.kind])


def _book_entry(parent: ET.Element | None, item: BookItem) -> ET.Element:
    """One catalog entry: metadata, images, the entry and web page links, an acquisition link per file."""
    book = item.book
    entry = _element(parent, "entry")
    _element(entry, "title", book["title"])
    _element(entry, "id", f"urn:readpoint:book:{book['id']}")
    _element(entry, "updated", book["updated_at"])
    for name in book["authors"]:
        if clean_text(name):
            _element(_element(entry, "author"), "name", name)
    language = language_tag(book["language"])
    if language:
        _element(entry, "language", language, ns=DC)
    if clean_text(book.get("publisher")):
        _element(entry, "publisher", book["publisher"], ns=DC)
    issued = iso_date(book.get("date")) or clean_text(book.get("date"))[:4]
    if issued:
        _element(entry, "issued", issued, ns=DC)
    for category_id, label in item.categories:
        _element(entry, "category", term=category_id, label=label, scheme=CATEGORY_SCHEME)
    summary = clean_text(book.get("description"), one_line=False)
    if summary:
        _element(entry, "summary", summary, type="text")
    if item.cover_url:
        _link(entry, REL_IMAGE, item.cover_url, item.cover_type or "image/jpeg")
    if item.thumb_url:
        _link(entry, REL_THUMBNAIL, item.thumb_url, "image/jpeg")
    _link(entry, "alternate", item.entry_url, ENTRY_TYPE, title=book["title"])
    _link(entry, "alternate", item.html_url, "text/html", title=book["title"])
    for row in item.files:
        _link(entry, REL_ACQUISITION, row["url"], row["media_type"], length=row["size"],
              title=row["name"] or book["title"])
    return entry


def atom_feed(feed: Feed, *, site_name: str, count_text) -> bytes:
    """The OPDS 1.2 feed document; ``count_text(n)`` words a count ("12 books") in the UI language."""
    root = _feed_head(feed, site_name)
    for item in feed.navigation:
        _nav_entry(root, item, feed.updated, count_text)
    for book in feed.books:
        _book_entry(root, book)
    return _serialize(root)


def atom_entry(item: BookItem) -> bytes:
    """A complete OPDS catalog entry document for one book."""
    return _serialize(_book_entry(None, item))


def opensearch_description(*, short_name: str, description: str, template: str) -> bytes:
    """The OpenSearch 1.1 description pointing reader apps at ``template`` (``{searchTerms}`` inside).

    Written as text (escaped): its elements are in the default namespace,
    which ElementTree would only write by changing a process-wide prefix map.
    """
    name = escape(clean_text(short_name)[:SHORT_NAME_CHARS])
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<OpenSearchDescription xmlns="{OPENSEARCH}">'
        f"<ShortName>{name}</ShortName>"
        f"<Description>{escape(clean_text(description))}</Description>"
        "<InputEncoding>UTF-8</InputEncoding><OutputEncoding>UTF-8</OutputEncoding>"
        f"<Url type={quoteattr(ACQUISITION_TYPE)} template={quoteattr(clean_text(template))}/>"
        "</OpenSearchDescription>"
    ).encode("utf-8")
