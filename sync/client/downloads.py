"""Content files from the hub: resumable, verified, installed by the durability rules.

A file being fetched is the content store's resumable partial
(:class:`content.store.PartialDownload`, ``tmp/dl-<sha256>-<size>.part``: the
start-up clean-up keeps it, so it survives a reboot), and its ``downloads`` row
holds the offset that is known to be on disk: the partial is fsynced before the
offset is written, every :data:`SYNC_EVERY` bytes and whenever the link fails.
A resumed fetch first cuts the partial back to that offset (a power cut can
leave unsynced garbage past it), then asks ``Range: bytes=<offset>-`` with
``If-Range: "<sha256>"``: a 206 must continue exactly there, a 200 restarts from
zero, a 416 means the part is whole. Never more than the declared size is
written; the whole file is hashed before it counts as complete, and only then
does its row record the full size (so a row at full size means "verified"). A
complete file stays in ``tmp/`` until :meth:`Downloads.install` moves it into
the store right before its book's rows are written.
"""

from __future__ import annotations

import errno
import logging
import re
import shutil
from pathlib import Path

from content.catalog import now_iso
from content.errors import StoreError
from content.store import ContentStore, PartialDownload
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

SYNC_EVERY = PartialDownload.SYNC_EVERY  # bytes between fsyncs, each followed by a recorded offset
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

    def partial(self, sha256: str, size: int) -> PartialDownload:
        """The store's partial for a file being fetched (ArtifactMismatch for a bad hash or size)."""
        try:
            return self.store.partial(sha256, size)
        except StoreError as error:
            raise ArtifactMismatch(f"manifest: {error}") from None

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

    def _record(self, part: PartialDownload, offset: int, release: int | None) -> None:
        """Record a durable offset short of the end (the full size is recorded once verified)."""
        if offset < part.size:
            self._save_offset(part.sha256, part.size, offset, release)

    def forget(self, sha256: str, size: int) -> None:
        """Drop a file's partial and row (a failed or finished download)."""
        self.partial(sha256, size).discard()
        with self.catalog.write() as db:
            db.execute("DELETE FROM downloads WHERE sha256 = ?", [sha256])

    def complete(self, sha256: str) -> bool:
        """Whether the file is in the store or fully downloaded and verified in ``tmp/``."""
        if self.store.has(sha256):
            return True
        row = self._row(sha256)
        return row is not None and row["offset"] == row["size"] \
            and self.store.partial(sha256, row["size"]).offset == row["size"]

    def remove_strays(self) -> int:
        """Delete partials that no ``downloads`` row names (hash and size); return how many."""
        known = {(row[0], row[1]) for row in self.catalog.db.execute("SELECT sha256, size FROM downloads")}
        removed = 0
        for part in self.store.partials():
            if (part.sha256, part.size) not in known:
                part.discard()
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
        part = self.partial(sha256, size)
        row = self._row(sha256)
        if row is not None and row["size"] != size:
            self.store.partial(sha256, row["size"]).discard()  # another size was declared before
        on_disk = part.offset
        offset = min(row["offset"], on_disk) if row and row["size"] == size else 0
        if budgeted and not self.transport.meter.allows(size - offset):
            raise BudgetSpent(sha256)
        free = shutil.disk_usage(self.store.tmp).free
        if size - on_disk > free - free_space_reserve(self.store.tmp):
            raise StorageFull(f"not enough free space for a {size // 2**20} MB file ({free // 2**20} MB free, "
                              "some kept in reserve)")
        part.truncate(offset)
        self._save_offset(sha256, size, offset, release)
        received = 0
        try:
            received = self._receive(path or f"/files/{sha256}", part, offset, release)
        except OSError as error:
            if error.errno in _STORAGE_ERRNOS:
                self.forget(sha256, size)
                raise StorageFull(f"the box's storage is full ({error.strerror})") from error
            raise
        except (ArtifactMismatch, TooLarge, NotJson):
            self.forget(sha256, size)
            raise
        self._verify(part, release)
        return received

    def copy_in(self, source, sha256: str, size: int, *, release: int | None = None, meter=None) -> int:
        """Bring one file to complete-and-verified from an open local file (a USB stick); the bytes copied.

        The same partial, limits and verification as a download: never more
        than ``size`` bytes are written (TooLarge), the whole file is hashed
        before it counts (ArtifactMismatch), and a failed copy leaves nothing.
        ``source.read`` raises a SyncError for its own failures (a pulled stick),
        so an OSError here is the box's storage.
        """
        if self.complete(sha256):
            return 0
        part = self.partial(sha256, size)
        free = shutil.disk_usage(self.store.tmp).free
        if size - part.offset > free - free_space_reserve(self.store.tmp):
            raise StorageFull(f"not enough free space for a {size // 2**20} MB file ({free // 2**20} MB free, "
                              "some kept in reserve)")
        part.truncate(0)
        self._save_offset(sha256, size, 0, release)
        copied = 0

        def chunks():
            """The source's bytes, counted."""
            nonlocal copied
            while chunk := source.read(WRITE_CHUNK):
                copied += len(chunk)
                if meter is not None:
                    meter.count_down(len(chunk))
                yield chunk

        try:
            part.write_at(0, chunks(), on_sync=lambda offset: self._record(part, offset, release))
            part.sync()
        except StoreError as error:  # bytes past the declared size
            self.forget(sha256, size)
            raise TooLarge(f"file {sha256[:12]}: more than the declared {size} bytes") from error
        except OSError as error:
            self.forget(sha256, size)
            if error.errno in _STORAGE_ERRNOS:
                raise StorageFull(f"the box's storage is full ({error.strerror})") from error
            raise
        except BaseException:  # the source failed (a pulled stick): nothing half-kept
            self.forget(sha256, size)
            raise
        self._verify(part, release)
        return copied

    def _receive(self, path: str, part: PartialDownload, offset: int, release: int | None) -> int:
        """Request the rest of the file until it is all on disk, resuming after cuts."""
        sha256, size = part.sha256, part.size
        received = 0
        attempt = 0
        while offset < size:
            headers = {"Range": f"bytes={offset}-", "If-Range": f'"{sha256}"'} if offset else {}
            try:
                with self.transport.open_stream(path, headers) as response:
                    start = self._check_answer(response, sha256, size, offset)
                    if start is None:  # 416: what we have is the whole file
                        break
                    received += self._write_body(response, part, start, release)
            except LINK_ERRORS as error:
                offset = self._durable_offset(part, release)
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
            offset = self._durable_offset(part, release)
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

    def _write_body(self, response, part: PartialDownload, start: int, release: int | None) -> int:
        """Write the body into the partial from ``start``, recording each fsynced offset; return bytes received."""
        meter = self.transport.meter
        received = 0

        def counted():
            """The body's chunks, counted against the byte budgets as they arrive."""
            nonlocal received
            for chunk in response.iter_content(WRITE_CHUNK):
                received += len(chunk)
                meter.count_down(len(chunk))
                yield chunk

        try:
            part.write_at(start, counted(), on_sync=lambda offset: self._record(part, offset, release))
        except StoreError as error:  # bytes past the declared size
            raise TooLarge(f"file {part.sha256[:12]}: more than the declared {part.size} bytes") from error
        return received

    def _durable_offset(self, part: PartialDownload, release: int | None) -> int:
        """After a cut or a body: fsync what arrived, record it, and resume from there."""
        offset = part.sync()
        self._record(part, offset, release)
        return offset

    def _verify(self, part: PartialDownload, release: int | None) -> None:
        """Hash the whole partial and record it as complete; discard it on a mismatch (ArtifactMismatch)."""
        try:
            part.verify()
        except StoreError as error:  # HashMismatch, or short (a 416 before the end)
            self.forget(part.sha256, part.size)
            raise ArtifactMismatch(f"file {part.sha256[:12]}: the bytes received do not match the catalog's "
                                   "hash") from error
        self._save_offset(part.sha256, part.size, part.size, release)

    def install(self, sha256: str) -> None:
        """Move a complete, verified file into the store (rename, then fsync the folder).

        The row at full size says the partial's hash was checked when it was
        fetched, so the store does not read it again.
        """
        row = self._row(sha256)
        if row is not None and row["offset"] == row["size"]:
            self.store.partial(sha256, row["size"]).install(verified=True)
        elif not self.store.has(sha256):
            raise ArtifactMismatch(f"file {sha256[:12]}: not downloaded yet")


class _Retry(Exception):
    """A retryable status for a file request (internal to :class:`Downloads`)."""

    def __init__(self, status: int, headers):
        super().__init__(status)
        self.status = status
        self.headers = headers
