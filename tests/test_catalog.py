"""The catalog: migrations, pragmas, stable ids, the append-only event sequence."""

from __future__ import annotations

import sqlite3

from content.catalog import Catalog, book_id_for, connect
from content.catalog.migrations import MIGRATIONS, pending_migrations


def test_migrations_on_fresh_database_and_rerun(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    catalog = Catalog(path)
    tables = set(catalog.db.table_names())
    assert {"books", "files", "chapters", "chapter_texts", "categories", "book_categories",
            "events", "imports", "import_files", "device", "trust", "sync_state",
            "downloads"} <= tables
    applied = [m.name for m in MIGRATIONS.applied(catalog.db)]
    assert applied == [m.name for m in MIGRATIONS._migrations]
    catalog.close()
    again = Catalog(path)  # re-running applies nothing and keeps the data
    assert pending_migrations(again.db) == []
    assert [m.name for m in MIGRATIONS.applied(again.db)] == applied
    assert again.db["categories"].count >= 6
    again.close()


def test_connection_pragmas(tmp_path):
    db = connect(tmp_path / "c.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    db.close()


def test_book_ids_are_stable_and_derived_from_content():
    a, b = "a" * 64, "b" * 64
    assert book_id_for([a]) == "a" * 16
    assert book_id_for([a, b]) == book_id_for([a, b])
    assert book_id_for([a, b]) != book_id_for([b, a])
    assert len(book_id_for([a, b])) == 16


def test_write_rolls_back_everything_on_error(tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        with catalog.write() as db:
            db["events"].insert({"at": "2026-01-01T00:00:00", "kind": "view"})
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert catalog.db["events"].count == 0
    catalog.close()


def test_event_sequence_is_never_reused(tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite3")
    with catalog.write() as db:
        db["events"].insert_all([{"at": "t", "kind": "view"} for _ in range(3)])
        db.execute("DELETE FROM events WHERE seq = 3")
        db["events"].insert({"at": "t", "kind": "view"})
    seqs = [row[0] for row in catalog.db.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == [1, 2, 4]
    catalog.close()


def test_status_and_origin_are_constrained(tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite3")
    row = {"id": "x", "title": "t", "sort_title": "t", "format": "epub", "status": "lost"}
    try:
        with catalog.write():
            catalog.insert_book(row, files=[], chapters=[], texts=[], categories=[])
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("an unknown status was accepted")
    assert catalog.count_books() == 0
    catalog.close()


def test_bulk_writes_let_the_log_grow_then_checkpoint_and_restore(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    wal = tmp_path / "catalog.sqlite3-wal"
    conn = catalog.db.conn
    with catalog.write() as db:
        db.execute("CREATE TABLE bulk (data BLOB)")
    with catalog.bulk_writes():
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 8192
        for _ in range(24):  # 24 transactions of 256 KB: 6 MB, more than the default 1,000 pages
            with catalog.write() as db:
                db.execute("INSERT INTO bulk VALUES (randomblob(262144))")
        assert wal.stat().st_size > 1000 * 4096  # no automatic checkpoint cut it short
    # the checkpoint at the end copied the data into the database file itself
    assert (tmp_path / "catalog.sqlite3").stat().st_size > 24 * 262144
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    other = Catalog(tmp_path / "catalog.sqlite3")
    assert other.db.execute("SELECT count(*) FROM bulk").fetchone()[0] == 24
    other.close()
    catalog.close()
