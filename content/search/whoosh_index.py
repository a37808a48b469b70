"""The second engine: a Whoosh index in ``<data_dir>/index/``, fed the same analysed tokens.

One Whoosh document per book (metadata fields, ``kind`` "book") and one per chapter
or page (``body`` fields, ``kind`` "page"); every document carries the book's id and
filter tokens (``facets``: language and its primary subtag, format, categories). Fields split
on spaces only: the analysis in :mod:`content.search.analysis` did the rest.

Whoosh lives outside the catalog database, so writers call :meth:`WhooshIndex.index_book`
after the catalog transaction commits; :meth:`~WhooshIndex.is_stale` and
:meth:`~WhooshIndex.problems` catch what a crash in between leaves behind, and
:meth:`~WhooshIndex.rebuild` builds a fresh index beside the old one and swaps it in.
Whoosh is imported here and nowhere else.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.collectors import WrappingCollector
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.index import LockError
from whoosh.query import And, AndMaybe, Or, Phrase, Query, SpanNear2, Term

from content.catalog import Catalog, now_iso
from content.errors import SearchError
from content.search.analysis import ANALYSIS_VERSION
from content.search.documents import META_FIELDS, BookDocument, active_stamps, load_document, query_facets
from content.search.engine import Deadline, Found, Ranked, SearchIndex
from content.search.query import Clause, ParsedQuery, SearchQuery
from content.search.tiers import ALSO_COUNT_CAP, NEAR_TOKENS, Tier, plan

__all__ = ["WhooshIndex"]

log = logging.getLogger(__name__)

FIELD_BOOSTS = {"title": 10.0, "authors": 6.0, "subjects": 4.0, "other": 1.5}
STATE_FILE = "readpoint-search.json"
WRITER_TIMEOUT = 10.0
_CHECK_EVERY = 64


def _schema() -> Schema:
    """The index's fields (see the module docstring)."""
    words = SpaceSeparatedTokenizer()
    fields = {
        "key": ID(unique=True),
        "book": ID(stored=True),
        "position": NUMERIC(stored=True),
        "kind": ID(),
        "stamp": ID(stored=True),
        "facets": KEYWORD(),
        "body": TEXT(analyzer=words, phrase=True),
        "body_x": TEXT(analyzer=words, phrase=True),
    }
    for name, boost in FIELD_BOOSTS.items():
        fields[name] = TEXT(analyzer=words, phrase=True, field_boost=boost)
        fields[name + "_x"] = TEXT(analyzer=words, phrase=True, field_boost=boost)
    return Schema(**fields)


def _documents(document: BookDocument) -> list[dict]:
    """The Whoosh documents of one analysed book."""
    common = {"book": document.book_id, "facets": " ".join(document.facets)}
    book = dict(common, key=document.book_id, kind="book", position=-1)
    book["stamp"] = f"{document.book_id}@{document.stamp}"
    for name in META_FIELDS:
        book[name], book[name + "_x"] = document.meta[name]
    pages = [
        dict(common, key=f"{document.book_id}/{c.position}", kind="page", position=c.position,
             body=c.folded, body_x=c.exact)
        for c in document.chapters
    ]
    return [book, *pages]


def _phrase(field: str, words: tuple[str, ...]) -> Query:
    """A term for one word, a phrase for several."""
    return Term(field, words[0]) if len(words) == 1 else Phrase(field, list(words))


def _clause(clause: Clause, fields: Iterable[str]) -> Query:
    """One clause in any of ``fields`` (folded), with its Tai Viet bigram alternative."""
    options = [_phrase(field, clause.stream) for field in fields]
    if clause.alternative:
        options += [_phrase(field, clause.alternative) for field in fields]
    return Or(options)


def _field_names(tier: Tier, exact: bool) -> list[str]:
    """The Whoosh fields of a tier (their exact twins with ``exact``)."""
    return [f"{name}_x" if exact else name for name in tier.fields]


def tier_query(parsed: ParsedQuery, tier: Tier) -> Query:
    """The Whoosh query of one tier: the same logic as the FTS5 MATCH of that tier."""
    if tier.match in ("whole", "phrase"):
        query = Or([_phrase(field, phrase) for field in _field_names(tier, tier.exact) for phrase in tier.phrases])
    elif tier.match == "near":
        # FTS5's NEAR(a b, N) allows N tokens between; a span distance counts one more.
        query = Or([
            SpanNear2([_phrase(field, clause.stream) for clause in parsed.clauses],
                      slop=NEAR_TOKENS + 1, ordered=False)
            for field in tier.fields
        ])
    else:
        query = And([_clause(clause, tier.fields) for clause in parsed.clauses])
    marked = [word for clause in parsed.clauses for word in clause.marked]
    if marked and tier.match == "all":
        exact_fields = _field_names(tier, True)
        query = AndMaybe(query, Or([Term(field, word) for field in exact_fields for word in marked]))
    return query


class _DeadlineCollector(WrappingCollector):
    """Stops collecting (keeping what it has) when the deadline passes."""

    def __init__(self, child, deadline: Deadline):
        """Wrap ``child``; stop at ``deadline``."""
        super().__init__(child)
        self.deadline = deadline
        self.timed_out = False

    def collect_matches(self) -> None:
        """Collect like the child, checking the clock every few documents."""
        for count, sub_docnum in enumerate(self.child.matches()):
            if count % _CHECK_EVERY == 0 and self.deadline.expired():
                self.timed_out = True
                return
            self.child.collect(sub_docnum)


class _Vocabulary:
    """The folded words of the Whoosh index."""

    def __init__(self, searcher):
        """Read through ``searcher`` (None: no index, no words)."""
        self.reader = searcher.reader() if searcher is not None else None
        self.fields = [*META_FIELDS, "body"]

    def frequency(self, word: str) -> int:
        """Documents holding ``word`` in a folded field."""
        if self.reader is None:
            return 0
        return sum(self.reader.doc_frequency(field, word) for field in self.fields)

    def with_prefix(self, prefix: str, min_length: int = 0, max_length: int = 1000):
        """Words starting with ``prefix`` in the metadata fields (lengths in range); frequency 1."""
        words: set[str] = set()
        for field in META_FIELDS if self.reader is not None else ():
            for term in self.reader.expand_prefix(field, prefix):
                word = term.decode("utf-8") if isinstance(term, bytes) else term
                if min_length <= len(word) <= max_length:
                    words.add(word)
        return [(word, 1) for word in sorted(words)]


class WhooshIndex(SearchIndex):
    """Search with Whoosh, in its own directory (the comparison engine)."""

    name = "whoosh"
    in_catalog_transaction = False

    def __init__(self, directory: Path | str, *, budget: float | None = None):
        """An index in ``directory`` (created on first write)."""
        super().__init__(budget=budget)
        self.directory = Path(directory)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._searchers: list = []

    # -- opening --------------------------------------------------------------

    def _open(self, create: bool = False):
        """The Whoosh index, created empty if ``create`` and missing; None if missing."""
        try:
            if whoosh_index.exists_in(str(self.directory)):
                return whoosh_index.open_dir(str(self.directory))
            if not create:
                return None
            self.directory.mkdir(parents=True, exist_ok=True)
            return whoosh_index.create_in(str(self.directory), _schema())
        except (OSError, whoosh_index.IndexError) as error:
            raise SearchError(f"cannot open the search index in {self.directory}: {error}") from error

    def _searcher(self):
        """This thread's searcher, refreshed when the index changed; None if no index."""
        searcher = getattr(self._local, "searcher", None)
        try:
            if searcher is not None and searcher.up_to_date():
                return searcher
        except (OSError, whoosh_index.IndexError):
            searcher = None
        if searcher is not None:
            self._forget(searcher)
        self._local.searcher = None
        ix = self._open()
        if ix is None:
            return None
        searcher = ix.searcher()
        with self._lock:
            self._searchers.append(searcher)
        self._local.searcher = searcher
        return searcher

    def _forget(self, searcher) -> None:
        """Close a searcher that is out of date."""
        with self._lock:
            if searcher in self._searchers:
                self._searchers.remove(searcher)
        searcher.close()

    def close(self) -> None:
        """Close every searcher this index opened, in any thread."""
        with self._lock:
            searchers, self._searchers = self._searchers, []
        for searcher in searchers:
            searcher.close()
        self._local = threading.local()

    def _state(self) -> dict:
        """What the last build recorded (analysis version), {} if nothing."""
        try:
            return json.loads((self.directory / STATE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def _write_state(self, directory: Path) -> None:
        """Record the analysis version in ``directory`` (written then renamed)."""
        temporary = directory / (STATE_FILE + ".part")
        temporary.write_text(json.dumps({"analysis_version": ANALYSIS_VERSION, "built_at": now_iso()}))
        os.replace(temporary, directory / STATE_FILE)

    # -- writing --------------------------------------------------------------

    def _writer(self, ix):
        """A writer, waiting a while for another one to finish."""
        try:
            return ix.writer(timeout=WRITER_TIMEOUT)
        except LockError as error:
            raise SearchError("the search index is locked by another writer") from error

    def index_book(self, catalog: Catalog, book_id: str,
                   analysed: Mapping[str, tuple[str, str]] | None = None) -> None:
        """(Re-)index one book as committed in the catalog."""
        document = load_document(catalog.db, book_id, analysed)
        writer = self._writer(self._open(create=True))
        try:
            writer.delete_by_term("book", book_id)
            for item in _documents(document) if document else []:
                writer.add_document(**item)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        if not (self.directory / STATE_FILE).exists():
            self._write_state(self.directory)

    def remove_book(self, catalog: Catalog, book_id: str) -> None:
        """Remove one book's documents."""
        ix = self._open()
        if ix is None:
            return
        writer = self._writer(ix)
        writer.delete_by_term("book", book_id)
        writer.commit()

    def rebuild(self, catalog: Catalog) -> int:
        """Build a new index of every active book beside the old one, then swap it in."""
        fresh = self.directory.with_name(self.directory.name + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        ix = whoosh_index.create_in(str(fresh), _schema())
        writer = ix.writer(limitmb=64)
        count = 0
        try:
            for book_id in sorted(active_stamps(catalog.db)):
                document = load_document(catalog.db, book_id)
                if document is not None:
                    for item in _documents(document):
                        writer.add_document(**item)
                    count += 1
        except BaseException:
            writer.cancel()
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        writer.commit(optimize=True)
        self._write_state(fresh)
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            os.replace(self.directory, old)
        os.replace(fresh, self.directory)
        shutil.rmtree(old, ignore_errors=True)
        self.close()
        log.info("search index (whoosh) rebuilt: %d books", count)
        return count

    def refresh(self, catalog: Catalog) -> int:
        """Index the books missing or changed, remove the others."""
        if self._state().get("analysis_version") != ANALYSIS_VERSION or self._open() is None:
            return self.rebuild(catalog)
        indexed = self._indexed()
        active = active_stamps(catalog.db)
        for book_id in set(indexed) - set(active):
            self.remove_book(catalog, book_id)
        stale = sorted(b for b, stamp in active.items() if indexed.get(b) != stamp)
        for book_id in stale:
            self.index_book(catalog, book_id)
        return len(stale)

    # -- checking -------------------------------------------------------------

    def _indexed(self) -> dict[str, str]:
        """``{book id: updated_at}`` of the books in the index."""
        searcher = self._searcher()
        if searcher is None:
            return {}
        indexed = {}
        for fields in searcher.reader().all_stored_fields():  # live documents only
            if "stamp" in fields:
                book_id, _, stamp = fields["stamp"].partition("@")
                indexed[book_id] = stamp
        return indexed

    def is_stale(self, catalog: Catalog) -> bool:
        """Whether the index is missing, of another analysis version, or differs from the catalog."""
        active = active_stamps(catalog.db)
        if self._open() is None or self._state().get("analysis_version") != ANALYSIS_VERSION:
            return bool(active)
        return self._indexed() != active

    def problems(self, catalog: Catalog) -> list[str]:
        """Index ⇔ catalog disagreements, one sentence each."""
        active = active_stamps(catalog.db)
        if self._open() is None:
            return [f"the search index {self.directory} is missing"] if active else []
        found = []
        version = self._state().get("analysis_version")
        if version != ANALYSIS_VERSION:
            found.append(f"search index built with analysis version {version}, expected {ANALYSIS_VERSION}")
        indexed = self._indexed()
        for what, ids in (
            ("active books missing from the search index", set(active) - set(indexed)),
            ("books in the search index that are not active", set(indexed) - set(active)),
            ("books changed since they were indexed",
             {b for b in set(active) & set(indexed) if active[b] != indexed[b]}),
        ):
            if ids:
                shown = ", ".join(sorted(ids)[:5]) + (", ..." if len(ids) > 5 else "")
                found.append(f"{len(ids)} {what}: {shown}")
        return found

    # -- searching ------------------------------------------------------------

    def _vocabulary(self, catalog: Catalog) -> _Vocabulary:
        """The words of the folded fields."""
        return _Vocabulary(self._searcher())

    def _filter(self, query: SearchQuery) -> Query | None:
        """The filters of ``query`` as a Whoosh query (None: no filter)."""
        terms = [Term("facets", token) for token in query_facets(query.lang, query.format, query.category)]
        return And(terms) if terms else None

    def _run(self, searcher, query: Query, search: SearchQuery, deadline: Deadline):
        """``({book id: (score, position)}, timed out)``: each book's best-scoring document."""
        collector = _DeadlineCollector(searcher.collector(limit=None, filter=self._filter(search)), deadline)
        searcher.search_with_collector(query, collector)
        books: dict[str, tuple[float, int | None]] = {}
        for docnum, score in collector.results().items():
            stored = searcher.stored_fields(docnum)
            key = (-score, None if stored["position"] < 0 else stored["position"])
            if stored["book"] not in books or key < books[stored["book"]]:
                books[stored["book"]] = key
        return books, collector.timed_out

    def _find(self, catalog: Catalog, parsed: ParsedQuery, query: SearchQuery, deadline: Deadline) -> Found:
        """Count both parts, then run the tiers best first until the page is full (as FTS5 does)."""
        searcher = self._searcher()
        if searcher is None:
            return Found(ranked=[], total=0)
        tiers = plan(parsed)
        together, timed_out = self._run(
            searcher, Or([tier_query(parsed, t) for t in tiers if t.together and t.match == "phrase"]), query, deadline
        )
        also = 0
        if not timed_out and len(tiers) > 4:
            every, timed_out = self._run(
                searcher, Or([tier_query(parsed, t) for t in tiers if t.number in (4, 5, 8, 9)]), query, deadline
            )
            also = len(set(every) - set(together))
        start = (query.page - 1) * query.per_page
        seen: dict[str, int | None] = {}
        order: list[str] = []
        for tier in tiers:
            if timed_out or len(order) >= start + query.per_page:
                break
            if tier.together and len(order) >= len(together):
                continue
            if not tier.together and len(order) >= len(together) + also:
                break
            if deadline.expired():
                timed_out = True
                break
            books, timed_out = self._run(searcher, tier_query(parsed, tier), query, deadline)
            for book_id in sorted(books, key=lambda b: (books[b][0], b)):
                if book_id not in seen:
                    seen[book_id] = books[book_id][1]
                    order.append(book_id)
        page = [Ranked(b, seen[b]) for b in order[start : start + query.per_page]]
        return Found(ranked=page, total=len(together), timed_out=timed_out,
                     also_total=min(also, ALSO_COUNT_CAP), also_exact=also <= ALSO_COUNT_CAP)
