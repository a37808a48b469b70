"""Rate-limited logging: a flood of one message becomes a few lines and a count."""

from __future__ import annotations

import logging

from readpoint.log_limits import RateLimitFilter


class _Collect(logging.Handler):
    """Keeps the messages it is given."""

    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_flood_from_one_place_is_cut_to_a_burst_then_summarised(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("readpoint.log_limits.time.monotonic", lambda: clock[0])
    logger = logging.getLogger("tests.flood")
    logger.propagate = False
    handler = _Collect()
    limiter = RateLimitFilter(interval=60, burst=3)
    handler.addFilter(limiter)
    logger.addHandler(handler)

    def depth(number):
        logger.warning("Task queue depth is %d", number)  # one call site

    try:
        for number in range(1000):
            depth(number)
        logger.warning("another place")  # its own allowance
        assert handler.messages[:3] == ["Task queue depth is 0", "Task queue depth is 1", "Task queue depth is 2"]
        assert handler.messages[3] == "another place" and len(handler.messages) == 4
        assert limiter.suppressed == 997
        clock[0] += 61
        for number in range(2):
            depth(number)
        assert handler.messages[4] == "Task queue depth is 0 [997 more like this were not logged]"
        assert handler.messages[5] == "Task queue depth is 1"
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
