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

A page is keyed by what changes it, never by the raw request text: its route
and route arguments and the few query arguments pages read (:func:`here_url`,
which pages also use to link back to themselves), so junk query strings all
share one entry. Every cache is bounded in bytes (keys included), least
recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, request, url_for
from werkzeug.routing import BuildError

from content.catalog import Catalog
from readpoint.i18n import current_locale
from readpoint.positions import night_mode

__all__ = ["FragmentCache", "catalog_marker", "page_key", "here_url", "size_of", "PAGE_ARGS"]

# The query arguments any page reads; everything else in a query string changes nothing.
PAGE_ARGS = ("q", "lang", "format", "category", "page", "per_page", "part", "to")
MAX_ARG_CHARS = 200
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
_OVERHEAD = 64  # bytes of bookkeeping per entry, roughly


def catalog_marker(catalog: Catalog) -> tuple[int, int, int]:
    """A value that differs whenever the catalog may have changed since it was last taken."""
    db = catalog.db
    data_version = db.execute("PRAGMA data_version").fetchone()[0]
    return id(db.conn), data_version, db.conn.total_changes


def here_url() -> str:
    """This page's URL in its one canonical spelling: route, route arguments, kept query arguments.

    Pages link back to themselves with it (language switch, reader
    preferences), so no query text a phone sends is echoed into a page.
    """
    home = url_for("home.index")
    if request.url_rule is None or request.endpoint is None:
        return home
    args = {name: request.args.get(name, "")[:MAX_ARG_CHARS] for name in PAGE_ARGS}
    try:
        return url_for(request.endpoint, **(request.view_args or {}), **{k: v for k, v in args.items() if v})
    except (BuildError, ValueError):
        return home


def page_key(*extra: Hashable) -> tuple:
    """The cache key of this request's page: catalog marker, canonical URL, UI language, theme, ``extra``."""
    catalog = current_app.extensions["library"].catalog
    return (catalog_marker(catalog), here_url(), current_locale(), night_mode(), *extra)


def size_of(value: Any) -> int:
    """Roughly the bytes ``value`` holds: strings and bytes by length, containers by their items."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) + _OVERHEAD
    if isinstance(value, (tuple, list, frozenset, set)):
        return sum(size_of(item) for item in value) + _OVERHEAD
    return _OVERHEAD


class FragmentCache:
    """Rendered HTML (or anything) by key, at most ``max_bytes`` (least recently used out); thread-safe.

    ``sizer`` measures a value (default :func:`size_of`); keys are measured the
    same way. A value larger than an eighth of the budget is returned but not kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, sizer: Callable[[Any], int] = size_of):
        """An empty cache."""
        self.max_bytes = max_bytes
        self.sizer = sizer
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """How many entries are held."""
        return len(self._values)

    def keys(self) -> list[Hashable]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._values)

    def get(self, key: Hashable, render: Callable[[], Any]) -> Any:
        """The fragment for ``key``, rendering it (outside the lock) on a miss."""
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = render()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` unless it is too big; evict the least recently used over budget."""
        size = self.sizer(value) + size_of(key)
        if size > self.max_bytes // 8:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._values[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _key, (_value, evicted) = self._values.popitem(last=False)
                self.bytes -= evicted

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._values.clear()
            self.bytes = 0
