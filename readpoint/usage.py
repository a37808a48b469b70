"""The anonymous usage log: events buffered in memory, written to ``events`` in batches.

Kinds: ``view``, ``read``, ``listen``, ``download``, ``search``,
``search_empty``. An event holds the time (to the hour is all the province
gets), its kind, the book id and a detail (the search term); never an IP
address, user agent or cookie. Buffering keeps SD-card writes few: the buffer
is written when it is full, when the flush interval has passed (checked after
a request, no thread), and when the process exits.

A full disk must not take pages down with it: a write that fails because the
disk is full drops its events, counted, with one warning when the disk fills
and one line when it has room again; while it is full, writes are tried once
per flush interval (each try first checkpoints the write-ahead log, which
succeeds as soon as space is freed) and the buffer never holds more than
:data:`MAX_BUFFERED` events. Other write failures keep the events for the next
try, within the same bound, with a one-line warning.

The events are written by :mod:`content.catalog.usage`.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time

from flask import Flask, current_app

from content.catalog import Catalog, now_iso, usage, usage_stats
from content.catalog.usage import EVENT_KINDS, MAX_DETAIL
from content.disk import checkpoint_wal, is_disk_full

__all__ = ["EventRecorder", "init_app", "record_event", "EVENT_KINDS"]

log = logging.getLogger(__name__)

MAX_BUFFERED = 5000  # about 1 MB: beyond this, events are dropped (and counted)
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
        self.disk_full = False  # the last write failed for want of space
        self.dropped = 0  # events dropped since the process started (full disk, full buffer)
        self._dropped_while_full = 0

    def record(self, kind: str, book_id: str | None = None, detail: str = "") -> None:
        """Buffer one event (unknown kinds are a programming error)."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = {"at": now_iso(), "kind": kind, "book_id": book_id, "detail": detail[:MAX_DETAIL]}
        with self._lock:
            if len(self._buffer) >= MAX_BUFFERED:
                self.dropped += 1
                self._dropped_while_full += self.disk_full
                return
            self._buffer.append(event)
            full = len(self._buffer) >= self.buffer_max and not self.disk_full  # full disk: the timer retries
        if full:
            self.flush()

    def flush_if_due(self) -> None:
        """Write the buffer if the flush interval has passed (while the disk is full: at least that long)."""
        if self._buffer and time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> int:
        """Write every buffered event in one transaction; return how many."""
        with self._lock:
            events, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
        if not events:
            return 0
        if self.disk_full:
            checkpoint_wal(self.catalog.db.conn)  # the log first: it is what a full disk left behind
        try:
            self._insert(events)
        except Exception as error:  # noqa: BLE001 - boundary: a failed write must not fail a page
            self._failed(events, error)
            return 0
        if self.disk_full:
            self.disk_full = False
            log.warning("the disk has room again: usage events are written again (%d were dropped "
                        "while it was full)", self._dropped_while_full)
            self._dropped_while_full = 0
        self._count()
        return len(events)

    def _insert(self, events: list[dict]) -> None:
        """Insert ``events`` in one transaction, rolled back if even the COMMIT fails."""
        conn = self.catalog.db.conn
        try:
            usage.record(self.catalog, events)
        except BaseException:
            if conn.in_transaction:  # a COMMIT refused for want of space leaves it open
                conn.execute("ROLLBACK")
            raise

    def _failed(self, events: list[dict], error: Exception) -> None:
        """Drop the events (full disk: counted, one warning) or keep them for the next try."""
        if is_disk_full(error):
            with self._lock:
                self.dropped += len(events)
                self._dropped_while_full += len(events)
            if not self.disk_full:
                self.disk_full = True
                log.warning("the disk is full: usage events are dropped until there is room "
                            "(free space with `readpoint gc`, or remove books)")
            return
        log.warning("could not write %d usage events (%s); keeping them for the next try",
                    len(events), error)
        with self._lock:
            room = max(0, MAX_BUFFERED - len(self._buffer))
            self.dropped += max(0, len(events) - room)
            self._buffer[:0] = events[:room]

    def _count(self) -> None:
        """Add what was written (and at most one chunk of an older backlog) to the librarian's daily counts."""
        try:
            usage_stats.roll_up(self.catalog, self.offset_hours, chunk=FLUSH_ROLL_UP_CHUNK, max_chunks=1)
        except Exception as error:  # noqa: BLE001 - boundary: counting must not fail a page; the stats page retries
            conn = self.catalog.db.conn
            if conn.in_transaction:  # a COMMIT refused for want of space leaves it open
                conn.execute("ROLLBACK")
            if is_disk_full(error):  # the events are written; the counts catch up when there is room
                log.warning("the disk is full: the daily counts wait for room (%s)", error)
            else:
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
