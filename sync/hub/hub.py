"""The hub's folder and what provincial staff do with it (the ``readpoint hub`` commands).

Books are read into the hub's *workspace*, a readpoint library of its own, by the
box's own importer (:func:`content.ingest.run.import_paths`): the same readers,
verdicts, limits and report. What it imports is staged as an upsert for the next
release; ``remove`` stages tombstones. ``publish`` turns the staged changes into
release N+1 in one database transaction: the catalog rows, a snapshot and deltas
from the last :data:`DELTA_RELEASES` releases (gzip JSON Lines), and the signed
manifest that pins them. The release row is committed last, after every file is
on disk, so a box can never be pointed at a release that is not all there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from content.settings import load_settings
from content.store import ContentStore, fsync_path
from sync.errors import BadSignature, ConfigError, SyncError
from sync.hub.storage import HubStorage, open_storage
from sync.protocol import BOOK_ID, SPEC, catalog_name, check_batch, seal, write_catalog
from sync.signing import SigningKey, create_key, load_key, verify

__all__ = ["Hub", "BatchRefused", "init_hub", "DELTA_RELEASES", "normalise_code", "code_hash"]

log = logging.getLogger(__name__)

DELTA_RELEASES = 10          # deltas are built from each of the last this-many releases
CODE_LIFETIME = 7 * 24 * 3600
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
ENTRY_FILE_ROLES = ("primary", "chapter", "cover")


class BatchRefused(SyncError):
    """A usage batch the hub does not take (bad signature, shape or device); nothing is counted."""


def normalise_code(code: str) -> str:
    """An enrollment code as typed (any case, dashes, spaces) in its one canonical form."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    """What the hub keeps of an enrollment code: the sha256 of its canonical form."""
    return hashlib.sha256(normalise_code(code).encode("ascii", "replace")).hexdigest()


def init_hub(hub_dir: Path) -> str:
    """Create a hub folder with a new signing key and an empty database; return the public key."""
    hub_dir = Path(hub_dir)
    key_path = hub_dir / "keys" / "hub.key"
    if key_path.exists():
        raise ConfigError(f"{hub_dir} is already a hub (it has a signing key); `readpoint hub key` prints it")
    hub_dir.mkdir(parents=True, exist_ok=True)
    key = create_key(key_path)
    hub = Hub(hub_dir)
    hub.close()
    return key.public_b64


class Hub:
    """One hub folder: its key, database, workspace library, content store and releases."""

    def __init__(self, hub_dir: Path, *, settings: dict | None = None, clock=None):
        """Open an initialised hub folder (``readpoint hub init`` first)."""
        self.dir = Path(hub_dir)
        if not (self.dir / "keys" / "hub.key").exists():
            raise ConfigError(f"{self.dir} is not a hub: run `readpoint hub init --data {self.dir}` first")
        self.settings = settings if settings is not None else load_settings(self.dir)
        self.key: SigningKey = load_key(self.dir / "keys" / "hub.key")
        options = {"clock": clock} if clock else {}
        self.storage: HubStorage = open_storage(self.dir, self.settings.get("hub_database_url", ""), **options)
        self.store = ContentStore(self.dir)
        self.releases_dir = self.dir / "releases"
        self.releases_dir.mkdir(exist_ok=True)
        self._workspace = None
        self._artifact_hashes: dict[int, dict[str, str]] = {}

    def close(self) -> None:
        """Close the database and the workspace."""
        self.storage.close()
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    @property
    def workspace(self):
        """The readpoint library books are read into (opened on first use)."""
        if self._workspace is None:
            from content.library import Library

            self._workspace = Library(self.dir / "workspace")
        return self._workspace

    # -- books -------------------------------------------------------------

    def add(self, paths: list[Path], *, progress=None):
        """Read books into the workspace and stage what is new; return the import report."""
        from content.ingest.run import import_paths

        settings = self.settings
        report = import_paths(
            self.workspace, paths, progress=progress,
            max_uncompressed_bytes=settings["import_max_uncompressed_mb"] * 2**20,
            max_file_bytes=settings["import_max_file_mb"] * 2**20,
            read_seconds=settings["import_read_seconds"],
        )
        new_ids = {entry["id"] for entry in report.imported}
        # A duplicate neither published nor staged was imported by a run killed before it staged.
        new_ids |= {entry["id"] for entry in report.duplicates if not self.storage.is_published(entry["id"])}
        for book_id in sorted(new_ids):
            entry = self.entry(book_id)
            self.publish_files(entry)
            self.storage.stage(book_id, "upsert", entry)
        return report

    def entry(self, book_id: str) -> dict:
        """The release catalog entry of a workspace book (the shape ``upsert_from_hub`` takes)."""
        catalog = self.workspace.catalog
        book = catalog.get_book(book_id)
        if book is None:
            raise SyncError(f"no book {book_id} in the hub's workspace")
        texts = catalog.db.execute(
            "SELECT position, text FROM chapter_texts WHERE book_id = ? ORDER BY position", [book_id]
        ).fetchall()
        return {
            "id": book_id,
            **{name: book[name] for name in ("title", "authors", "language", "description", "publisher",
                                              "date", "subjects", "identifiers", "format", "duration")},
            "categories": book["categories"],
            "files": [
                {name: row[name] for name in ("sha256", "size", "media_type", "role", "position", "name", "duration")}
                for row in catalog.files_of(book_id) if row["role"] in ENTRY_FILE_ROLES
            ],
            "chapters": [
                {name: row[name] for name in ("position", "title", "href", "file_sha256", "start", "duration")}
                for row in catalog.chapters_of(book_id)
            ],
            "texts": [[position, text] for position, text in texts],
        }

    def publish_files(self, entry: dict) -> None:
        """Put a book's files into the hub's served store (hard links from the workspace)."""
        for item in entry["files"]:
            sha = item["sha256"]
            if self.store.has(sha):
                continue
            source = self.workspace.store.path_for(sha)
            target = self.store.path_for(sha)
            target.parent.mkdir(exist_ok=True)
            try:
                os.link(source, target)
                fsync_path(target.parent)
            except FileExistsError:
                pass
            except OSError:  # another file system: copy, verified
                self.store.put_file(source, expected_sha256=sha)

    def remove(self, book_ids: list[str]) -> list[str]:
        """Stage the withdrawal of books (published or staged); return the ids staged."""
        unknown = [b for b in book_ids if not BOOK_ID.fullmatch(b)]
        if unknown:
            raise SyncError(f"not a book id: {unknown[0]}")
        staged = []
        for book_id in book_ids:
            in_workspace = self.workspace.catalog.book_exists(book_id)
            if not (self.storage.is_published(book_id) or in_workspace):
                raise SyncError(f"no book {book_id} on the hub")
            self.storage.stage(book_id, "remove", None)
            if in_workspace:
                self._remove_from_workspace(book_id)
            staged.append(book_id)
        return staged

    def _remove_from_workspace(self, book_id: str) -> None:
        """Take a book out of the workspace (so adding it again stages it again)."""
        library = self.workspace
        books = getattr(library, "books", None)
        if books is not None:
            books.remove(book_id, actor="hub")
            return
        hashes = {row["sha256"] for row in library.catalog.files_of(book_id)}  # before the door lands
        with library.catalog.write():
            library.catalog.delete_book(book_id)
        for sha in hashes - library.catalog.all_file_hashes():
            library.store.remove(sha)

    # -- releases ----------------------------------------------------------

    @contextlib.contextmanager
    def _publish_lock(self) -> Iterator[None]:
        """One publisher at a time on this hub folder."""
        with open(self.dir / "publish.lock", "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise SyncError("another publish is running on this hub") from error
            yield

    def publish(self) -> dict:
        """Build, sign and record release N+1 from the staged changes; return its summary."""
        with self._publish_lock(), self.storage.transaction() as tx:
            number = self.storage.next_release_number(tx)
            added, removed = self.storage.apply_staged(tx, number)
            books = self.storage.count_books(tx)
            final = self.releases_dir / str(number)
            building = self.releases_dir / f".{number}.building"
            for stale in (building, final):  # left by a publish that died before its commit
                shutil.rmtree(stale, ignore_errors=True)
            (building / "catalog").mkdir(parents=True)
            artifacts = [self._catalog_artifact(tx, building, number, None)]
            for since in range(max(1, number - DELTA_RELEASES), number):
                artifacts.append(self._catalog_artifact(tx, building, number, since))
            signed = {
                "type": "readpoint.manifest", "spec": SPEC, "release": number, "prev_release": number - 1,
                "published_at": self.storage.now(), "books": books, "catalog": artifacts,
            }
            manifest = seal(self.key, signed)
            _write_durably(building / "manifest.json", manifest)
            fsync_path(building / "catalog")
            fsync_path(building)
            os.rename(building, final)
            fsync_path(self.releases_dir)
            self.storage.add_release(tx, {
                "number": number, "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
                "manifest_size": len(manifest), "published_at": signed["published_at"],
                "books": books, "added": added, "removed": removed,
            })
        log.info("published release %d: %d books (%d added, %d removed)", number, books, added, removed)
        return {"release": number, "books": books, "added": added, "removed": removed}

    def _catalog_artifact(self, tx, folder: Path, number: int, since: int | None) -> dict:
        """Write the snapshot (``since`` None) or the delta from ``since``; its manifest entry."""
        name = catalog_name(number, since)
        path = folder / "catalog" / name
        raw_size, lines = write_catalog(path, self.storage.catalog_lines(tx, since))
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return {"name": name, "kind": "snapshot" if since is None else "delta", "from": since or 0,
                "sha256": digest.hexdigest(), "size": path.stat().st_size, "raw_size": raw_size, "lines": lines}

    def manifest_path(self, number: int) -> Path:
        """Where release ``number``'s manifest lives."""
        return self.releases_dir / str(int(number)) / "manifest.json"

    def catalog_sha256(self, number: int, name: str) -> str | None:
        """The sha256 release ``number``'s manifest gives for its catalog file ``name`` (its ETag)."""
        cached = self._artifact_hashes.get(number)
        if cached is None:
            try:
                manifest = json.loads(self.manifest_path(number).read_bytes())
            except (FileNotFoundError, ValueError):
                return None
            cached = {a["name"]: a["sha256"] for a in manifest["signed"]["catalog"]}
            if len(self._artifact_hashes) > 64:
                self._artifact_hashes.clear()
            self._artifact_hashes[number] = cached
        return cached.get(name)

    def catalog_path(self, number: int, name: str) -> Path:
        """Where a catalog file of release ``number`` lives (``name`` checked by the caller)."""
        return self.releases_dir / str(int(number)) / "catalog" / name

    # -- boxes -------------------------------------------------------------

    def enroll_code(self, name: str = "") -> str:
        """A new one-time enrollment code (valid :data:`CODE_LIFETIME` seconds), as staff read it out."""
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
        self.storage.add_code(code_hash(raw), name or "box", CODE_LIFETIME)
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    def take_batch(self, device: dict, raw: bytes, signature: str):
        """Take one signed usage batch of ``device`` exactly once; the BatchResult.

        The one place the hub checks a batch, whether it came over the API or on a
        USB stick: the box's signature over the exact bytes, the batch's shape, its
        device. BatchRefused when any fails (nothing is counted).
        """
        try:
            verify(device["public_key"], raw, signature)
        except BadSignature as error:
            raise BatchRefused("the batch signature does not verify") from error
        try:
            batch = check_batch(json.loads(raw))
        except ValueError as error:
            raise BatchRefused(f"not a valid usage batch: {error}") from error
        if batch.get("device_id") != device["device_id"]:
            raise BatchRefused("the batch names another device")
        return self.storage.record_batch(device["device_id"], batch["from"], batch["to"], batch.get("hours", []),
                                         batch.get("missed", []))

    def signed_ack(self, device_id: str, acked: int, outcome: str) -> bytes:
        """The hub's signed watermark of a device (an API answer, or a file in a bundle)."""
        return seal(self.key, {"type": "readpoint.ack", "device_id": device_id, "acked_through": acked,
                               "outcome": outcome})

    def usage_report(self) -> dict:
        """What ``readpoint hub usage --json`` prints."""
        latest = self.storage.latest_release()
        return {"latest_release": latest["number"] if latest else 0, "devices": self.storage.usage_report()}


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and fsync it."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())

