"""The one door for every change to a book: add, upsert from the hub, status, edit, remove.

The importer, the starter loader, sync and the librarian's pages all change books
through :class:`Books` (``library.books``), so the durability rules and the
bookkeeping live in one place:

- **Files before rows.** A book's files are stored (fsynced, verified) before its
  rows are written; rows, search entries and a ``catalog_changes`` event are
  written in one transaction. If anything fails, the files this change stored are
  removed again: nothing of the book remains.
- **Files go last.** A removed or updated book's files are deleted only after the
  transaction commits, and only those no other book refers to; a crash in between
  leaves orphans, which the start-up check removes.
- **The hub never overwrites the librarian.** A book whose ``origin`` is ``local``
  is never touched by :meth:`Books.upsert_from_hub`. A librarian's decisions on a
  hub book (hidden, edited fields, categories) live in ``book_overrides``, apart
  from what the hub sent, and are laid on top of every later hub update.
- **Search follows the catalog.** An engine kept in the catalog (FTS5) is updated in
  the same transaction; one kept elsewhere (Whoosh) right after it commits (a
  failure there is repaired by the start-up check's refresh).

Several changes can share one transaction (a whole sync release):
``with library.books.transaction(): ...``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from content.catalog.book_checks import (
    EDITABLE_FIELDS,
    BookChangeError,
    hub_book_row,
    same_book,
    validated_edit,
    validated_hub_entry,
)
from content.catalog.database import BOOK_JSON_FIELDS, book_id_for, now_iso
from content.catalog.rows import book_row, chapter_rows, cover_row, file_row, sort_title
from content.errors import ContentError, HashMismatch, RejectedFile, StorageFull, StoreError
from content.parsed import ParsedBook
from content.store import WriterBusy, holds_writer_lock, writer_lock

__all__ = ["Books", "NewBook", "BookChangeError", "STATUSES", "EDITABLE_FIELDS"]

log = logging.getLogger(__name__)

STATUSES = ("active", "hidden", "withdrawn")
# Errors that only writing to the box's own storage produces.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


@dataclass
class NewBook:
    """A book read from files and ready to be added.

    ``hashes`` are the sha256 of ``parsed.files`` in order (computed before
    reading, so a file that changes while copied is caught); ``streams`` the
    search analysis of chapter texts done elsewhere (a reader process), by text.
    """

    parsed: ParsedBook
    hashes: list[str]
    thumbnail: bytes | None = None
    streams: Mapping[str, tuple[str, str]] | None = None

    @property
    def book_id(self) -> str:
        """The book's global id (from its files' hashes)."""
        return book_id_for(self.hashes)


@dataclass
class _Pending:
    """What the open transaction must do after it commits, or undo if it does not."""

    index_after: dict[str, Mapping | None] = field(default_factory=dict)
    maybe_unreferenced: set[str] = field(default_factory=set)
    stored: set[str] = field(default_factory=set)
    new_thumbs: set[str] = field(default_factory=set)
    old_thumbs: set[str] = field(default_factory=set)


def _storage_errors() -> contextlib.AbstractContextManager:
    """Turn a full or read-only disk (file or catalog) into :class:`StorageFull`."""

    @contextlib.contextmanager
    def mapping() -> Iterator[None]:
        try:
            yield
        except OSError as error:
            if error.errno in STORAGE_ERRNOS:
                raise StorageFull(f"the box's storage is full or read-only ({error.strerror})") from error
            raise
        except sqlite3.OperationalError as error:
            if "full" in str(error) or "readonly" in str(error):
                raise StorageFull(f"the box's storage is full: the catalog cannot grow ({error})") from error
            raise

    return mapping()


class Books:
    """Every change to the books of one :class:`~content.library.Library`."""

    def __init__(self, library):
        """Bind to ``library`` (its catalog, store, search index and thumbnails)."""
        self.library = library
        self.catalog = library.catalog
        self._local = threading.local()

    # -- transactions ------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One catalog transaction for one or many changes; files and outside indexes follow it.

        Nested calls join the outer transaction. When the outermost one commits,
        books for an outside engine are indexed and files no book refers to any
        more are deleted; when it fails, the files and thumbnails it stored are.
        """
        pending = getattr(self._local, "pending", None)
        if pending is not None:
            with self.catalog.write():
                yield
            return
        pending = self._local.pending = _Pending()
        try:
            with _storage_errors(), self.catalog.write():
                yield
        except BaseException:
            self._local.pending = None
            self._rollback_leftovers()
            self._discard(pending.stored, pending.new_thumbs)
            raise
        self._local.pending = None
        self._after_commit(pending)

    def _rollback_leftovers(self) -> None:
        """End a transaction that a failed COMMIT (a full disk) left open."""
        conn = self.catalog.db.conn
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    @property
    def _pending(self) -> _Pending:
        """The open transaction's bookkeeping (only inside :meth:`transaction`)."""
        pending = getattr(self._local, "pending", None)
        if pending is None:
            raise RuntimeError("book changes must run inside Books.transaction()")
        return pending

    def _after_commit(self, pending: _Pending) -> None:
        """Index for an outside engine, then delete what no book refers to any more."""
        search = self.library.search
        for book_id, streams in pending.index_after.items():
            try:
                search.index_book(self.catalog, book_id, streams)
            except Exception:  # noqa: BLE001 - the start-up refresh repairs the outside index
                log.exception("indexing book %s failed; the next start-up check repairs it", book_id)
        self._discard(pending.maybe_unreferenced, pending.old_thumbs)

    def _discard(self, hashes: set[str], thumbs: set[str]) -> None:
        """Delete stored files and thumbnails that no book refers to.

        Skipped (left for the start-up check) when another thread or process holds
        the writer lock without us: an import may be storing one of these files
        for a book it has not recorded yet.
        """
        if not hashes and not thumbs:
            return
        if holds_writer_lock(self.library.data_dir):
            self._delete_unreferenced(hashes, thumbs)
            return
        try:
            with writer_lock(self.library.data_dir, wait=False):
                self._delete_unreferenced(hashes, thumbs)
        except WriterBusy:
            log.info("a writer is running: %d unreferenced files left for the next check", len(hashes))

    def _delete_unreferenced(self, hashes: set[str], thumbs: set[str]) -> None:
        """Delete those of these files and thumbnails that no book refers to (under the writer lock)."""
        db = self.catalog.db
        for sha in sorted(hashes):
            if db.execute("SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", [sha]).fetchone() is None:
                self.library.store.remove(sha)
        for sha in sorted(thumbs):
            if db.execute("SELECT 1 FROM books WHERE thumb_sha256 = ? LIMIT 1", [sha]).fetchone() is None:
                self.library.thumb_path(sha).unlink(missing_ok=True)

    def _record(self, book_id: str, op: str, actor: str, detail: dict | None = None) -> None:
        """Append one catalog-change event (inside the open transaction)."""
        self.catalog.db.execute(
            "INSERT INTO catalog_changes (at, book_id, op, actor, detail) VALUES (?, ?, ?, ?, ?)",
            [now_iso(), book_id, op, actor or "unknown", json.dumps(detail or {}, ensure_ascii=False)],
        )

    def _reindex(self, book_id: str, streams: Mapping | None = None) -> None:
        """Bring the book's search entries in line with its rows (now, or after commit)."""
        search = self.library.search
        if search.in_catalog_transaction:
            search.index_book(self.catalog, book_id, streams)
        else:
            self._pending.index_after[book_id] = streams

    # -- add -----------------------------------------------------------------

    def add(self, new: NewBook, *, actor: str, max_file_bytes: int | None = None,
            in_transaction: Callable[[dict], None] | None = None) -> dict:
        """Store a new book's files, then write its rows and search entries; return its row.

        ``in_transaction`` is called with the new row inside the book's transaction
        (the importer records its verdict there). Raises :class:`StorageFull` for a full
        disk and :class:`RejectedFile` when a file changed while it was copied.
        """
        book_id = new.book_id
        with self.transaction():
            file_rows = self._store_files(new, max_file_bytes)
            cover_sha = self._store_cover(new.parsed, file_rows)
            thumb_sha = self._write_thumbnail(new.thumbnail) if new.thumbnail else None
            book = book_row(new.parsed, book_id, file_rows, cover_sha, thumb_sha)
            chapters, texts = chapter_rows(new.parsed, file_rows)
            if self.catalog.book_exists(book_id):
                raise BookChangeError(f"book {book_id} is already in the catalog")
            self.catalog.insert_book(book, files=file_rows, chapters=chapters, texts=texts,
                                     categories=self._categories_for(new.parsed.subjects))
            self._reindex(book_id, new.streams)
            self._record(book_id, "add", actor, {"title": book["title"], "format": book["format"]})
            if in_transaction is not None:
                in_transaction(book)
        return book

    def _categories_for(self, subjects: list[str]) -> list[str]:
        """The category ids a book with these subjects belongs to."""
        from content.catalog.categories import categories_for

        return categories_for(subjects, self.catalog.categories())

    def _store_files(self, new: NewBook, max_file_bytes: int | None) -> list[dict]:
        """Copy the book's files into the store, each checked against its earlier hash."""
        rows: list[dict] = []
        store = self.library.store
        for position, (pfile, sha) in enumerate(zip(new.parsed.files, new.hashes, strict=True)):
            if not store.has(sha):
                self._pending.stored.add(sha)
            try:
                stored_sha, size = store.put_file(pfile.path, expected_sha256=sha, max_bytes=max_file_bytes)
            except HashMismatch as error:
                raise RejectedFile("the file changed while it was copied (was the USB stick removed?)") from error
            except StoreError as error:
                raise RejectedFile(str(error)) from error
            rows.append(file_row(pfile, position, stored_sha, size))
        return rows

    def _store_cover(self, parsed: ParsedBook, file_rows: list[dict]) -> str | None:
        """Store the book's original cover image (if any) as a ``cover`` file."""
        if not parsed.cover:
            return None
        sha = hashlib.sha256(parsed.cover).hexdigest()
        if not self.library.store.has(sha):
            self._pending.stored.add(sha)
        sha, size = self.library.store.put_bytes(parsed.cover)
        file_rows.append(cover_row(parsed.cover, sha, size))
        return sha

    def _write_thumbnail(self, data: bytes) -> str:
        """Write a thumbnail (derived data, named by its hash); return the hash."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.library.thumb_path(sha)
        if not target.exists():
            part = target.with_suffix(".part")
            part.write_bytes(data)
            os.replace(part, target)
            self._pending.new_thumbs.add(sha)
        return sha

    # -- upsert from the hub ---------------------------------------------------

    def upsert_from_hub(self, entry: Mapping, *, release: int) -> str:
        """Add or update a book from a hub release row; return what happened.

        ``"added"``, ``"updated"``, ``"unchanged"``, or ``"local"`` when a book
        loaded on this box has that id (it is never overwritten). Every file the
        row lists must already be in the store with the listed size (the sync
        client downloads and verifies first); :class:`BookChangeError` otherwise.
        """
        hub = validated_hub_entry(entry)
        book_id = hub["id"]
        with self.transaction():
            existing = self.catalog.get_book(book_id)
            if existing is not None and existing["origin"] == "local":
                return "local"
            self._check_files_present(hub["files"])
            effective = self._with_overrides(book_id, hub)
            if existing is not None and same_book(existing, self.catalog, effective):
                return "unchanged"
            thumb_sha = self._hub_thumbnail(hub)
            row = hub_book_row(effective, release, thumb_sha)
            old_hashes: set[str] = set()
            if existing is not None:
                row["added_at"] = existing["added_at"]
                old_hashes = {f["sha256"] for f in self.catalog.files_of(book_id)}
                if existing.get("thumb_sha256") and existing["thumb_sha256"] != thumb_sha:
                    self._pending.old_thumbs.add(existing["thumb_sha256"])
                self.catalog.delete_book(book_id)
            self.catalog.insert_book(
                row, files=hub["files"], chapters=hub["chapters"],
                texts=[(position, text) for position, text in hub["texts"]],
                categories=effective["categories"],
            )
            self._pending.maybe_unreferenced |= old_hashes - {f["sha256"] for f in hub["files"]}
            self._reindex(book_id)
            outcome = "added" if existing is None else "updated"
            self._record(book_id, "upsert", "hub", {"release": release, "outcome": outcome,
                                                     "title": row["title"]})
        return outcome

    def _check_files_present(self, files: list[dict]) -> None:
        """Refuse a hub row whose files are not all stored, with their listed sizes."""
        store = self.library.store
        for item in files:
            path = store.path_for(item["sha256"])
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise BookChangeError(f"file {item['sha256']} is not in the store") from None
            if size != item["size"]:
                raise BookChangeError(f"file {item['sha256']} is {size} bytes, the hub says {item['size']}")

    def _with_overrides(self, book_id: str, hub: dict) -> dict:
        """The hub's values with the librarian's overrides laid on top."""
        effective = dict(hub)
        overrides = self._overrides(book_id)
        effective.update(overrides.get("fields", {}))
        effective["status"] = overrides.get("status") or "active"
        return effective

    def _hub_thumbnail(self, hub: dict) -> str:
        """A thumbnail from the hub book's cover file, or a placeholder from its title."""
        from content.ingest.thumbnails import make_thumbnail, placeholder_thumbnail

        data = None
        cover = next((f for f in hub["files"] if f["role"] == "cover"), None)
        if cover is not None:
            try:
                data = make_thumbnail(self.library.store.path_for(cover["sha256"]).read_bytes())
            except ContentError as error:
                log.info("cover of hub book %s unusable (%s): placeholder used", hub["id"], error)
        if data is None:
            data = placeholder_thumbnail(hub["title"], hub["id"])
        return self._write_thumbnail(data)

    # -- librarian's changes -----------------------------------------------------

    def set_status(self, book_id: str, status: str, *, actor: str) -> None:
        """Show (``active``), hide (``hidden``: not listed or found, kept) or withdraw a book."""
        if status not in STATUSES:
            raise BookChangeError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        with self.transaction():
            book = self._require(book_id)
            if book["status"] == status:
                return
            self.catalog.db.execute("UPDATE books SET status = ?, updated_at = ? WHERE id = ?",
                                    [status, now_iso(), book_id])
            overrides = self._overrides(book_id)
            overrides["status"] = None if status == "active" else status
            self._save_overrides(book_id, overrides)
            self._reindex(book_id)
            self._record(book_id, "status", actor, {"from": book["status"], "to": status})

    def edit(self, book_id: str, fields: Mapping, *, actor: str) -> dict:
        """Change a book's title, authors, description, language or categories; return the row.

        On a hub book the new values are kept as overrides, so later hub updates
        do not undo them.
        """
        changes = validated_edit(fields, {c["id"] for c in self.catalog.categories()})
        with self.transaction():
            book = self._require(book_id)
            before = {name: book.get(name) for name in changes}
            self._apply_fields(book_id, changes)
            overrides = self._overrides(book_id)
            overrides.setdefault("fields", {}).update(changes)
            self._save_overrides(book_id, overrides)
            self._reindex(book_id)
            self._record(book_id, "edit", actor, {"before": before, "after": changes})
            return self.catalog.get_book(book_id)

    def _apply_fields(self, book_id: str, changes: dict) -> None:
        """Write edited fields into the book's row (and its categories)."""
        db = self.catalog.db
        columns: dict[str, object] = {}
        for name, value in changes.items():
            if name == "categories":
                db.execute("DELETE FROM book_categories WHERE book_id = ?", [book_id])
                db.conn.executemany("INSERT INTO book_categories (book_id, category_id) VALUES (?, ?)",
                                    [(book_id, category) for category in value])
            elif name in BOOK_JSON_FIELDS:
                columns[name] = json.dumps(value, ensure_ascii=False)
            else:
                columns[name] = value
        if "title" in changes:
            columns["sort_title"] = sort_title(changes["title"])
        columns["updated_at"] = now_iso()
        assignments = ", ".join(f'"{name}" = ?' for name in columns)
        db.execute(f"UPDATE books SET {assignments} WHERE id = ?", [*columns.values(), book_id])

    def remove(self, book_id: str, *, actor: str) -> bool:
        """Remove a book: rows and search entries now, files once no other book uses them.

        Returns False when there was no such book. The change stays in
        ``catalog_changes`` as the book's tombstone.
        """
        with self.transaction():
            book = self.catalog.get_book(book_id)
            if book is None:
                return False
            hashes = {f["sha256"] for f in self.catalog.files_of(book_id)}
            self.catalog.delete_book(book_id)
            self.catalog.db.execute("DELETE FROM book_overrides WHERE book_id = ?", [book_id])
            self._reindex(book_id)  # the book is gone: the engine drops it
            self._pending.maybe_unreferenced |= hashes
            if book.get("thumb_sha256"):
                self._pending.old_thumbs.add(book["thumb_sha256"])
            self._record(book_id, "remove", actor, {"title": book["title"], "origin": book["origin"]})
        return True

    # -- reading ---------------------------------------------------------------------

    def history(self, *, book_id: str | None = None, limit: int = 50, before: int | None = None) -> list[dict]:
        """Catalog-change events, newest first (of one book, or all; ``before`` a seq for paging)."""
        where, params = [], []
        if book_id is not None:
            where.append("book_id = ?")
            params.append(book_id)
        if before is not None:
            where.append("seq < ?")
            params.append(before)
        sql = "SELECT * FROM catalog_changes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.catalog.db.execute(sql + " ORDER BY seq DESC LIMIT ?", [*params, limit])
        names = [column[0] for column in rows.description]
        events = [dict(zip(names, row)) for row in rows.fetchall()]
        for event in events:
            event["detail"] = json.loads(event["detail"] or "{}")
        return events

    def overrides(self, book_id: str) -> dict:
        """The librarian's decisions kept for a book: ``{"fields": {...}, "status": ...}``."""
        return self._overrides(book_id)

    def _overrides(self, book_id: str) -> dict:
        """Read the book's overrides row (empty when none)."""
        row = self.catalog.db.execute(
            "SELECT fields, status FROM book_overrides WHERE book_id = ?", [book_id]
        ).fetchone()
        if row is None:
            return {}
        return {"fields": json.loads(row[0] or "{}"), "status": row[1]}

    def _save_overrides(self, book_id: str, overrides: dict) -> None:
        """Write (or, when empty, delete) the book's overrides row."""
        fields = overrides.get("fields") or {}
        status = overrides.get("status")
        if not fields and not status:
            self.catalog.db.execute("DELETE FROM book_overrides WHERE book_id = ?", [book_id])
            return
        self.catalog.db.execute(
            "INSERT INTO book_overrides (book_id, fields, status, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (book_id) DO UPDATE SET fields = excluded.fields, status = excluded.status, "
            "updated_at = excluded.updated_at",
            [book_id, json.dumps(fields, ensure_ascii=False), status, now_iso()],
        )

    def _require(self, book_id: str) -> dict:
        """The book's row, or BookChangeError."""
        book = self.catalog.get_book(book_id)
        if book is None:
            raise BookChangeError(f"no book with id {book_id!r}")
        return book
