"""The catalog: one SQLite file (WAL) holding books, files, chapters, usage and sync state.

Every connection is made by :func:`connect`, which sets WAL, ``synchronous=NORMAL``,
a busy timeout and foreign keys. Writes go through :meth:`Catalog.write`, one
short ``BEGIN IMMEDIATE`` transaction, so a writer never dead-locks upgrading a
read lock and a crash leaves either all of a change or none of it.

Rows here always point at verified files in the content store: the ingest code
stores the file first and writes the row after (DESIGN.md, "Durability").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from content.errors import CatalogError
from content.catalog.migrations import apply_migrations
from content.store import fsync_path

__all__ = [
    "Catalog",
    "connect",
    "book_id_for",
    "now_iso",
    "BOOK_JSON_FIELDS",
]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# Write-ahead log pages between automatic checkpoints: SQLite's default, and the
# allowance during bulk writes (32 MB with 4 KB pages; see Catalog.bulk_writes).
DEFAULT_CHECKPOINT_PAGES = 1000
BULK_CHECKPOINT_PAGES = 8192
# After a checkpoint, a log file grown larger is cut back to this size.
WAL_SIZE_LIMIT_BYTES = 8 * 2**20
BOOK_JSON_FIELDS = ("authors", "subjects", "identifiers")


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds, the catalog's time format."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def book_id_for(sha256s: list[str]) -> str:
    """The stable, global id of a book made of files with these hashes.

    One file: the first 16 hex digits of its sha256, so a copy of the same file
    anywhere gets the same id. Several (an audiobook): the first 16 hex digits of
    the sha256 of their hashes in order.
    """
    if not sha256s:
        raise ValueError("a book needs at least one file")
    if len(sha256s) == 1:
        return sha256s[0][:16]
    joined = "\n".join(sha256s).encode("ascii")
    return hashlib.sha256(joined).hexdigest()[:16]


def connect(path: Path | str) -> Database:
    """Open the catalog file with the house pragmas; the caller owns the connection."""
    try:
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    except sqlite3.DatabaseError as error:
        raise CatalogError(f"cannot open the catalog {path}: {error}") from error
    return Database(conn)


def _decode_book(row: dict) -> dict:
    """Turn a ``books`` row into a dict with its JSON list columns decoded."""
    book = dict(row)
    for name in BOOK_JSON_FIELDS:
        try:
            book[name] = json.loads(book.get(name) or "[]")
        except ValueError:
            book[name] = []
    return book


# The category that also lists books with no category at all, and the test for those books.
OTHER_CATEGORY = "other"
_UNCATEGORISED = "NOT EXISTS (SELECT 1 FROM book_categories bc0 WHERE bc0.book_id = b.id)"


def _listing_filter(category: str | None, language: str | None) -> tuple[str, str, list]:
    """The JOIN, WHERE and parameters selecting active books in a category and/or language."""
    where = ["b.status = 'active'"]
    params: list = []
    join = ""
    if category == OTHER_CATEGORY:  # "other" also holds every book in no category
        where.append(f"({_UNCATEGORISED} OR EXISTS (SELECT 1 FROM book_categories bc "
                     "WHERE bc.book_id = b.id AND bc.category_id = ?))")
        params.append(category)
    elif category:
        join = "JOIN book_categories bc ON bc.book_id = b.id"
        where.append("bc.category_id = ?")
        params.append(category)
    if language:
        where.append("b.language = ?")
        params.append(language)
    return join, " AND ".join(where), params


def _insert_rows(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    """Insert dict rows into ``table`` (a fixed name of ours), one statement per set of columns.

    Plain ``executemany``: sqlite-utils' ``insert`` looks the table up again on every
    call, which costs more than the insert itself when a book has many chapters.
    """
    by_columns: dict[tuple[str, ...], list[tuple]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(tuple(row.values()))
    for columns, values in by_columns.items():
        names = ", ".join(f'"{name}"' for name in columns)
        conn.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", values
        )


class Catalog:
    """The catalog database of one data directory.

    Reading methods return plain dicts; writing methods must be called inside
    :meth:`write`. One ``Catalog`` may be shared by threads: each thread gets
    its own connection.
    """

    def __init__(self, path: Path | str, *, migrate: bool = True):
        """Open (and, unless ``migrate`` is false, create or upgrade) the catalog at ``path``."""
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Database] = []
        if migrate:
            try:
                apply_migrations(self.db)
            except sqlite3.DatabaseError as error:
                raise CatalogError(f"cannot migrate the catalog {self.path}: {error}") from error

    @property
    def db(self) -> Database:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        """Close every connection this catalog opened, in any thread."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction (``BEGIN IMMEDIATE``): commit on success, roll back on error."""
        db = self.db
        if db.conn.in_transaction:
            with db.atomic():
                yield db
            return
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        else:
            db.conn.execute("COMMIT")

    @contextlib.contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Many write transactions in a row from this thread (an import): checkpoint rarely.

        SQLite copies the write-ahead log back into the database every
        1,000 pages by default: every book or two of a long import, rewriting
        the same index pages each time. Here the log may grow to
        :data:`BULK_CHECKPOINT_PAGES` first. At the end a checkpoint copies back
        what no reader still needs, and the log is synced to disk: with
        ``synchronous=NORMAL`` commits are consistent but not yet durable, and
        what the run reported must survive a power cut. Other connections keep
        their own settings.
        """
        conn = self.db.conn
        conn.execute(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_CHECKPOINT_PAGES}")
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                fsync_path(f"{self.path}-wal")  # every commit in the log survives a power cut
            except FileNotFoundError:  # no log: nothing was written since the last full checkpoint
                pass
            except (sqlite3.Error, OSError) as error:  # the next checkpoint will do it
                log.warning("checkpoint after bulk writes failed: %s", error)

    # -- reading -----------------------------------------------------------

    def count_books(self, status: str = "active") -> int:
        """How many books have ``status``."""
        row = self.db.execute("SELECT count(*) FROM books WHERE status = ?", [status]).fetchone()
        return row[0]

    def get_book(self, book_id: str) -> dict | None:
        """One book with decoded lists and its category ids, or None."""
        rows = list(self.db.query("SELECT * FROM books WHERE id = ?", [book_id]))
        if not rows:
            return None
        book = _decode_book(rows[0])
        book["categories"] = [
            row["category_id"]
            for row in self.db.query(
                "SELECT category_id FROM book_categories WHERE book_id = ? ORDER BY category_id",
                [book_id],
            )
        ]
        return book

    def book_exists(self, book_id: str) -> bool:
        """Whether any row (whatever its status) has this id."""
        row = self.db.execute("SELECT 1 FROM books WHERE id = ?", [book_id]).fetchone()
        return row is not None

    def files_of(self, book_id: str) -> list[dict]:
        """The stored files of a book, primary/chapter files first in order."""
        return list(
            self.db.query(
                "SELECT * FROM files WHERE book_id = ? ORDER BY "
                "CASE role WHEN 'primary' THEN 0 WHEN 'chapter' THEN 1 ELSE 2 END, position",
                [book_id],
            )
        )

    def chapters_of(self, book_id: str) -> list[dict]:
        """The chapters of a book in reading order."""
        return list(
            self.db.query(
                "SELECT * FROM chapters WHERE book_id = ? ORDER BY position", [book_id]
            )
        )

    def first_text_chapter(self, book_id: str) -> int:
        """The number (1-based) of a book's first chapter that holds text: 1 when none does.

        An EPUB's first spine item is often a page with only the cover image;
        "Read" starts at the first chapter with words in it.
        """
        row = self.db.execute("SELECT min(position) FROM chapter_texts WHERE book_id = ?", [book_id]).fetchone()
        return row[0] + 1 if row[0] is not None else 1

    def file_row(self, sha256: str) -> dict | None:
        """Any catalog row for the stored file with this hash (size, media type), or None."""
        rows = list(
            self.db.query(
                "SELECT f.* FROM files f JOIN books b ON b.id = f.book_id "
                "WHERE f.sha256 = ? AND b.status != 'withdrawn' LIMIT 1",
                [sha256],
            )
        )
        return rows[0] if rows else None

    def all_file_hashes(self) -> set[str]:
        """Every sha256 the catalog refers to (files of books in any status)."""
        return {row[0] for row in self.db.execute("SELECT DISTINCT sha256 FROM files")}

    def list_books(
        self,
        *,
        category: str | None = None,
        language: str | None = None,
        order: str = "newest",
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict]:
        """Active books, newest first or by title, optionally in one category or language."""
        join, where, params = _listing_filter(category, language)
        order_sql = "b.added_at DESC, b.id" if order == "newest" else "b.sort_title, b.id"
        sql = f"SELECT b.* FROM books b {join} WHERE {where} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        return [_decode_book(row) for row in self.db.query(sql, params + [limit, offset])]

    def count_listed(self, *, category: str | None = None, language: str | None = None) -> int:
        """How many active books :meth:`list_books` would page through."""
        join, where, params = _listing_filter(category, language)
        return self.db.execute(f"SELECT count(*) FROM books b {join} WHERE {where}", params).fetchone()[0]

    def categories(self) -> list[dict]:
        """All categories in display order, each with its count of active books.

        "other" also counts the active books that are in no category, as its
        listing shows them.
        """
        rows = list(
            self.db.query(
                "SELECT c.*, (SELECT count(*) FROM book_categories bc JOIN books b "
                "ON b.id = bc.book_id WHERE bc.category_id = c.id AND b.status = 'active') "
                "AS books FROM categories c ORDER BY c.position, c.id"
            )
        )
        for row in rows:
            if row["id"] == OTHER_CATEGORY:
                row["books"] += self.db.execute(
                    f"SELECT count(*) FROM books b WHERE b.status = 'active' AND {_UNCATEGORISED}"
                ).fetchone()[0]
        return rows

    def languages(self) -> list[dict]:
        """The languages of active books with their counts, most books first."""
        return list(
            self.db.query(
                "SELECT language, count(*) AS books FROM books WHERE status = 'active' "
                "GROUP BY language ORDER BY books DESC, language"
            )
        )

    # -- writing (inside write()) ------------------------------------------

    def insert_book(
        self,
        book: dict,
        *,
        files: list[dict],
        chapters: list[dict],
        texts: list[tuple[int, str]],
        categories: list[str],
    ) -> None:
        """Insert one book with its files, chapters, texts and categories.

        Call inside :meth:`write`; every file must already be in the store.
        """
        row = dict(book)
        for name in BOOK_JSON_FIELDS:
            row[name] = json.dumps(row.get(name) or [], ensure_ascii=False)
        stamp = now_iso()
        row.setdefault("added_at", stamp)
        row.setdefault("updated_at", stamp)
        conn = self.db.conn
        book_id = row["id"]
        _insert_rows(conn, "books", [row])
        _insert_rows(conn, "files", [dict(file_row, book_id=book_id) for file_row in files])
        _insert_rows(conn, "chapters", [dict(chapter, book_id=book_id) for chapter in chapters])
        conn.executemany(
            "INSERT INTO chapter_texts (book_id, position, text) VALUES (?, ?, ?)",
            [(book_id, position, text) for position, text in texts if text],
        )
        known = {category_id for (category_id,) in conn.execute("SELECT id FROM categories")}
        conn.executemany(
            "INSERT INTO book_categories (book_id, category_id) VALUES (?, ?)",
            [(book_id, category) for category in sorted(set(categories) & known)],
        )

    def delete_book(self, book_id: str) -> None:
        """Remove a book's rows (files, chapters and texts cascade). Call inside :meth:`write`."""
        self.db.execute("DELETE FROM books WHERE id = ?", [book_id])
