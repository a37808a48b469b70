"""The search engine interface, what every engine shares, and the factory.

An engine finds and ranks books (:meth:`SearchIndex._find`); this module parses the
query, enforces the time budget, builds snippets from the catalog and suggests a
spelling when nothing is found, so both engines answer in the same shape.

Ranking, the same in every engine: books are sorted by tier, then by the engine's
relevance score (BM25 with title > authors > subjects > other metadata, and an extra
phrase for adjacent query words). Tiers, best first:

0. every word typed with marks found with those marks, in the metadata;
1. the same in one chapter or page;
2. every word found folded (``nong`` for ``nóng``), in the metadata;
3. the same in one chapter or page.

Tiers 0 and 1 exist only when the query has marks. A book is counted once, at its
best tier. Query words must all be found in the metadata, or all in one chapter or
page. Words typed with marks add a boost in folded tiers too; adjacent query words
(the whole query as a phrase) add one in titles, descriptions and text.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sqlite_utils import Database

from content.catalog import Catalog
from content.errors import SearchError
from content.search.documents import json_list
from content.search.query import DEFAULT_BUDGET_SECONDS, ParsedQuery, SearchQuery, parse_query
from content.search.results import SearchHit, SearchResults
from content.search.snippets import make_snippet, match_pattern
from content.search.suggest import Vocabulary, suggest

__all__ = ["ENGINES", "Deadline", "Ranked", "Found", "SearchIndex", "hydrate", "open_search_index"]

log = logging.getLogger(__name__)

ENGINES = ("fts5", "whoosh")


class Deadline:
    """A point in ``time.monotonic()`` time after which a query must stop."""

    def __init__(self, seconds: float):
        """A deadline ``seconds`` from now."""
        self.at = time.monotonic() + max(0.0, seconds)

    def expired(self) -> bool:
        """Whether the time is up."""
        return time.monotonic() >= self.at

    def remaining(self) -> float:
        """Seconds left (0 when expired)."""
        return max(0.0, self.at - time.monotonic())


@dataclass(frozen=True)
class Ranked:
    """A book in result order; ``position`` is the chapter its snippet comes from (None: metadata)."""

    book_id: str
    position: int | None = None


@dataclass(frozen=True)
class Found:
    """What an engine found: one page of ranked books, the total, and whether time ran out."""

    ranked: list[Ranked]
    total: int
    timed_out: bool = False


def _chapter_text(db: Database, book_id: str, position: int) -> str:
    """The text of one chapter or page ("" if it is gone)."""
    row = db.execute(
        "SELECT text FROM chapter_texts WHERE book_id = ? AND position = ?", [book_id, position]
    ).fetchone()
    return row[0] if row else ""


def hydrate(db: Database, ranked: list[Ranked], parsed: ParsedQuery,
            deadline: Deadline | None = None) -> list[SearchHit]:
    """Turn ranked book ids into hits with catalog metadata and snippets.

    Books no longer active (an index behind the catalog) are left out. Snippets
    are made within ``deadline``: once it has passed, the rest show their text's start.
    """
    if not ranked:
        return []
    ids = [item.book_id for item in ranked]
    marks = ",".join("?" * len(ids))
    books = {
        row["id"]: row
        for row in db.query(
            f"SELECT id, title, authors, language, format, description FROM books "
            f"WHERE id IN ({marks}) AND +status = 'active'",  # + keeps the primary key in use
            ids,
        )
    }
    categories: dict[str, list[str]] = {}
    for book_id, category in db.execute(
        f"SELECT book_id, category_id FROM book_categories WHERE book_id IN ({marks}) "
        "ORDER BY category_id",
        ids,
    ):
        categories.setdefault(book_id, []).append(category)
    pattern = match_pattern(parsed)
    hits = []
    for item in ranked:
        book = books.get(item.book_id)
        if book is None:
            continue
        if item.position is None:
            text = book["description"]
        else:
            text = _chapter_text(db, item.book_id, item.position)
        hits.append(
            SearchHit(
                id=book["id"],
                title=book["title"],
                authors=json_list(book["authors"]),
                language=book["language"],
                format=book["format"],
                categories=categories.get(item.book_id, []),
                snippet=make_snippet(text, pattern, deadline=deadline.at if deadline else None),
                chapter=item.position,
            )
        )
    return hits


class SearchIndex(abc.ABC):
    """A search index over the active books of a catalog.

    ``in_catalog_transaction`` tells writers when to call :meth:`index_book`: true
    (FTS5) inside the catalog transaction that changes the book, so the index can
    never disagree with the catalog; false (Whoosh) after that transaction commits.
    """

    name: ClassVar[str]
    in_catalog_transaction: ClassVar[bool]

    def __init__(self, *, budget: float | None = None):
        """An index whose queries get ``budget`` seconds unless the query says otherwise."""
        self.budget = DEFAULT_BUDGET_SECONDS if budget is None else budget

    # -- keeping the index in step with the catalog -------------------------

    @abc.abstractmethod
    def index_book(self, catalog: Catalog, book_id: str,
                   analysed: Mapping[str, tuple[str, str]] | None = None) -> None:
        """(Re-)index one book as the catalog has it now; removes it unless it is active.

        ``analysed``: streams of chapter texts analysed already, by text (see
        :func:`content.search.documents.load_document`).
        """

    @abc.abstractmethod
    def remove_book(self, catalog: Catalog, book_id: str) -> None:
        """Remove one book from the index (nothing happens if it is not there)."""

    @abc.abstractmethod
    def rebuild(self, catalog: Catalog) -> int:
        """Index every active book afresh and drop everything else; return the books indexed."""

    @abc.abstractmethod
    def refresh(self, catalog: Catalog) -> int:
        """Index only the books that are missing or changed, drop the rest; return how many."""

    @abc.abstractmethod
    def problems(self, catalog: Catalog) -> list[str]:
        """Disagreements between index and catalog, one sentence each (empty: none)."""

    @abc.abstractmethod
    def is_stale(self, catalog: Catalog) -> bool:
        """Whether the index misses, or holds outdated or extra, books (a cheap check)."""

    def close(self) -> None:
        """Release what the index holds open (nothing for FTS5, searchers for Whoosh)."""

    # -- searching ------------------------------------------------------------

    @abc.abstractmethod
    def _find(self, catalog: Catalog, parsed: ParsedQuery, query: SearchQuery, deadline: Deadline) -> Found:
        """Rank the books matching ``parsed`` and filtered by ``query``; one page of them."""

    @abc.abstractmethod
    def _vocabulary(self, catalog: Catalog) -> Vocabulary:
        """The folded words the index holds, for suggestions."""

    def search(self, catalog: Catalog, query: SearchQuery) -> SearchResults:
        """Run ``query``: a page of hits, the total, a suggestion if nothing matched.

        Never raises on what a user typed; raises :class:`SearchError` only when the
        index itself is broken.
        """
        query = query.clamped()
        parsed = parse_query(query.text)
        if parsed.is_empty:
            return SearchResults(query=query, page=query.page, per_page=query.per_page)
        deadline = Deadline(self.budget if query.budget is None else query.budget)
        found = self._find(catalog, parsed, query, deadline)
        hits = hydrate(catalog.db, found.ranked, parsed, deadline)
        cut = found.timed_out or deadline.expired()  # snippets count against the budget too
        suggestion = None
        if found.total == 0 and not found.timed_out and not deadline.expired():
            suggestion = suggest(parsed, self._vocabulary(catalog), deadline.at)
        return SearchResults(
            query=query,
            total=found.total,
            page=query.page,
            per_page=query.per_page,
            results=hits,
            suggestion=suggestion,
            timed_out=cut,
        )


def open_search_index(engine_name: str, data_dir: Path | str, *, budget: float | None = None) -> SearchIndex:
    """The search index named ``engine_name`` ("fts5", the default, or "whoosh") for a data directory.

    FTS5 lives in the catalog database; Whoosh in ``<data_dir>/index/``.
    """
    name = (engine_name or "fts5").strip().lower()
    if name == "fts5":
        from content.search.fts5 import Fts5Index

        return Fts5Index(budget=budget)
    if name == "whoosh":
        from content.search.whoosh_index import WhooshIndex

        return WhooshIndex(Path(data_dir) / "index", budget=budget)
    raise SearchError(f"unknown search engine {engine_name!r}: choose one of {', '.join(ENGINES)}")
