"""The box's storage: how much is free, what a full disk looks like, and how to free space.

A box fills its SD card with audiobooks sooner or later. When it does, SQLite
answers ``database or disk is full`` and file writes ``ENOSPC``;
:func:`is_disk_full` recognises both so callers can degrade quietly (usage
events are dropped, an import stops) instead of failing per request.

:func:`collect_garbage` (``readpoint gc``) frees what can be freed without
losing anything: abandoned partial files, stored files no book refers to,
thumbnails no book shows, and the catalog's write-ahead log (checkpointed and
truncated). Store clean-up is skipped while an import or sync holds the
writer lock: their files are not recorded yet.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from content.store import WriterBusy, remove_orphans, writer_lock

__all__ = ["DiskSpace", "GcReport", "disk_space", "is_disk_full", "checkpoint_wal", "collect_garbage",
           "LOW_SPACE_BYTES"]

log = logging.getLogger(__name__)

LOW_SPACE_BYTES = 50 * 1024 * 1024  # below this, the box warns the librarian
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13


@dataclass(frozen=True)
class DiskSpace:
    """Free and total bytes of the filesystem holding a data directory."""

    free: int
    total: int

    @property
    def low(self) -> bool:
        """Whether free space is below :data:`LOW_SPACE_BYTES`."""
        return self.free < LOW_SPACE_BYTES

    def describe(self) -> str:
        """One line for people: "1.2 GB free of 29.5 GB (4%)"."""
        percent = 100 * self.free / self.total if self.total else 0
        return f"{_human(self.free)} free of {_human(self.total)} ({percent:.0f}%)"


def _human(size: int) -> str:
    """A byte count as people read it."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def disk_space(data_dir: Path | str) -> DiskSpace:
    """The free and total space of the filesystem holding ``data_dir``."""
    usage = shutil.disk_usage(data_dir)
    return DiskSpace(free=usage.free, total=usage.total)


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` means the storage is full (SQLite's SQLITE_FULL, or ENOSPC/EDQUOT)."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return True
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF == _SQLITE_FULL
        return "full" in str(error)
    return False


def checkpoint_wal(conn: sqlite3.Connection) -> bool:
    """Copy the write-ahead log into the database and truncate it; True if it completed.

    Needs room for the database to grow by the log's new pages: on a full disk
    it fails (False), and succeeds as soon as space is freed.
    """
    try:
        busy, _log_pages, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as error:
        log.debug("WAL checkpoint failed: %s", error)
        return False
    return busy == 0


@dataclass
class GcReport:
    """What :func:`collect_garbage` removed, and the space before and after."""

    parts_removed: int = 0
    orphans_removed: list[str] = field(default_factory=list)
    thumbnails_removed: int = 0
    wal_checkpointed: bool = False
    store_skipped: bool = False  # an import or sync was running
    before: DiskSpace | None = None
    after: DiskSpace | None = None

    @property
    def freed(self) -> int:
        """Bytes freed (as the filesystem sees it)."""
        return max(0, self.after.free - self.before.free) if self.before and self.after else 0


def _unused_thumbnails(thumbs_dir: Path, shown: set[str]) -> list[Path]:
    """Thumbnail files no book shows."""
    return [path for path in thumbs_dir.glob("*.jpg") if path.stem not in shown]


def collect_garbage(library) -> GcReport:
    """Free space in ``library``'s data directory without losing anything (see the module text)."""
    report = GcReport(before=disk_space(library.data_dir))
    conn = library.catalog.db.conn
    report.parts_removed = library.store.remove_stale_parts()  # a part a writer holds is locked: kept
    try:
        with writer_lock(library.data_dir, wait=False):
            shown = {row[0] for row in conn.execute("SELECT thumb_sha256 FROM books WHERE thumb_sha256 IS NOT NULL")}
            for path in _unused_thumbnails(library.thumbs_dir, shown):
                path.unlink(missing_ok=True)
                report.thumbnails_removed += 1
    except WriterBusy:
        report.store_skipped = True
    if not report.store_skipped:
        report.orphans_removed = remove_orphans(library.store, library.referenced_hashes)  # takes the lock itself
    report.wal_checkpointed = checkpoint_wal(conn)
    report.after = disk_space(library.data_dir)
    return report
