"""The verdicts of one import run: the report the CLI prints, and the history rows it writes.

Every input file gets exactly one verdict: imported, duplicate, rejected (with a
reason a librarian understands) or skipped. :class:`VerdictLog` keeps them in
the :class:`ImportReport` and buffers their ``import_files`` rows, written by
:mod:`content.catalog.imports` (a book's verdict in the book's own transaction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from content.catalog import imports
from content.catalog.rows import display_text

__all__ = ["ImportReport", "VerdictLog"]

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """The verdicts of one import run, in the CLI's ``--json`` shape."""

    imported: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    import_id: int | None = None
    interrupted: bool = False
    stopped_because: str = ""

    def as_json(self) -> dict:
        """The four verdict lists, as ``readpoint import --json`` prints them."""
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped": self.skipped,
        }

    def counts(self) -> dict[str, int]:
        """How many files got each verdict, by the history's column names."""
        return {"imported": len(self.imported), "duplicates": len(self.duplicates),
                "rejected": len(self.rejected), "skipped": len(self.skipped)}


class VerdictLog:
    """The report of a run and its ``import_files`` rows not yet written."""

    def __init__(self, catalog):
        """Start an empty report for a run over ``catalog``."""
        self.catalog = catalog
        self.report = ImportReport()
        self.pending: list[dict] = []

    def give(self, kind: str, path: Path, *, reason: str = "", book: dict | None = None) -> None:
        """Record one file's verdict in the report and (buffered) for ``import_files``."""
        entry = {"path": display_text(path)}
        if kind == "imported":
            entry.update(id=book["id"], title=book["title"], format=book["format"])
            self.report.imported.append(entry)
        elif kind == "duplicate":
            entry["id"] = book["id"]
            self.report.duplicates.append(entry)
        else:
            entry["reason"] = reason
            (self.report.rejected if kind == "rejected" else self.report.skipped).append(entry)
            log.info("%s %s: %s", kind, path, reason)
        self.pending.append({"import_id": self.report.import_id, "path": entry["path"], "verdict": kind,
                             "reason": reason, "book_id": book["id"] if book else None})

    def flush(self) -> None:
        """Write buffered verdicts (inside the caller's transaction, or in one of their own)."""
        if self.pending:
            imports.record_verdicts(self.catalog, self.pending)
            self.pending = []

    def forget_imported(self, book_id: str) -> None:
        """Take back the "imported" verdicts of a book whose transaction failed."""
        self.pending = [v for v in self.pending if v["verdict"] != "imported"]
        self.report.imported = [e for e in self.report.imported if e.get("id") != book_id]
