"""The anonymous usage log: events buffered in memory, written to ``events`` in batches.

Kinds: ``view``, ``read``, ``listen``, ``download``, ``search``,
``search_empty``. An event holds the time (to the hour is all the province
gets), its kind, the book id and a detail (the search term); never an IP
address, user agent or cookie. Buffering keeps SD-card writes few: the buffer
is written when it is full, when the flush interval has passed (checked after
a request, no thread), and when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time

from flask import Flask, current_app

from content.catalog import Catalog, now_iso, usage, usage_stats
from content.catalog.usage import EVENT_KINDS, MAX_DETAIL

__all__ = ["EventRecorder", "init_app", "record_event", "EVENT_KINDS"]

log = logging.getLogger(__name__)

# Events the recorder adds to the daily counts after a flush, at most: a flush's own
# events are far fewer; an older backlog (after an upgrade) drains this much at a time.
FLUSH_ROLL_UP_CHUNK = 10_000


class EventRecorder:
    """A thread-safe buffer of usage events in front of the catalog."""

    def __init__(self, catalog: Catalog, *, flush_seconds: float, buffer_max: int, offset_hours: int = 7):
        """Buffer events for ``catalog``; flush after ``flush_seconds`` or ``buffer_max`` events.

        ``offset_hours`` (UTC to local time) is for the librarian's daily counts.
        """
        self.catalog = catalog
        self.offset_hours = offset_hours
        self.flush_seconds = flush_seconds
        self.buffer_max = buffer_max
        self._buffer: list[dict] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def record(self, kind: str, book_id: str | None = None, detail: str = "") -> None:
        """Buffer one event (unknown kinds are a programming error)."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = {"at": now_iso(), "kind": kind, "book_id": book_id, "detail": detail[:MAX_DETAIL]}
        with self._lock:
            self._buffer.append(event)
            full = len(self._buffer) >= self.buffer_max
        if full:
            self.flush()

    def flush_if_due(self) -> None:
        """Write the buffer if the flush interval has passed."""
        if self._buffer and time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> int:
        """Write every buffered event in one transaction; return how many."""
        with self._lock:
            events, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
        if not events:
            return 0
        try:
            usage.record(self.catalog, events)
        except Exception:  # noqa: BLE001 - boundary: a failed write must not fail a page
            log.exception("could not write %d usage events; keeping them", len(events))
            with self._lock:
                self._buffer[:0] = events
            return 0
        self._count()
        return len(events)

    def _count(self) -> None:
        """Add what was written (and at most one chunk of an older backlog) to the librarian's daily counts."""
        try:
            usage_stats.roll_up(self.catalog, self.offset_hours, chunk=FLUSH_ROLL_UP_CHUNK, max_chunks=1)
        except Exception:  # noqa: BLE001 - boundary: counting must not fail a page; the stats page retries
            log.exception("could not add the usage events to the daily counts")


def record_event(kind: str, book_id: str | None = None, detail: str = "") -> None:
    """Record a usage event for the current app."""
    current_app.extensions["events"].record(kind, book_id, detail)


def init_app(app: Flask) -> None:
    """Create the app's recorder; flush when due after requests and at exit."""
    settings = app.config["READPOINT"]
    recorder = EventRecorder(
        app.extensions["library"].catalog,
        flush_seconds=settings["events_flush_seconds"],
        buffer_max=settings["events_buffer_max"],
        offset_hours=settings["utc_offset_hours"],
    )
    app.extensions["events"] = recorder

    @app.teardown_request
    def _flush_when_due(_error=None):
        recorder.flush_if_due()

    atexit.register(recorder.flush)
