"""Rate-limited logging: a crowd must not turn the log into the box's busiest writer.

Under load waitress warns about its task queue on every request (52,881 lines
in a minute were seen), and one odd request repeated by a crawler would log
one traceback per try. :class:`RateLimitFilter` lets through at most
``burst`` records per call site (logger, file, line) per ``interval`` seconds;
the first record after a quiet spell says how many were left out.
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["RateLimitFilter", "limit_logger", "limit_handlers"]

INTERVAL_SECONDS = 60.0
BURST = 5
MAX_SITES = 512  # call sites are bounded by the code; this only guards against surprises


class RateLimitFilter(logging.Filter):
    """At most ``burst`` records per call site every ``interval`` seconds, then one summary."""

    def __init__(self, interval: float = INTERVAL_SECONDS, burst: int = BURST):
        """A filter with this window and burst."""
        super().__init__()
        self.interval = interval
        self.burst = burst
        self._sites: dict[tuple, list] = {}  # site -> [window start, records let through, left out]
        self._lock = threading.Lock()
        self.suppressed = 0  # in all, for tests and curiosity

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged; notes the count left out on the next one that is."""
        site = (record.name, record.pathname, record.lineno)
        now = time.monotonic()
        with self._lock:
            window = self._sites.get(site)
            if window is None or now - window[0] >= self.interval:
                left_out = window[2] if window else 0
                if window is None and len(self._sites) >= MAX_SITES:
                    self._sites.clear()
                self._sites[site] = [now, 1, 0]
                if left_out:
                    record.msg = f"{record.msg} [{left_out} more like this were not logged]"
                return True
            if window[1] < self.burst:
                window[1] += 1
                return True
            window[2] += 1
            self.suppressed += 1
            return False


def limit_logger(name: str) -> RateLimitFilter:
    """Rate-limit the records logged directly on logger ``name`` (once per logger)."""
    logger = logging.getLogger(name)
    for existing in logger.filters:
        if isinstance(existing, RateLimitFilter):
            return existing
    limiter = RateLimitFilter()
    logger.addFilter(limiter)
    return limiter


def limit_handlers(logger: logging.Logger | None = None) -> None:
    """Rate-limit everything that reaches the handlers of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, RateLimitFilter) for existing in handler.filters):
            handler.addFilter(RateLimitFilter())
