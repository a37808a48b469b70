"""A misbehaving network between the box and the hub, for sync tests: a TCP proxy on 127.0.0.1.

Each request is read whole, then a rule decides what happens to it: forwarded
as is, cut after N bytes of the answer, stalled, answered with a status (500,
502, 503, 429 with Retry-After, 409, 410) or with a captive portal's HTML page,
or forwarded with its answer rewritten. Every connection carries one request
(``Connection: close``), and the bytes that cross in each direction are counted.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PORTAL_HTML = (b"<!DOCTYPE html><html><head><title>Wi-Fi login</title></head>"
               b"<body><form>Dang nhap Wi-Fi</form></body></html>")


@dataclass
class Action:
    """What the proxy does with one request (default: forward it untouched)."""

    status: int | None = None          # answer with this status instead of forwarding
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    portal: bool = False               # answer 200 text/html, as a captive portal does
    cut_after: int | None = None       # forward, but close after this many bytes of the answer
    stall: float = 0.0                 # wait this long before answering
    rewrite: Callable[[bytes], bytes] | None = None  # forward, then replace the answer's body
    then_cut: bool = False             # with ``status``: close without finishing the body


Rule = Callable[[str, str, int], Action | None]


class FaultProxy:
    """The proxy; ``rule(method, path, n)`` (n: how many requests for that path so far) picks actions."""

    def __init__(self, upstream_port: int, rule: Rule | None = None):
        """Listen on a free port of 127.0.0.1 and forward to ``upstream_port``."""
        self.upstream_port = upstream_port
        self.rule = rule or (lambda method, path, n: None)
        self.bytes_up = 0       # box -> hub
        self.bytes_down = 0     # hub -> box
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status or 0)
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()

    def reset_counts(self) -> None:
        """Start counting bytes and requests afresh."""
        with self._lock:
            self.bytes_up = self.bytes_down = 0
            self.requests.clear()

    # -- one connection ----------------------------------------------------

    def _handle(self, client: socket.socket) -> None:
        """Read one request, apply the rule, answer, close."""
        client.settimeout(30)
        request = _read_request(client)
        if request is None:
            return
        head, body = request
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = request_line.split(" ")[:2]
        path = target.split("?", 1)[0]
        with self._lock:
            self.bytes_up += len(head) + len(body)
            n = self._counts.get(path, 0)
            self._counts[path] = n + 1
        action = self.rule(method, path, n) or Action()
        if action.stall:
            time.sleep(action.stall)
        if action.status is not None or action.portal:
            self._answer(client, method, path, action)
            return
        self._forward(client, method, path, _with_close(head), body, action)

    def _answer(self, client, method, path, action: Action) -> None:
        """Answer by the proxy itself (an error status or a portal page)."""
        status = 200 if action.portal else action.status
        body = PORTAL_HTML if action.portal else action.body
        headers = {"Content-Type": "text/html; charset=utf-8" if action.portal else "application/json",
                   "Content-Length": str(len(body)), "Connection": "close", **action.headers}
        head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        data = head.encode("latin-1") + (body[: len(body) // 2] if action.then_cut else body)
        self._send(client, data)
        with self._lock:
            self.requests.append((method, path, status))

    def _forward(self, client, method, path, head: bytes, body: bytes, action: Action) -> None:
        """Forward to the hub and relay its answer (cut or rewritten as the action says)."""
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        try:
            upstream.sendall(head + body)
            if action.rewrite is not None:
                answer = _read_all(upstream)
                split = answer.index(b"\r\n\r\n") + 4
                new_body = action.rewrite(answer[split:])
                head_lines = [line for line in answer[:split - 4].split(b"\r\n")
                              if not line.lower().startswith(b"content-length:")]
                answer = b"\r\n".join(head_lines) + f"\r\nContent-Length: {len(new_body)}\r\n\r\n".encode() + new_body
                self._send(client, answer)
                self._record(method, path, answer)
                return
            sent = 0
            first = b""
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                if not first:
                    first = chunk
                if action.cut_after is not None and sent + len(chunk) > action.cut_after:
                    self._send(client, chunk[: action.cut_after - sent])
                    break
                self._send(client, chunk)
                sent += len(chunk)
            self._record(method, path, first)
        finally:
            upstream.close()

    def _record(self, method: str, path: str, answer_start: bytes) -> None:
        """Note the status of a forwarded answer."""
        try:
            status = int(answer_start.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 0
        with self._lock:
            self.requests.append((method, path, status))

    def _send(self, client: socket.socket, data: bytes) -> None:
        """Send to the box, counting the bytes."""
        try:
            client.sendall(data)
        except OSError:
            return
        with self._lock:
            self.bytes_down += len(data)


def _read_request(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """One HTTP request's head and body (by Content-Length), or None if the box hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n", rest


def _with_close(head: bytes) -> bytes:
    """The request head asking the hub to close the connection after answering."""
    lines = [line for line in head.rstrip(b"\r\n").split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n"


def _read_all(sock: socket.socket) -> bytes:
    """Everything the hub sends until it closes."""
    parts = []
    while chunk := sock.recv(65536):
        parts.append(chunk)
    return b"".join(parts)
