"""A release from a USB stick (``readpoint sync --bundle DIR``), and usage back onto it.

A stick is hostile input. Nothing on it is believed except through the hub's
signature: ``manifest.json`` must verify with the pinned key and pass the same
release rules as the network path (older than the applied release: Rollback;
the applied number with other bytes: Equivocation), the catalog files it pins
are found by their sha256, and the content files the verified catalog pins are
found by theirs. No other name on the stick is ever opened. Every file is
opened relative to the bundle folder with ``O_NOFOLLOW`` (a link anywhere is
refused), must be a regular file of exactly the declared size (larger is
refused before a byte is read), and is copied into the same part files and
verified by the same code as a download (:meth:`Downloads.copy_in`).

All or nothing: when any file present on the stick fails a check, or cannot be
read (the stick was pulled), nothing of the bundle is applied; files already
copied and verified stay in ``tmp/`` so a re-run with a good stick finishes
quickly. A file that is simply absent only keeps its book waiting, as a
download beyond the byte budget does.

The box's clock is never consulted: there is no ``/v1/time`` on a stick, and
nothing here needs it.

Usage goes back as the same signed batch bodies a box POSTs to
``/v1/devices/{id}/batches``, written to ``outbox/``. The ranges handed out are
remembered (table ``sync_outbox``, migration ``0011_sync_outbox``) so a later
stick carries the very same batches again until the hub's signed ack (in
``acks/<device_id>.json`` of a newer bundle, or from a network sync) says it has
them: the hub's ``acked_through`` rule then takes each exactly once. A stick
that cannot be written (mounted read-only) is reported in ``errors``; the
release is applied all the same and the usage waits on the box.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import stat
from pathlib import Path

from content.catalog.usage import last_seq
from sync.client.downloads import StorageFull, free_space_reserve
from sync.errors import ArtifactMismatch, BadSignature, ConfigError, LinkError, TooLarge, TrustError
from sync.protocol import BUNDLE_DIR, MAX_MANIFEST, MAX_SMALL_JSON, SHA256, open_envelope

__all__ = ["BundleSource", "StickError", "find_bundle"]

log = logging.getLogger(__name__)

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a FIFO must not hang the run
MAX_BATCHES_ON_STICK = 200


class StickError(LinkError):
    """The stick could not be read or written (pulled out, damaged)."""


def find_bundle(folder: Path) -> int:
    """An open descriptor of the bundle folder: ``folder/READPOINT_BUNDLE``, or ``folder`` itself.

    ``folder`` is what the librarian or the USB auto-import names (a mount
    point); the bundle folder inside it must be a real folder, not a link.
    """
    folder = Path(folder)
    try:
        parent = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise ConfigError(f"cannot open {folder}: {error.strerror}") from error
    try:
        return os.open(BUNDLE_DIR, DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if folder.name == BUNDLE_DIR:
            return os.dup(parent)
        raise ConfigError(f"no {BUNDLE_DIR} folder in {folder}") from None
    except OSError as error:
        raise BadSignature(f"{BUNDLE_DIR} on the stick is a link or not a folder: refused") from error
    finally:
        os.close(parent)


class _StickReader:
    """A file on the stick whose read errors are StickError (not the box's storage)."""

    def __init__(self, handle):
        self.handle = handle

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes."""
        try:
            return self.handle.read(size)
        except OSError as error:
            raise StickError(f"the stick could not be read ({error.strerror}; pulled out?): "
                             "nothing of it was applied, run again with the stick in") from error


class BundleSource:
    """Where a bundle run gets its release and files, and where it leaves usage (see the module)."""

    all_or_nothing = True

    def __init__(self, folder: Path, run):
        """Open the bundle in ``folder`` for ``run`` (a :class:`sync.client.run._Run`)."""
        self.run = run
        self.root = find_bundle(folder)
        self._files_fd: int | None = None
        self._manifest: bytes | None = None

    def close(self) -> None:
        """Let go of the bundle folder."""
        for fd in (self._files_fd, self.root):
            if fd is not None and fd >= 0:
                os.close(fd)
        self._files_fd, self.root = None, -1

    # -- reading -----------------------------------------------------------

    def _open(self, folder: str | None, name: str) -> int:
        """A descriptor of a regular file in the bundle; FileNotFoundError when absent."""
        parent = os.open(folder, DIR_FLAGS, dir_fd=self.root) if folder else os.dup(self.root)
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=parent)
        finally:
            os.close(parent)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ArtifactMismatch(f"{folder or '.'}/{name} on the stick is not a plain file: refused")
        return fd

    def _opened(self, folder: str | None, name: str) -> int | None:
        """:meth:`_open`, None when absent; a link (or a link in the path) is refused."""
        try:
            return self._open(folder, name)
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise ArtifactMismatch(f"{folder or '.'}/{name} on the stick is a link: refused") from error
            raise StickError(f"the stick could not be read ({error.strerror}; pulled out?)") from error

    def _small(self, folder: str | None, name: str, limit: int) -> bytes | None:
        """A whole small file (at most ``limit`` bytes), or None when absent."""
        fd = self._opened(folder, name)
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(fd).st_size > limit:
                raise TooLarge(f"{name} on the stick: more than the {limit} bytes allowed")
            data = _StickReader(handle).read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"{name} on the stick: more than the {limit} bytes allowed")
        return data

    def pointer(self) -> tuple[int, str, int]:
        """(release, sha256, size) of the bundle's manifest, once its signature verifies."""
        data = self._small(None, "manifest.json", MAX_MANIFEST)
        if data is None:
            raise BadSignature("the bundle has no manifest.json: refused")
        signed = open_envelope(data, self.run.hub_key, "manifest", max_bytes=MAX_MANIFEST)
        if not isinstance(signed.get("release"), int) or signed["release"] < 1:
            raise BadSignature("manifest: no release number")
        self._manifest = data
        return signed["release"], hashlib.sha256(data).hexdigest(), len(data)

    def manifest(self, number: int, size: int) -> bytes:
        """The manifest bytes read by :meth:`pointer`."""
        return self._manifest or b""

    def fetch_catalog(self, number: int, name: str, sha256: str, size: int) -> None:
        """Copy and verify a catalog file (``catalog/<sha256>``); Missing when absent."""
        self._copy("catalog", sha256, size, release=number)

    def check_room(self, wanted: list[dict]) -> None:
        """Refuse the whole bundle up front when its files would not fit this box's disk."""
        store = self.run.library.store
        needed = 0
        for item in wanted:
            try:
                needed += os.stat(item["sha256"], dir_fd=self._files_dir(), follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
            except OSError as error:
                raise StickError(f"the stick could not be read ({error.strerror}; pulled out?)") from error
        free = shutil.disk_usage(store.tmp).free - free_space_reserve(store.tmp)
        if needed > free:
            raise StorageFull(f"the bundle needs {needed // 2**20} MB and this box has {max(free, 0) // 2**20} MB "
                              "free: nothing of it was applied")

    def _files_dir(self) -> int:
        """A descriptor of ``files/`` (kept for the run)."""
        if self._files_fd is None:
            try:
                self._files_fd = os.open("files", DIR_FLAGS, dir_fd=self.root)
            except FileNotFoundError:
                self._files_fd = os.open(".", DIR_FLAGS, dir_fd=self.root)  # no files: nothing will match
            except OSError as error:
                raise ArtifactMismatch("files/ on the stick is a link: refused") from error
        return self._files_fd

    def fetch_file(self, sha256: str, size: int) -> None:
        """Copy and verify a content file (``files/<sha256>``); Missing when absent."""
        self._copy("files", sha256, size)

    def _copy(self, folder: str, sha256: str, size: int, *, release: int | None = None) -> None:
        """Bring ``folder/<sha256>`` to complete-and-verified in ``tmp/``, by the download rules."""
        from sync.client.run import Missing

        downloads = self.run.downloads
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256) or not isinstance(size, int):
            raise ArtifactMismatch(f"not a sha256 and size: {sha256!r}")
        if downloads.complete(sha256):
            return
        fd = self._opened(folder, sha256)
        if fd is None:
            raise Missing(f"{folder}/{sha256[:12]} is not on the stick")
        with os.fdopen(fd, "rb") as handle:
            found = os.fstat(fd).st_size
            if found > size:
                raise TooLarge(f"file {sha256[:12]} on the stick: {found} bytes, more than the declared {size}: "
                               "refused")
            if found < size:
                raise ArtifactMismatch(f"file {sha256[:12]} on the stick: {found} of {size} bytes (a copy cut "
                                       "short?): refused")
            downloads.copy_in(_StickReader(handle), sha256, size, release=release, meter=self.run.meter)

    # -- writing usage back --------------------------------------------------

    def write_outbox(self) -> None:
        """Take the hub's ack from the stick, then leave the signed batches and status in ``outbox/``."""
        try:
            self._take_ack()
        except TrustError as error:
            self.run.report.errors.append(str(error))
        run = self.run
        files = []
        for first, last, body in self._batches():
            device = run.device["device_id"]
            files.append((f"usage-{device}-{first}-{last}", body))
        status = json.dumps({"type": "readpoint.status", "device_id": run.device["device_id"],
                             **run.status_fields()}, ensure_ascii=False, separators=(",", ":")).encode()
        files.append((f"status-{run.device['device_id']}", status))
        try:
            self._write(files)
        except OSError as error:
            raise StickError(f"outbox: cannot write on the stick ({error.strerror}): usage stays on this box "
                             "for the next stick or sync") from error

    def _take_ack(self) -> None:
        """Prune what the hub's signed ack on the stick says it has (never lowers the watermark)."""
        device = self.run.device["device_id"]
        data = self._small("acks", f"{device}.json", MAX_SMALL_JSON)
        if data is None:
            return
        signed = open_envelope(data, self.run.hub_key, "ack")
        acked = signed.get("acked_through")
        if signed.get("device_id") != device or not isinstance(acked, int):
            raise BadSignature("ack on the stick: signed for another device")
        if acked > self.run.state.state()["usage_acked_through"]:
            self.run._acknowledged(acked)

    def _batches(self) -> list[tuple[int, int, bytes]]:
        """Every batch after the watermark: the ranges handed out before, then new ones."""
        from sync.client.batches import BATCH_EVENTS, batch_body, usage_batch

        catalog = self.run.catalog
        acked = self.run.state.state()["usage_acked_through"]
        newest = last_seq(catalog)
        with catalog.write() as db:
            db.execute("DELETE FROM sync_outbox WHERE last <= ?", [acked])
            issued = db.execute("SELECT coalesce(max(last), ?) FROM sync_outbox", [acked]).fetchone()[0]
            while issued < newest:
                last = min(newest, issued + BATCH_EVENTS)
                db.execute("INSERT INTO sync_outbox (first, last) VALUES (?, ?)", [issued + 1, last])
                issued = last
        batches = []
        ranges = catalog.db.execute("SELECT first, last FROM sync_outbox ORDER BY first LIMIT ?",
                                    [MAX_BATCHES_ON_STICK]).fetchall()
        for first, last in ranges:
            first = max(first, acked + 1)  # the hub's watermark fell inside: only the box can trim
            batch = usage_batch(catalog, first - 1, limit=last - first + 1)
            if batch is not None:
                batches.append((batch.first, batch.last, batch_body(self.run.device["device_id"], batch)))
        return batches

    def _write(self, files: list[tuple[str, bytes]]) -> None:
        """Write each body and its signature into ``outbox/`` (signature first, each durably)."""
        try:
            os.mkdir("outbox", 0o755, dir_fd=self.root)
        except FileExistsError:
            pass
        try:
            outbox = os.open("outbox", DIR_FLAGS, dir_fd=self.root)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise StickError("outbox/ on the stick is a link or not a folder: nothing written") from error
            raise
        try:
            for stem, body in files:
                _put(outbox, f"{stem}.sig", self.run.key.sign(body).encode("ascii"))
                _put(outbox, f"{stem}.json", body)
                self.run.meter.up += len(body)
            os.fsync(outbox)
        finally:
            os.close(outbox)
        log.info("outbox: %d files left on the stick", len(files))


def _put(folder: int, name: str, data: bytes) -> None:
    """Write ``data`` as ``name`` in the folder ``folder`` (a temporary name, fsync, rename)."""
    part = f".{name}.part"
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=folder)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, name, src_dir_fd=folder, dst_dir_fd=folder)

