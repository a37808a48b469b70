"""Remember a value for some seconds: aggregates and lists that need not be fresh to the second.

The home page's "most read" list is an aggregate over the usage log; the
categories with their counts and the newest books change only on an import.
Computing them once per interval instead of once per request keeps the home
page cheap on a Raspberry Pi.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from readpoint.fragment_cache import size_of

__all__ = ["TtlCache"]


class TtlCache:
    """Values computed by a function, kept for ``seconds`` per key; thread-safe."""

    def __init__(self, seconds: float, max_bytes: int = 1024 * 1024):
        """A cache whose entries live ``seconds``; about ``max_bytes`` in all (keys included)."""
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._values: dict[Hashable, tuple[float, Any, int]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The fresh value for ``key``, computing it (outside the lock) when missing or expired."""
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
        if found is not None and now - found[0] < self.seconds:
            return found[1]
        value = compute()
        size = size_of(key) + size_of(value)
        with self._lock:
            old = self._values.pop(key, None)
            self._bytes -= old[2] if old else 0
            if self._bytes + size > self.max_bytes:  # entries expire anyway: start afresh
                self._values.clear()
                self._bytes = 0
            if size <= self.max_bytes:
                self._values[key] = (now, value, size)
                self._bytes += size
        return value

    def clear(self) -> None:
        """Forget everything (after an import, or in tests)."""
        with self._lock:
            self._values.clear()
            self._bytes = 0
