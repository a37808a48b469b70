"""OPDS feeds under load: the 1.2 root, a full category feed (1.2 and 2.0), and the home page beside them.

Loads the starter collection and 60 generated EPUBs (so the farming category
fills a page of 20 entries, each with authors, summary, categories, images
and an acquisition link) into a fresh data directory, starts ``readpoint
serve`` on 127.0.0.1 and runs wrk three times per URL at 20 connections,
gzip accepted, as a reader app sends. Reports requests/s and p99 latency,
medians of the runs, and each feed's throughput as a ratio of the home page's.

Run: ``.venv/bin/python bench/opds.py [--seconds 10] [--runs 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import measure, start_server, stop_server  # noqa: E402

GENERATED_BOOKS = 60


def build_library(data_dir: Path, source: Path) -> None:
    """The starter collection and generated farming and health books."""
    from content.ingest.run import import_paths
    from content.library import Library
    from readpoint.starter import STARTER_DIR
    from tests.media import make_epub

    source.mkdir()
    summary = "Hướng dẫn bà con cách làm đất, gieo mạ, bón phân và giữ nước cho ruộng bậc thang. " * 3
    for number in range(GENERATED_BOOKS):
        make_epub(source / f"book-{number}.epub", title=f"Sổ tay nhà nông số {number}", identifier=f"urn:bench:{number}",
                  authors=[f"Trạm khuyến nông {number % 7}"], description=summary,
                  subjects=["Nông nghiệp" if number % 3 else "Sức khỏe"],
                  chapters=[(f"Chương {i}", "<p>Bà con chăm sóc ruộng lúa quanh năm.</p>") for i in range(1, 4)])
    library = Library(data_dir)
    try:
        report = import_paths(library, [STARTER_DIR, source])
        assert not report.rejected, report.rejected
    finally:
        library.close()


def main() -> None:
    """Build, serve, measure, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (data / "readpoint.toml").write_text("load_starter = false\n")
        build_library(data, Path(tmp) / "source")
        proc, url, _ = start_server(data)
        try:
            urls = {"home page /": url + "/", "OPDS 1.2 root /opds": url + "/opds",
                    "OPDS 1.2 category /opds/category/farming": url + "/opds/category/farming",
                    "OPDS 2.0 category /opds/v2/category/farming": url + "/opds/v2/category/farming"}
            sizes = {}
            for name, page_url in urls.items():
                response = requests.get(page_url, timeout=10, headers={"Accept-Encoding": "gzip"})
                assert response.status_code == 200, page_url
                sizes[name] = (len(response.content), int(response.headers.get("Content-Length", 0)))
            rows = {}
            for name, page_url in urls.items():
                print(f"{name}: {page_url}", flush=True)
                rows[name] = measure(page_url, options.runs, options.seconds)
        finally:
            stop_server(proc)
    home = rows["home page /"]["rps"]
    print()
    print(f"| URL (median of {options.runs} × {options.seconds} s, 20 connections, gzip) "
          "| req/s | p99 ms | ÷ home | bytes (gzip on the wire) | non-2xx |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        body, wire = sizes[name]
        print(f"| {name} | {row['rps']:.0f} | {row['p99_ms']:.1f} | {row['rps'] / home:.2f} "
              f"| {body:,} ({wire:,}) | {row['non_2xx']} |")


if __name__ == "__main__":
    main()
