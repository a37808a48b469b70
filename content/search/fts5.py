"""The default engine: SQLite FTS5 tables inside the catalog database.

The tables come from migration ``0005_search_fts5``: ``search_docs`` (book id ⇔
integer docid, and the ``updated_at`` indexed), ``search_meta`` (one row per book:
folded and exact streams of title, authors, subjects, other, and filter tokens),
``search_body`` (one row per chapter or page, rowid ``docid << 20 | position``),
``search_words`` (suggestion candidates), ``search_state`` (analysis version).
Writes happen in the caller's catalog transaction, so the index cannot disagree
with the catalog after a crash; deleting or hiding a book removes its rows by
trigger even if nobody tells the index.

Queries are built here from analysed tokens only, each quoted: nothing a user
types reaches FTS5's query syntax. Filters are tokens in the ``facets`` column,
ANDed into the MATCH, so no join is needed to filter. A search counts the books
holding the words together and those mentioning them all (up to
:data:`ALSO_COUNT_CAP` more), then walks the tiers best first (see
:mod:`content.search.tiers`) until the page is full, ranking each tier's first
:data:`RANK_ROWS` rows with bm25. A progress handler interrupts any statement when
the time budget runs out.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping

from sqlite_utils import Database

from content.catalog import Catalog, now_iso
from content.errors import SearchError
from content.search.analysis import ANALYSIS_VERSION
from content.search.documents import (
    META_FIELDS,
    BookDocument,
    active_stamps,
    load_document,
    query_facets,
    suggestion_words,
)
from content.search.engine import Deadline, Found, Ranked, SearchIndex
from content.search.query import Clause, ParsedQuery, SearchQuery
from content.search.tiers import ALSO_COUNT_CAP, NEAR_TOKENS, Tier, plan, together_phrases

__all__ = ["Fts5Index", "build_match"]

log = logging.getLogger(__name__)

# bm25 weights of title, authors, subjects, other, the same for the exact columns, facets.
META_WEIGHTS = "10.0, 6.0, 4.0, 1.5, 10.0, 6.0, 4.0, 1.5, 0.0"
BODY_WEIGHTS = "1.0, 1.0, 0.0"
POSITION_BITS = 20
BATCH_BOOKS = 200
PROGRESS_OPS = 1000
# bm25 costs 10 to 50 microseconds a row at 50,000 books: a tier ranks at most this many rows
# (the first by docid); the rest of a huge tier (a very common word) follows in docid order.
RANK_ROWS = 300


def _phrase(words: Iterable[str]) -> str:
    """An FTS5 phrase. Tokens are letters, digits and marks only: no quote to escape."""
    return '"' + " ".join(words) + '"'


def _columns(tier_fields: Iterable[str], exact: bool) -> str:
    """An FTS5 column filter over ``tier_fields`` (their exact columns with ``exact``)."""
    return "{" + " ".join(f"{name}_x" if exact else name for name in tier_fields) + "}"


def _clause(clause: Clause, columns: str) -> str:
    """The FTS5 expression matching one clause in ``columns`` (folded)."""
    expression = f"{columns}: {_phrase(clause.stream)}"
    if clause.alternative:
        expression = f"({expression} OR {columns}: {_phrase(clause.alternative)})"
    return expression


def _any_phrase(phrases: Iterable[tuple[str, ...]], columns: str) -> str:
    """Any one of ``phrases`` in ``columns``."""
    options = [f"{columns}: {_phrase(phrase)}" for phrase in phrases]
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _recall(parsed: ParsedQuery, fields: Iterable[str]) -> list[str]:
    """Every clause, folded, anywhere in ``fields``."""
    columns = _columns(fields, False)
    return [_clause(clause, columns) for clause in parsed.clauses]


def build_match(parsed: ParsedQuery, tier: Tier, facets: list[str], boost: bool = True) -> str:
    """The MATCH expression of one tier (see :mod:`content.search.tiers`).

    Every facet (filter token) must match too. With ``boost``, in the tiers of every
    word anywhere, the words typed with marks found with them raise the score without
    changing what matches (elsewhere the OR of common words would cost more than it
    brings).
    """
    if tier.match in ("whole", "phrase"):
        required = [_any_phrase(tier.phrases, _columns(tier.fields, tier.exact))]
    elif tier.match == "near":
        columns = _columns(tier.fields, False)
        required = [f"{columns}: NEAR({' '.join(_phrase(c.stream) for c in parsed.clauses)}, {NEAR_TOKENS})"]
    else:
        required = _recall(parsed, tier.fields)
    required += [f"{{facets}}: {_phrase([token])}" for token in facets]
    match = " AND ".join(required)
    marked = [word for clause in parsed.clauses for word in clause.marked]
    if boost and marked and tier.match == "all":
        # (A AND B) AND (A OR boost...) finds what A AND B finds, but bm25 counts the boosts.
        columns = _columns(tier.fields, True)
        boosts = " OR ".join(f"{columns}: {_phrase([word])}" for word in marked)
        match = f"({match}) AND ({required[0]} OR {boosts})"
    return match


def _union_count(conn: sqlite3.Connection, meta_match: str, body_match: str, limit: int = -1) -> tuple[int, bool]:
    """Books matching in the metadata or a chapter: (count, whether it reached ``limit``).

    With a ``limit``, each side stops there: a count that reaches it is "at least".
    """
    if limit < 0:
        count = conn.execute(
            "SELECT count(*) FROM (SELECT rowid FROM search_meta WHERE search_meta MATCH ? "
            "UNION SELECT rowid >> 20 FROM search_body WHERE search_body MATCH ?)",
            [meta_match, body_match],
        ).fetchone()[0]
        return count, False
    count = conn.execute(
        f"SELECT count(*) FROM (SELECT * FROM (SELECT rowid FROM search_meta WHERE search_meta MATCH ? "
        f"LIMIT {limit}) UNION SELECT * FROM (SELECT DISTINCT rowid >> 20 FROM search_body "
        f"WHERE search_body MATCH ? LIMIT {limit}))",
        [meta_match, body_match],
    ).fetchone()[0]
    return min(count, limit), count >= limit


def _together_count(conn: sqlite3.Connection, together: list[str], want: int) -> tuple[int, list | None]:
    """Books holding the words together; and the ranked chapter rows of tier 3 when fetched.

    When fewer than ``want`` books hold the phrase in their metadata, the page will
    need tier 3 (the phrase in a chapter): its rows are ranked now, and counted from,
    so the chapters are searched for the phrase once, not twice.
    """
    meta_match, body_match = together
    meta = conn.execute("SELECT count(*) FROM search_meta WHERE search_meta MATCH ?", [meta_match]).fetchone()[0]
    if meta < want:
        rows = conn.execute(
            f"SELECT rowid, bm25(search_body, {BODY_WEIGHTS}) FROM search_body WHERE search_body MATCH ? "
            f"LIMIT {RANK_ROWS}", [body_match],
        ).fetchall()
        if len(rows) < RANK_ROWS:
            if not rows:
                return meta, rows
            docids = json.dumps(sorted({rowid >> POSITION_BITS for rowid, _ in rows}))
            total = conn.execute(
                "SELECT count(*) FROM (SELECT rowid FROM search_meta WHERE search_meta MATCH ? "
                "UNION SELECT value FROM json_each(?))", [meta_match, docids],
            ).fetchone()[0]
            return total, rows
    return _union_count(conn, meta_match, body_match)[0], None


def _counts(conn: sqlite3.Connection, parsed: ParsedQuery, facets: list[str],
            want: int) -> tuple[tuple[int, int, bool], dict[int, list]]:
    """((part one, part two, whether part two is exact), rows already ranked by tier number)."""
    marks = parsed.has_marks
    phrases = together_phrases(parsed, marks)
    together = [
        " AND ".join([_any_phrase(phrases, _columns(fields, marks))]
                     + [f"{{facets}}: {_phrase([token])}" for token in facets])
        for fields in (META_FIELDS, ("body",))
    ]
    total, body_rows = _together_count(conn, together, want)
    ranked = {} if body_rows is None else {3: body_rows}
    if not marks and len(parsed.clauses) == 1:
        return (total, 0, True), ranked  # one clause, no marks: whatever matches holds it together
    everything = [
        " AND ".join(_recall(parsed, fields) + [f"{{facets}}: {_phrase([token])}" for token in facets])
        for fields in (META_FIELDS, ("body",))
    ]
    limit = total + ALSO_COUNT_CAP + 1
    found, capped = _union_count(conn, *everything, limit=limit)
    if capped:
        return (total, ALSO_COUNT_CAP, False), ranked
    return (total, max(0, found - total), True), ranked


def _ranked_rows(conn: sqlite3.Connection, tier: Tier, rank_match: str, count_match: str,
                 ranked: list | None = None) -> Iterator[tuple[int, int | None]]:
    """(docid, chapter position or None) of one tier, best first, a book possibly repeated.

    ``ranked``: the tier's (rowid, score) rows when already fetched (all of them).
    """
    table = "search_meta" if tier.meta else "search_body"
    weights = META_WEIGHTS if tier.meta else BODY_WEIGHTS
    # Sorted here: an ORDER BY around a LIMIT subquery gets flattened, and SQLite would
    # then score every row of the tier, not the first RANK_ROWS.
    rows = ranked if ranked is not None else conn.execute(
        f"SELECT rowid, bm25({table}, {weights}) FROM {table} WHERE {table} MATCH ? LIMIT {RANK_ROWS}",
        [rank_match],
    ).fetchall()
    rows.sort(key=lambda row: (row[1], row[0]))
    for rowid, _ in rows:
        yield _split_rowid(rowid, tier.meta)
    if len(rows) == RANK_ROWS:
        for (rowid,) in conn.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? LIMIT -1 OFFSET {RANK_ROWS}", [count_match]
        ):
            yield _split_rowid(rowid, tier.meta)


def _name_rows(conn: sqlite3.Connection, names: Tier, rank_match: str, count_match: str,
               wholes: tuple[str, ...]) -> Iterator[tuple[int, int | None]]:
    """Tiers 0 and 1 from tier 1's rows: those where a whole name is the phrase come first.

    A whole name is ``BOUNDARY phrase BOUNDARY`` in the stored stream of a name
    column (``wholes``); finding it there costs less than FTS5's phrase over the
    boundary token, which every book holds many times. As every tier ranks only its
    first :data:`RANK_ROWS` rows, whole names are put first among those; the rest of
    a huge tier follows in docid order.
    """
    columns = ", ".join(f"{name}_x" if names.exact else name for name in names.fields)
    rows = conn.execute(
        f"SELECT rowid, bm25(search_meta, {META_WEIGHTS}), {columns} FROM search_meta "
        f"WHERE search_meta MATCH ? LIMIT {RANK_ROWS}",
        [rank_match],
    ).fetchall()
    rows.sort(key=lambda row: (row[1], row[0]))
    whole = {row[0] for row in rows if any(name in text for text in row[2:] for name in wholes)}
    ranked = [row[0] for row in rows]
    yield from ((rowid, None) for rowid in ranked if rowid in whole)
    yield from ((rowid, None) for rowid in ranked if rowid not in whole)
    if len(rows) == RANK_ROWS:
        for (rowid,) in conn.execute(
            f"SELECT rowid FROM search_meta WHERE search_meta MATCH ? LIMIT -1 OFFSET {RANK_ROWS}", [count_match]
        ):
            yield rowid, None


def _split_rowid(rowid: int, is_meta: bool) -> tuple[int, int | None]:
    """(docid, position) of a row id of ``search_meta`` (no position) or ``search_body``."""
    if is_meta:
        return rowid, None
    return rowid >> POSITION_BITS, rowid & ((1 << POSITION_BITS) - 1)


def _page(conn: sqlite3.Connection, parsed: ParsedQuery, facets: list[str], counts: tuple[int, int, bool],
          ranked: dict[int, list], offset: int, limit: int, deadline: Deadline):
    """One page of (docid, position), each book at its best tier; and whether time ran out.

    ``counts`` (part one, part two, whether part two is exact) let a part's
    remaining tiers be skipped once all its books are placed. When the deadline
    interrupts a tier, the books already placed are kept.
    """
    total, also, also_exact = counts
    seen: set[int] = set()
    page: list[tuple[int, int | None]] = []
    tiers = plan(parsed)
    try:
        for tier in tiers:
            if deadline.expired():
                return page, True
            if tier.together and len(seen) >= total:
                continue  # part one is all placed (or empty)
            if not tier.together and also_exact and len(seen) >= total + also:
                break  # part two too
            if tier.number == 1:
                continue  # placed with tier 0
            if tier.number == 0:  # tiers 0 and 1 in one statement
                names = tiers[1]
                rows = _name_rows(conn, names, build_match(parsed, names, facets),
                                  build_match(parsed, names, facets, boost=False),
                                  tuple(" ".join(phrase) for phrase in tier.phrases))
            else:
                rows = _ranked_rows(conn, tier, build_match(parsed, tier, facets),
                                    build_match(parsed, tier, facets, boost=False), ranked.get(tier.number))
            for docid, position in rows:
                if docid in seen:
                    continue
                seen.add(docid)
                if len(seen) > offset:
                    page.append((docid, position))
                    if len(page) == limit:
                        return page, False
    except sqlite3.OperationalError:
        if not deadline.expired():
            raise
        return page, True
    return page, False


class _Vocabulary:
    """Known words: ``search_words`` for candidates, ``fts5vocab`` for how many rows hold one."""

    def __init__(self, db: Database):
        """Read through ``db``."""
        self.db = db

    def frequency(self, word: str) -> int:
        """Rows (books or chapters) holding ``word``."""
        row = self.db.execute(
            "SELECT (SELECT coalesce(sum(doc), 0) FROM search_meta_vocab WHERE term = :w) + "
            "(SELECT coalesce(sum(doc), 0) FROM search_body_vocab WHERE term = :w)",
            {"w": word},
        ).fetchone()
        return row[0]

    def with_prefix(self, prefix: str, min_length: int = 0, max_length: int = 1000) -> Iterator[tuple[str, int]]:
        """Metadata words starting with ``prefix`` (and of a length in range); frequency 1 each.

        Frequencies are looked up only for the few nearest candidates (see
        :mod:`content.search.suggest`): ``fts5vocab`` is slow over ranges.
        """
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        for (word,) in self.db.execute(
            "SELECT word FROM search_words WHERE word >= ? AND word < ? AND length(word) BETWEEN ? AND ?",
            [prefix, upper, min_length, max_length],
        ):
            yield word, 1


class Fts5Index(SearchIndex):
    """Search with SQLite FTS5 in the catalog database (the default engine)."""

    name = "fts5"
    in_catalog_transaction = True

    # -- writing --------------------------------------------------------------

    def index_book(self, catalog: Catalog, book_id: str,
                   analysed: Mapping[str, tuple[str, str]] | None = None) -> None:
        """(Re-)index one book inside the current catalog transaction (or a new one)."""
        with catalog.write() as db:
            document = load_document(db, book_id, analysed)
            self._delete(db, book_id)
            if document is not None:
                self._insert(db, document)
                # The first book indexed records the analysis version (later ones keep it, so
                # an index partly built by an older version stays stale until rebuilt).
                db.execute(
                    "INSERT OR IGNORE INTO search_state (id, analysis_version, built_at) VALUES (1, ?, ?)",
                    [ANALYSIS_VERSION, now_iso()],
                )


    def remove_book(self, catalog: Catalog, book_id: str) -> None:
        """Remove one book's rows (the ``search_docs`` trigger removes its FTS rows)."""
        with catalog.write() as db:
            self._delete(db, book_id)

    @staticmethod
    def _delete(db: Database, book_id: str) -> None:
        """Delete one book from the index (its FTS rows go with the trigger)."""
        db.execute("DELETE FROM search_docs WHERE book_id = ?", [book_id])

    @staticmethod
    def _insert(db: Database, document: BookDocument) -> None:
        """Insert one analysed book: its docid, metadata row and chapter rows."""
        cursor = db.execute(
            "INSERT INTO search_docs (book_id, stamp) VALUES (?, ?)", [document.book_id, document.stamp]
        )
        docid = cursor.lastrowid
        folded = [document.meta[name][0] for name in META_FIELDS]
        exact = [document.meta[name][1] for name in META_FIELDS]
        facets = " ".join(document.facets)
        db.execute(
            f"INSERT INTO search_meta (rowid, {', '.join(META_FIELDS)}, "
            f"{', '.join(name + '_x' for name in META_FIELDS)}, facets) VALUES ({', '.join('?' * 10)})",
            [docid, *folded, *exact, facets],
        )
        db.conn.executemany(
            "INSERT INTO search_body (rowid, body, body_x, facets) VALUES (?, ?, ?, ?)",
            [((docid << POSITION_BITS) | c.position, c.folded, c.exact, facets) for c in document.chapters],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO search_words (word) VALUES (?)",
            [(word,) for word in suggestion_words(document)],
        )

    def _index_many(self, catalog: Catalog, book_ids: list[str]) -> int:
        """Index books in batches: analysis outside the write lock, one transaction per batch."""
        done = 0
        for start in range(0, len(book_ids), BATCH_BOOKS):
            batch = book_ids[start : start + BATCH_BOOKS]
            documents = {book_id: load_document(catalog.db, book_id) for book_id in batch}
            with catalog.write() as db:
                for book_id, document in documents.items():
                    self._delete(db, book_id)
                    if document is not None:
                        self._insert(db, document)
                        done += 1
        return done

    def _clear_words(self, catalog: Catalog) -> None:
        """Forget the suggestion words (a rebuild lists them again from active books)."""
        with catalog.write() as db:
            db.execute("DELETE FROM search_words")

    def _drop_extras(self, catalog: Catalog) -> None:
        """Remove index rows of books that are gone or no longer active, and orphan FTS rows."""
        with catalog.write() as db:
            db.execute(
                "DELETE FROM search_docs WHERE book_id NOT IN "
                "(SELECT id FROM books WHERE status = 'active')"
            )
            db.execute("DELETE FROM search_meta WHERE rowid NOT IN (SELECT docid FROM search_docs)")
            db.execute(
                "DELETE FROM search_body WHERE (rowid >> 20) NOT IN (SELECT docid FROM search_docs)"
            )

    def _mark_built(self, catalog: Catalog) -> None:
        """Record the analysis version the index now matches, and merge FTS segments."""
        with catalog.write() as db:
            db.execute("INSERT INTO search_meta (search_meta) VALUES ('optimize')")
            db.execute("INSERT INTO search_body (search_body) VALUES ('optimize')")
            db.execute(
                "INSERT OR REPLACE INTO search_state (id, analysis_version, built_at) VALUES (1, ?, ?)",
                [ANALYSIS_VERSION, now_iso()],
            )

    def rebuild(self, catalog: Catalog) -> int:
        """Re-index every active book (batch by batch: searches keep working meanwhile)."""
        self._repair_fts(catalog)
        self._drop_extras(catalog)
        self._clear_words(catalog)
        book_ids = sorted(active_stamps(catalog.db))
        count = self._index_many(catalog, book_ids)
        self._mark_built(catalog)
        log.info("search index (fts5) rebuilt: %d books", count)
        return count

    def refresh(self, catalog: Catalog) -> int:
        """Index the books missing or changed since they were indexed; drop the others."""
        if self._indexed_version(catalog.db) != ANALYSIS_VERSION:
            return self.rebuild(catalog)
        self._drop_extras(catalog)
        indexed = dict(catalog.db.execute("SELECT book_id, stamp FROM search_docs").fetchall())
        stale = sorted(b for b, stamp in active_stamps(catalog.db).items() if indexed.get(b) != stamp)
        count = self._index_many(catalog, stale)
        log.info("search index (fts5) refreshed: %d books", count)
        return count

    def _repair_fts(self, catalog: Catalog) -> None:
        """Rebuild an FTS table's index from its stored rows if its integrity check fails."""
        for table in ("search_meta", "search_body"):
            try:
                catalog.db.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as error:
                log.warning("%s failed its integrity check (%s): rebuilding it", table, error)
                with catalog.write() as db:
                    db.execute(f"INSERT INTO {table} ({table}) VALUES ('rebuild')")

    # -- checking -------------------------------------------------------------

    @staticmethod
    def _indexed_version(db: Database) -> int | None:
        """The analysis version the index was last built with (None: never built)."""
        row = db.execute("SELECT analysis_version FROM search_state WHERE id = 1").fetchone()
        return row[0] if row else None

    def is_stale(self, catalog: Catalog) -> bool:
        """Whether a book is missing, outdated or extra, or the analysis changed."""
        db = catalog.db
        if self._indexed_version(db) != ANALYSIS_VERSION:
            return db.execute("SELECT 1 FROM books WHERE status = 'active' LIMIT 1").fetchone() is not None
        missing = db.execute(
            "SELECT 1 FROM books b LEFT JOIN search_docs d ON d.book_id = b.id "
            "WHERE b.status = 'active' AND (d.stamp IS NULL OR d.stamp != b.updated_at) LIMIT 1"
        ).fetchone()
        extra = db.execute(
            "SELECT 1 FROM search_docs d JOIN books b ON b.id = d.book_id "
            "WHERE b.status != 'active' LIMIT 1"
        ).fetchone()
        return missing is not None or extra is not None

    def problems(self, catalog: Catalog) -> list[str]:
        """Index ⇔ catalog disagreements, and FTS5's own integrity check."""
        db = catalog.db
        found = []
        version = self._indexed_version(db)
        if version != ANALYSIS_VERSION and catalog.count_books() > 0:
            found.append(
                f"search index built with analysis version {version}, expected {ANALYSIS_VERSION}"
            )
        indexed = dict(db.execute("SELECT book_id, stamp FROM search_docs").fetchall())
        active = active_stamps(db)
        found += _describe("active books missing from the search index", sorted(set(active) - set(indexed)))
        found += _describe("books in the search index that are not active", sorted(set(indexed) - set(active)))
        changed = sorted(b for b in set(active) & set(indexed) if active[b] != indexed[b])
        found += _describe("books changed since they were indexed", changed)
        orphans = db.execute(
            "SELECT (SELECT count(*) FROM search_meta WHERE rowid NOT IN (SELECT docid FROM search_docs))"
            " + (SELECT count(*) FROM search_body WHERE (rowid >> 20) NOT IN "
            "(SELECT docid FROM search_docs))"
        ).fetchone()[0]
        if orphans:
            found.append(f"{orphans} search index rows belong to no indexed book")
        for table in ("search_meta", "search_body"):
            try:
                db.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as error:
                found.append(f"{table} failed its integrity check: {error}")
        return found

    # -- searching ------------------------------------------------------------

    def _vocabulary(self, catalog: Catalog) -> _Vocabulary:
        """The words of both FTS tables."""
        return _Vocabulary(catalog.db)

    def _find(self, catalog: Catalog, parsed: ParsedQuery, query: SearchQuery, deadline: Deadline) -> Found:
        """Count both parts, then walk the tiers best first until the page is full, within the deadline."""
        facets = query_facets(query.lang, query.format, query.category)
        conn = catalog.db.conn
        conn.set_progress_handler(lambda: 1 if deadline.expired() else 0, PROGRESS_OPS)
        page: list[tuple[int, int | None]] = []
        try:
            offset = (query.page - 1) * query.per_page
            counts, ranked = _counts(conn, parsed, facets, offset + query.per_page)
            total, also, also_exact = counts
            timed_out = False
            if total + also + (not also_exact) > offset:
                page, timed_out = _page(conn, parsed, facets, counts, ranked, offset, query.per_page, deadline)
        except sqlite3.OperationalError as error:
            return _failed(error, deadline, parsed)
        finally:
            conn.set_progress_handler(None, 0)
        books = dict(
            conn.execute(
                f"SELECT docid, book_id FROM search_docs WHERE docid IN ({','.join('?' * len(page))})",
                [docid for docid, _ in page],
            ).fetchall()
        )
        ranked = [Ranked(books[docid], position) for docid, position in page if docid in books]
        return Found(ranked=ranked, total=total, timed_out=timed_out, also_total=also, also_exact=also_exact)


def _failed(error: sqlite3.OperationalError, deadline: Deadline, parsed: ParsedQuery) -> Found:
    """What a failed statement means: time ran out, a query we built wrong, or a broken index."""
    if deadline.expired():
        return Found(ranked=[], total=0, timed_out=True)
    if "fts5" in str(error):
        log.error("fts5 rejected a query built from analysed tokens: %s (%r)", error, parsed)
        return Found(ranked=[], total=0)
    raise SearchError(f"the search index cannot be read: {error}") from error


def _describe(what: str, book_ids: list[str]) -> list[str]:
    """One problem sentence naming up to five of ``book_ids`` (none if the list is empty)."""
    if not book_ids:
        return []
    shown = ", ".join(book_ids[:5]) + (", ..." if len(book_ids) > 5 else "")
    return [f"{len(book_ids)} {what}: {shown}"]
