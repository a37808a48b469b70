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

__all__ = ["TtlCache"]


class TtlCache:
    """Values computed by a function, kept for ``seconds`` per key; thread-safe."""

    def __init__(self, seconds: float, max_entries: int = 64):
        """A cache whose entries live ``seconds``; at most ``max_entries`` keys."""
        self.seconds = seconds
        self.max_entries = max_entries
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The fresh value for ``key``, computing it (outside the lock) when missing or expired."""
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
        if found is not None and now - found[0] < self.seconds:
            return found[1]
        value = compute()
        with self._lock:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = (now, value)
        return value

    def clear(self) -> None:
        """Forget everything (after an import, or in tests)."""
        with self._lock:
            self._values.clear()
