"""A crowd of phones against a real waitress server: big downloads, idle and slow connections.

The live server has 4 worker threads: with downloads served by workers, four
stalled phones would leave /healthz unanswered; with idle connections
counted against a 200-connection limit, 600 would lock new phones out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time

import pytest
import requests

from readpoint import server as server_module
from readpoint.log_limits import BURST, limit_logger
from tests.books import add_plain_book
from tests.crowd import ANSWER_SECONDS, probe_healthz, wait_until

BIG = 41 * 1024 * 1024


@pytest.fixture
def big_book(app, live_server):
    """A 41 MB audiobook file in the live server's library: (server, sha256, bytes)."""
    data = os.urandom(BIG)
    _book_id, sha = add_plain_book(app.extensions["library"], data, title="Sách nói dài", fmt="audio",
                                   media_type="audio/mpeg", name="sach-noi.mp3")
    return live_server, sha, data


def _stalled_download(port: int, path: str) -> socket.socket:
    """A phone that asks for a file and then reads nothing (walked out of Wi-Fi range)."""
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(port)))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: box\r\n\r\n".encode())
    except OSError:
        sock.close()
        raise
    return sock


def _slow_reader(port: int, path: str, stop: threading.Event, got: list[int]) -> None:
    """A phone on weak Wi-Fi: reads 16 KB every 50 ms until told to stop."""
    with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: box\r\n\r\n".encode())
        while not stop.is_set():
            chunk = sock.recv(16384)
            if not chunk:
                break
            got.append(len(chunk))
            time.sleep(0.05)


@pytest.mark.slow
def test_stalled_and_slow_downloads_leave_the_box_answering(big_book, monkeypatch):
    server, sha, data = big_book
    monkeypatch.setattr(server_module, "STALL_SECONDS", 2)
    path = f"/files/{sha}"
    stalled = [_stalled_download(server.port, path) for _ in range(12)]
    stop = threading.Event()
    received: list[list[int]] = [[] for _ in range(4)]
    readers = [threading.Thread(target=_slow_reader, args=(server.port, path, stop, got)) for got in received]
    try:
        for reader in readers:
            reader.start()
        time.sleep(0.5)  # every download has begun and filled its socket buffers
        latencies = probe_healthz(server.url, 20)
        # a whole download and a range at full speed, beside all that: the right bytes
        whole = requests.get(server.url + path, timeout=60)
        assert hashlib.sha256(whole.content).hexdigest() == sha
        tail = requests.get(server.url + path, headers={"Range": "bytes=40000000-"}, timeout=30)
        assert tail.status_code == 206 and tail.content == data[40_000_000:]
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    assert max(latencies) < ANSWER_SECONDS, f"/healthz took up to {max(latencies):.2f} s beside 16 downloads"
    assert all(sum(got) > 0 for got in received), "every slow phone got bytes"
    try:
        # the stalled phones are let go after STALL_SECONDS: nothing of theirs stays open on the box
        assert wait_until(lambda: len(server.server.active_channels) == 0, 8), \
            f"{len(server.server.active_channels)} connections still open"
    finally:
        for sock in stalled:
            sock.close()


def _slowloris(socks: list[socket.socket], stop: threading.Event) -> None:
    """Send one more header line on every socket each half second, never finishing the headers."""
    number = 0
    while not stop.wait(0.5):
        number += 1
        for sock in socks:
            try:
                sock.send(f"X-Slow-{number}: a\r\n".encode())
            except OSError:
                pass  # the box dropped it: that is the point


@pytest.mark.slow
def test_hundreds_of_idle_and_slow_connections_do_not_lock_phones_out(live_server, monkeypatch):
    monkeypatch.setattr(server_module, "IDLE_SECONDS", 1)
    monkeypatch.setattr(server_module, "HEADER_SECONDS", 2)
    idle = [socket.create_connection(("127.0.0.1", int(live_server.port))) for _ in range(300)]
    slow = [socket.create_connection(("127.0.0.1", int(live_server.port))) for _ in range(300)]
    stop = threading.Event()
    sender = threading.Thread(target=_slowloris, args=(slow, stop))
    try:
        for sock in slow:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: box\r\n")
        sender.start()
        latencies = probe_healthz(live_server.url, 15)
        assert max(latencies) < ANSWER_SECONDS, f"/healthz took up to {max(latencies):.2f} s beside 600 connections"
        # idle ones go after a second of nothing, slow ones two seconds after their first byte
        assert wait_until(lambda: len(live_server.server.active_channels) == 0, 8), \
            f"{len(live_server.server.active_channels)} connections still open"
        for sock in idle[:10] + slow[:10]:
            sock.settimeout(2)
            try:
                assert sock.recv(100) == b""  # closed by the box, without an answer
            except ConnectionResetError:
                pass
    finally:
        stop.set()
        if sender.is_alive():
            sender.join()
        for sock in idle + slow:
            sock.close()


def _read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length from a keep-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_a_keep_alive_connection_serves_again_then_closes_when_idle(live_server, monkeypatch):
    monkeypatch.setattr(server_module, "IDLE_SECONDS", 1)
    with socket.create_connection(("127.0.0.1", int(live_server.port)), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: box\r\n\r\n")
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.5)  # within the idle time: the same connection is served again
        started = time.monotonic()
        assert sock.recv(100) == b""  # then the box closes it
        assert time.monotonic() - started < 4


def test_queue_warnings_under_load_are_rate_limited(live_server, caplog):
    caplog.set_level(logging.WARNING, logger="waitress.queue")
    limiter = limit_logger("waitress.queue")  # the one the server installed
    before = limiter.suppressed

    def hammer():
        with requests.Session() as session:
            for _ in range(15):
                session.get(live_server.url + "/", timeout=30)

    threads = [threading.Thread(target=hammer) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    depth = [r for r in caplog.records if r.name == "waitress.queue"]
    assert len(depth) <= BURST, f"{len(depth)} queue warnings logged for 360 requests"
    assert limiter.suppressed > before  # there were many more: held back, and counted


def test_near_the_connection_limit_idle_connections_make_room_at_once(live_server, monkeypatch):
    limit = live_server.server.adj.connection_limit
    monkeypatch.setattr(server_module, "CROWDED_SHARE", 60 / limit)  # "near the limit" at 60 connections
    idle = [socket.create_connection(("127.0.0.1", int(live_server.port))) for _ in range(80)]
    try:
        started = time.monotonic()
        assert wait_until(lambda: len(live_server.server.active_channels) < 60, 4)
        assert time.monotonic() - started < server_module.IDLE_SECONDS  # sooner than their idle time
        assert max(probe_healthz(live_server.url, 5)) < ANSWER_SECONDS
    finally:
        for sock in idle:
            sock.close()
