"""Shared pieces of the benchmarks: starting a real server, RSS, load with wrk."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, *extra: str, env=None) -> tuple[subprocess.Popen, str, float]:
    """Start ``readpoint serve`` on 127.0.0.1; return (process, url, seconds to first /healthz)."""
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "readpoint.cli", "serve", "--data", str(data_dir),
         "--host", "127.0.0.1", "--port", str(port), *extra],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url, time.monotonic() - started
        except requests.ConnectionError:
            time.sleep(0.02)
        if time.monotonic() - started > 300:
            raise RuntimeError("server did not start in 300 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_server`."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _ms(value: str, unit: str) -> float:
    """wrk's latency figure in milliseconds."""
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, *, connections: int = 20, seconds: int = 10, threads: int = 2,
        headers: dict | None = None) -> dict:
    """Run wrk against ``url``; return requests/s, p50, p99 (ms) and non-2xx count."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed for this benchmark: apt-get install wrk")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in (headers or {}).items():
        command[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(*p50.groups()),
        "p99_ms": _ms(*p99.groups()),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def median(values):
    """The median of a list of numbers."""
    return statistics.median(values)


def measure(url: str, runs: int, seconds: int) -> dict:
    """wrk ``runs`` times at 20 connections with gzip; medians of requests/s and p99, total non-2xx."""
    results = [wrk(url, connections=20, seconds=seconds, headers={"Accept-Encoding": "gzip"})
               for _ in range(runs)]
    for number, result in enumerate(results, 1):
        print(f"  run {number}: {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms", flush=True)
    return {
        "rps": median([r["rps"] for r in results]),
        "p99_ms": median([r["p99_ms"] for r in results]),
        "non_2xx": sum(r["non_2xx"] for r in results),
    }
