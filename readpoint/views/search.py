"""Search: the results page ``/search?q=`` and the JSON API ``GET /api/search``.

Both take ``q``, ``lang``, ``format``, ``category``, ``page`` (and the API
``per_page``); anything a phone sends is clamped, never refused. Snippets are
escaped by :mod:`content.search.results` before they get here. A first-page search
is a usage event: ``search``, or ``search_empty`` with the term when nothing was
found (what librarians see as "searched for but not found").

Searching is the one thing a phone can ask for that costs seconds of CPU, so
searches never hold more than half the server's worker threads: at most
:data:`SEARCHES_RUNNING` run at once and the rest of that half may wait for a
turn (within their time budget, which the wait counts against); any more are
answered at once as cut short (``"timed_out": true``, no results). The other
workers stay free for browsing and downloads.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup

from content.search import SearchQuery, SearchResults
from readpoint.usage import record_event
from readpoint.views.common import library, page_number, setting

__all__ = ["bp", "search_query", "run_search", "SearchGate", "SEARCHES_RUNNING"]

bp = Blueprint("search", __name__)

SEARCHES_RUNNING = 2

MAX_ARG_CHARS = 1000
HTML_PER_PAGE = 20
FORMATS = ("epub", "pdf", "audio")
_SPACES_RE = re.compile(r"\s+")


def _arg(name: str) -> str | None:
    """A query argument, trimmed and capped (None when empty)."""
    value = request.args.get(name, "")[:MAX_ARG_CHARS].strip()
    return value or None


def _per_page() -> int:
    """The ``per_page`` argument (garbage means the default; the engine clamps the rest)."""
    try:
        return int(request.args.get("per_page", HTML_PER_PAGE))
    except ValueError:
        return HTML_PER_PAGE


def search_query(per_page: int = HTML_PER_PAGE) -> SearchQuery:
    """The search this request asks for, with the app's time budget."""
    return SearchQuery(
        text=request.args.get("q", "")[:MAX_ARG_CHARS],
        lang=_arg("lang"),
        format=_arg("format"),
        category=_arg("category"),
        page=page_number(),
        per_page=per_page,
        budget=setting("search_time_budget_ms") / 1000,
    )


class SearchGate:
    """At most ``running`` searches at once, and ``waiting`` more queued for a turn; thread-safe."""

    def __init__(self, running: int, waiting: int):
        """A gate with this many turns and places in the queue."""
        self._turns = threading.BoundedSemaphore(running)
        self._admitted = threading.BoundedSemaphore(running + waiting)
        self.refused = 0

    @contextmanager
    def turn(self, wait_seconds: float) -> Iterator[bool]:
        """Yield True while this search holds a turn; False if the queue is full or the wait ran out."""
        if not self._admitted.acquire(blocking=False):
            self.refused += 1
            yield False
            return
        try:
            if not self._turns.acquire(timeout=max(wait_seconds, 0.0)):
                self.refused += 1
                yield False
                return
            try:
                yield True
            finally:
                self._turns.release()
        finally:
            self._admitted.release()


@bp.record_once
def _set_up_app(state) -> None:
    """Every app gets its own search gate, for half its worker threads (at least one search)."""
    admitted = max(1, state.app.config["READPOINT"]["threads"] // 2)
    running = min(SEARCHES_RUNNING, admitted)
    state.app.extensions["search_gate"] = SearchGate(running=running, waiting=admitted - running)


def _event_term(text: str) -> str:
    """The term as recorded: NFC, lower case, single spaces."""
    return _SPACES_RE.sub(" ", unicodedata.normalize("NFC", text)).strip().lower()


def run_search(query: SearchQuery) -> SearchResults:
    """Search the library (waiting for a turn within the budget) and record the usage event of a first page."""
    lib = library()
    gate: SearchGate = current_app.extensions["search_gate"]
    budget = lib.search.budget if query.budget is None else query.budget
    started = time.monotonic()
    with gate.turn(budget) as admitted:
        if not admitted:
            clamped = query.clamped()
            return SearchResults(query=clamped, page=clamped.page, per_page=clamped.per_page, timed_out=True)
        left = max(0.0, budget - (time.monotonic() - started))
        results = lib.search.search(lib.catalog, replace(query, budget=left))
    term = _event_term(query.text)
    if term and results.page == 1 and not results.timed_out:
        if results.total == 0:
            record_event("search_empty", detail=term)
        else:
            record_event("search")
    return results


def _page_url(query: SearchQuery, page: int, text: str | None = None) -> str:
    """The results page for ``page`` (or for another ``text``), keeping the filters."""
    args = {"q": query.text if text is None else text, "page": page if page > 1 else None}
    args.update(lang=query.lang, format=query.format, category=query.category)
    return url_for("search.results", **{k: v for k, v in args.items() if v})


@bp.route("/search")
def results():
    """The results page: works without JavaScript; snippets escaped, matches in ``<mark>``."""
    query = search_query()
    found = run_search(query) if query.text.strip() else None
    catalog = library().catalog
    books = {hit.id: catalog.get_book(hit.id) for hit in found.results} if found else {}
    return render_template(
        "search/results.html",
        query=query.text,
        search=query,
        found=found,
        books=books,
        snippet=lambda hit: Markup(hit.snippet_html),  # escaped by content.search.results
        page_url=lambda page: _page_url(query, page),
        suggestion_url=(_page_url(query, 1, found.suggestion) if found and found.suggestion else None),
        languages=catalog.languages(),
        categories=catalog.categories(),
        formats=FORMATS,
    )


@bp.route("/api/search")
def api_search():
    """``{"query", "total", "page", "per_page", "results": [...], "suggestion", "timed_out"}``.

    Each result's ``snippet`` is escaped HTML in which only ``<mark>`` is markup.
    """
    query = search_query(per_page=_per_page())
    if not query.text.strip():
        return jsonify(SearchResults(query=query.clamped()).to_json())
    return jsonify(run_search(query).to_json())
