"""What an OPDS feed holds, whatever its syntax: :class:`Feed`, :class:`NavItem`, :class:`BookItem`.

The OPDS views (:mod:`readpoint.views.opds`) fill these from the catalog once
per feed; :mod:`readpoint.opds_atom` writes them as OPDS 1.2 (Atom XML) and
:mod:`readpoint.opds_json` as OPDS 2.0 (JSON). Both versions list the same
books with the same links, so a librarian's answer to "what does the reader
app see" is one function, not two.

Also here: the media types and relations both versions use, and the cleaning
every text needs before it goes into a feed (XML 1.0 refuses most control
characters, and a title from a USB stick may hold any of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "Feed", "NavItem", "BookItem", "Paging",
    "NAVIGATION_TYPE", "ACQUISITION_TYPE", "ENTRY_TYPE", "OPENSEARCH_TYPE",
    "OPDS2_TYPE", "OPDS2_PUBLICATION_TYPE", "AUDIOBOOK_MANIFEST_TYPE", "AUDIOBOOK_PROFILE",
    "REL_ACQUISITION", "REL_IMAGE", "REL_THUMBNAIL", "REL_SORT_NEW", "REL_SORT_POPULAR",
    "CATEGORY_SCHEME", "clean_text", "language_tag", "iso_date",
]

NAVIGATION_TYPE = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY_TYPE = "application/atom+xml;type=entry;profile=opds-catalog"
OPENSEARCH_TYPE = "application/opensearchdescription+xml"
OPDS2_TYPE = "application/opds+json"
OPDS2_PUBLICATION_TYPE = "application/opds-publication+json"
AUDIOBOOK_MANIFEST_TYPE = "application/audiobook+json"
AUDIOBOOK_PROFILE = "https://readium.org/webpub-manifest/profiles/audiobook"

REL_ACQUISITION = "http://opds-spec.org/acquisition/open-access"
REL_IMAGE = "http://opds-spec.org/image"
REL_THUMBNAIL = "http://opds-spec.org/image/thumbnail"
REL_SORT_NEW = "http://opds-spec.org/sort/new"
REL_SORT_POPULAR = "http://opds-spec.org/sort/popular"
CATEGORY_SCHEME = "urn:readpoint:category"

# Characters XML 1.0 cannot carry at all (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F).
_NOT_XML_RE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LANGUAGE_RE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
_SPACES_RE = re.compile(r"[ \t\r\n]+")


def clean_text(text: str | None, *, one_line: bool = True) -> str:
    """``text`` with the characters XML refuses removed (and, for ``one_line``, spaces collapsed)."""
    cleaned = _NOT_XML_RE.sub("", text or "")
    return _SPACES_RE.sub(" ", cleaned).strip() if one_line else cleaned.strip()


def language_tag(code: str | None) -> str | None:
    """The book's language if it is a well-formed BCP 47 tag (``vi``, ``blt``, ``th-TH``), else None."""
    code = (code or "").strip()
    return code if _LANGUAGE_RE.fullmatch(code) else None


def iso_date(value: str | None) -> str | None:
    """A full ``YYYY-MM-DD`` publication date, or None for a bare year or anything unreadable."""
    text = (value or "").strip()[:10]
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class NavItem:
    """A link to another feed: a sort, a category, a language."""

    id: str
    title: str
    href: str
    kind: str  # "navigation" or "acquisition": the feed it leads to
    count: int | None = None
    rel: str = "subsection"


@dataclass
class BookItem:
    """One book as a catalog entry: metadata, its files, images and (audiobooks) chapters.

    ``files`` are the book's own files (role primary or chapter) with a ``url``;
    ``chapters`` (audiobooks only) each have title, url, media_type, duration.
    """

    book: dict
    entry_url: str
    html_url: str
    files: list[dict]
    categories: list[tuple[str, str]]
    thumb_url: str | None
    cover_url: str | None
    cover_type: str | None
    chapters: list[dict] = field(default_factory=list)
    manifest_url: str | None = None


@dataclass(frozen=True)
class Paging:
    """Where one page of a long feed sits, and the links to its neighbours."""

    page: int
    per_page: int
    total: int
    first: str
    last: str
    previous: str | None
    next: str | None


@dataclass
class Feed:
    """A navigation feed (``navigation``) or an acquisition feed (``books``)."""

    id: str
    title: str
    kind: str
    self_url: str
    start_url: str
    search_url: str
    updated: str
    up_url: str | None = None
    navigation: list[NavItem] = field(default_factory=list)
    books: list[BookItem] = field(default_factory=list)
    paging: Paging | None = None
    rel: str | None = None  # the sort this feed is (new, popular), for its self link
