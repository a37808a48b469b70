"""OPDS 2.0: a :class:`~readpoint.opds_feeds.Feed` as the JSON of the OPDS 2.0 and Readium schemas.

Links are absolute (:func:`absolute_links`): a Readium manifest's ``self``
link must name its canonical location, and OPDS 2.0 clients (Palace's parser
among them) refuse a relative one.

An audiobook is a publication that is also a Readium audiobook manifest: its
``readingOrder`` lists the chapters in order, each with its media type,
duration and title (a chapter inside a long M4B file points into it with a
``#t=`` media fragment), so a reader app can play it straight from the feed.
EPUB and PDF books get one acquisition link per file.
"""

from __future__ import annotations

from readpoint.opds_feeds import (
    AUDIOBOOK_MANIFEST_TYPE, AUDIOBOOK_PROFILE, CATEGORY_SCHEME, OPDS2_PUBLICATION_TYPE, OPDS2_TYPE,
    REL_ACQUISITION, BookItem, Feed, NavItem, clean_text, iso_date, language_tag,
)

__all__ = ["opds2_feed", "opds2_publication", "absolute_links", "SCHEMA_TYPES"]

SCHEMA_TYPES = {"epub": "http://schema.org/EBook", "pdf": "http://schema.org/Book",
                "audio": "http://schema.org/Audiobook"}
THUMB_WIDTH = 160  # content.ingest.thumbnails.THUMBNAIL_WIDTH; the height follows the cover


def _link(href: str, type_: str, rel: str | None = None, **extra) -> dict:
    """A Link Object (keys with None values left out)."""
    link = {"rel": rel, "href": href, "type": type_}
    link.update(extra)
    return {key: value for key, value in link.items() if value is not None}


def _duration(seconds) -> float | None:
    """A positive duration in seconds, or None (the schema refuses 0)."""
    return round(float(seconds), 3) if seconds and seconds > 0 else None


def _metadata(item: BookItem) -> dict:
    """A publication's metadata: title, authors, language, description, subjects, dates."""
    book = item.book
    metadata = {
        "@type": SCHEMA_TYPES.get(book["format"], "http://schema.org/Book"),
        "identifier": f"urn:readpoint:book:{book['id']}",
        "title": clean_text(book["title"]) or book["id"],
        "modified": book["updated_at"],
    }
    authors = [clean_text(name) for name in book["authors"] if clean_text(name)]
    if authors:
        metadata["author"] = authors
    language = language_tag(book["language"])
    if language:
        metadata["language"] = language
    description = clean_text(book.get("description"), one_line=False)
    if description:
        metadata["description"] = description
    if clean_text(book.get("publisher")):
        metadata["publisher"] = clean_text(book["publisher"])
    published = iso_date(book.get("date"))
    if published:
        metadata["published"] = published
    if item.categories:
        metadata["subject"] = [{"name": label, "code": category_id, "scheme": CATEGORY_SCHEME}
                               for category_id, label in item.categories]
    if book["format"] == "audio":
        metadata["conformsTo"] = AUDIOBOOK_PROFILE
        duration = _duration(book.get("duration")) or _duration(
            sum(chapter["duration"] or 0 for chapter in item.chapters))
        if duration:
            metadata["duration"] = duration
    return metadata


def _reading_order(item: BookItem) -> list[dict]:
    """An audiobook's chapters in order: href (with ``#t=`` inside a file), type, duration, title."""
    order = []
    for number, chapter in enumerate(item.chapters, start=1):
        href = chapter["url"]
        if chapter["start"]:
            href = f"{href}#t={chapter['start']:g}"
        order.append(_link(href, chapter["media_type"], title=clean_text(chapter["title"]) or f"{number}",
                           duration=_duration(chapter["duration"])))
    return order


def _images(item: BookItem) -> list[dict]:
    """The thumbnail first (small, what a list shows), then the full cover."""
    images = []
    if item.thumb_url:
        images.append(_link(item.thumb_url, "image/jpeg", width=THUMB_WIDTH))
    if item.cover_url and item.cover_url != item.thumb_url:
        images.append(_link(item.cover_url, item.cover_type or "image/jpeg"))
    return images


def opds2_publication(item: BookItem, *, self_url: str | None = None, self_type: str = OPDS2_PUBLICATION_TYPE) -> dict:
    """One publication: metadata, links (self, acquisitions, web page), images, and an audiobook's reading order."""
    book = item.book
    title = clean_text(book["title"]) or book["id"]
    links = [_link(self_url or item.entry_url, self_type, "self")]
    if book["format"] == "audio" and item.manifest_url:
        links.append(_link(item.manifest_url, AUDIOBOOK_MANIFEST_TYPE, REL_ACQUISITION, title=title))
    for row in item.files:
        links.append(_link(row["url"], row["media_type"], REL_ACQUISITION,
                           title=clean_text(row["name"]) or title))
    links.append(_link(item.html_url, "text/html", "alternate", title=title))
    publication = {"metadata": _metadata(item), "links": links, "images": _images(item)}
    if book["format"] == "audio":
        publication["readingOrder"] = _reading_order(item)
    return publication


def _navigation_link(item: NavItem) -> dict:
    """A navigation Link Object, its count as ``numberOfItems``."""
    extra = {"properties": {"numberOfItems": item.count}} if item.count is not None else {}
    rel = item.rel if item.rel != "subsection" else None
    return _link(item.href, OPDS2_TYPE, rel, title=clean_text(item.title), **extra)


def opds2_feed(feed: Feed) -> dict:
    """The OPDS 2.0 feed document."""
    metadata = {"title": clean_text(feed.title), "modified": feed.updated}
    links = [_link(feed.self_url, OPDS2_TYPE, "self"), _link(feed.start_url, OPDS2_TYPE, "start")]
    if feed.up_url:
        links.append(_link(feed.up_url, OPDS2_TYPE, "up"))
    links.append(_link(feed.search_url, OPDS2_TYPE, "search", templated=True))
    if feed.paging:
        paging = feed.paging
        metadata.update(numberOfItems=paging.total, itemsPerPage=paging.per_page, currentPage=paging.page)
        links.append(_link(paging.first, OPDS2_TYPE, "first"))
        links.append(_link(paging.last, OPDS2_TYPE, "last"))
        if paging.previous:
            links.append(_link(paging.previous, OPDS2_TYPE, "previous"))
        if paging.next:
            links.append(_link(paging.next, OPDS2_TYPE, "next"))
    document = {"metadata": metadata, "links": links}
    if feed.kind == "navigation":
        document["navigation"] = [_navigation_link(item) for item in feed.navigation]
    else:
        document["publications"] = [opds2_publication(item) for item in feed.books]
    return document


def absolute_links(document, base: str):
    """``document`` with every ``href`` that is a path on this box prefixed with ``base`` (``http://host``)."""
    if isinstance(document, list):
        return [absolute_links(item, base) for item in document]
    if isinstance(document, dict):
        return {key: (base + value if key == "href" and isinstance(value, str) and value.startswith("/")
                      else absolute_links(value, base)) for key, value in document.items()}
    return document
