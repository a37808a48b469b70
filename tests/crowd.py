"""Helpers for the crowd tests: raw HTTP over a socket, /healthz probes, a process's memory."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

import requests

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")
# The longest a /healthz probe may take in these tests. The goal on the box is a p99 under 0.5 s
# (bench/crowd.py measures it); a CI machine shared with other jobs gets some slack. Without the
# fixes these probes wait for 10-60 s, or for ever.
ANSWER_SECONDS = 2.0


def raw_request(port: int, data: bytes, timeout: float = 10) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send ``data`` as it is (no client tidies it up) and read one response: status, headers, body."""
    with socket.create_connection(("127.0.0.1", int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            body = response.read()
        finally:
            response.close()
    return response.status, response.headers, body


def get(port: int, path: str, *headers: str, method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    """A request for ``path`` spelled exactly as given, with extra header lines."""
    request_line = f"{method} {path} HTTP/1.1\r\n".encode()  # UTF-8 bytes, as some phones send them
    lines = ["Host: 127.0.0.1", "Connection: close", *headers, "", ""]
    return raw_request(port, request_line + "\r\n".join(lines).encode("latin-1"))


def probe_healthz(url: str, count: int, pause: float = 0.05) -> list[float]:
    """Seconds each of ``count`` fresh-connection /healthz requests took (each must answer 200)."""
    latencies = []
    for _ in range(count):
        started = time.monotonic()
        response = requests.get(url + "/healthz", timeout=30)
        latencies.append(time.monotonic() - started)
        assert response.status_code == 200
        time.sleep(pause)
    return latencies


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def wait_until(condition, seconds: float, step: float = 0.1) -> bool:
    """Poll ``condition`` until true or ``seconds`` pass; return its last value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
