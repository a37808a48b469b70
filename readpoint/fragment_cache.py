"""Rendered pages and fragments, reused until the catalog changes: shelves, chapter pages.

The home page's categories, newest, most read and languages are the same for
every phone speaking one UI language, and a chapter page is the same for every
phone with the same URL, language, font size and theme; both change only
when the catalog does. Rendering costs more than the rest of the request, so
the HTML is kept and rendered again only when :func:`catalog_marker` moves.

The marker is exact and costs one pragma: SQLite's ``data_version`` changes
when any *other* connection (another thread, the importer, the sync client)
commits, and the connection's own ``total_changes`` counts its own writes.
Connections are per thread, so the marker names the connection too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, request

from content.catalog import Catalog
from readpoint.i18n import current_locale
from readpoint.positions import night_mode

__all__ = ["FragmentCache", "catalog_marker", "page_key"]


def catalog_marker(catalog: Catalog) -> tuple[int, int, int]:
    """A value that differs whenever the catalog may have changed since it was last taken."""
    db = catalog.db
    data_version = db.execute("PRAGMA data_version").fetchone()[0]
    return id(db.conn), data_version, db.conn.total_changes


def page_key(*extra: Hashable) -> tuple:
    """The cache key of this request's page: catalog marker, URL, UI language, theme, and ``extra``."""
    catalog = current_app.extensions["library"].catalog
    return (catalog_marker(catalog), request.script_root, request.full_path, current_locale(), night_mode(),
            *extra)


class FragmentCache:
    """Rendered HTML (or anything) by key, at most ``max_entries`` (oldest dropped first); thread-safe."""

    def __init__(self, max_entries: int = 64):
        """An empty cache."""
        self.max_entries = max_entries
        self._values: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, render: Callable[[], Any]) -> Any:
        """The fragment for ``key``, rendering it (outside the lock) on a miss."""
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self.hits += 1
                return found
            self.misses += 1
        value = render()
        with self._lock:
            while len(self._values) >= self.max_entries:
                self._values.pop(next(iter(self._values)))
            self._values[key] = value
        return value
