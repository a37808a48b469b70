"""One data directory as a whole: its catalog, content store, search index and checks.

The web app, the CLI and the sync client all open a :class:`Library`; nothing
else needs to know the layout of the data directory (DESIGN.md).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from content.catalog import Catalog
from content.catalog.books import Books
from content.errors import CatalogError
from content.search import open_search_index
from content.store import ContentStore, remove_orphans

__all__ = ["Library", "StartupReport"]

log = logging.getLogger(__name__)

_BOOK_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])")


@dataclass
class StartupReport:
    """What the start-up check found and fixed."""

    stale_parts_removed: int = 0
    orphans_removed: list[str] = field(default_factory=list)
    index_refresh: threading.Thread | None = None


def _refuse_emptied_catalog(path: Path, store: ContentStore) -> None:
    """Raise CatalogError if the catalog file is missing or empty while the store holds books.

    A catalog cut to 0 bytes (an SD card after a power cut) or deleted would
    otherwise be opened as a new, empty one, and the start-up check would then
    remove every stored book as an orphan.
    """
    if path.is_file() and path.stat().st_size > 0:
        return
    if next(store.hashes(), None) is not None:
        state = "empty (0 bytes)" if path.is_file() else "missing"
        raise CatalogError(
            f"the catalog {path} is {state} but the store holds books: restore catalog.sqlite3 "
            "from a backup, or move store/ away to start an empty library (nothing was changed)"
        )


class Library:
    """The catalog, store and search index of one data directory."""

    def __init__(self, data_dir: Path | str, *, search_engine: str = "fts5"):
        """Open (creating if needed) the data directory's parts."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = ContentStore(self.data_dir)
        self.thumbs_dir = self.data_dir / "thumbs"
        self.thumbs_dir.mkdir(exist_ok=True)
        catalog_path = self.data_dir / "catalog.sqlite3"
        _refuse_emptied_catalog(catalog_path, self.store)
        self.catalog = Catalog(catalog_path)
        self.search = open_search_index(search_engine, self.data_dir)
        self.books = Books(self)

    @staticmethod
    def refuse_lost_catalog(data_dir: Path | str) -> None:
        """Raise CatalogError if ``data_dir``'s catalog is missing or empty while its store holds books."""
        data_dir = Path(data_dir)
        _refuse_emptied_catalog(data_dir / "catalog.sqlite3", ContentStore(data_dir))

    def close(self) -> None:
        """Close the catalog's connections and the search index."""
        close = getattr(self.search, "close", None)
        if close is not None:
            close()
        self.catalog.close()

    def startup(self, *, background: bool = True) -> StartupReport:
        """The cheap part of the check, run when the server starts.

        Removes abandoned ``.part`` files and orphan store files (a crash
        between file and row). A stale or missing search index is brought up to
        date by ``refresh`` (only what is missing or changed), in a background
        thread unless ``background`` is false, so the box serves at once: at
        50,000 books a full FTS5 rebuild takes about a minute. Never refuses to
        serve: problems it cannot fix are logged.
        """
        report = StartupReport()
        report.stale_parts_removed = self.store.remove_stale_parts()
        report.orphans_removed = remove_orphans(self.store, self.referenced_hashes)
        if self.search.is_stale(self.catalog):
            log.warning("search index is stale or missing: bringing it up to date")
            if background:
                report.index_refresh = threading.Thread(
                    target=self._refresh_index, name="index-refresh", daemon=True
                )
                report.index_refresh.start()
            else:
                self._refresh_index()
        return report

    def _refresh_index(self) -> None:
        """Bring the search index up to date with the catalog (the start-up thread's work)."""
        try:
            count = self.search.refresh(self.catalog)
            log.info("search index up to date (%d books indexed)", count)
        except Exception:  # noqa: BLE001 - boundary: a failed refresh must not stop serving
            log.exception("search index refresh failed; run `readpoint reindex`")

    def referenced_hashes(self) -> set[str]:
        """Every sha256 the catalog refers to."""
        return self.catalog.all_file_hashes()

    def thumb_path(self, sha256: str) -> Path:
        """Where the thumbnail with this hash lives (derived data)."""
        return self.thumbs_dir / f"{sha256}.jpg"

    def check(self) -> list[str]:
        """Verify everything (DESIGN.md rule 3); return a list of problems, empty when clean.

        What a crash legitimately leaves (abandoned ``.part`` files, a stored file
        whose row was never committed) is cleaned first, as at start-up: that is
        the documented recovery, not a problem.
        """
        problems: list[str] = []
        try:
            result = self.catalog.db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as error:
            return [f"catalog: cannot run integrity_check: {error}"]
        if [row[0] for row in result] != ["ok"]:
            # A damaged catalog may have lost rows: its "orphans" are books. Touch nothing.
            return [f"catalog integrity: {row[0]}" for row in result]
        self.store.remove_stale_parts()
        remove_orphans(self.store, self.referenced_hashes)
        fk = self.catalog.db.execute("PRAGMA foreign_key_check").fetchall()
        problems.extend(f"catalog: broken reference in {row[0]} rowid {row[1]}" for row in fk)
        referenced = self.referenced_hashes()
        stored = set(self.store.hashes())
        for sha in sorted(referenced - stored):
            problems.append(f"missing file: {sha} {self._owners(sha)} is in the catalog but not in the store")
        for sha in sorted(stored - referenced):
            problems.append(f"orphan file: {sha} is in the store but no book refers to it")
        for sha in sorted(stored):
            if not self.store.verify(sha):
                problems.append(f"corrupt file: {sha} {self._owners(sha)} does not match its hash")
        for path in self.store.strays():
            problems.append(f"stray file in the store: {path.relative_to(self.data_dir)}")
        problems.extend(self._name_books(f"search index: {p}") for p in self.search.problems(self.catalog))
        return problems

    def _owners(self, sha256: str) -> str:
        """Which books a stored file belongs to, by id and title ("of book 0123… «Title»")."""
        rows = self.catalog.db.execute(
            "SELECT DISTINCT b.id, b.title FROM files f JOIN books b ON b.id = f.book_id WHERE f.sha256 = ? "
            "ORDER BY b.id", [sha256]
        ).fetchall()
        return "of " + ", ".join(f"book {book_id} «{title}»" for book_id, title in rows) if rows else ""

    def _name_books(self, problem: str) -> str:
        """A problem with each book id in it followed by the book's title."""
        def titled(match: re.Match) -> str:
            row = self.catalog.db.execute("SELECT title FROM books WHERE id = ?", [match.group(0)]).fetchone()
            return f"{match.group(0)} «{row[0]}»" if row else match.group(0)

        return _BOOK_ID.sub(titled, problem)
