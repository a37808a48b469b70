"""A small in-memory LRU of rendered chapters, so a chapter page costs a lookup, not a parse.

Keyed by ``(sha256 of the EPUB, chapter number)``: a stored file never
changes, so an entry never goes stale. Bounded both by entries and by bytes
(a chapter of a badly made EPUB can be a whole book). Thread-safe: waitress
serves from several threads. Two threads missing the same chapter at once
may both render it; the second result simply replaces the first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app

from content.html.chapters import RenderedChapter

__all__ = ["ChapterCache", "chapter_cache"]

DEFAULT_ENTRIES = 64
DEFAULT_BYTES = 32 * 1024 * 1024


class ChapterCache:
    """Least-recently-used rendered chapters, at most ``max_entries`` and about ``max_bytes``."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, max_bytes: int = DEFAULT_BYTES):
        """An empty cache with these bounds."""
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, RenderedChapter] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """How many chapters are held."""
        return len(self._entries)

    def get_or_render(self, key: Hashable, render: Callable[[], RenderedChapter]) -> RenderedChapter:
        """The cached chapter for ``key``, rendering (outside the lock) and storing it on a miss."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        rendered = render()
        self._store(key, rendered)
        return rendered

    def _store(self, key: Hashable, rendered: RenderedChapter) -> None:
        """Keep ``rendered`` unless it alone is over the byte budget; evict the oldest over bounds."""
        if rendered.size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = rendered
            self._bytes += rendered.size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _key, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size


def chapter_cache() -> ChapterCache:
    """The current app's chapter cache (made when the reader blueprint is registered)."""
    return current_app.extensions["chapter_cache"]
