"""Search over the catalog: one analysis pipeline, two engines behind one interface.

Modules: :mod:`~content.search.analysis` (NFC, case folding, Thai segmentation, folded
and exact streams, Tai Viet bigrams), :mod:`~content.search.query` (what is asked),
:mod:`~content.search.documents` (what is indexed per book),
:mod:`~content.search.engine` (the :class:`SearchIndex` interface, tiers, factory),
:mod:`~content.search.fts5` (default, in the catalog database),
:mod:`~content.search.whoosh_index` (second engine, in ``<data>/index/``),
:mod:`~content.search.snippets`, :mod:`~content.search.suggest`,
:mod:`~content.search.results`.

Usage::

    index = open_search_index("fts5", data_dir)
    with catalog.write():
        catalog.insert_book(...)
        index.index_book(catalog, book_id)   # FTS5: same transaction
    results = index.search(catalog, SearchQuery("nong nghiep", lang="vi"))

Errors: :class:`content.errors.SearchError` when an index is broken; what a user
types never raises.
"""

from content.search.engine import ENGINES, SearchIndex, open_search_index
from content.search.query import DEFAULT_BUDGET_SECONDS, SearchQuery
from content.search.results import SearchHit, SearchResults, snippet_html

__all__ = [
    "ENGINES",
    "DEFAULT_BUDGET_SECONDS",
    "SearchIndex",
    "SearchQuery",
    "SearchHit",
    "SearchResults",
    "open_search_index",
    "snippet_html",
]
