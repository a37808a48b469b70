"""Crowd benchmark: what a village of phones does to ``readpoint serve`` (issue 11).

Each scenario runs against a fresh ``readpoint serve`` (starter collection, 8
threads) on 127.0.0.1, with /healthz probed from a fresh connection every
20 ms, as a phone arriving would:

1. ``stalled``: 12 phones ask for a 41 MB audiobook file and read nothing;
2. ``crowd``: 300 idle connections and 300 slowloris ones (one header line a
   second, never finishing), each reopened as soon as the box drops it;
3. ``junk``: wrk floods home, chapter, search and static URLs with random
   16 KB query strings and ``./`` path spellings for 20 s; the server's peak
   RSS (VmHWM) is reported;
4. ``home``: home page requests/s (gzip) at 20 and at 300 connections.

A probe that gets no answer in 10 s counts as 10 s. Figures are medians of
``--runs`` runs. Log bytes written by the server during each scenario are
reported too (rate-limited warnings).

Run: ``.venv/bin/python bench/crowd.py [--runs 3] [--only home ...]``
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, free_port, median, peak_rss_mb, stop_server, wrk  # noqa: E402

BIG = 41 * 1024 * 1024
PROBE_TIMEOUT = 10.0
JUNK_LUA = r"""
local chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
local pool = {}
local function junk(n)
  local t = {}
  for i = 1, n do local k = math.random(1, #chars); t[i] = chars:sub(k, k) end
  return table.concat(t)
end
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  for i = 1, 32 do pool[i] = junk(16384) end
end
request = function()
  local r = math.random(1, 4)
  local tail = junk(12) .. pool[math.random(1, #pool)]
  if r == 1 then return wrk.format("GET", "/?" .. tail)
  elseif r == 2 then return wrk.format("GET", "/read/EPUB/1?part=1&to=" .. tail)
  elseif r == 3 then
    return wrk.format("GET", "/static/DIGEST/" .. string.rep("./", math.random(0, 2000)) .. "site.css",
                      {["Accept-Encoding"] = "gzip"})
  else return wrk.format("GET", "/search?q=" .. junk(8)) end
end
"""


class Server:
    """``readpoint serve`` on a fresh data directory, its log kept in a file."""

    def __init__(self, tmp: Path):
        """Start it and wait for /healthz."""
        self.data = tmp / "data"
        self.log_path = tmp / "serve.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "readpoint.cli", "serve", "--data", str(self.data),
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=self.log,
        )
        started = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited during start-up")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
            if time.monotonic() - started > 300:
                raise RuntimeError("server did not start")

    def log_bytes(self) -> int:
        """Bytes the server has logged so far."""
        return self.log_path.stat().st_size

    def stop(self) -> None:
        """Stop the server (killed if it does not stop in 30 s: a frozen one may not)."""
        stop_server(self.proc)
        self.log.close()


def add_big_book(data: Path) -> str:
    """Store a 41 MB audiobook file in the running server's library; its sha256."""
    from content.library import Library
    from tests.books import add_plain_book

    library = Library(data)
    try:
        _book_id, sha = add_plain_book(library, os.urandom(BIG), title="Sách nói dài", fmt="audio",
                                       media_type="audio/mpeg", name="sach-noi.mp3")
    finally:
        library.close()
    return sha


def probe(url: str, seconds: float, stop: threading.Event | None = None) -> list[float]:
    """/healthz latencies (s) from fresh connections every 20 ms for ``seconds``; a miss counts as the timeout."""
    latencies = []
    until = time.monotonic() + seconds
    while time.monotonic() < until and not (stop and stop.is_set()):
        started = time.monotonic()
        try:
            requests.get(url + "/healthz", timeout=PROBE_TIMEOUT).raise_for_status()
            latencies.append(time.monotonic() - started)
        except requests.RequestException:
            latencies.append(PROBE_TIMEOUT)
        time.sleep(0.02)
    return latencies


def p99(values: list[float]) -> float:
    """The 99th percentile in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def scenario_stalled(server: Server) -> dict:
    """12 stalled 41 MB downloads beside /healthz probes."""
    sha = add_big_book(server.data)
    socks = []
    for _ in range(12):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(f"GET /files/{sha} HTTP/1.1\r\nHost: box\r\n\r\n".encode())
        socks.append(sock)
    time.sleep(1)
    try:
        latencies = probe(server.url, 20)
    finally:
        for sock in socks:
            sock.close()
    return {"p99_ms": p99(latencies), "probes": len(latencies),
            "missed": sum(1 for value in latencies if value >= PROBE_TIMEOUT)}


class Crowd:
    """300 idle and 300 slowloris connections, reopened whenever the box drops one."""

    def __init__(self, port: int, idle: int = 300, slow: int = 300):
        """Open them all."""
        self.port = port
        self.idle = [self._open() for _ in range(idle)]
        self.slow = [self._open(slow=True) for _ in range(slow)]
        self.reopened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, slow: bool = False) -> socket.socket | None:
        """A new connection (a slow one starts a request); None if the box does not accept now."""
        sock = socket.socket()
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", self.port))
            if slow:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: box\r\n")
        except OSError:
            sock.close()
            return None
        sock.setblocking(False)
        return sock

    @staticmethod
    def _alive(sock: socket.socket | None) -> bool:
        """Whether the box still holds this connection open."""
        if sock is None:
            return False
        try:
            return sock.recv(1) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def _run(self) -> None:
        """Each second: one more header line on every slow connection; reopen what was dropped."""
        line = 0
        while not self.stop.wait(1.0):
            line += 1
            for group, slow in ((self.idle, False), (self.slow, True)):
                for index, sock in enumerate(group):
                    alive = self._alive(sock)
                    if alive and slow:
                        try:
                            sock.send(f"X-Slow-{line}: a\r\n".encode())
                        except OSError:
                            alive = False
                    if not alive:
                        if sock is not None:
                            sock.close()
                        group[index] = self._open(slow)
                        self.reopened += 1

    def close(self) -> None:
        """Stop and close everything."""
        self.stop.set()
        self.thread.join()
        for sock in self.idle + self.slow:
            if sock is not None:
                sock.close()


def scenario_crowd(server: Server) -> dict:
    """/healthz probes while 300 idle and 300 slow connections stay open (reopened when dropped)."""
    crowd = Crowd(server.port)
    crowd.thread.start()
    try:
        time.sleep(1)
        latencies = probe(server.url, 30)
    finally:
        crowd.close()
    return {"p99_ms": p99(latencies), "probes": len(latencies),
            "missed": sum(1 for value in latencies if value >= PROBE_TIMEOUT), "reopened": crowd.reopened}


def scenario_junk(server: Server, tmp: Path) -> dict:
    """Peak RSS of the server under 20 s of junk URLs."""
    from content.library import Library

    library = Library(server.data)
    try:
        epub = next(book["id"] for book in library.catalog.list_books(limit=100) if book["format"] == "epub")
    finally:
        library.close()
    home = requests.get(server.url + "/", timeout=10).text
    digest = re.search(r"/static/([0-9a-f]+)/site\.css", home).group(1)
    script = tmp / "junk.lua"
    script.write_text(JUNK_LUA.replace("EPUB", epub).replace("DIGEST", digest))
    command = ["wrk", "-t2", "-c20", "-d20s", "-s", str(script), server.url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"peak_rss_mb": peak_rss_mb(server.proc.pid), "rps": float(rps.group(1)) if rps else 0.0}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scenario_home(server: Server) -> dict:
    """Home page requests/s, p99 and server CPU per request at 20 and 300 connections.

    CPU per request is the steadier figure on a shared machine: other load
    lowers requests/s but hardly changes what one request costs.
    """
    gzip = {"Accept-Encoding": "gzip"}
    figures = {}
    for connections in (20, 300):
        before = cpu_seconds(server.proc.pid)
        result = wrk(server.url + "/", connections=connections, seconds=10, headers=gzip)
        used = cpu_seconds(server.proc.pid) - before
        figures.update({f"rps_{connections}": result["rps"], f"p99_{connections}_ms": result["p99_ms"],
                        f"cpu_ms_{connections}": 1000 * used / max(1.0, result["rps"] * 10)})
    return figures


SCENARIOS = ("stalled", "crowd", "junk", "home")


def run_once(scenarios=SCENARIOS) -> dict:
    """Each scenario once, each on a fresh server; returns the figures."""
    figures = {}
    for name in scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(Path(tmp))
            try:
                before = server.log_bytes()
                if name == "stalled":
                    result = scenario_stalled(server)
                elif name == "crowd":
                    result = scenario_crowd(server)
                elif name == "junk":
                    result = scenario_junk(server, Path(tmp))
                else:
                    result = scenario_home(server)
                result["log_kb"] = (server.log_bytes() - before) / 1024
            finally:
                server.stop()
        figures[name] = result
        print(f"  {name}: " + ", ".join(f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
                                       for key, value in result.items()), flush=True)
    return figures


def main() -> None:
    """Run the scenarios ``--runs`` times and print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only these scenarios")
    options = parser.parse_args()
    runs, scenarios = options.runs, tuple(options.only or SCENARIOS)
    results = []
    for run in range(runs):
        print(f"run {run + 1}:", flush=True)
        results.append(run_once(scenarios))

    def mid(scenario: str, key: str) -> float:
        return median([result[scenario][key] for result in results]) if scenario in scenarios else float("nan")

    print()
    print(f"| measure (median of {runs}) | value |")
    print("| --- | --- |")
    print(f"| /healthz p99 during 12 stalled 41 MB downloads (ms) | {mid('stalled', 'p99_ms'):.0f} |")
    print(f"| probes unanswered in 10 s, stalled downloads | {mid('stalled', 'missed'):.0f} of "
          f"{mid('stalled', 'probes'):.0f} |")
    print(f"| /healthz p99 during 300 slow + 300 idle connections (ms) | {mid('crowd', 'p99_ms'):.0f} |")
    print(f"| probes unanswered in 10 s, slow + idle | {mid('crowd', 'missed'):.0f} of {mid('crowd', 'probes'):.0f} |")
    print(f"| server peak RSS under 20 s of junk URLs (MB) | {mid('junk', 'peak_rss_mb'):.0f} |")
    print(f"| home page req/s at 20 connections | {mid('home', 'rps_20'):.0f} "
          f"(p99 {mid('home', 'p99_20_ms'):.0f} ms) |")
    print(f"| home page req/s at 300 connections | {mid('home', 'rps_300'):.0f} "
          f"(p99 {mid('home', 'p99_300_ms'):.0f} ms) |")
    print(f"| server CPU per home page, 20 / 300 connections (ms) | {mid('home', 'cpu_ms_20'):.2f} / "
          f"{mid('home', 'cpu_ms_300'):.2f} |")
    print(f"| server log written during the home page runs (KB) | {mid('home', 'log_kb'):.0f} |")
    print(f"| server log written during the junk flood (KB) | {mid('junk', 'log_kb'):.0f} |")


if __name__ == "__main__":
    main()
