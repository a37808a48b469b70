"""The librarian's statistics page with a year of usage from 500 phones a day: p95 and page weight.

Builds a data directory with 50 books and a year of usage events as 500
phones a day would leave them (about 8 events each: views, reads, listens,
downloads, searches, searches that found nothing; 1.4 million events in all)
plus a phones-per-hour count for every hour, starts ``readpoint serve`` on
127.0.0.1, logs in as a librarian and asks for ``/admin/stats``:

- first, in this process, the one-time count of the whole year's events into
  the daily tables (what a box upgraded with a year of uncounted events does, a
  chunk per flush; a box running this version counts as events are flushed);
- then ``--requests`` views of the 30-day page and of the 365-day page, each
  after ``--new-events`` new events arrived (as the box's flush would write
  them), so every view also adds up what came since the last one.

Reports p50/p95 per page as medians of ``--runs`` runs, and the page's HTML
on the wire (gzip). Goal: p95 < 200 ms.

Run: ``.venv/bin/python bench/admin_stats.py [--phones 500] [--days 365] [--runs 3]``
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import median, start_server, stop_server  # noqa: E402

NAME, PASSWORD = "bench", "bench password"
GOAL_MS = 200
KINDS_PER_PHONE = (("view", 2.5), ("read", 1.8), ("listen", 0.6), ("download", 0.5), ("search", 1.6),
                   ("search_empty", 0.4))
MISSED = ["phân bón", "thuốc trừ sâu", "nuôi cá", "trồng nấm", "luật đất đai", "truyện tranh", "tiếng anh",
          "chăn nuôi lợn", "cà phê", "sửa xe máy"]


def build(data_dir: Path, source: Path, *, phones: int, days: int, seed: int = 7) -> tuple[int, list[str]]:
    """Books, a year of events and hourly phone counts; return (events, book ids)."""
    from content.catalog import usage
    from content.catalog.librarians import Librarians
    from content.ingest.run import import_paths
    from content.library import Library
    from tests.media import make_epub

    source.mkdir(parents=True)
    for number in range(50):
        make_epub(source / f"{number:02d}.epub", title=f"Sách số {number}", language="vi",
                  identifier=f"urn:uuid:bench-{number}", chapters=[("Một", f"<p>Sách {number}.</p>")])
    library = Library(data_dir)
    try:
        ids = [entry["id"] for entry in import_paths(library, [source]).imported]
        Librarians(library.catalog).create_first(NAME, PASSWORD)
        rng = random.Random(seed)
        popular = rng.sample(ids, len(ids))
        weights = [1 / (rank + 1) for rank in range(len(popular))]
        start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
        total = 0
        for day in range(days):
            events = []
            for _phone in range(phones):
                hour = start + timedelta(days=day, hours=rng.choice((1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14)))
                for kind, mean in KINDS_PER_PHONE:
                    for _ in range(int(mean) + (rng.random() < mean % 1)):
                        at = (hour + timedelta(minutes=rng.randrange(60))).isoformat(timespec="seconds")
                        book = rng.choices(popular, weights)[0] if kind in ("view", "read", "listen", "download") else None
                        detail = rng.choice(MISSED) if kind == "search_empty" else ""
                        events.append({"at": at, "kind": kind, "book_id": book, "detail": detail})
            total += usage.record(library.catalog, events)
        with library.catalog.write() as db:
            db.conn.executemany(
                "INSERT INTO usage_hours (hour, phones) VALUES (?, ?)",
                [((start + timedelta(hours=h + 7)).strftime("%Y-%m-%d %H"), rng.randrange(0, phones // 6))
                 for h in range(days * 24)],
            )
        return total, ids
    finally:
        library.close()


def add_events(data_dir: Path, ids: list[str], count: int, rng: random.Random) -> None:
    """``count`` new events now (what one flush of the box writes)."""
    from content.catalog import Catalog, usage

    catalog = Catalog(data_dir / "catalog.sqlite3", migrate=False)
    try:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        usage.record(catalog, [{"at": now, "kind": rng.choice(("read", "view", "listen")), "book_id": rng.choice(ids),
                                "detail": ""} for _ in range(count)])
    finally:
        catalog.close()


def count_backlog(data_dir: Path) -> float:
    """Count every event into the daily tables; the seconds it took."""
    from content.catalog import Catalog, usage_stats

    catalog = Catalog(data_dir / "catalog.sqlite3", migrate=False)
    try:
        started = time.perf_counter()
        usage_stats.roll_up(catalog, 7)
        return time.perf_counter() - started
    finally:
        catalog.close()


def log_in(url: str) -> requests.Session:
    """A librarian's session on the server."""
    session = requests.Session()
    page = session.get(url + "/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = session.post(url + "/admin/login", data={"csrf_token": token, "name": NAME, "password": PASSWORD},
                            allow_redirects=False)
    assert response.status_code == 303, response.status_code
    return session


def timed_views(session, url: str, path: str, count: int, data_dir: Path, ids: list[str],
                new_events: int) -> tuple[list[float], int]:
    """``count`` views of ``path`` (new events before each); their times in ms, and the gzip size."""
    rng = random.Random(1)
    times, size = [], 0
    for _ in range(count):
        if new_events:
            add_events(data_dir, ids, new_events, rng)
        started = time.perf_counter()
        response = session.get(url + path, headers={"Accept-Encoding": "gzip"}, stream=True)
        body = response.raw.read(decode_content=False)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and response.headers.get("Content-Encoding") == "gzip"
        size = len(body)
    return times, size


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Build, serve, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--new-events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-admin-") as tmp:
        data_dir = Path(tmp) / "data"
        started = time.monotonic()
        total, ids = build(data_dir, Path(tmp) / "src", phones=args.phones, days=args.days)
        print(f"built: {total:,} events over {args.days} days from {args.phones} phones a day "
              f"in {time.monotonic() - started:.0f} s; catalog {(data_dir / 'catalog.sqlite3').stat().st_size / 2**20:.0f} MB")
        print(f"counting the whole year once (an upgraded box's backlog): {count_backlog(data_dir):.1f} s")
        proc, url, _ = start_server(data_dir, "--no-starter")
        try:
            session = log_in(url)
            assert session.get(url + "/admin/stats").status_code == 200
            results: dict[str, list] = {}
            for path in ("/admin/stats", "/admin/stats?days=365", "/admin/stats.csv?days=365"):
                for run in range(args.runs):
                    times, size = timed_views(session, url, path, args.requests, data_dir, ids, args.new_events)
                    results.setdefault(path, []).append((percentile(times, 0.5), percentile(times, 0.95), size))
            for path, runs in results.items():
                p50 = median([r[0] for r in runs])
                p95 = median([r[1] for r in runs])
                size = runs[-1][2]
                verdict = "ok" if p95 < GOAL_MS else "OVER the goal"
                print(f"{path:28s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms ({verdict}, goal < {GOAL_MS} ms)  "
                      f"gzip {size / 1024:.1f} KB  (medians of {args.runs} runs of {args.requests}, "
                      f"{args.new_events} new events before each)")
        finally:
            stop_server(proc)


if __name__ == "__main__":
    main()
