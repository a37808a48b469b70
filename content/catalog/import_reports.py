"""Reading the import history (``imports`` and ``import_files``) for the librarian's desk.

Read-only: the importer (:mod:`content.ingest.run`) writes these tables.
"""

from __future__ import annotations

from content.catalog import Catalog

__all__ = ["latest_import_id", "import_runs", "import_run", "import_files", "VERDICTS"]

VERDICTS = ("rejected", "skipped", "duplicate", "imported")


def latest_import_id(catalog: Catalog) -> int:
    """The id of the newest import run (0 if there was none)."""
    return catalog.db.execute("SELECT coalesce(max(id), 0) FROM imports").fetchone()[0]


def import_runs(catalog: Catalog, *, limit: int = 20, after_id: int = 0) -> list[dict]:
    """Import runs newer than ``after_id``, newest first."""
    return list(catalog.db.query(
        "SELECT * FROM imports WHERE id > ? ORDER BY id DESC LIMIT ?", [after_id, limit]))


def import_run(catalog: Catalog, import_id: int) -> dict | None:
    """One import run, with its counts of committed verdicts per kind (also while it runs)."""
    rows = list(catalog.db.query("SELECT * FROM imports WHERE id = ?", [import_id]))
    if not rows:
        return None
    run = rows[0]
    run["verdicts"] = dict.fromkeys(VERDICTS, 0)
    for verdict, count in catalog.db.execute(
        "SELECT verdict, count(*) FROM import_files WHERE import_id = ? GROUP BY verdict", [import_id]
    ):
        run["verdicts"][verdict] = count
    return run


def import_files(catalog: Catalog, import_id: int, verdicts: tuple[str, ...], *, limit: int = 1000) -> list[dict]:
    """The files of one run with one of ``verdicts``, in the order they got them."""
    marks = ", ".join("?" for _ in verdicts)
    return list(catalog.db.query(
        f"SELECT f.path, f.verdict, f.reason, f.book_id, b.title FROM import_files f "
        f"LEFT JOIN books b ON b.id = f.book_id WHERE f.import_id = ? AND f.verdict IN ({marks}) "
        f"ORDER BY f.rowid LIMIT ?",
        [import_id, *verdicts, limit],
    ))
