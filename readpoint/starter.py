"""Loading the starter collection into a new data directory, through the ordinary importer."""

from __future__ import annotations

import logging
from pathlib import Path

import content
from content.catalog import imports
from content.ingest.run import ImportReport, import_paths
from content.library import Library

__all__ = ["STARTER_DIR", "load_starter_if_empty"]

log = logging.getLogger(__name__)

STARTER_DIR = Path(content.__file__).resolve().parent / "starter"
STARTER_SOURCE = "starter"


def load_starter_if_empty(data_dir: Path, settings: dict) -> ImportReport | None:
    """Import the starter collection if this library has never had it and has no books.

    Returns the report, or None when nothing was done (a librarian who removed
    the starter books does not get them back on the next start).
    """
    library = Library(data_dir, search_engine=settings["search_engine"])
    try:
        if imports.has_finished_run(library.catalog, STARTER_SOURCE) or library.catalog.count_books() > 0:
            return None
        report = import_paths(library, [STARTER_DIR], source=STARTER_SOURCE, actor="starter")
        if report.rejected:
            log.error("starter collection: %d files rejected: %s", len(report.rejected), report.rejected)
        return report
    finally:
        library.close()
