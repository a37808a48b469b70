"""The import history: one ``imports`` row per run, one ``import_files`` row per file verdict.

The only module that reads or writes those two tables. The librarian's report
(what was imported, and every rejected file with its reason) and the importer's
bookkeeping both go through here.
"""

from __future__ import annotations

from collections.abc import Iterable

from content.catalog.database import Catalog, now_iso

__all__ = [
    "VERDICTS",
    "start_run",
    "record_verdicts",
    "finish_run",
    "close_killed_runs",
    "has_finished_run",
    "recent_runs",
    "get_run",
    "verdicts_of",
    "verdict_counts",
]

# import_files verdict → imports count column
VERDICTS = {"imported": "imported", "duplicate": "duplicates", "rejected": "rejected", "skipped": "skipped"}


def start_run(catalog: Catalog, source: str) -> int:
    """Open a ``running`` history row for an import from ``source``; return its id."""
    with catalog.write() as db:
        cursor = db.execute("INSERT INTO imports (started_at, source) VALUES (?, ?)", [now_iso(), source])
        return cursor.lastrowid


def record_verdicts(catalog: Catalog, rows: Iterable[dict]) -> None:
    """Append file verdicts (``import_id``, ``path``, ``verdict``, ``reason``, ``book_id``).

    Joins the caller's transaction when there is one (a book's verdict is
    committed with its rows), else writes in one of its own.
    """
    rows = [
        (row["import_id"], row["path"], row["verdict"], row.get("reason", ""), row.get("book_id"))
        for row in rows
    ]
    if not rows:
        return
    with catalog.write() as db:
        db.conn.executemany(
            "INSERT INTO import_files (import_id, path, verdict, reason, book_id) VALUES (?, ?, ?, ?, ?)", rows
        )


def finish_run(catalog: Catalog, import_id: int, status: str, counts: dict[str, int]) -> None:
    """Close a run's row with its final status (``done``/``interrupted``) and its counts by column."""
    with catalog.write() as db:
        db.execute(
            "UPDATE imports SET finished_at = ?, status = ?, imported = ?, duplicates = ?, rejected = ?, "
            "skipped = ? WHERE id = ?",
            [now_iso(), status, *(counts.get(column, 0) for column in VERDICTS.values()), import_id],
        )


def close_killed_runs(catalog: Catalog) -> int:
    """Mark runs left ``running`` by a killed importer as interrupted, with their counts; return how many.

    Call only under the writer lock, so no such run is alive. Their committed
    verdicts are in ``import_files`` (each book's with its rows).
    """
    counts = ", ".join(
        f"{column} = (SELECT count(*) FROM import_files f "
        f"WHERE f.import_id = imports.id AND f.verdict = '{verdict}')"
        for verdict, column in VERDICTS.items()
    )
    with catalog.write() as db:
        cursor = db.execute(f"UPDATE imports SET status = 'interrupted', {counts} WHERE status = 'running'")
        return cursor.rowcount


def has_finished_run(catalog: Catalog, source: str) -> bool:
    """Whether an import from exactly ``source`` ran to its end."""
    row = catalog.db.execute(
        "SELECT 1 FROM imports WHERE source = ? AND status = 'done' LIMIT 1", [source]
    ).fetchone()
    return row is not None


def _dicts(cursor) -> list[dict]:
    """Rows of a cursor as dicts."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def recent_runs(catalog: Catalog, *, limit: int = 20, before: int | None = None) -> list[dict]:
    """Import runs, newest first (``before``: an id, for paging)."""
    if before is None:
        return _dicts(catalog.db.execute("SELECT * FROM imports ORDER BY id DESC LIMIT ?", [limit]))
    return _dicts(catalog.db.execute("SELECT * FROM imports WHERE id < ? ORDER BY id DESC LIMIT ?",
                                     [before, limit]))


def get_run(catalog: Catalog, import_id: int) -> dict | None:
    """One import run's row, or None."""
    rows = _dicts(catalog.db.execute("SELECT * FROM imports WHERE id = ?", [import_id]))
    return rows[0] if rows else None


def verdicts_of(catalog: Catalog, import_id: int, *, verdict: str | None = None, limit: int = 1000) -> list[dict]:
    """The file verdicts of one run, in the order they were given (optionally of one kind)."""
    sql = "SELECT path, verdict, reason, book_id FROM import_files WHERE import_id = ?"
    params: list = [import_id]
    if verdict is not None:
        sql += " AND verdict = ?"
        params.append(verdict)
    return _dicts(catalog.db.execute(sql + " ORDER BY rowid LIMIT ?", [*params, limit]))


def verdict_counts(catalog: Catalog, import_id: int) -> dict[str, int]:
    """How many files of one run got each verdict so far (also while the run is going on)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for verdict, count in catalog.db.execute(
        "SELECT verdict, count(*) FROM import_files WHERE import_id = ? GROUP BY verdict", [import_id]
    ):
        counts[verdict] = count
    return counts
