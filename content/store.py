"""The content store: immutable files named by their sha256 under ``store/ab/<sha256>``.

A file becomes visible only after it is complete and verified (DESIGN.md,
"Durability"): the bytes go to ``tmp/<random>.part``, are fsynced, their hash
is checked, the part is renamed into ``store/`` and the directory fsynced.
Only then may a catalog row name it. A crash at any point leaves either no file
or a whole one; a whole file without a row is an orphan, removed at start-up
(:func:`remove_orphans`) unless a writer holds the writer lock.

A download from the hub may take days over a weak link, so its partial file is
kept across restarts: ``tmp/dl-<sha256>-<size>.part`` names the bytes it must
become (:class:`PartialDownload`); start-up removes other abandoned ``.part``
files but keeps these while they are no longer than their declared size. The
sync client (``sync/client/downloads.py``) fetches into these partials and
records in its ``downloads`` table the offset each one has fsynced.

Nothing here builds a path from text it has not checked: :func:`is_sha256`
guards every name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from content.errors import HashMismatch, StoreError

__all__ = ["ContentStore", "fsync_path", "is_sha256", "sha256_of_file", "writer_lock", "WriterBusy"]

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class WriterBusy(StoreError):
    """Another process holds the data directory's writer lock."""


def is_sha256(text: str) -> bool:
    """Whether ``text`` is exactly 64 lower-case hex digits."""
    return isinstance(text, str) and _SHA256.fullmatch(text) is not None


def sha256_of_file(path: Path) -> str:
    """The sha256 (hex) of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_path(path: Path | str) -> None:
    """Flush a file, or a directory's entries (a rename), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Writer locks this thread holds, by lock file (see holds_writer_lock).
_held = threading.local()


def _lock_key(data_dir: Path) -> str:
    """The writer lock file of a data directory, as a key."""
    return str((Path(data_dir) / "tmp" / "writer.lock").resolve())


@contextlib.contextmanager
def writer_lock(data_dir: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the data directory's writer lock (one importer or sync writer at a time).

    Start-up clean-up checks this lock so it never removes a file that a
    running writer has stored but not yet recorded. Not re-entrant: a second
    attempt, even from the same thread, waits (or gets :class:`WriterBusy`).
    """
    lock_path = Path(data_dir) / "tmp" / "writer.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError as error:
            raise WriterBusy("another import or sync is running on this data directory") from error
        held = _held.__dict__.setdefault("keys", set())
        key = _lock_key(data_dir)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def holds_writer_lock(data_dir: Path) -> bool:
    """Whether the calling thread holds the data directory's writer lock."""
    return _lock_key(data_dir) in _held.__dict__.get("keys", set())


def writer_lock_held(data_dir: Path) -> bool:
    """Whether some process holds the writer lock right now (without waiting)."""
    try:
        with writer_lock(data_dir, wait=False):
            return False
    except WriterBusy:
        return True


class ContentStore:
    """The ``store/`` and ``tmp/`` folders of one data directory."""

    def __init__(self, data_dir: Path | str):
        """Use (and create if needed) ``store/`` and ``tmp/`` under ``data_dir``."""
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "store"
        self.tmp = self.data_dir / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        """Where the file with this hash lives (whether or not it exists)."""
        if not is_sha256(sha256):
            raise StoreError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Whether a file with this hash is in the store."""
        return is_sha256(sha256) and self.path_for(sha256).is_file()

    def put_stream(
        self,
        source: BinaryIO,
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> tuple[str, int]:
        """Copy ``source`` into the store durably; return (sha256, size).

        ``expected_sha256`` makes a mismatch an error (HashMismatch) and
        ``max_bytes`` caps what is read (StoreError past it). Nothing partial is
        ever visible: on any error the ``.part`` file is removed.
        """
        part = self.tmp / f"{secrets.token_hex(8)}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with open(part, "xb") as out:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX)
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise StoreError(f"file larger than the allowed {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise HashMismatch(f"content hash {sha256} is not the expected {expected_sha256}")
            self._install(part, sha256)
        finally:
            part.unlink(missing_ok=True)
        return sha256, size

    def partial(self, sha256: str, size: int) -> PartialDownload:
        """The resumable download of the file with this hash and size (made or found)."""
        return PartialDownload(self, sha256, size)

    def partials(self) -> list[PartialDownload]:
        """Every resumable download kept in ``tmp/``."""
        found = []
        for part in sorted(self.tmp.glob("dl-*.part")):
            parsed = PartialDownload.parse_name(part.name)
            if parsed is not None:
                found.append(PartialDownload(self, *parsed))
        return found

    def put_file(self, path: Path, **options) -> tuple[str, int]:
        """Copy the file at ``path`` into the store; see :meth:`put_stream`."""
        with open(path, "rb") as source:
            return self.put_stream(source, **options)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; return (sha256, size)."""
        return self.put_stream(io.BytesIO(data))

    def _install(self, part: Path, sha256: str) -> None:
        """Rename a verified part file to its final name and flush the directory."""
        final = self.path_for(sha256)
        if final.is_file():
            return  # identical content is already stored
        final.parent.mkdir(exist_ok=True)
        os.rename(part, final)
        fsync_path(final.parent)

    def remove(self, sha256: str) -> None:
        """Delete a stored file (the caller has removed its rows first)."""
        path = self.path_for(sha256)
        path.unlink(missing_ok=True)

    def hashes(self) -> Iterator[str]:
        """Every sha256 present in the store (files with other names are ignored)."""
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for path in sorted(folder.iterdir()):
                if is_sha256(path.name) and path.name[:2] == folder.name:
                    yield path.name

    def strays(self) -> list[Path]:
        """Files under ``store/`` that are not named as a stored file should be."""
        found = []
        for path in self.root.rglob("*"):
            if path.is_file():
                name_ok = is_sha256(path.name) and path.parent.name == path.name[:2]
                if not name_ok or path.parent.parent != self.root:
                    found.append(path)
        return found

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored file; True when its bytes match its name."""
        try:
            return sha256_of_file(self.path_for(sha256)) == sha256
        except FileNotFoundError:
            return False

    def remove_stale_parts(self, *, older_than: float = 0.0) -> int:
        """Delete ``tmp/*.part`` files no live writer holds; return how many.

        Resumable downloads (:class:`PartialDownload`) are kept unless they grew
        past their declared size.
        """
        removed = 0
        now = time.time()
        for part in self.tmp.glob("*.part"):
            resumable = PartialDownload.parse_name(part.name)
            try:
                if resumable is not None and part.stat().st_size <= resumable[1]:
                    continue
                with open(part, "rb") as handle:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # a writer is still filling it
                    if now - part.stat().st_mtime < older_than:
                        continue
                    part.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class PartialDownload:
    """A file being downloaded into the store, resumable across restarts.

    Its name records what it must become (``tmp/dl-<sha256>-<size>.part``), so
    after a reboot the sync client finds it, asks for the rest with a Range
    request, and :meth:`install` verifies the whole file before it enters the
    store. Bytes past the declared size are refused; a hash mismatch deletes the
    partial (the next try starts again from zero).

    A power cut keeps only what was fsynced: the bytes after the last fsync may
    be garbage although the file is that long. :meth:`write_at` fsyncs every
    :attr:`SYNC_EVERY` bytes and tells its caller each offset that is now on
    disk, so the caller can record it; on resume, :meth:`truncate` cuts the file
    back to the recorded offset before writing from there.
    """

    _NAME = re.compile(r"dl-([0-9a-f]{64})-([0-9]{1,15})\.part")
    SYNC_EVERY = 4 * 2**20  # fsync while writing, so a power cut loses at most this much

    def __init__(self, store: ContentStore, sha256: str, size: int):
        """Name the partial of ``sha256`` (``size`` bytes) in ``store``'s ``tmp/``."""
        if not is_sha256(sha256):
            raise StoreError(f"not a sha256: {sha256!r}")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 10**15:
            raise StoreError(f"not a file size: {size!r}")
        self.store = store
        self.sha256 = sha256
        self.size = size
        self.path = store.tmp / f"dl-{sha256}-{size}.part"

    def __repr__(self) -> str:
        """The partial's file name."""
        return f"<PartialDownload {self.path.name}>"

    @classmethod
    def parse_name(cls, name: str) -> tuple[str, int] | None:
        """(sha256, size) from a resumable partial's file name, or None for any other name."""
        match = cls._NAME.fullmatch(name)
        return (match.group(1), int(match.group(2))) if match else None

    @property
    def offset(self) -> int:
        """How many bytes the file holds now (fsynced or not)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def truncate(self, offset: int) -> None:
        """Cut the file back to ``offset`` bytes (made empty if missing).

        For resuming from an offset known to be on disk: whatever lies past it
        may be what a power cut left of unsynced writes. StoreError when
        ``offset`` is past the bytes the file holds.
        """
        if not isinstance(offset, int) or not 0 <= offset <= self.offset:
            raise StoreError(f"cannot cut {self.path.name} ({self.offset} bytes) to {offset!r}")
        with open(self.path, "ab") as handle:
            handle.truncate(offset)

    def sync(self) -> int:
        """Flush the file to disk; return how many bytes are now known to be there (0 if missing)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            os.fsync(fd)
            return min(os.fstat(fd).st_size, self.size)
        finally:
            os.close(fd)

    def write_at(self, start: int, chunks: Iterable[bytes], *, on_sync: Callable[[int], None] | None = None) -> int:
        """Write ``chunks`` from byte ``start`` on, cutting off what was after it; return the offset reached.

        The file is fsynced every :attr:`SYNC_EVERY` bytes, then ``on_sync`` is
        called with the offset now on disk; and once more (without the call) at
        the end, also when ``chunks`` raises. Raises :class:`StoreError`, keeping
        only the declared size, when the bytes run past it.
        """
        if not isinstance(start, int) or not 0 <= start <= min(self.offset, self.size):
            raise StoreError(f"cannot write {self.path.name} ({self.offset} bytes) from {start!r}")
        with open(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), "r+b") as out:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX)
            out.truncate(start)
            out.seek(start)
            offset = synced = start
            try:
                for chunk in chunks:
                    if offset + len(chunk) > self.size:
                        out.write(chunk[: self.size - offset])
                        raise StoreError(f"more bytes than the declared {self.size} for {self.sha256}")
                    out.write(chunk)
                    offset += len(chunk)
                    if offset - synced >= self.SYNC_EVERY:
                        out.flush()
                        os.fsync(out.fileno())
                        synced = offset
                        if on_sync is not None:
                            on_sync(offset)
            finally:
                out.flush()
                os.fsync(out.fileno())
        return offset

    def append(self, chunks: Iterable[bytes]) -> int:
        """Append ``chunks`` durably; return the new offset (see :meth:`write_at`)."""
        return self.write_at(self.offset, chunks)

    def verify(self) -> None:
        """Hash the complete download, which must be the expected bytes.

        :class:`StoreError` if it is not complete yet; :class:`HashMismatch`
        (the partial is deleted) when its bytes are not the expected ones.
        """
        self._check_complete()
        if sha256_of_file(self.path) != self.sha256:
            self.discard()
            raise HashMismatch(f"downloaded bytes do not match {self.sha256}")

    def install(self, *, verified: bool = False) -> str:
        """Verify the complete download and move it into the store; return its sha256.

        Raises as :meth:`verify`. ``verified`` skips hashing the file again when
        the caller has recorded that :meth:`verify` passed after the last write
        (the sync client's ``downloads`` row); completeness is still checked.
        """
        if verified:
            self._check_complete()
        else:
            self.verify()
        self.store._install(self.path, self.sha256)
        self.path.unlink(missing_ok=True)  # when an identical file was already stored
        return self.sha256

    def _check_complete(self) -> None:
        """StoreError unless the file holds exactly its declared size."""
        if self.offset != self.size:
            raise StoreError(f"download of {self.sha256} is incomplete ({self.offset} of {self.size} bytes)")

    def discard(self) -> None:
        """Delete the partial (start again from zero next time)."""
        self.path.unlink(missing_ok=True)


def remove_orphans(store: ContentStore, referenced: Callable[[], set[str]]) -> list[str]:
    """Remove stored files no catalog row refers to; return their hashes.

    ``referenced`` is called under the lock and returns every hash the catalog
    names. Such files are what a crash between "file installed" and "row committed"
    leaves. Skipped entirely while a writer holds the writer lock, because a
    running import has files it has not recorded yet.
    """
    try:
        with writer_lock(store.data_dir, wait=False):
            names = referenced()
            orphans = [sha for sha in store.hashes() if sha not in names]
            for sha in orphans:
                log.warning("removing orphan file %s (no catalog row)", sha)
                store.remove(sha)
            return orphans
    except WriterBusy:
        log.info("a writer is running: orphan clean-up skipped")
        return []


__all__ += ["remove_orphans", "writer_lock_held", "holds_writer_lock", "PartialDownload"]
