"""Rate limits on guessing: failed logins and setup codes, per address and in all.

Shared by the librarian's desk on the box and the staff pages of the hub (framework-free).

Kept in memory only (an address is never written anywhere): after
:data:`PER_CLIENT` failures from one address within :data:`WINDOW_SECONDS`,
that address must wait until the oldest failure leaves the window; after
:data:`IN_ALL` failures from everyone, everyone must. A success clears the
address's failures.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["AttemptLimiter", "PER_CLIENT", "IN_ALL", "WINDOW_SECONDS"]

PER_CLIENT = 5
IN_ALL = 30
WINDOW_SECONDS = 15 * 60
MAX_CLIENTS = 10_000


class AttemptLimiter:
    """Counts failed attempts in a sliding window; thread-safe, bounded."""

    def __init__(self, *, per_client: int = PER_CLIENT, in_all: int = IN_ALL, window: float = WINDOW_SECONDS):
        """No failures yet."""
        self.per_client = per_client
        self.in_all = in_all
        self.window = window
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        """Drop failures older than the window (call with the lock held)."""
        cutoff = now - self.window
        while self._all and self._all[0] <= cutoff:
            self._all.popleft()
        for client in [c for c, times in self._by_client.items() if not times or times[-1] <= cutoff]:
            del self._by_client[client]

    def wait_seconds(self, client: str) -> int:
        """0 if ``client`` may try now, else how many seconds it must wait."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            waits = []
            mine = self._by_client.get(client)
            if mine and len(mine) >= self.per_client:
                waits.append(mine[-self.per_client] + self.window - now)
            if len(self._all) >= self.in_all:
                waits.append(self._all[-self.in_all] + self.window - now)
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, client: str) -> None:
        """Note one failed attempt from ``client``."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if client not in self._by_client and len(self._by_client) >= MAX_CLIENTS:
                self._by_client.pop(next(iter(self._by_client)))
            self._by_client.setdefault(client, deque(maxlen=self.per_client)).append(now)
            self._all.append(now)
            while len(self._all) > self.in_all:
                self._all.popleft()

    def succeeded(self, client: str) -> None:
        """Forget ``client``'s failures."""
        with self._lock:
            self._by_client.pop(client, None)
