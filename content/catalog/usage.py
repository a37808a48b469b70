"""The anonymous usage log (the ``events`` table): the only module that writes, reads, counts or prunes it.

An event holds its time, kind, a book id and a detail (the search term); never
anything that identifies a person. Kinds: ``view``, ``read``, ``listen``,
``download``, ``search``, ``search_empty``. ``seq`` is never reused
(AUTOINCREMENT), so sync can send ``[a, b]`` batches of it exactly once and
prune what the hub acknowledged.

The ``events`` table grows until sync prunes it, so :func:`most_read` looks only
at the most recent :data:`DEFAULT_WINDOW` events (a range scan of the primary
key): its cost is bounded whatever the table's size. Callers cache the answer
(the home page keeps it for a minute).
"""

from __future__ import annotations

from collections.abc import Iterable

from content.catalog.database import Catalog

__all__ = [
    "EVENT_KINDS",
    "READING_KINDS",
    "DEFAULT_WINDOW",
    "MAX_DETAIL",
    "record",
    "most_read",
    "last_seq",
    "count_events",
    "events_between",
    "hourly_counts",
    "prune_through",
]

EVENT_KINDS = ("view", "read", "listen", "download", "search", "search_empty")
READING_KINDS = ("read", "listen", "download")
DEFAULT_WINDOW = 50_000
MAX_DETAIL = 200


def record(catalog: Catalog, events: Iterable[dict]) -> int:
    """Append events (``at``, ``kind``, ``book_id``, ``detail``) in one transaction; return how many."""
    rows = []
    for event in events:
        if event["kind"] not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {event['kind']!r}")
        rows.append((event["at"], event["kind"], event.get("book_id"), (event.get("detail") or "")[:MAX_DETAIL]))
    if rows:
        with catalog.write() as db:
            db.conn.executemany("INSERT INTO events (at, kind, book_id, detail) VALUES (?, ?, ?, ?)", rows)
    return len(rows)


def last_seq(catalog: Catalog) -> int:
    """The newest event's seq (0 when there are none, or all were pruned and none came since)."""
    row = catalog.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return row[0] if row else 0


def count_events(catalog: Catalog, *, kind: str | None = None) -> int:
    """How many events the log holds (of one kind, or all)."""
    if kind is None:
        return catalog.db.execute("SELECT count(*) FROM events").fetchone()[0]
    return catalog.db.execute("SELECT count(*) FROM events WHERE kind = ?", [kind]).fetchone()[0]


def events_between(catalog: Catalog, first: int, last: int) -> list[dict]:
    """The events with ``first <= seq <= last``, in order."""
    cursor = catalog.db.execute(
        "SELECT seq, at, kind, book_id, detail FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq", [first, last]
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def hourly_counts(catalog: Catalog, first: int, last: int) -> list[dict]:
    """Events ``first..last`` as counts per hour, kind and book (and search term for empty searches).

    What leaves the box: ``{"hour": "2026-12-04T17", "kind", "book_id", "term", "count"}``.
    Only searches that found nothing keep their term; other searches are counted
    without it.
    """
    cursor = catalog.db.execute(
        "SELECT substr(at, 1, 13) AS hour, kind, coalesce(book_id, '') AS book_id, "
        "CASE WHEN kind = 'search_empty' THEN detail ELSE '' END AS term, count(*) AS count "
        "FROM events WHERE seq BETWEEN ? AND ? GROUP BY hour, kind, book_id, term ORDER BY hour, kind, book_id, term",
        [first, last],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def prune_through(catalog: Catalog, seq: int) -> int:
    """Delete the events up to and including ``seq`` (the hub acknowledged them); return how many."""
    with catalog.write() as db:
        return db.execute("DELETE FROM events WHERE seq <= ?", [seq]).rowcount


def most_read(catalog: Catalog, *, limit: int = 12, window: int = DEFAULT_WINDOW) -> list[dict]:
    """Active books with the most read/listen/download events among the last ``window`` events."""
    last = catalog.db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    placeholders = ", ".join("?" for _ in READING_KINDS)
    rows = catalog.db.execute(
        f"SELECT e.book_id, count(*) AS n FROM events e JOIN books b ON b.id = e.book_id "
        f"WHERE e.seq > ? AND e.kind IN ({placeholders}) AND b.status = 'active' "
        f"GROUP BY e.book_id ORDER BY n DESC, e.book_id LIMIT ?",
        [last - window, *READING_KINDS, limit],
    ).fetchall()
    books = []
    for book_id, count in rows:
        book = catalog.get_book(book_id)
        if book is not None:
            book["reads"] = count
            books.append(book)
    return books
