"""Phone pages under load: the home page and an EPUB chapter page, 20 connections, gzip accepted.

Loads a small generated library (a few dozen EPUBs, a PDF, an audiobook) into
a fresh data directory, starts ``readpoint serve`` on 127.0.0.1, warms the
chapter cache, and runs wrk three times per page. Reports requests/s and p99
latency, medians of the runs. Targets: home ≥ 500 req/s, chapter ≥ 200 req/s.

Run: ``.venv/bin/python bench/pages.py [--seconds 10] [--runs 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.common import measure, start_server, stop_server  # noqa: E402

TARGETS = {"home": 500, "chapter": 200}


def build_library(data_dir: Path, source: Path, books: int = 40) -> dict[str, str]:
    """Generate and import the benchmark library; return the phone test library's ids."""
    from content.library import Library
    from content.ingest.run import import_paths
    from tests.media import make_epub
    from tests.phone_library import build_phone_library

    library = Library(data_dir)
    try:
        ids = build_phone_library(library, source / "phone")
        extra = source / "extra"
        extra.mkdir()
        paragraph = "<p>Bà con nông dân trong xã chăm sóc ruộng lúa, vườn rau và ao cá quanh năm. </p>" * 40
        for number in range(books):
            make_epub(extra / f"book-{number}.epub", title=f"Sách số {number}", identifier=f"urn:bench:{number}",
                      subjects=["Nông nghiệp" if number % 2 else "Sức khỏe"],
                      chapters=[(f"Chương {i}", paragraph) for i in range(1, 6)])
        import_paths(library, [extra])
    finally:
        library.close()
    return ids


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
        ids = build_library(data, Path(tmp))
        proc, url, _ = start_server(data)
        try:
            pages = {"home": url + "/", "chapter": f"{url}/read/{ids['lua']}/2"}
            for page_url in pages.values():
                assert requests.get(page_url, timeout=10).status_code == 200, page_url
            rows = {}
            for name, page_url in pages.items():
                print(f"{name}: {page_url}", flush=True)
                rows[name] = measure(page_url, options.runs, options.seconds)
        finally:
            stop_server(proc)
    print()
    print(f"| page (median of {options.runs} × {options.seconds} s, 20 connections, gzip) "
          "| req/s | p99 ms | target req/s | non-2xx |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        print(f"| {name} | {row['rps']:.0f} | {row['p99_ms']:.1f} | ≥ {TARGETS[name]} | {row['non_2xx']} |")


if __name__ == "__main__":
    main()
