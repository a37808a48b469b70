"""USB bundle benchmark: the time for a box to apply a ``--books``-book bundle (issue 12).

A hub publishes ``--books`` small EPUBs, writes one bundle, and for each of
``--runs`` runs (default 3) a fresh, enrolled box runs ``readpoint sync --bundle
DIR --json`` in a child process (seconds, the child's peak RSS). For a ratio the
same release is also applied over the network (``readpoint sync --json`` against
the hub on 127.0.0.1) by another fresh box. Figures are medians.

Run: ``.venv/bin/python bench/bundle.py [--books 500] [--runs 3] [--pad-kb 0]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, median, peak_rss_mb  # noqa: E402
from bench.sync import _sync_subprocess  # noqa: E402

READPOINT = [sys.executable, "-m", "readpoint.cli"]


def _bundle_subprocess(box_dir: Path, stick: Path) -> tuple[dict, float, float]:
    """Run ``readpoint sync --bundle`` in a child; (report, seconds, peak RSS MB of the child)."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([*READPOINT, "sync", "--data", str(box_dir), "--bundle", str(stick), "--json"],
                                cwd=REPO, stdout=out, stderr=err, text=True)
        peak = 0.0
        while proc.poll() is None:
            try:
                peak = max(peak, peak_rss_mb(proc.pid))
            except (FileNotFoundError, RuntimeError, ProcessLookupError):
                pass
            time.sleep(0.05)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"bundle sync failed: {stdout} {stderr[-2000:]}")
    return json.loads(stdout), seconds, peak


def _fresh_box(world, root: Path, name: str) -> Path:
    """A new enrolled box directory, its library closed (the child opens it)."""
    box = root / name
    box.mkdir()
    world.box_dir, world._library, world.proxy = box, None, None
    world.enroll()
    world.library.close()
    world._library = None
    return box


def bench_bundle(runs: int, books: int, pad_kb: int = 0) -> dict:
    """Apply a ``books``-book bundle ``runs`` times (fresh boxes), and the same over the network.

    ``pad_kb`` adds that many random kilobytes to each EPUB (real books are larger than the test ones).
    """
    from sync.hub.bundle import write_bundle
    from tests.sync_world import SyncWorld

    bundle_runs, network_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = SyncWorld(root)
        try:
            started = time.monotonic()
            for _ in range(books // 250):
                world.add_epubs(250, pad=pad_kb * 1024)
            if books % 250:
                world.add_epubs(books % 250, pad=pad_kb * 1024)
            world.publish()
            stick = root / "stick"
            summary = write_bundle(world.hub, stick)
            print(f"  hub: {books} books published and bundled in {time.monotonic() - started:.0f} s "
                  f"({summary['bytes'] // 2**20} MB of content)", file=sys.stderr)
            for run in range(runs):
                shutil.rmtree(stick / "READPOINT_BUNDLE" / "outbox")
                (stick / "READPOINT_BUNDLE" / "outbox").mkdir()
                report, seconds, peak = _bundle_subprocess(_fresh_box(world, root, f"usb{run}"), stick)
                assert report["books_added"] == books and report["errors"] == [], report
                bundle_runs.append({"seconds": seconds, "peak_rss_mb": peak})
                report, seconds, peak = _sync_subprocess(_fresh_box(world, root, f"net{run}"))
                assert report["books_added"] == books, report
                network_runs.append({"seconds": seconds, "peak_rss_mb": peak})
                print(f"  run {run + 1}: bundle {bundle_runs[-1]['seconds']:.1f} s, "
                      f"network {seconds:.1f} s", file=sys.stderr)
        finally:
            world.close()
    figures = {"books": books, "pad_kb": pad_kb, "bundle_bytes": summary["bytes"]}
    for name, results in (("bundle", bundle_runs), ("network", network_runs)):
        for key in results[0]:
            figures[f"{name}_{key}"] = round(median([r[key] for r in results]), 1)
    figures["bundle_over_network"] = round(figures["bundle_seconds"] / figures["network_seconds"], 2)
    return figures


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pad-kb", type=int, default=0, help="random kilobytes added to each EPUB")
    args = parser.parse_args()
    print(json.dumps(bench_bundle(args.runs, args.books, args.pad_kb), indent=1))


if __name__ == "__main__":
    main()
