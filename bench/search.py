"""Benchmark the search engines side by side on one generated corpus.

    .venv/bin/python bench/search.py [--books 10000] [--fulltext 1000] [--queries 200]
    .venv/bin/python bench/search.py --books 2000 --fulltext 200 --wrk --names --engines fts5

Generates a catalog of ``--books`` books (synthetic Vietnamese with tones, some Thai
and Tai Viet; ``--fulltext`` of them with ~5,000 words of chapter text), then for
each engine: builds the index in a child process (time, size, peak RSS), then in
another child serves the app with waitress on 127.0.0.1 and times ``--queries``
mixed ``GET /api/search`` requests after ten warm-up ones (p50/p95/max, peak RSS
of the serving process). ``--in-process`` times ``SearchIndex.search`` directly
instead. Prints a table. Not part of the test suite.

``--wrk`` serves each engine with ``readpoint serve`` (its default 8 threads) and loads
it with wrk (20 connections, 10 s, cycling through the same query mix; three runs,
median): p50/p95/p99 latency, requests/s, the server's RSS after the runs and at
peak. ``--names`` also reports the rank of the right book and the counts for the
planted name and phrase queries (:mod:`bench.search_names`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_names  # noqa: E402
from bench.common import median, peak_rss_mb, rss_mb, start_server, stop_server  # noqa: E402
from content.catalog import Catalog  # noqa: E402
from content.search import SearchQuery, open_search_index  # noqa: E402

ONSETS = "b c ch d đ g gi h k kh l m n ng nh p ph qu r s t th tr v x".split() + [""]
RHYMES = (
    "a ai am an ang anh ao au ay e em en eo i ia im in inh iu o oi om on ong u ui um un ung "
    "ư ưa ươc ương ưng ơ ơi ơn ô ôi ông ê ên ênh â ân âng ăn ăng uyên iêt iêng oa oan oang"
).split()
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
THAI_WORDS = "ห้องสมุด ประชาชน หนังสือ อ่าน เกษตร ข้าว น้ำ สุขภาพ โรงเรียน ครู เด็ก ชุมชน".split()
TAI_VIET = ["ꪼꪒꪣ", "ꪀꪱꪉ", "ꪹꪀꪷꪉ", "ꪜꪮꪉ", "ꪙꪾ", "ꪹꪣꪉ", "ꪎꪲꪉ", "ꪕꪮꪥ"]
SUBJECTS = ["Nông nghiệp", "Sức khỏe", "Pháp luật", "Thiếu nhi", "Văn hóa", "Ngôn ngữ", "Lịch sử"]
CATEGORIES = ["farming", "health", "law", "children", "culture", "language", "other"]


def _syllable(onset: str, rhyme: str, tone: str) -> str:
    """One Vietnamese-looking syllable, the tone on its first vowel."""
    for index, char in enumerate(rhyme):
        if char in "aăâeêioôơuưy":
            rhyme = rhyme[: index + 1] + tone + rhyme[index + 1 :]
            break
    return unicodedata.normalize("NFC", onset + rhyme)


class Corpus:
    """A seeded generator of book metadata and text with a Zipf-like word distribution."""

    def __init__(self, seed: int = 7):
        """Build the syllable vocabulary."""
        self.random = random.Random(seed)
        words = sorted({_syllable(o, r, t) for o in ONSETS for r in RHYMES for t in TONES})
        self.random.shuffle(words)
        self.words = words
        total = 0.0
        self.cumulative = []
        for rank in range(len(words)):
            total += 1.0 / (rank + 4)  # Zipf-Mandelbrot: the commonest word is ~3% of text
            self.cumulative.append(total)

    def text(self, count: int) -> str:
        """``count`` words with punctuation now and then."""
        words = self.random.choices(self.words, cum_weights=self.cumulative, k=count)
        for index in range(12, count, 13):
            words[index] += self.random.choice([",", ".", ";", ""])
        return " ".join(words)

    def book(self, number: int, fulltext: bool) -> tuple[dict, list[tuple[int, str]], list[str]]:
        """Row, chapter texts and categories of book ``number``."""
        rng = self.random
        roll = rng.random()
        language = "vi" if roll < 0.9 else ("th" if roll < 0.96 else "blt")
        if language == "th":
            title = "".join(rng.sample(THAI_WORDS, 3))
        elif language == "blt":
            title = " ".join(rng.choices(TAI_VIET, k=3))
        else:
            title = self.text(rng.randint(3, 8)).capitalize()
        row = {
            "id": f"{number:016x}",
            "title": title,
            "sort_title": title.lower(),
            "authors": [self.text(3).title()],
            "language": language,
            "description": self.text(rng.randint(20, 80)),
            "publisher": "Nhà xuất bản " + self.text(2).title(),
            "subjects": rng.sample(SUBJECTS, rng.randint(1, 2)),
            "format": rng.choice(["epub", "epub", "pdf", "audio"]),
        }
        texts = []
        if fulltext:
            texts = [(position, self.text(500)) for position in range(10)]
        return row, texts, rng.sample(CATEGORIES, 1)


def generate(catalog: Catalog, books: int, fulltext: int) -> None:
    """Fill ``catalog`` with ``books`` books, every ``books // fulltext``-th with full text."""
    corpus = Corpus()
    step = max(1, books // fulltext) if fulltext else 0
    for start in range(0, books, 1000):
        with catalog.write():
            for number in range(start, min(books, start + 1000)):
                row, texts, categories = corpus.book(number, bool(step) and number % step == 0)
                catalog.insert_book(row, files=[], chapters=[], texts=texts, categories=categories)


def make_queries(catalog: Catalog, count: int, seed: int = 11) -> list[dict]:
    """A mix of real-world shaped queries drawn from the catalog's own text."""
    rng = random.Random(seed)
    db = catalog.db
    titles = [r[0] for r in db.execute("SELECT title FROM books WHERE language = 'vi' LIMIT 5000")]
    bodies = [r[0] for r in db.execute("SELECT text FROM chapter_texts LIMIT 300")]

    def fold(text: str) -> str:
        """Text as typed without tone marks."""
        stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
        return stripped.replace("đ", "d").replace("Đ", "D")

    def title_words(k: int) -> str:
        """``k`` consecutive words of a random title."""
        words = rng.choice(titles).split()
        start = rng.randrange(max(1, len(words) - k + 1))
        return " ".join(words[start : start + k])

    def body_words(k: int) -> str:
        """``k`` consecutive words of a random chapter."""
        words = rng.choice(bodies).split()
        start = rng.randrange(len(words) - k)
        return " ".join(w.strip(",.;") for w in words[start : start + k])

    makers = [
        (30, lambda: {"q": fold(title_words(1))}),
        (35, lambda: {"q": fold(title_words(2))}),
        (25, lambda: {"q": title_words(2)}),
        (15, lambda: {"q": title_words(3).upper()}),
        (25, lambda: {"q": fold(body_words(2))}),
        (15, lambda: {"q": '"' + body_words(3) + '"'}),
        (15, lambda: {"q": fold(title_words(1)) + "xq"}),
        (10, lambda: {"q": rng.choice(THAI_WORDS)}),
        (5, lambda: {"q": rng.choice(TAI_VIET)}),
        (15, lambda: {"q": fold(title_words(1)), "lang": "vi", "category": rng.choice(CATEGORIES)}),
        (10, lambda: {"q": fold(title_words(2)), "format": "pdf", "page": 2}),
    ]
    population = [maker for weight, maker in makers for _ in range(weight)]
    return [rng.choice(population)() for _ in range(count)]


def _directory_size(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _fts5_size(catalog: Catalog) -> int:
    """Bytes of the FTS5 tables (pages counted through dbstat when available)."""
    try:
        row = catalog.db.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_%'"
        ).fetchone()
        return int(row[0] or 0)
    except sqlite3.OperationalError:  # dbstat is optional in SQLite builds: fall back below
        return -1


def _peak_rss_mb() -> float:
    """This process's peak resident set size, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_worker(engine: str, data: Path) -> dict:
    """Rebuild one engine's index from the catalog: time, size, peak RSS (own process)."""
    catalog = Catalog(data / "catalog.sqlite3")
    index = open_search_index(engine, data)
    catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = (data / "catalog.sqlite3").stat().st_size
    started = time.perf_counter()
    indexed = index.rebuild(catalog)
    build = time.perf_counter() - started
    catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if engine == "fts5":
        size = _fts5_size(catalog)
        if size < 0:
            size = (data / "catalog.sqlite3").stat().st_size - before
    else:
        size = _directory_size(data / "index")
    index.close()
    catalog.close()
    return {"engine": engine, "books": indexed, "build_s": build, "size_mb": size / 1e6,
            "build_rss_mb": _peak_rss_mb()}


def _timed(run, queries: list[dict]) -> dict:
    """Warm up on ten queries, then time each query; latency figures in ms."""
    for item in queries[:10]:
        run(item)
    timings, timeouts, empty = [], 0, 0
    for item in queries:
        started = time.perf_counter()
        data = run(item)
        timings.append((time.perf_counter() - started) * 1000)
        timeouts += bool(data["timed_out"])
        empty += data["total"] == 0
    timings.sort()
    return {"p50_ms": statistics.median(timings), "p95_ms": timings[int(len(timings) * 0.95) - 1],
            "max_ms": timings[-1], "timeouts": timeouts, "empty": empty}


def serve_worker(engine: str, data: Path, queries: list[dict], in_process: bool) -> dict:
    """Time the queries against a waitress server on 127.0.0.1 (or in-process); peak RSS."""
    if in_process:
        catalog = Catalog(data / "catalog.sqlite3")
        index = open_search_index(engine, data)
        figures = _timed(lambda item: index.search(catalog, _query(item)).to_json(), queries)
        return dict(figures, serve_rss_mb=_peak_rss_mb(), mode="in-process")
    import requests
    from readpoint.app import create_app
    from readpoint.server import make_server

    app = create_app({"search_engine": engine}, data_dir=data)
    server = make_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/api/search"
    with requests.Session() as session:
        def run(item: dict) -> dict:
            """One API request."""
            response = session.get(url, params=item, timeout=30)
            response.raise_for_status()
            return response.json()

        figures = _timed(run, queries)
    _stop(server)
    return dict(figures, serve_rss_mb=_peak_rss_mb(), mode="waitress 127.0.0.1")


def _stop(server) -> None:
    """Stop waitress from its own loop thread once the workers are done (no EBADF on exit)."""
    from waitress import wasyncore

    server.task_dispatcher.shutdown()
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))


def _query(item: dict) -> SearchQuery:
    """A SearchQuery from a generated query description (the API's arguments)."""
    return SearchQuery(
        item["q"], lang=item.get("lang"), format=item.get("format"),
        category=item.get("category"), page=item.get("page", 1),
    )


def _child(*arguments: str) -> dict:
    """Run this script with ``arguments`` in a new process; its last line of output as JSON."""
    command = [sys.executable, __file__, *arguments]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


# Cycles through the queries; counts answers cut short ("timed_out": true), which are quick
# and would otherwise flatter requests/s; prints the 50th, 95th and 99th percentiles.
WRK_SCRIPT = """
local paths = %s
local counter = 0
local threads = {}
cut = 0
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
response = function(status, headers, body)
  if string.find(body, '"timed_out":true', 1, true) or string.find(body, '"timed_out": true', 1, true) then
    cut = cut + 1
  end
end
done = function(summary, latency, requests)
  local total_cut = 0
  for _, thread in ipairs(threads) do
    total_cut = total_cut + thread:get("cut")
  end
  io.write(string.format("PERCENTILES %%f %%f %%f %%d\\n", latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, total_cut))
end
"""


def _lua_string(text: str) -> str:
    """A Lua string literal (ASCII: the paths are percent-encoded)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_worker(engine: str, data: Path, queries: list[dict], runs: int, seconds: int,
               connections: int, names: bool) -> dict:
    """Serve ``engine`` with ``readpoint serve`` and load it with wrk; medians of ``runs``."""
    import re
    from urllib.parse import urlencode

    paths = ["/api/search?" + urlencode(item) for item in queries]
    script = data / "search.lua"
    script.write_text(WRK_SCRIPT % ("{" + ", ".join(map(_lua_string, paths)) + "}"), "utf-8")
    env = dict(os.environ, READPOINT_SEARCH_ENGINE=engine)
    proc, url, _ = start_server(data, "--no-starter", env=env)
    try:
        import requests

        for path in paths[:20]:  # warm up: caches, the first connections
            requests.get(url + path, timeout=30).raise_for_status()
        figures = []
        for _ in range(runs):
            cpu_before = _cpu_seconds(proc.pid)
            out = subprocess.run(
                ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                capture_output=True, text=True, check=True,
            ).stdout
            p50, p95, p99, cut = map(float, re.search(r"PERCENTILES (\S+) (\S+) (\S+) (\d+)", out).groups())
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            done = int(re.search(r"(\d+) requests in", out).group(1))
            cpu_ms = (_cpu_seconds(proc.pid) - cpu_before) * 1000 / max(1, done)
            figures.append({"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "timed_out": int(cut), "cpu_ms": cpu_ms,
                            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                            "non_2xx": int(errors.group(1)) if errors else 0})
        row = {key: median([f[key] for f in figures]) for key in ("p50_ms", "p95_ms", "p99_ms", "rps", "cpu_ms")}
        row.update(runs=figures, non_2xx=sum(f["non_2xx"] for f in figures),
                   timed_out=sum(f["timed_out"] for f in figures),
                   rss_mb=rss_mb(proc.pid), peak_rss_mb=peak_rss_mb(proc.pid))
        with requests.Session() as session:  # one request at a time: the latency of a search itself
            def one(item: dict) -> dict:
                """One API request."""
                response = session.get(url + "/api/search", params=item, timeout=30)
                response.raise_for_status()
                return response.json()

            alone = [_timed(one, queries) for _ in range(runs)]
        row.update(alone_p50_ms=median([a["p50_ms"] for a in alone]),
                   alone_p95_ms=median([a["p95_ms"] for a in alone]))
        if names:
            catalog = Catalog(data / "catalog.sqlite3")
            row["names"] = search_names.report(catalog, url)
            catalog.close()
        return row
    finally:
        stop_server(proc)


def _print_wrk(engine: str, row: dict, args: argparse.Namespace) -> None:
    """The wrk figures of one engine, and the name/phrase query table."""
    print(f"{engine}: books={args.books} fulltext={args.fulltext} wrk {args.connections} connections "
          f"{args.seconds} s x{args.runs} (median): p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, "
          f"p99 {row['p99_ms']:.1f} ms, {row['rps']:.0f} req/s, non-2xx {row['non_2xx']}, "
          f"cut short {row['timed_out']}, server CPU {row['cpu_ms']:.2f} ms/request, "
          f"RSS {row['rss_mb']:.0f} MB (peak {row['peak_rss_mb']:.0f} MB); one at a time: "
          f"p50 {row['alone_p50_ms']:.1f} ms, p95 {row['alone_p95_ms']:.1f} ms")
    for run in row["runs"]:
        print(f"    run: p50 {run['p50_ms']:.1f} p95 {run['p95_ms']:.1f} ms {run['rps']:.0f} req/s "
              f"CPU {run['cpu_ms']:.2f} ms/request")
    if row.get("names"):
        print(f"  {'query':22} {'form':7} {'rank':>5} {'total':>6} {'also':>7} {'brute together':>15} "
              f"{'brute also':>11}")
        for item in row["names"]:
            also = "-" if item["also"] is None else (
                f"{item['also']}" if item["also_exact"] in (None, True) else f">{item['also']}")
            print(f"  {item['query']:22} {item['form']:7} {str(item['rank']):>5} {item['total']:6d} "
                  f"{also:>7} {item['brute_together']:15d} {item['brute_also']:11d}")


def main() -> None:
    """Generate the corpus, build and serve each engine in child processes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--fulltext", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", default="fts5,whoosh")
    parser.add_argument("--data", type=Path, help="reuse or keep the corpus in this directory")
    parser.add_argument("--in-process", action="store_true", help="time SearchIndex.search, no server")
    parser.add_argument("--wrk", action="store_true", help="load `readpoint serve` with wrk instead")
    parser.add_argument("--names", action="store_true", help="with --wrk: rank and counts of planted queries")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--skip-build", action="store_true", help="with --wrk: serve the index as it is")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(build_worker(args.build, args.data)))
        return
    if args.serve:
        queries = json.loads((args.data / "queries.json").read_text("utf-8"))
        print(json.dumps(serve_worker(args.serve, args.data, queries, args.in_process)))
        return
    data = args.data or Path(tempfile.mkdtemp(prefix="readpoint-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(data / "catalog.sqlite3")
    if catalog.count_books() == 0:
        started = time.perf_counter()
        generate(catalog, args.books, args.fulltext)
        search_names.plant(catalog)
        print(f"corpus: {args.books} books ({args.fulltext} with full text) "
              f"in {time.perf_counter() - started:.0f} s, {data}", file=sys.stderr)
    queries = make_queries(catalog, args.queries)
    (data / "queries.json").write_text(json.dumps(queries, ensure_ascii=False), "utf-8")
    catalog.close()
    rows = []
    for engine in args.engines.split(","):
        if args.wrk and args.skip_build:
            row = {}
        else:
            row = _child("--build", engine, "--data", str(data))
        if args.wrk:
            if row:
                print(f"{engine}: index built in {row['build_s']:.1f} s, {row['size_mb']:.1f} MB", flush=True)
            _print_wrk(engine, wrk_worker(engine, data, queries, args.runs, args.seconds,
                                          args.connections, args.names), args)
            continue
        row.update(_child("--serve", engine, "--data", str(data), *(["--in-process"] if args.in_process else [])))
        rows.append(row)
    if rows:
        _print_table(rows, args)


def _print_table(rows: list[dict], args: argparse.Namespace) -> None:
    """The results, one line per engine."""
    print(f"books={args.books} fulltext={args.fulltext} queries={args.queries} "
          f"cpus={os.cpu_count()} queries timed: {rows[0]['mode'] if rows else '-'}")
    header = (f"{'engine':8} {'build s':>8} {'size MB':>8} {'build RSS':>9} {'serve RSS':>9} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'timeouts':>8} {'empty':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['engine']:8} {row['build_s']:8.1f} {row['size_mb']:8.1f} {row['build_rss_mb']:8.0f}M "
              f"{row['serve_rss_mb']:8.0f}M {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} {row['max_ms']:7.1f} "
              f"{row['timeouts']:8d} {row['empty']:6d}")


if __name__ == "__main__":
    main()
