"""How busy the box is: phones on its Wi-Fi now, phones active per hour, and the home page's speed.

So a librarian can tell a slow box from a crowded one:

- :func:`wifi_stations`: phones joined to the box's Wi-Fi right now, from
  ``hostapd_cli all_sta`` (None, shown as "unknown", where hostapd is not
  running or cannot be asked). Only the number is kept.
- :class:`PhoneCounter`: how many different phones made requests in each hour.
  A phone is told apart by a keyed hash of its address held in memory for the
  current hour only, with a key made at start that is never written anywhere;
  what is stored (``usage_hours``) is the count alone.
- :class:`ResponseTimes`: the home page's response times over the last hour,
  a bounded in-memory sample, and their 95th percentile.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections import deque

from flask import Flask, g, request

from content.catalog import Catalog
from content.catalog.usage_stats import local_now, record_phones

__all__ = ["init_app", "PhoneCounter", "ResponseTimes", "wifi_stations", "SAMPLE_SECONDS"]

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 3600
MAX_SAMPLES = 4096
MAX_PHONES_TRACKED = 20_000
PHONES_WRITE_SECONDS = 900
HOSTAPD_TIMEOUT = 3
STATIONS_CACHE_SECONDS = 15
_MAC_LINE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", re.I)


class ResponseTimes:
    """Durations of one kind of request over the last hour (at most :data:`MAX_SAMPLES`), thread-safe."""

    def __init__(self, window: float = SAMPLE_SECONDS, max_samples: int = MAX_SAMPLES):
        """An empty sample."""
        self.window = window
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        """Note one response time."""
        with self._lock:
            self._samples.append((time.monotonic(), seconds))

    def summary(self) -> tuple[int, float | None]:
        """How many responses in the window, and their 95th percentile in milliseconds (None if none)."""
        since = time.monotonic() - self.window
        with self._lock:
            durations = sorted(seconds for at, seconds in self._samples if at >= since)
        if not durations:
            return 0, None
        index = min(len(durations) - 1, int(0.95 * len(durations)))
        return len(durations), durations[index] * 1000


class PhoneCounter:
    """Different phones per local hour; the count is written to ``usage_hours`` now and then."""

    def __init__(self, catalog: Catalog, offset_hours: int):
        """Count for ``catalog``, hours in UTC plus ``offset_hours``."""
        self.catalog = catalog
        self.offset_hours = offset_hours
        self._key = secrets.token_bytes(16)
        self._hour = ""
        self._seen: set[bytes] = set()
        self._written = 0
        self._last_write = time.monotonic()
        self._lock = threading.Lock()

    def _current_hour(self) -> str:
        """The local hour now, as ``YYYY-MM-DD HH``."""
        return local_now(self.offset_hours).strftime("%Y-%m-%d %H")

    def see(self, address: str) -> None:
        """Count the phone at ``address`` in this hour (the address itself is not kept)."""
        hour = self._current_hour()
        token = hashlib.blake2b(address.encode(), key=self._key, digest_size=8).digest()
        pending = None
        with self._lock:
            if hour != self._hour:
                if self._seen:
                    pending = (self._hour, len(self._seen))
                self._hour, self._seen, self._written = hour, set(), 0
                self._key = secrets.token_bytes(16)  # last hour's tokens can never be linked to this hour's
                token = hashlib.blake2b(address.encode(), key=self._key, digest_size=8).digest()
            if len(self._seen) < MAX_PHONES_TRACKED:
                self._seen.add(token)
            due = (len(self._seen) != self._written
                   and time.monotonic() - self._last_write >= PHONES_WRITE_SECONDS)
            if due:
                pending = pending or (self._hour, len(self._seen))
        if pending:
            self._write(*pending)

    def current(self) -> tuple[str, int]:
        """This hour and how many phones were seen in it so far."""
        with self._lock:
            if self._hour != self._current_hour():
                return self._current_hour(), 0
            return self._hour, len(self._seen)

    def flush(self) -> None:
        """Write this hour's count now."""
        hour, phones = self.current()
        if phones:
            self._write(hour, phones)

    def _write(self, hour: str, phones: int) -> None:
        """Store one hour's count; a failure is logged (a count is not worth failing a page)."""
        with self._lock:
            self._last_write = time.monotonic()
            if hour == self._hour:
                self._written = phones
        try:
            record_phones(self.catalog, hour, phones)
        except Exception:  # noqa: BLE001 - boundary: counting must never break a villager's page
            log.exception("could not record the phones of %s", hour)


_stations_cache: dict[str, tuple[float, int | None]] = {}


def wifi_stations() -> int | None:
    """Phones joined to the box's Wi-Fi now (``hostapd_cli all_sta``), or None when unknown."""
    cached = _stations_cache.get("all_sta")
    if cached and time.monotonic() - cached[0] < STATIONS_CACHE_SECONDS:
        return cached[1]
    count = None
    program = shutil.which("hostapd_cli")
    if program:
        try:
            result = subprocess.run([program, "all_sta"], capture_output=True, text=True,
                                    timeout=HOSTAPD_TIMEOUT, check=False)
            if result.returncode == 0 and "Failed to connect" not in result.stdout:
                count = sum(1 for line in result.stdout.splitlines() if _MAC_LINE.match(line.strip()))
        except (OSError, subprocess.SubprocessError) as error:
            log.info("hostapd_cli all_sta failed: %s", error)
    _stations_cache["all_sta"] = (time.monotonic(), count)
    return count


def init_app(app: Flask) -> None:
    """Time the home page and count phones per hour, for every request."""
    settings = app.config["READPOINT"]
    times = ResponseTimes()
    phones = PhoneCounter(app.extensions["library"].catalog, settings["utc_offset_hours"])
    app.extensions["home_times"] = times
    app.extensions["phone_counter"] = phones

    @app.before_request
    def _start_clock():
        g.capacity_started = time.perf_counter()

    @app.after_request
    def _note(response):
        started = g.pop("capacity_started", None)
        if started is not None and request.endpoint == "home.index":
            times.add(time.perf_counter() - started)
        if request.remote_addr and request.endpoint not in (None, "assets.static_file"):
            phones.see(request.remote_addr)
        return response
