"""Content files from the hub: resumable, verified, installed by the durability rules.

A file being fetched lives in ``tmp/<sha256>.download`` (not ``.part``: the
start-up clean-up leaves it alone, so it survives a reboot), and its
``downloads`` row holds the offset that is known to be on disk: the file is
fsynced before the offset is written, every :data:`SYNC_EVERY` bytes and
whenever the link fails. A resumed request asks ``Range: bytes=<offset>-`` with
``If-Range: "<sha256>"``: a 206 must continue exactly there, a 200 restarts from
zero, a 416 means the part is whole. Never more than the declared size is
written; the whole file is hashed before it counts as complete. A complete file
stays in ``tmp/`` until :meth:`Downloads.install` renames it into the store
right before its book's rows are written.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

from content.catalog import now_iso
from content.store import ContentStore, fsync_path, is_sha256
from sync.client.transport import LINK_ERRORS, RETRY_STATUSES, BudgetSpent, Transport
from sync.errors import (
    ArtifactMismatch,
    HubError,
    LinkError,
    NotJson,
    SyncError,
    TooLarge,
)

__all__ = ["Downloads", "StorageFull", "SYNC_EVERY", "free_space_reserve"]

log = logging.getLogger(__name__)

SYNC_EVERY = 4 * 1024 * 1024
WRITE_CHUNK = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


class StorageFull(SyncError):
    """The box's storage cannot take the file (full, or too little left to keep a reserve)."""


def free_space_reserve(path: Path) -> int:
    """Bytes that must stay free on the data directory's disk: 5% of it, at most 64 MB."""
    total = shutil.disk_usage(path).total
    return min(total // 20, 64 * 2**20)


class Downloads:
    """Fetching content files of one data directory from one hub."""

    def __init__(self, catalog, store: ContentStore, transport: Transport | None):
        """Bind to a catalog (``downloads`` table), a store and a transport (None: local copies only)."""
        self.catalog = catalog
        self.store = store
        self.transport = transport

    def part_path(self, sha256: str) -> Path:
        """Where a file being fetched lives."""
        if not is_sha256(sha256):
            raise ArtifactMismatch(f"not a sha256: {sha256!r}")
        return self.store.tmp / f"{sha256}.download"

    def _row(self, sha256: str) -> dict | None:
        """The ``downloads`` row of a file, or None."""
        rows = list(self.catalog.db.query("SELECT * FROM downloads WHERE sha256 = ?", [sha256]))
        return rows[0] if rows else None

    def _save_offset(self, sha256: str, size: int, offset: int, release: int | None) -> None:
        """Record the offset known to be on disk."""
        with self.catalog.write() as db:
            db.execute("INSERT INTO downloads (sha256, size, offset, etag, release, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
                       "offset = excluded.offset, size = excluded.size, updated_at = excluded.updated_at",
                       [sha256, size, offset, f'"{sha256}"', release, now_iso()])

    def forget(self, sha256: str) -> None:
        """Drop a file's part and row (a failed or finished download)."""
        self.part_path(sha256).unlink(missing_ok=True)
        with self.catalog.write() as db:
            db.execute("DELETE FROM downloads WHERE sha256 = ?", [sha256])

    def complete(self, sha256: str) -> bool:
        """Whether the file is in the store or fully downloaded and verified in ``tmp/``."""
        if self.store.has(sha256):
            return True
        row = self._row(sha256)
        part = self.part_path(sha256)
        return row is not None and row["offset"] == row["size"] and part.is_file() \
            and part.stat().st_size == row["size"]

    def remove_strays(self) -> int:
        """Delete ``tmp/*.download`` files that no ``downloads`` row names; return how many."""
        known = {row[0] for row in self.catalog.db.execute("SELECT sha256 FROM downloads")}
        removed = 0
        for part in self.store.tmp.glob("*.download"):
            if part.name.removesuffix(".download") not in known:
                part.unlink(missing_ok=True)
                removed += 1
        return removed

    def fetch(self, sha256: str, size: int, *, release: int | None = None, path: str | None = None,
              budgeted: bool = True) -> int:
        """Bring one file to complete-and-verified; return the bytes received.

        ``path`` is where the hub serves it (default ``/files/<sha256>``);
        ``budgeted`` false lets it past the byte budgets (a catalog file).

        BudgetSpent when the rest of it does not fit the budgets (nothing is
        changed), StorageFull when the disk cannot take it, LinkError / HubError
        when the hub cannot be reached, ArtifactMismatch / TooLarge when the
        bytes are not the ones declared (the part is discarded).
        """
        if self.complete(sha256):
            return 0
        part = self.part_path(sha256)
        row = self._row(sha256)
        on_disk = part.stat().st_size if part.is_file() else 0
        offset = min(row["offset"], on_disk) if row and row["size"] == size else 0
        if budgeted and not self.transport.meter.allows(size - offset):
            raise BudgetSpent(sha256)
        free = shutil.disk_usage(self.store.tmp).free
        if size - on_disk > free - free_space_reserve(self.store.tmp):
            raise StorageFull(f"not enough free space for a {size // 2**20} MB file ({free // 2**20} MB free, "
                              "some kept in reserve)")
        with open(part, "ab") as handle:
            handle.truncate(offset)
        self._save_offset(sha256, size, offset, release)
        received = 0
        try:
            received = self._receive(path or f"/files/{sha256}", sha256, size, offset, release)
        except OSError as error:
            if error.errno in _STORAGE_ERRNOS:
                self.forget(sha256)
                raise StorageFull(f"the box's storage is full ({error.strerror})") from error
            raise
        except (ArtifactMismatch, TooLarge, NotJson):
            self.forget(sha256)
            raise
        self._verify(sha256, size)
        return received

    def _receive(self, path: str, sha256: str, size: int, offset: int, release: int | None) -> int:
        """Request the rest of the file until it is all on disk, resuming after cuts."""
        received = 0
        attempt = 0
        while offset < size:
            headers = {"Range": f"bytes={offset}-", "If-Range": f'"{sha256}"'} if offset else {}
            try:
                with self.transport.open_stream(path, headers) as response:
                    start = self._check_answer(response, sha256, size, offset)
                    if start is None:  # 416: what we have is the whole file
                        break
                    offset, got = self._write_body(response, sha256, size, start, release)
                    received += got
            except LINK_ERRORS as error:
                offset = self._durable_offset(sha256, size, release)
                attempt += 1
                log.info("file %s: link failed at %d of %d bytes (%s)", sha256[:12], offset, size,
                         type(error).__name__)
                if attempt >= self.transport.attempts:
                    raise LinkError(f"file {sha256[:12]}: the link kept failing; resumes next time") from error
                self.transport.backoff(attempt)
                continue
            except _Retry as retry:
                attempt += 1
                if attempt >= self.transport.attempts:
                    raise HubError(f"file {sha256[:12]}: the hub answered {retry.status}",
                                   status=retry.status) from None
                self.transport.backoff(attempt, retry.headers)
                continue
            offset = self._durable_offset(sha256, size, release)
        return received

    def _check_answer(self, response, sha256: str, size: int, offset: int) -> int | None:
        """Where the body starts (0 or ``offset``), None for 416; raise for anything else."""
        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retry(status, response.headers)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type.startswith("text/html"):
            raise NotJson(f"file {sha256[:12]}: a web page came instead of the file "
                          "(a Wi-Fi login page? log in to the network first)")
        if status == 416 and offset:
            return None
        if status == 200:
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) != size:
                raise ArtifactMismatch(f"file {sha256[:12]}: {length} bytes offered, {size} declared")
            return 0
        if status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset or int(match.group(3)) != size:
                raise ArtifactMismatch(f"file {sha256[:12]}: the hub resumed at the wrong place or size")
            return offset
        raise HubError(f"file {sha256[:12]}: the hub answered {status}", status=status)

    def _write_body(self, response, sha256: str, size: int, start: int, release: int | None) -> tuple[int, int]:
        """Write the body from ``start``; return (offset reached, bytes received)."""
        meter = self.transport.meter
        part = self.part_path(sha256)
        received = 0
        with open(part, "r+b") as handle:
            handle.truncate(start)
            handle.seek(start)
            offset = unsynced = start
            for chunk in response.iter_content(WRITE_CHUNK):
                if offset + len(chunk) > size:
                    raise TooLarge(f"file {sha256[:12]}: more than the declared {size} bytes")
                handle.write(chunk)
                offset += len(chunk)
                received += len(chunk)
                meter.count_down(len(chunk))
                if offset - unsynced >= SYNC_EVERY:
                    handle.flush()
                    os.fsync(handle.fileno())
                    self._save_offset(sha256, size, offset, release)
                    unsynced = offset
            handle.flush()
            os.fsync(handle.fileno())
        return offset, received

    def _durable_offset(self, sha256: str, size: int, release: int | None) -> int:
        """After a cut: fsync what arrived, record it, and resume from there."""
        part = self.part_path(sha256)
        with open(part, "r+b") as handle:
            handle.flush()
            os.fsync(handle.fileno())
            offset = min(os.fstat(handle.fileno()).st_size, size)
        self._save_offset(sha256, size, offset, release)
        return offset

    def copy_in(self, source, sha256: str, size: int, *, release: int | None = None, meter=None) -> int:
        """Bring one file to complete-and-verified from an open local file (a USB stick).

        At most ``size`` bytes are written (TooLarge past them), the part is
        fsynced and hashed like a download (ArtifactMismatch when it is not the
        declared file, the part discarded). ``source.read`` raises a SyncError for
        its own failures, so an OSError here is the box's storage.
        """
        if self.complete(sha256):
            return 0
        free = shutil.disk_usage(self.store.tmp).free
        if size > free - free_space_reserve(self.store.tmp):
            raise StorageFull(f"not enough free space for a {size // 2**20} MB file ({free // 2**20} MB free, "
                              "some kept in reserve)")
        part = self.part_path(sha256)
        self._save_offset(sha256, size, 0, release)
        written = 0
        try:
            with open(part, "wb") as handle:
                while chunk := source.read(min(WRITE_CHUNK, size + 1 - written)):
                    written += len(chunk)
                    if written > size:
                        raise TooLarge(f"file {sha256[:12]}: more than the declared {size} bytes")
                    handle.write(chunk)
                    if meter is not None:
                        meter.count_down(len(chunk))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            self.forget(sha256)
            if error.errno in _STORAGE_ERRNOS:
                raise StorageFull(f"the box's storage is full ({error.strerror})") from error
            raise
        except BaseException:  # too large, or the source failed (a pulled stick): nothing half-kept
            self.forget(sha256)
            raise
        self._verify(sha256, size)
        return written

    def _verify(self, sha256: str, size: int) -> None:
        """Hash the whole part; discard it on a mismatch (ArtifactMismatch)."""
        part = self.part_path(sha256)
        digest = hashlib.sha256()
        with open(part, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        if part.stat().st_size != size or digest.hexdigest() != sha256:
            self.forget(sha256)
            raise ArtifactMismatch(f"file {sha256[:12]}: the bytes received do not match the catalog's hash")
        self._save_offset(sha256, size, size, None)

    def install(self, sha256: str) -> None:
        """Move a complete, verified file into the store (rename, then fsync the folder).

        The same steps as :meth:`content.store.ContentStore.put_stream` takes after
        verifying, without copying the bytes again.
        """
        if self.store.has(sha256):
            return
        final = self.store.path_for(sha256)
        final.parent.mkdir(exist_ok=True)
        os.rename(self.part_path(sha256), final)
        fsync_path(final.parent)


class _Retry(Exception):
    """A retryable status for a file request (internal to :class:`Downloads`)."""

    def __init__(self, status: int, headers):
        super().__init__(status)
        self.status = status
        self.headers = headers
