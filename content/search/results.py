"""What a search returns: :class:`SearchResults` holding a page of :class:`SearchHit`.

Snippets are kept as segments ``(text, is_match)`` of plain text; :func:`snippet_html`
escapes every segment and wraps matches in ``<mark>``, so neither the page nor the
JSON API ever passes book text through unescaped.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from content.search.query import SearchQuery

__all__ = ["Segment", "SearchHit", "SearchResults", "snippet_html"]

Segment = tuple[str, bool]


def snippet_html(segments: tuple[Segment, ...] | list[Segment]) -> str:
    """Escaped HTML of a snippet, matched words in ``<mark>``."""
    return "".join(
        f"<mark>{html.escape(text)}</mark>" if is_match else html.escape(text)
        for text, is_match in segments
    )


@dataclass(frozen=True)
class SearchHit:
    """One book found. ``chapter`` is the position of the chapter or page the snippet is from."""

    id: str
    title: str
    authors: list[str]
    language: str
    format: str
    categories: list[str]
    snippet: tuple[Segment, ...] = ()
    chapter: int | None = None

    @property
    def snippet_html(self) -> str:
        """The snippet as escaped HTML with ``<mark>`` around matches ("" when none)."""
        return snippet_html(self.snippet)

    def to_json(self) -> dict:
        """The hit as the JSON API shows it (``snippet`` is escaped HTML)."""
        return {
            "id": self.id,
            "title": self.title,
            "authors": list(self.authors),
            "language": self.language,
            "format": self.format,
            "categories": list(self.categories),
            "snippet": self.snippet_html,
            "chapter": self.chapter,
        }


@dataclass(frozen=True)
class SearchResults:
    """A page of results, how many books matched in all, and a suggestion when none did.

    ``total`` counts the books that hold the words together (part one, see
    :mod:`content.search.tiers`); ``also_total`` the other books mentioning all the
    words (part two), listed after them. ``also_total_exact`` is false when counting
    part two was cut short: there are then more than ``also_total``.

    ``timed_out`` is true when the time budget ran out: ``results`` then holds what
    was found in time (possibly nothing) and the counts count only that.
    """

    query: SearchQuery
    total: int = 0
    page: int = 1
    per_page: int = 20
    results: list[SearchHit] = field(default_factory=list)
    suggestion: str | None = None
    timed_out: bool = False
    also_total: int = 0
    also_total_exact: bool = True

    @property
    def pages(self) -> int:
        """How many pages the results of both parts fill (one more when part two is "more than")."""
        listed = self.total + self.also_total + (0 if self.also_total_exact else 1)
        return max(1, math.ceil(listed / self.per_page)) if self.per_page else 1

    def to_json(self) -> dict:
        """The results as the JSON API shows them."""
        return {
            "query": self.query.text,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "results": [hit.to_json() for hit in self.results],
            "suggestion": self.suggestion,
            "timed_out": self.timed_out,
            "also_total": self.also_total,
            "also_total_exact": self.also_total_exact,
        }
