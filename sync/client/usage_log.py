"""The box's usage log as sync sends it: hourly counts after a watermark, and pruning.

The one place sync reads and prunes the ``events`` table. (The catalog's own
usage module, ``content.catalog.usage``, is to take these over; until then they
live here, in one module, so moving them is one change.)

What leaves the box: per hour, book and kind a count, and per hour the terms
searched without a result. Nothing about a person: no time finer than the
hour, no address, no cookie, and no search term that found something.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from content.catalog import Catalog
from sync.protocol import EVENT_KINDS_SENT

__all__ = ["UsageBatch", "batch_after", "prune_through", "last_seq", "BATCH_EVENTS"]

BATCH_EVENTS = 5000
MAX_TERM = 200


@dataclass
class UsageBatch:
    """Events ``first``..``last`` of the log as hourly counts and missed-search terms."""

    first: int
    last: int
    hours: list[list] = field(default_factory=list)
    missed: list[list] = field(default_factory=list)
    events: int = 0


def last_seq(catalog: Catalog) -> int:
    """The highest event sequence number ever given (0 for none); pruned events count."""
    row = catalog.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return row[0] if row else 0


def batch_after(catalog: Catalog, acked: int, *, limit: int = BATCH_EVENTS) -> UsageBatch | None:
    """The next batch after ``acked`` (at most ``limit`` events), or None when there is none.

    The batch starts right after the watermark even if those events were pruned,
    so the hub's exactly-once check always lines up.
    """
    rows = catalog.db.execute(
        "SELECT seq, substr(at, 1, 13), kind, book_id, detail FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        [acked, limit],
    ).fetchall()
    if not rows:
        return None
    hours: dict[tuple, int] = {}
    missed: dict[tuple, int] = {}
    for _seq, hour, kind, book_id, detail in rows:
        if kind not in EVENT_KINDS_SENT:
            continue
        key = (hour, book_id if kind not in ("search", "search_empty") else None, kind)
        hours[key] = hours.get(key, 0) + 1
        term = " ".join((detail or "").split())[:MAX_TERM]
        if kind == "search_empty" and term:
            missed[(hour, term)] = missed.get((hour, term), 0) + 1
    return UsageBatch(
        first=acked + 1,
        last=rows[-1][0],
        hours=[[hour, book, kind, count] for (hour, book, kind), count in sorted(hours.items(), key=str)],
        missed=[[hour, term, count] for (hour, term), count in sorted(missed.items())],
        events=len(rows),
    )


def prune_through(catalog: Catalog, seq: int) -> int:
    """Delete events up to ``seq`` (the hub acknowledged them); return how many."""
    with catalog.write() as db:
        return db.execute("DELETE FROM events WHERE seq <= ?", [seq]).rowcount
