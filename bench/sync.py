"""Sync benchmarks: bytes of an up-to-date sync, bytes re-sent after a cut, applying a
2,000-book release (time, peak RSS, page latency meanwhile), usage ingest into the hub.

Each figure is the median of ``--runs`` runs (default 3). Goals (issue 10):
up-to-date sync < 5 KB on the wire; < 1% of a 100 MB file re-sent after a cut at 50%;
a 2,000-book release applied in < 150 MB peak RSS with page p95 < 200 ms meanwhile;
usage events/s into the hub from 5,000 boxes x 200 events, on SQLite and PostgreSQL.

Run: ``.venv/bin/python bench/sync.py [uptodate|resume|apply|usage ...] [--runs 3]``
(``--books``, ``--boxes``, ``--mb`` scale the runs down for a quick look).
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import REPO, median, peak_rss_mb, start_server, stop_server  # noqa: E402

READPOINT = [sys.executable, "-m", "readpoint.cli"]


def _world(root: Path):
    """A fresh hub + box world from the tests (hub API on waitress in this process)."""
    from tests.sync_world import SyncWorld

    return SyncWorld(root)


def _sync_subprocess(box_dir: Path) -> tuple[dict, float, float]:
    """Run ``readpoint sync --json`` in a child; (report, seconds, peak RSS MB of the child)."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([*READPOINT, "sync", "--data", str(box_dir), "--json"], cwd=REPO,
                                stdout=out, stderr=err, text=True)
        peak = 0.0
        while proc.poll() is None:
            try:
                peak = max(peak, peak_rss_mb(proc.pid))  # VmHWM: the child's own high-water mark
            except (FileNotFoundError, RuntimeError, ProcessLookupError):
                pass
            time.sleep(0.05)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"sync failed: {stdout} {stderr[-2000:]}")
    return json.loads(stdout), seconds, peak


def bench_uptodate(runs: int) -> dict:
    """Bytes both ways (HTTP, as the proxy counts them) for a sync with nothing new."""
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        world = _world(Path(tmp))
        try:
            world.add_epubs(20)
            world.publish()
            world.enroll()
            proxy = world.use_proxy()
            world.sync()
            for _ in range(runs):
                time.sleep(0.3)  # the last answer of the previous run has been counted
                proxy.reset_counts()
                report = world.sync()
                assert report.errors == [] and report.files_downloaded == 0
                figures.append((proxy.bytes_up + proxy.bytes_down, len(proxy.requests)))
        finally:
            world.close()
    total = median([f[0] for f in figures])
    return {"bytes_on_wire": total, "requests": figures[0][1], "goal_bytes": 5000, "met": total < 5000}


def bench_resume(runs: int, mb: int) -> dict:
    """Bytes of a ``mb`` MB file fetched again after a cut at half of it."""
    from tests.fault_proxy import Action

    resent = []
    with tempfile.TemporaryDirectory() as tmp:
        world = _world(Path(tmp))
        try:
            book = world.add_epubs(1, pad=mb * 2**20)[0]
            world.publish()
            size = world.hub.entry(book)["files"][0]["size"]
            for run in range(runs):
                box = Path(tmp) / f"box{run}"
                world.box_dir = box
                box.mkdir()
                world._library = None
                world.proxy = None
                world.enroll()
                state = {"cut": False}

                def rule(method, path, n, state=state):
                    if path.startswith("/files/") and not state["cut"]:
                        state["cut"] = True
                        return Action(cut_after=size // 2)
                    return None

                proxy = world.use_proxy(rule)
                report = world.sync()
                assert report.errors == [] and world.library.catalog.book_exists(book), report.errors
                resent.append(report.bytes_down - size)
                world.library.close()
                proxy.close()
        finally:
            world.proxy = None
            world.close()
    value = median(resent)
    # bytes down beyond the file's size: an upper bound, it includes the run's small JSON answers
    return {"file_mb": round(size / 2**20, 1), "bytes_resent": value,
            "percent_resent": round(100 * value / size, 4), "goal_percent": 1.0, "met": value < size / 100}


def _page_load(url: str, paths: list[str], stop: threading.Event, latencies: list[float]) -> None:
    """Request pages in turn until ``stop``; record each latency (ms)."""
    session = requests.Session()
    i = 0
    while not stop.is_set():
        started = time.monotonic()
        session.get(url + paths[i % len(paths)], timeout=30)
        latencies.append((time.monotonic() - started) * 1000)
        i += 1


def bench_apply(runs: int, books: int) -> dict:
    """A box applying a ``books``-book release while its server answers pages."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        world = _world(Path(tmp))
        try:
            started = time.monotonic()
            for _ in range(books // 250):
                world.add_epubs(250)
            world.add_epubs(books % 250) if books % 250 else None
            world.publish()
            print(f"  hub: {books} books staged and published in {time.monotonic() - started:.0f} s",
                  file=sys.stderr)
            for run in range(runs):
                box = Path(tmp) / f"box{run}"
                box.mkdir()
                world.box_dir, world._library, world.proxy = box, None, None
                world.enroll()
                world.library.close()
                world._library = None
                proc, url, _ = start_server(box, "--no-starter")
                try:
                    idle: list[float] = []
                    stop = threading.Event()
                    paths = ["/", "/search?q=sach", "/?page=2"]
                    loader = threading.Thread(target=_page_load, args=(url, paths, stop, idle))
                    loader.start()
                    time.sleep(3)
                    stop.set()
                    loader.join()
                    busy: list[float] = []
                    stop = threading.Event()
                    loader = threading.Thread(target=_page_load, args=(url, paths, stop, busy))
                    loader.start()
                    report, seconds, peak = _sync_subprocess(box)
                    stop.set()
                    loader.join()
                finally:
                    stop_server(proc)
                assert report["books_added"] == books, report
                results.append({"seconds": seconds, "peak_rss_mb": peak,
                                "p95_idle_ms": statistics.quantiles(idle, n=20)[18],
                                "p95_during_ms": statistics.quantiles(busy, n=20)[18], "pages": len(busy)})
        finally:
            world.close()
    return {"books": books, **{key: round(median([r[key] for r in results]), 1) for key in results[0]},
            "goal": "peak RSS < 150 MB, p95 < 200 ms"}


def _ingest(url: str, devices: list[tuple], events_per_box: int, threads: int) -> float:
    """Post one batch per device from ``threads`` threads; return seconds."""
    from sync.protocol import SIGNATURE_HEADER

    queue = list(devices)
    lock = threading.Lock()
    failures = []

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                device_id, key, token = queue.pop()
            hours = []
            for i in range(events_per_box // 4):  # 200 events: 50 hourly rows of 4 reads
                hours.append([f"2026-11-{1 + i // 24:02}T{i % 24:02}", f"{i % 40:016x}", "read", 4])
            body = json.dumps({"type": "readpoint.usage", "device_id": device_id, "from": 1,
                               "to": events_per_box, "hours": hours, "missed": []}).encode()
            answer = session.post(f"{url}/v1/devices/{device_id}/batches", data=body,
                                  headers={"Authorization": f"Bearer {token}", SIGNATURE_HEADER: key.sign(body),
                                           "Content-Type": "application/json"}, timeout=60)
            if answer.status_code != 200:
                failures.append(answer.status_code)

    started = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} batches refused: {failures[:5]}")
    return time.monotonic() - started


def _hub_with_devices(hub_dir: Path, boxes: int, database_url: str) -> list[tuple]:
    """A hub folder with ``boxes`` enrolled devices and live tokens (set up directly, not timed)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.hub.app import _hash
    from sync.hub.hub import Hub, code_hash, init_hub
    from sync.signing import SigningKey

    init_hub(hub_dir)
    if database_url:
        (hub_dir / "readpoint.toml").write_text(f'hub_database_url = "{database_url}"\n')
    hub = Hub(hub_dir)
    devices = []
    for i in range(boxes):
        code = secrets.token_hex(6)
        hub.storage.add_code(code_hash(code), f"box {i}", 3600)
        device_id = f"{i:016x}"
        devices_key = SigningKey(Ed25519PrivateKey.generate())
        hub.storage.enroll(code_hash(code), device_id, devices_key.public_b64)
        token = secrets.token_urlsafe(16)
        hub.storage.add_token(_hash(token), device_id, 7200)
        devices.append((device_id, devices_key, token))
    hub.close()
    return devices


def bench_usage(runs: int, boxes: int, events: int, backends: list[str]) -> dict:
    """Events/s into the hub's API (``readpoint hub serve`` in a child) from ``boxes`` boxes."""
    out = {}
    for backend in backends:
        rates = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                postgres = None
                url = ""
                if backend == "postgresql":
                    from tests.postgres_server import PostgresServer

                    postgres = PostgresServer()
                    url = postgres.create_database("bench")
                try:
                    devices = _hub_with_devices(Path(tmp) / "hub", boxes, url)
                    from bench.common import free_port

                    port = free_port()
                    proc = subprocess.Popen([*READPOINT, "hub", "serve", "--data", str(Path(tmp) / "hub"),
                                             "--host", "127.0.0.1", "--port", str(port)], cwd=REPO,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    base = f"http://127.0.0.1:{port}"
                    for _ in range(300):
                        try:
                            requests.get(base + "/v1/releases/latest", timeout=1)
                            break
                        except requests.ConnectionError:
                            time.sleep(0.1)
                    try:
                        seconds = _ingest(base, devices, events, threads=8)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
                    rates.append(boxes * events / seconds)
                finally:
                    if postgres:
                        postgres.stop()
        out[backend] = {"boxes": boxes, "events_per_box": events, "events_per_second": round(median(rates))}
    return out


def main() -> None:
    """Run the chosen benchmarks and print their figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="*", default=["uptodate", "resume", "apply", "usage"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--books", type=int, default=2000)
    parser.add_argument("--boxes", type=int, default=5000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    figures = {}
    for name in args.which:
        print(f"running {name} ...", file=sys.stderr)
        if name == "uptodate":
            figures[name] = bench_uptodate(args.runs)
        elif name == "resume":
            figures[name] = bench_resume(args.runs, args.mb)
        elif name == "apply":
            figures[name] = bench_apply(args.runs, args.books)
        elif name == "usage":
            figures[name] = bench_usage(args.runs, args.boxes, args.events, args.backends.split(","))
        print(json.dumps({name: figures[name]}), file=sys.stderr)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
