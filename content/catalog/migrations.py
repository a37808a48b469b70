"""The catalog's schema, as named migrations applied in order and recorded.

Each migration is one function and one change; a migration, once it has
landed, is never edited: a new change is a new function at the end. The
record lives in ``_sqlite_migrations`` (sqlite-utils' migrations table), so
re-running :func:`apply_migrations` on an up-to-date catalog does nothing.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

__all__ = ["MIGRATIONS", "apply_migrations", "pending_migrations"]

MIGRATIONS = Migrations("readpoint.catalog")

# The categories a new catalog starts with (id, position, icon, vi, th, en).
# Kept inline: a landed migration must not change when this list would.
STARTER_CATEGORIES = [
    ("farming", 1, "farming", "Nông nghiệp", "เกษตรกรรม", "Farming"),
    ("health", 2, "health", "Sức khỏe", "สุขภาพ", "Health"),
    ("law", 3, "law", "Pháp luật", "กฎหมาย", "Law"),
    ("children", 4, "children", "Thiếu nhi", "เด็ก", "Children"),
    ("culture", 5, "culture", "Văn hóa", "วัฒนธรรม", "Culture"),
    ("language", 6, "language", "Ngôn ngữ", "ภาษา", "Language"),
    ("other", 99, "other", "Khác", "อื่น ๆ", "Other"),
]


@MIGRATIONS(name="0001_books_files_chapters")
def books_files_chapters(db: Database) -> None:
    """Books, their stored files and chapters, and the full text per chapter."""
    db.executescript(
        """
        CREATE TABLE books (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            sort_title TEXT NOT NULL,
            authors TEXT NOT NULL DEFAULT '[]',
            language TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            publisher TEXT NOT NULL DEFAULT '',
            date TEXT NOT NULL DEFAULT '',
            subjects TEXT NOT NULL DEFAULT '[]',
            identifiers TEXT NOT NULL DEFAULT '[]',
            format TEXT NOT NULL CHECK (format IN ('epub', 'pdf', 'audio')),
            origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'hub')),
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'hidden', 'withdrawn')),
            rev INTEGER,
            cover_sha256 TEXT,
            thumb_sha256 TEXT,
            size INTEGER NOT NULL DEFAULT 0,
            duration REAL,
            added_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX books_added ON books (status, added_at DESC);
        CREATE INDEX books_language ON books (status, language, sort_title);
        CREATE INDEX books_sort_title ON books (status, sort_title);

        CREATE TABLE files (
            book_id TEXT NOT NULL REFERENCES books (id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('primary', 'chapter', 'cover', 'thumb')),
            position INTEGER NOT NULL DEFAULT 0,
            size INTEGER NOT NULL,
            media_type TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            duration REAL,
            PRIMARY KEY (book_id, role, position)
        );
        CREATE INDEX files_sha256 ON files (sha256);

        CREATE TABLE chapters (
            book_id TEXT NOT NULL REFERENCES books (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            href TEXT,
            file_sha256 TEXT,
            start REAL,
            duration REAL,
            PRIMARY KEY (book_id, position)
        );

        CREATE TABLE chapter_texts (
            book_id TEXT NOT NULL REFERENCES books (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (book_id, position)
        );
        """
    )


@MIGRATIONS(name="0002_categories")
def categories(db: Database) -> None:
    """Categories with a name per UI language, and the books in each."""
    db.executescript(
        """
        CREATE TABLE categories (
            id TEXT PRIMARY KEY,
            position INTEGER NOT NULL DEFAULT 0,
            icon TEXT NOT NULL DEFAULT '',
            name_vi TEXT NOT NULL,
            name_th TEXT NOT NULL,
            name_en TEXT NOT NULL
        );
        CREATE TABLE book_categories (
            book_id TEXT NOT NULL REFERENCES books (id) ON DELETE CASCADE,
            category_id TEXT NOT NULL REFERENCES categories (id),
            PRIMARY KEY (book_id, category_id)
        );
        CREATE INDEX book_categories_category ON book_categories (category_id, book_id);
        """
    )
    db["categories"].insert_all(
        [
            dict(zip(("id", "position", "icon", "name_vi", "name_th", "name_en"), row))
            for row in STARTER_CATEGORIES
        ]
    )


@MIGRATIONS(name="0003_events_imports")
def events_imports(db: Database) -> None:
    """The append-only usage log and the librarian's import history."""
    db.executescript(
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            book_id TEXT,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX events_kind ON events (kind, at);

        CREATE TABLE imports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            source TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running',
            imported INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE import_files (
            import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            verdict TEXT NOT NULL
                CHECK (verdict IN ('imported', 'duplicate', 'rejected', 'skipped')),
            reason TEXT NOT NULL DEFAULT '',
            book_id TEXT
        );
        CREATE INDEX import_files_import ON import_files (import_id, verdict);
        """
    )


@MIGRATIONS(name="0004_sync_tables")
def sync_tables(db: Database) -> None:
    """Device identity, pinned trust, applied release and resumable downloads."""
    db.executescript(
        """
        CREATE TABLE device (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            device_id TEXT NOT NULL,
            public_key TEXT NOT NULL,
            enrolled_at TEXT
        );
        CREATE TABLE trust (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'root',
            pinned_at TEXT NOT NULL
        );
        CREATE TABLE sync_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            applied_release INTEGER NOT NULL DEFAULT 0,
            manifest_sha256 TEXT,
            stage TEXT NOT NULL DEFAULT 'idle',
            usage_acked_through INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT
        );
        CREATE TABLE downloads (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            offset INTEGER NOT NULL DEFAULT 0,
            etag TEXT,
            release INTEGER,
            updated_at TEXT
        );
        """
    )


@MIGRATIONS(name="0005_search_fts5")
def search_fts5(db: Database) -> None:
    """The FTS5 search index (``content.search.fts5``): analysed token streams per book and chapter.

    Python analyses the text (``content.search.analysis``); the ``ascii`` tokenizer
    only splits the stored streams on spaces. ``search_docs`` gives each indexed
    book a stable integer id: its metadata row in ``search_meta`` has that rowid,
    its chapters in ``search_body`` have ``docid << 20 | position``. ``facets``
    holds filter tokens (language, format, categories). ``search_words`` lists the
    folded metadata words ever indexed, for "did you mean" (pruned by a rebuild). Deleting a book, or making
    it anything but active, removes its ``search_docs`` row, whose trigger removes
    its index rows.
    """
    db.executescript(
        """
        CREATE TABLE search_docs (
            docid INTEGER PRIMARY KEY,
            book_id TEXT NOT NULL UNIQUE REFERENCES books (id) ON DELETE CASCADE,
            stamp TEXT NOT NULL
        );
        CREATE TABLE search_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            analysis_version INTEGER NOT NULL,
            built_at TEXT
        );
        CREATE VIRTUAL TABLE search_meta USING fts5(
            title, authors, subjects, other, title_x, authors_x, subjects_x, other_x, facets,
            tokenize = 'ascii'
        );
        CREATE VIRTUAL TABLE search_body USING fts5(body, body_x, facets, tokenize = 'ascii');
        CREATE VIRTUAL TABLE search_meta_vocab USING fts5vocab(search_meta, 'row');
        CREATE VIRTUAL TABLE search_body_vocab USING fts5vocab(search_body, 'row');
        CREATE TABLE search_words (word TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs BEGIN
            DELETE FROM search_meta WHERE rowid = old.docid;
            DELETE FROM search_body
                WHERE rowid BETWEEN old.docid * 1048576 AND old.docid * 1048576 + 1048575;
        END;
        CREATE TRIGGER search_books_inactive AFTER UPDATE OF status ON books
        WHEN new.status != 'active' BEGIN
            DELETE FROM search_docs WHERE book_id = new.id;
        END;
        """
    )


@MIGRATIONS(name="0006_catalog_changes_overrides")
def catalog_changes_overrides(db: Database) -> None:
    """The history of book changes, and the librarian's decisions kept apart from the hub's rows."""
    db.executescript(
        """
        CREATE TABLE catalog_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            book_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('add', 'upsert', 'remove', 'status', 'edit')),
            actor TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX catalog_changes_book ON catalog_changes (book_id, seq);

        CREATE TABLE book_overrides (
            book_id TEXT PRIMARY KEY,
            fields TEXT NOT NULL DEFAULT '{}',
            status TEXT CHECK (status IN ('active', 'hidden', 'withdrawn')),
            updated_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS(name="0010_sync_client")
def sync_client(db: Database) -> None:
    """What the sync client keeps between runs (``sync.client.state``).

    ``sync_entries`` holds catalog lines of a release that are not applied yet:
    ``incoming`` (fetched and verified, applied together with the release number)
    or ``waiting`` (a book whose files are still downloading; applied when they
    are in). ``sync_state`` gains the incoming release, the month's byte count
    (by the hub's clock) and what the last run saw of the clocks.
    """
    db.executescript(
        """
        CREATE TABLE sync_entries (
            book_id TEXT PRIMARY KEY,
            release INTEGER NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('upsert', 'remove')),
            entry TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('incoming', 'waiting'))
        );
        ALTER TABLE sync_state ADD COLUMN incoming_release INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sync_state ADD COLUMN incoming_manifest_sha256 TEXT;
        ALTER TABLE sync_state ADD COLUMN month TEXT NOT NULL DEFAULT '';
        ALTER TABLE sync_state ADD COLUMN month_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sync_state ADD COLUMN clock_offset INTEGER;
        ALTER TABLE sync_state ADD COLUMN last_sync_at INTEGER;
        INSERT OR IGNORE INTO sync_state (id) VALUES (1);
        """
    )


@MIGRATIONS(name="0020_librarians")
def librarians(db: Database) -> None:
    """Librarian accounts (``content.catalog.librarians``): name, scrypt hash, session epoch."""
    db.executescript(
        """
        CREATE TABLE librarians (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            session_epoch INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS(name="0021_featured")
def featured(db: Database) -> None:
    """The featured shelf of the home page, in the librarian's order (``content.catalog.collection``)."""
    db.executescript(
        """
        CREATE TABLE featured (
            book_id TEXT PRIMARY KEY REFERENCES books (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            added_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS(name="0022_usage_rollup")
def usage_rollup(db: Database) -> None:
    """Daily usage counts for the librarian's statistics (``content.catalog.usage_stats``).

    Events are added up here (through ``usage_rollup_state.through_seq``) before
    sync may prune them, so the statistics keep a year of history at a small,
    bounded size. ``usage_hours`` holds how many phones were active in each hour:
    a count only, never who.
    """
    db.executescript(
        """
        CREATE TABLE usage_days (
            day TEXT NOT NULL,
            kind TEXT NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY (day, kind)
        ) WITHOUT ROWID;
        CREATE TABLE usage_book_days (
            day TEXT NOT NULL,
            book_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY (day, book_id, kind)
        ) WITHOUT ROWID;
        CREATE TABLE usage_missed (
            day TEXT NOT NULL,
            term TEXT NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY (day, term)
        ) WITHOUT ROWID;
        CREATE TABLE usage_hours (
            hour TEXT PRIMARY KEY,
            phones INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE usage_rollup_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            through_seq INTEGER NOT NULL
        );
        INSERT INTO usage_rollup_state (id, through_seq) VALUES (1, 0);
        """
    )


@MIGRATIONS(name="0019_sync_last_result")
def sync_last_result(db: Database) -> None:
    """What the last sync run ended with (its JSON report), for the librarian's desk."""
    db.execute("ALTER TABLE sync_state ADD COLUMN last_result TEXT")


@MIGRATIONS(name="0011_sync_outbox")
def sync_outbox(db: Database) -> None:
    """Usage ranges a box has left on USB sticks and the hub has not acknowledged (``sync.client.bundle``).

    A later stick carries the very same batches again, so the hub's watermark
    takes each exactly once, whichever stick comes back first.
    """
    db.executescript(
        """
        CREATE TABLE sync_outbox (
            first INTEGER PRIMARY KEY,
            last INTEGER NOT NULL CHECK (last >= first)
        );
        """
    )


def apply_migrations(db: Database) -> list[str]:
    """Apply every pending migration; return the names that were applied now."""
    names = [migration.name for migration in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db)
    return names


def pending_migrations(db: Database) -> list[str]:
    """Names of the migrations not yet applied to ``db`` (read-only)."""
    return [migration.name for migration in MIGRATIONS.pending(db)]
