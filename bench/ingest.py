"""Import benchmark: 500 generated EPUBs through ``readpoint import`` while the server serves.

    .venv/bin/python bench/ingest.py [--books 500] [--runs 3] [--rate 20] [--profile]

Generates (once, seeded) a folder of ``--books`` EPUBs of ~200 KB each: several
chapters of Vietnamese-looking prose (real common words, tones, punctuation),
NCX and nav, a JPEG cover on every other book. Then, ``--runs`` times, on a fresh
data directory: starts ``readpoint serve --no-starter`` on 127.0.0.1, measures the
home page idle, runs ``readpoint import SOURCE --json`` in a subprocess (search
indexing included: the FTS5 engine is written in the import's transactions) while a
client thread fetches ``/`` at a steady ``--rate`` per second, and reports

- books/s: books imported divided by the wall time of the whole command
  (interpreter start-up included);
- CPU time per book of the importer and its reader processes (``wait4``), which a
  busy shared machine disturbs less than wall time;
- the importer's peak RSS: the ``readpoint import`` process (``ru_maxrss`` from
  ``wait4``) and the largest of its reader processes (``VmHWM`` sampled from /proc), and the peak
  of their summed RSS;
- the home page's p50/p95 latency during the import (and idle, for comparison);
- that ``readpoint check`` is clean afterwards.

Prints one line per run and a table of medians. ``--text-kb N`` makes books with
about N KB of text each and fills the rest of the ~200 KB with illustrations
(a picture book rather than a novel). ``--profile`` instead imports the folder
once in this process under cProfile and prints the top functions. Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
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

import requests  # noqa: E402

from bench.common import start_server, stop_server  # noqa: E402
from tests.media import make_epub  # noqa: E402

READPOINT = [sys.executable, "-m", "readpoint.cli"]

# Common Vietnamese words (NFC), so the text looks and analyses like the real thing.
WORDS = """
và của là có không những một các được cho người trong này đã với như khi đến
cũng để ra nhiều thì lại ở nhà làm nói về năm đi còn sẽ rất sau mới nên vào
đó nhưng từ bà ông em anh chị con cháu làng xã bản ruộng lúa nước gà lợn trâu
bò cá rau ngô sắn khoai đất trời mưa nắng gió núi rừng suối sông đường chợ
trường học thầy cô giáo sách đọc viết chữ tiếng kể chuyện ngày đêm sáng chiều
tối mùa xuân hạ thu đông cây lá hoa quả hạt giống phân bón cày cấy gặt hái
thóc gạo cơm ăn uống ngủ thức dậy bếp lửa củi than mẹ cha ông bà tổ tiên
đình chùa lễ hội tết múa hát khèn sáo trống chiêng áo váy khăn nón bạc
vàng đỏ xanh trắng đen tím nâu biết hiểu nghĩ nhớ quên thương yêu giận vui
buồn sợ mừng khóc cười chạy nhảy leo trèo bơi lội tắm giặt may vá dệt thêu
sức khỏe thuốc bệnh đau sốt ho tiêm chủng trạm y tế bác sĩ y tá sạch sẽ rửa
tay xà phòng nước sôi để nguội màn ngủ muỗi ruồi chuột phòng tránh bảo vệ
chăm sóc nuôi dạy trẻ nhỏ lớn già trẻ khỏe yếu giàu nghèo đủ thiếu được mùa
mất mùa hạn hán lũ lụt sạt lở an toàn nguy hiểm cẩn thận giúp đỡ cùng nhau
cộng đồng thôn bản hợp tác kỹ thuật giống mới năng suất thu hoạch bảo quản
""".split()
NAMES = ["Nguyễn Thị Hoa", "Lò Văn Páo", "Hà Thị Mai", "Cầm Bá Thước", "Vàng A Sình", "Lường Thị Đào",
         "Trần Văn Bình", "Đinh Thị Lụa", "Lê Quang Đạo", "Sùng Seo Chứ"]
SUBJECTS = ["Nông nghiệp", "Sức khỏe", "Thiếu nhi", "Văn hóa", "Pháp luật", "Truyện cổ tích"]
TARGET_BYTES = 200 * 1024


class Prose:
    """Seeded Vietnamese-looking sentences with a Zipf-like choice of words."""

    def __init__(self, seed: int):
        """Shuffle the vocabulary with ``seed`` and weight words by rank."""
        self.random = random.Random(seed)
        self.words = list(dict.fromkeys(unicodedata.normalize("NFC", w) for w in WORDS))
        self.random.shuffle(self.words)
        self.weights = [1.0 / (rank + 3) for rank in range(len(self.words))]

    def sentence(self) -> str:
        """One sentence of 6-20 words, capitalised, with a comma now and then."""
        words = self.random.choices(self.words, weights=self.weights, k=self.random.randint(6, 20))
        for index in range(4, len(words) - 1, self.random.randint(5, 9)):
            words[index] += ","
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.random.choice([".", ".", ".", "!", "?"])

    def paragraph(self) -> str:
        """Three to eight sentences."""
        return " ".join(self.sentence() for _ in range(self.random.randint(3, 8)))

    def title(self) -> str:
        """A short title."""
        words = self.random.choices(self.words, weights=self.weights, k=self.random.randint(2, 6))
        return " ".join(words).capitalize()


def _cover(seed: int) -> bytes:
    """A ~40 KB JPEG cover with some texture, so it compresses like a photo would."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (500, 750), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(500), rng.randrange(750)
        draw.ellipse((x, y, x + rng.randrange(5, 60), y + rng.randrange(5, 60)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def make_book(path: Path, number: int, text_kb: int | None = None) -> int:
    """Write book ``number`` (~200 KB) at ``path``; return its size in bytes.

    Text fills what the cover leaves of the 200 KB, or is ``text_kb`` KB with
    illustrations filling the rest.
    """
    prose = Prose(number)
    cover = _cover(number) if number % 2 == 0 else None
    budget = TARGET_BYTES - (len(cover) if cover else 0)
    # deflate packs this prose ~2.9:1; aim the raw text at the remaining budget
    raw_target = int(budget * 2.9) if text_kb is None else text_kb * 1024
    pictures: dict[str, bytes] = {}
    while text_kb is not None and budget - raw_target // 3 - sum(map(len, pictures.values())) > 20_000:
        pictures[f"OEBPS/images/hinh-{len(pictures)}.jpg"] = _cover(number * 100 + len(pictures) + 1)
    chapter_count = prose.random.randint(4, 12)
    chapters = []
    per_chapter = raw_target // chapter_count
    for index in range(chapter_count):
        paragraphs, size = [], 0
        while size < per_chapter:
            paragraph = prose.paragraph()
            paragraphs.append(f"<p>{paragraph}</p>")
            size += len(paragraph.encode("utf-8")) + 7
        chapters.append((f"Chương {index + 1}: {prose.title()}", "\n".join(paragraphs)))
    make_epub(
        path,
        title=f"{prose.title()} (tập {number + 1})",
        authors=[prose.random.choice(NAMES)],
        subjects=[prose.random.choice(SUBJECTS)],
        description=prose.paragraph(),
        publisher="Nhà xuất bản Văn hóa Dân tộc",
        date=f"{2000 + number % 24}-0{1 + number % 9}-15",
        identifier=f"urn:uuid:bench-{number:06d}",
        chapters=chapters,
        cover=cover,
        extra_files=pictures,
    )
    return path.stat().st_size


def generate(folder: Path, books: int, text_kb: int | None) -> float:
    """Fill ``folder`` with ``books`` EPUBs (kept if already there); return the mean size in KB."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in range(books) if not _book_path(folder, n).exists()]
    with multiprocessing.Pool(os.cpu_count()) as pool:
        pool.starmap(make_book, [(_book_path(folder, n), n, text_kb) for n in missing])
    return statistics.mean(_book_path(folder, n).stat().st_size for n in range(books)) / 1024


def _book_path(folder: Path, number: int) -> Path:
    """Where book ``number`` of the generated folder lives."""
    return folder / f"sach-{number:04d}.epub"


class PageSampler(threading.Thread):
    """Fetch one URL at a steady rate on a new connection each time; keep the latencies."""

    def __init__(self, url: str, rate: float):
        """Sample ``url`` ``rate`` times a second until :meth:`stop`."""
        super().__init__(daemon=True)
        self.url, self.interval = url, 1.0 / rate
        self.latencies: list[float] = []
        self.failures = 0
        self.halted = threading.Event()

    def run(self) -> None:
        """Request, record, wait for the next tick (no catch-up bursts)."""
        next_tick = time.monotonic()
        while not self.halted.is_set():
            started = time.monotonic()
            try:
                response = requests.get(self.url, timeout=30, headers={"Accept-Encoding": "gzip"})
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.monotonic() - started
            if ok:
                self.latencies.append(elapsed * 1000)
            else:
                self.failures += 1
            next_tick = max(next_tick + self.interval, time.monotonic())
            self.halted.wait(max(0.0, next_tick - time.monotonic()))

    def stop(self) -> None:
        """End the loop and wait for the thread."""
        self.halted.set()
        self.join(timeout=60)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _status_kb(pid: int, field_name: str) -> int:
    """A ``kB`` field of /proc/PID/status (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    """Child processes of ``pid`` and theirs (from /proc)."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


class MemorySampler(threading.Thread):
    """Samples the RSS of a process and its descendants every 50 ms."""

    def __init__(self, pid: int):
        """Watch ``pid`` until :meth:`stop`."""
        super().__init__(daemon=True)
        self.pid = pid
        self.child_peak_kb = 0
        self.sum_peak_kb = 0
        self.halted = threading.Event()

    def run(self) -> None:
        """Keep the highest child VmHWM and the highest summed VmRSS seen."""
        while not self.halted.wait(0.05):
            children = _descendants(self.pid)
            for child in children:
                self.child_peak_kb = max(self.child_peak_kb, _status_kb(child, "VmHWM"))
            total = sum(_status_kb(pid, "VmRSS") for pid in [self.pid, *children])
            self.sum_peak_kb = max(self.sum_peak_kb, total)

    def stop(self) -> None:
        """End the sampling."""
        self.halted.set()
        self.join(timeout=10)


def run_import(data_dir: Path, source: Path) -> tuple[float, dict, dict]:
    """``readpoint import SOURCE --json`` in a child; return (seconds, peak RSS MB by process, report)."""
    started = time.monotonic()
    proc = subprocess.Popen(READPOINT + ["import", str(source), "--json", "--data", str(data_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    memory = MemorySampler(proc.pid)
    memory.start()
    out = proc.stdout.read()
    memory.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        raise RuntimeError(f"readpoint import exited {proc.returncode}")
    peaks = {"main": usage.ru_maxrss / 1024, "reader": memory.child_peak_kb / 1024,
             "sum": memory.sum_peak_kb / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}
    return seconds, peaks, json.loads(out)


def one_run(source: Path, books: int, rate: float) -> dict:
    """One measured run on a fresh data directory."""
    with tempfile.TemporaryDirectory(prefix="readpoint-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        proc, url, _ = start_server(data_dir, "--no-starter")
        try:
            idle = PageSampler(url + "/", rate)
            idle.start()
            time.sleep(3)
            idle.stop()
            sampler = PageSampler(url + "/", rate)
            sampler.start()
            seconds, peaks, report = run_import(data_dir, source)
            sampler.stop()
        finally:
            stop_server(proc)
        check = subprocess.run(READPOINT + ["check", "--data", str(data_dir)], cwd=ROOT,
                               capture_output=True, text=True)
    imported = len(report["imported"])
    if imported != books:
        raise RuntimeError(f"only {imported} of {books} books imported: {report['rejected'][:3]}")
    return {
        "seconds": seconds,
        "books_per_s": imported / seconds,
        "cpu_ms_per_book": peaks["cpu_s"] * 1000 / imported,
        "peak_main_mb": peaks["main"],
        "peak_reader_mb": peaks["reader"],
        "peak_sum_mb": peaks["sum"],
        "p50_ms": percentile(sampler.latencies, 0.50),
        "p95_ms": percentile(sampler.latencies, 0.95),
        "idle_p95_ms": percentile(idle.latencies, 0.95),
        "pages": len(sampler.latencies),
        "failures": sampler.failures,
        "check_ok": check.returncode == 0,
    }


def profile(source: Path) -> None:
    """Import ``source`` once in this process under cProfile; print the top of the profile."""
    import cProfile
    import pstats

    from content.ingest.run import import_paths
    from content.library import Library

    with tempfile.TemporaryDirectory(prefix="readpoint-bench-") as tmp:
        library = Library(Path(tmp) / "data")
        profiler = cProfile.Profile()
        started = time.monotonic()
        profiler.enable()
        report = import_paths(library, [source])
        profiler.disable()
        seconds = time.monotonic() - started
        library.close()
    print(f"{len(report.imported)} books in {seconds:.1f} s: {len(report.imported) / seconds:.1f} books/s")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    """Parse the options, generate the books, run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="home page requests per second")
    parser.add_argument("--source", type=Path, default=Path(tempfile.gettempdir()) / "readpoint-bench-epubs")
    parser.add_argument("--text-kb", type=int, default=None,
                        help="KB of text per book, illustrations filling the rest (default: all text)")
    parser.add_argument("--profile", action="store_true", help="profile one in-process import instead")
    options = parser.parse_args()
    source = options.source / (f"{options.books}" + (f"-text{options.text_kb}" if options.text_kb else ""))
    started = time.monotonic()
    mean_kb = generate(source, options.books, options.text_kb)
    print(f"{options.books} EPUBs, mean {mean_kb:.0f} KB, in {source} "
          f"({time.monotonic() - started:.1f} s to generate or find)", flush=True)
    if options.profile:
        profile(source)
        return
    results = []
    for number in range(options.runs):
        result = one_run(source, options.books, options.rate)
        results.append(result)
        print(f"run {number + 1}: {result['seconds']:.1f} s, {result['books_per_s']:.1f} books/s "
              f"({result['cpu_ms_per_book']:.0f} ms CPU per book, importer and reader), "
              f"peak RSS {result['peak_main_mb']:.0f} MB, largest reader {result['peak_reader_mb']:.0f} MB "
              f"(sum {result['peak_sum_mb']:.0f} MB), home p50 {result['p50_ms']:.1f} ms "
              f"p95 {result['p95_ms']:.1f} ms ({result['pages']} pages, {result['failures']} failed; "
              f"idle p95 {result['idle_p95_ms']:.1f} ms), check {'ok' if result['check_ok'] else 'FAILED'}",
              flush=True)
    med = {key: statistics.median(r[key] for r in results) for key in results[0] if key != "check_ok"}
    print()
    print(f"| measure (median of {options.runs}; {options.books} EPUBs, ~{mean_kb:.0f} KB) | value | target |")
    print("| --- | --- | --- |")
    print(f"| books/s, whole `readpoint import` incl. search indexing | {med['books_per_s']:.1f} | ≥ 50 |")
    print(f"| CPU per book, importer + reader processes (ms) | {med['cpu_ms_per_book']:.0f} | |")
    print(f"| importer peak RSS (MB): `readpoint import` process | {med['peak_main_mb']:.0f} | < 300 |")
    print(f"| importer peak RSS (MB): largest reader process | {med['peak_reader_mb']:.0f} | |")
    print(f"| importer peak RSS (MB): all together (sampled) | {med['peak_sum_mb']:.0f} | < 300 |")
    print(f"| home page p95 during the import (ms) | {med['p95_ms']:.1f} | < 200 |")
    print(f"| home page p50 during the import (ms) | {med['p50_ms']:.1f} | |")
    print(f"| home page p95 idle (ms) | {med['idle_p95_ms']:.1f} | |")
    print(f"| failed page requests (all runs) | {sum(r['failures'] for r in results)} | 0 |")
    print(f"| `readpoint check` clean after every run | {all(r['check_ok'] for r in results)} | True |")


if __name__ == "__main__":
    main()
