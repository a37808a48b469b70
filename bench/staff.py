"""Staff pages benchmark: the fleet page's latency with ``--boxes`` boxes (issue 12: 5,000, p95 < 300 ms).

A hub on SQLite, then on PostgreSQL (a temporary server from Debian's packages,
as the tests use), gets ``--boxes`` enrolled boxes with a status each, a third
of them not seen for weeks. A staff member logs in and the fleet page is asked
for ``--requests`` times (first page, the stale-only view, a later page) over
HTTP on the hub's waitress server. Figures: p50 and p95 in ms, medians of
``--runs`` runs.

Run: ``.venv/bin/python bench/staff.py [--boxes 5000] [--requests 100] [--runs 3] [--engines sqlite,postgresql]``
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import median  # noqa: E402

NAME, PASSWORD = "bench", "bench password 1"
PATHS = ["/staff/", "/staff/?stale=1", "/staff/?page=20"]


def _fill(hub, boxes: int) -> None:
    """``boxes`` devices with statuses; every third one last seen 30 days ago."""
    now = hub.storage.now()
    rows = []
    for i in range(boxes):
        status = {"applied_release": i % 5, "books": 1200, "waiting_books": 0, "disk_free_bytes": 5 * 2**30,
                  "clock_offset_seconds": (i % 7) * 60 - 180, "app_version": "0.9.1",
                  "errors": ["GET /v1/time: no answer from the hub"] if i % 11 == 0 else []}
        seen = now - (30 * 86400 if i % 3 == 0 else i % 86400)
        rows.append((f"{i:016x}", f"Điểm đọc {i}", f"key-{i}", now - 90 * 86400, seen, i % 5, json.dumps(status)))
    with hub.storage.transaction() as tx:
        tx.executemany(hub.storage._sql(
            "INSERT INTO devices (device_id, name, public_key, enrolled_at, last_sync_at, applied_release, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"), rows)


def _session(url: str) -> requests.Session:
    """A logged-in staff session."""
    session = requests.Session()
    page = session.get(url + "/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = session.post(url + "/staff/login", data={"csrf_token": token, "name": NAME, "password": PASSWORD},
                          allow_redirects=False)
    assert answer.status_code == 303, answer.text
    return session


def _one_engine(root: Path, database_url: str, boxes: int, count: int, runs: int) -> dict:
    """Fill a hub and time the fleet page; medians of the runs' p50 and p95."""
    from content.catalog.librarians import hash_password
    from sync.hub.app import create_app
    from sync.hub.hub import Hub, init_hub
    from tests.conftest import LiveServer

    init_hub(root / "hub")
    if database_url:
        (root / "hub" / "readpoint.toml").write_text(f'hub_database_url = "{database_url}"\n')
    hub = Hub(root / "hub")
    hub.storage.add_staff(NAME, hash_password(PASSWORD))
    started = time.monotonic()
    _fill(hub, boxes)
    print(f"  {boxes} boxes stored in {time.monotonic() - started:.1f} s", file=sys.stderr)
    server = LiveServer(create_app(hub)).start()
    results = []
    try:
        session = _session(server.url)
        for path in PATHS:  # warm up
            assert session.get(server.url + path).status_code == 200
        for _ in range(runs):
            times = []
            for i in range(count):
                begun = time.perf_counter()
                answer = session.get(server.url + PATHS[i % len(PATHS)])
                answer.raise_for_status()
                times.append((time.perf_counter() - begun) * 1000)
            cuts = statistics.quantiles(times, n=20)
            results.append({"p50_ms": statistics.median(times), "p95_ms": cuts[18]})
        session.close()
    finally:
        server.stop()
        hub.close()
    return {key: round(median([r[key] for r in results]), 1) for key in results[0]}


def main() -> None:
    """Parse arguments, run each engine, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    figures = {"boxes": args.boxes}
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            url, server = "", None
            if engine == "postgresql":
                from tests.postgres_server import PostgresServer

                server = PostgresServer()
                url = server.create_database(f"bench_{secrets.token_hex(4)}")
            try:
                figures[engine] = _one_engine(Path(tmp), url, args.boxes, args.requests, args.runs)
            finally:
                if server is not None:
                    server.stop()
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
