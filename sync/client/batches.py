"""Usage going up: the box's events as signed batches ``[first, last]`` of its log.

A batch holds counts per hour, book and kind, and the terms of searches that
found nothing, never anything about a person. The same bytes are POSTed to the
hub or left on a USB stick's outbox; the box signs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from content.catalog import Catalog
from content.catalog.usage import hourly_counts, last_seq

__all__ = ["BATCH_EVENTS", "UsageBatch", "usage_batch", "batch_body"]

BATCH_EVENTS = 5000


@dataclass
class UsageBatch:
    """Events ``first``..``last`` of the log as hourly counts and searched-but-not-found terms."""

    first: int
    last: int
    hours: list[list]
    missed: list[list]
    events: int


def usage_batch(catalog: Catalog, acked: int, *, limit: int = BATCH_EVENTS) -> UsageBatch | None:
    """The next batch after the watermark ``acked`` (at most ``limit`` seqs), or None.

    It starts right after the watermark even if those events were pruned, so the
    hub's exactly-once check lines up. Per hour, book and kind a count; per hour
    the terms of searches that found nothing; nothing about a person.
    """
    newest = last_seq(catalog)
    if newest <= acked:
        return None
    last = min(newest, acked + limit)
    hours: dict[tuple, int] = {}
    missed: dict[tuple, int] = {}
    events = 0
    for row in hourly_counts(catalog, acked + 1, last):
        key = (row["hour"], row["book_id"] or None, row["kind"])
        hours[key] = hours.get(key, 0) + row["count"]
        events += row["count"]
        term = " ".join(row["term"].split())
        if row["kind"] == "search_empty" and term:
            missed[(row["hour"], term)] = missed.get((row["hour"], term), 0) + row["count"]
    return UsageBatch(acked + 1, last, [[h, b, k, n] for (h, b, k), n in hours.items()],
                      [[h, t, n] for (h, t), n in missed.items()], events)


def batch_body(device_id: str, batch: UsageBatch) -> bytes:
    """The exact bytes of a usage batch, as POSTed to the hub or left on a stick; the box signs them."""
    return json.dumps({"type": "readpoint.usage", "device_id": device_id, "from": batch.first, "to": batch.last,
                       "hours": batch.hours, "missed": batch.missed},
                      ensure_ascii=False, separators=(",", ":")).encode()
