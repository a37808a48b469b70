"""HTTP to the hub for the box: bounded answers, retries, a byte meter and a speed cap.

The only module that imports ``requests``. Every answer is read with a cap
(an answer larger than allowed is :class:`~sync.errors.TooLarge`), counted by
the :class:`Meter` (the run's and the month's byte budgets) and slowed to the
bandwidth cap. Failures of the link (a cut, a stall, refused) and the answers
429/500/502/503/504 are retried with exponential backoff and full jitter,
honouring ``Retry-After``; other statuses come back to the caller as
:class:`~sync.errors.HubError`. JSON is expected as JSON: a web page in its
place (a captive portal) is :class:`~sync.errors.NotJson`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from sync.errors import HubError, LinkError, NotJson, TooLarge
from sync.protocol import parse_json

__all__ = ["Transport", "Meter", "Answer", "BudgetSpent", "RETRY_STATUSES", "LINK_ERRORS"]

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
LINK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
READ_CHUNK = 64 * 1024
MAX_RETRY_AFTER = 120.0


class BudgetSpent(Exception):
    """The run's or the month's byte budget would be exceeded (not a failure: the rest waits)."""


@dataclass
class Meter:
    """Bytes down and up in this run, against the run's and the month's budgets (0: none)."""

    run_budget: int = 0
    month_budget: int = 0
    month_used: int = 0
    bandwidth_bytes_per_second: float = 0.0
    down: int = 0
    up: int = 0
    _bucket_start: float = field(default_factory=time.monotonic)
    _bucket_bytes: int = 0

    def remaining(self) -> int | None:
        """Bytes this run may still download, or None without a limit."""
        limits = []
        if self.run_budget:
            limits.append(self.run_budget - self.down)
        if self.month_budget:
            limits.append(self.month_budget - self.month_used - self.down)
        return max(min(limits), 0) if limits else None

    def allows(self, size: int) -> bool:
        """Whether ``size`` more bytes fit the budgets."""
        remaining = self.remaining()
        return remaining is None or size <= remaining

    def count_down(self, size: int) -> None:
        """Count received bytes, sleeping as needed to keep under the bandwidth cap."""
        self.down += size
        if self.bandwidth_bytes_per_second <= 0:
            return
        self._bucket_bytes += size
        due = self._bucket_start + self._bucket_bytes / self.bandwidth_bytes_per_second
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if self._bucket_bytes > 4 * self.bandwidth_bytes_per_second:  # forget old history: no bursts later
            self._bucket_start, self._bucket_bytes = time.monotonic(), 0


@dataclass
class Answer:
    """A whole (small) answer: status, headers and body."""

    status: int
    headers: dict
    body: bytes

    def json(self, what: str) -> object:
        """The body as JSON (NotJson for a web page)."""
        return parse_json(self.body, what=what)


def _retry_after(headers, attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: Retry-After if given, else backoff with jitter."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is not None:
        try:
            return min(max(float(value), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    return random.uniform(0, min(30.0, 0.5 * 2**attempt))


class Transport:
    """Requests to one hub, with retries; one connection pool per run."""

    def __init__(self, base_url: str, meter: Meter, *, timeout: float = 30.0, attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep):
        """Talk to ``base_url`` (``http://host:port``), counting bytes in ``meter``."""
        self.base_url = base_url.rstrip("/")
        self.meter = meter
        self.timeout = timeout
        self.attempts = attempts
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "readpoint-sync/1", "Accept-Encoding": "identity"})
        self.token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def _headers(self, extra: dict | None) -> dict:
        """Request headers: the session token if any, and ``extra``."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def call(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
             max_bytes: int, expect_json: bool = True) -> Answer:
        """One request with retries; the whole answer (at most ``max_bytes``). Non-2xx: HubError."""
        last_error: Exception | None = None
        for attempt in range(self.attempts):
            try:
                answer = self._once(method, path, body, headers, max_bytes)
            except LINK_ERRORS as error:
                last_error = error
                log.info("%s %s: link failed (%s), attempt %d", method, path, type(error).__name__, attempt + 1)
                if attempt + 1 < self.attempts:
                    self.sleep(_retry_after(None, attempt))
                continue
            if answer.status in RETRY_STATUSES:
                last_error = HubError(f"{method} {path}: the hub answered {answer.status}", status=answer.status)
                if attempt + 1 < self.attempts:
                    self.sleep(_retry_after(answer.headers, attempt))
                continue
            return self._checked(method, path, answer, expect_json)
        if isinstance(last_error, HubError):
            raise last_error
        raise LinkError(f"{method} {path}: no answer from the hub after {self.attempts} attempts "
                        f"({type(last_error).__name__})")

    def _once(self, method: str, path: str, body: bytes | None, headers: dict | None, max_bytes: int) -> Answer:
        """One request, its body read up to ``max_bytes`` (TooLarge past it)."""
        if body is not None:
            self.meter.up += len(body)
        with self.session.request(method, self.base_url + path, data=body, headers=self._headers(headers),
                                  timeout=self.timeout, stream=True, allow_redirects=False) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"{method} {path}: {declared} bytes declared, more than the {max_bytes} allowed")
            chunks, size = [], 0
            for chunk in response.iter_content(READ_CHUNK):
                size += len(chunk)
                self.meter.count_down(len(chunk))
                if size > max_bytes:
                    raise TooLarge(f"{method} {path}: more than the {max_bytes} bytes allowed")
                chunks.append(chunk)
            return Answer(response.status_code, dict(response.headers), b"".join(chunks))

    @staticmethod
    def _checked(method: str, path: str, answer: Answer, expect_json: bool) -> Answer:
        """``answer`` if it is a success of the expected kind; HubError or NotJson otherwise."""
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if expect_json and media_type != "application/json":
            raise NotJson(f"{method} {path}: a {media_type or 'untyped'} answer instead of the hub's JSON "
                          "(a Wi-Fi login page? log in to the network first)")
        if not 200 <= answer.status < 300:
            body: dict = {}
            if media_type == "application/json":
                decoded = answer.json(path)
                body = decoded if isinstance(decoded, dict) else {}
            raise HubError(f"{method} {path}: {answer.status} {body.get('error', '')}".rstrip(),
                           status=answer.status, body=body)
        return answer

    def open_stream(self, path: str, headers: dict) -> requests.Response:
        """A streamed GET (for content files); the caller reads and closes it."""
        return self.session.get(self.base_url + path, headers=self._headers(headers), timeout=self.timeout,
                                stream=True, allow_redirects=False)

    def backoff(self, attempt: int, headers=None) -> None:
        """Wait before another attempt (Retry-After or backoff with jitter)."""
        self.sleep(_retry_after(headers, attempt))
