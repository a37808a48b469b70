"""What the engines index for one book, read from the catalog and analysed once.

A book is one metadata document (title, authors, subjects, other: publisher and
description) and one document per chapter or page with text (``chapter_texts``).
Only ``active`` books have documents. Both engines index exactly these strings.

Each metadata field starts and ends with :data:`BOUNDARY`, which also stands between
the items of a list (authors, subjects; publisher and description): a phrase never
runs from one author's name into the next, and ``BOUNDARY name BOUNDARY`` finds a
whole name. Analysis never makes a token of it (it is punctuation), so nothing a
user types can match it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sqlite_utils import Database

from content.search.analysis import index_streams

__all__ = [
    "BOUNDARY",
    "META_FIELDS",
    "field_streams",
    "MAX_POSITION",
    "ChapterDocument",
    "BookDocument",
    "load_document",
    "active_stamps",
    "iter_active_ids",
    "json_list",
    "facet_token",
    "book_facets",
    "query_facets",
    "suggestion_words",
]

log = logging.getLogger(__name__)

META_FIELDS = ("title", "authors", "subjects", "other")
BOUNDARY = "\u00b6"  # ¶
# Chapter positions must fit in 20 bits (the FTS5 engine packs them into row ids).
MAX_POSITION = (1 << 20) - 1


@dataclass
class ChapterDocument:
    """The analysed text of one chapter or page."""

    position: int
    folded: str
    exact: str


@dataclass
class BookDocument:
    """The analysed metadata and chapters of one active book, with its filter values.

    ``meta`` maps each of :data:`META_FIELDS` to its ``(folded, exact)`` streams;
    ``stamp`` is the book's ``updated_at`` when it was read (stale detection).
    """

    book_id: str
    stamp: str
    language: str
    format: str
    categories: list[str]
    meta: dict[str, tuple[str, str]]
    facets: list[str] = field(default_factory=list)
    chapters: list[ChapterDocument] = field(default_factory=list)


def facet_token(kind: str, value: str) -> str:
    """A filter token: ``kind`` then the hex of the lower-cased value (letters and digits only)."""
    return kind + value.strip().lower().encode("utf-8").hex()


def book_facets(language: str, book_format: str, categories: list[str]) -> list[str]:
    """The filter tokens of a book: its language (and primary subtag), format, categories.

    A filter on ``vi`` finds ``vi-VN`` books: they carry both language tokens.
    """
    tokens = [facet_token("lang", language)]
    if "-" in language:
        tokens.append(facet_token("lang", language.split("-")[0]))
    tokens.append(facet_token("fmt", book_format))
    tokens += [facet_token("cat", category) for category in categories]
    return tokens


def query_facets(language: str | None, book_format: str | None, category: str | None) -> list[str]:
    """The filter tokens a query requires (empty: no filter)."""
    tokens = []
    if language:
        tokens.append(facet_token("lang", language))
    if book_format:
        tokens.append(facet_token("fmt", book_format))
    if category:
        tokens.append(facet_token("cat", category))
    return tokens


def suggestion_words(document: BookDocument) -> set[str]:
    """The folded metadata words worth suggesting: letters only, 3 to 30 characters."""
    words = set()
    for folded, _ in document.meta.values():
        words.update(word for word in folded.split() if 3 <= len(word) <= 30 and word.isalpha())
    return words


def field_streams(items: list[str]) -> tuple[str, str]:
    """(folded, exact) streams of one metadata field made of ``items``, with boundaries.

    The exact stream is empty when no item has a word with marks, as for any text.
    """
    streams = [index_streams(item) for item in items]
    streams = [(folded, exact or folded) for folded, exact in streams if folded]
    if not streams:
        return "", ""
    edge = f" {BOUNDARY} "
    folded = BOUNDARY + " " + edge.join(folded for folded, _ in streams) + " " + BOUNDARY
    exact = BOUNDARY + " " + edge.join(exact for _, exact in streams) + " " + BOUNDARY
    return folded, "" if exact == folded else exact


def json_list(value: str | None) -> list[str]:
    """A JSON list column as a list of strings (garbage gives an empty list)."""
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


def load_document(db: Database, book_id: str,
                  analysed: Mapping[str, tuple[str, str]] | None = None) -> BookDocument | None:
    """Read and analyse the book ``book_id``; None unless it exists and is active.

    ``analysed`` holds the streams of texts already analysed elsewhere (the
    importer's reader process), by text: a chapter whose text is there is not
    analysed again.
    """
    row = db.execute(
        "SELECT id, title, authors, subjects, publisher, description, language, format, "
        "updated_at FROM books WHERE id = ? AND status = 'active'",
        [book_id],
    ).fetchone()
    if row is None:
        return None
    _, title, authors, subjects, publisher, description, language, book_format, stamp = row
    meta = {
        "title": field_streams([title or ""]),
        "authors": field_streams(json_list(authors)),
        "subjects": field_streams(json_list(subjects)),
        "other": field_streams([publisher or "", description or ""]),
    }
    categories = [
        r[0]
        for r in db.execute(
            "SELECT category_id FROM book_categories WHERE book_id = ? ORDER BY category_id", [book_id]
        )
    ]
    facets = book_facets(language or "", book_format, categories)
    document = BookDocument(book_id, stamp, language or "", book_format, categories, meta, facets)
    for position, text in db.execute(
        "SELECT position, text FROM chapter_texts WHERE book_id = ? ORDER BY position", [book_id]
    ):
        if not 0 <= position <= MAX_POSITION:
            log.warning("book %s: chapter position %s out of range, not indexed", book_id, position)
            continue
        streams = analysed.get(text) if analysed and text else None
        folded, exact = streams or index_streams(text or "")
        if folded:
            document.chapters.append(ChapterDocument(position, folded, exact))
    return document


def active_stamps(db: Database) -> dict[str, str]:
    """``{book id: updated_at}`` of every active book (what a fresh index would hold)."""
    return dict(db.execute("SELECT id, updated_at FROM books WHERE status = 'active'").fetchall())


def iter_active_ids(db: Database) -> Iterator[str]:
    """Ids of the active books, in id order."""
    for (book_id,) in db.execute("SELECT id FROM books WHERE status = 'active' ORDER BY id").fetchall():
        yield book_id
