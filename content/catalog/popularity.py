"""What this box's readers open most, from the usage log, at a bounded cost.

The ``events`` table grows until sync prunes it, so the count looks only at
the most recent :data:`DEFAULT_WINDOW` events (a range scan of the primary
key): the cost of the query is bounded whatever the table's size. Callers
cache the answer (the home page keeps it for a minute).
"""

from __future__ import annotations

from content.catalog import Catalog

__all__ = ["most_read", "DEFAULT_WINDOW", "READING_KINDS"]

DEFAULT_WINDOW = 50_000
READING_KINDS = ("read", "listen", "download")


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
