"""The reader process: same verdicts as reading in-line, survives its own crash, never outlives the importer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from content.ingest.run import READER_PROCESS_MIN_BOOKS, import_paths
from content.library import Library
from tests.conftest import REPO
from tests.media import make_epub, make_jpeg, make_pdf


def _children(pid: int | str = "self") -> list[int]:
    """Process ids of the children of ``pid`` (from /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # that thread ended while we looked
            continue
    return found


def _reader_children(pid: int | str = "self") -> list[int]:
    """The reader processes among the children of ``pid``."""
    readers = []
    for child in _children(pid):
        try:
            if b"content.ingest.reader" in Path(f"/proc/{child}/cmdline").read_bytes():
                readers.append(child)
        except FileNotFoundError:
            continue
    return readers


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its new parent to reap it counts as dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def shelf(tmp_path_factory):
    """Twelve books of every kind a reader can answer: good (with and without cover), broken, a copy."""
    root = tmp_path_factory.mktemp("shelf")
    for number in range(8):
        make_epub(root / f"sach-{number}.epub", title=f"Sách {number}", subjects=["Nông nghiệp"],
                  cover=make_jpeg() if number % 2 else None,
                  chapters=[("Một", f"<p>Nội dung {number}</p>"), ("Hai", "<p>Lúa</p>")])
    make_pdf(root / "lich.pdf", pages=["Tháng một", "Tháng hai"], title="Lịch")
    (root / "sach-8.epub").write_bytes((root / "sach-3.epub").read_bytes())
    (root / "hong.epub").write_bytes(b"PK\x03\x04broken")
    make_epub(root / "drm.epub", title="Khóa", encryption_xml=(
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/ch1.xhtml"/></enc:CipherData>'
        '</enc:EncryptedData></encryption>'))
    return root


def _summary(library, report) -> dict:
    """Verdicts by file name, and what the catalog holds, for comparing two runs."""
    verdicts = {}
    for kind in ("imported", "duplicates", "rejected", "skipped"):
        for entry in getattr(report, kind):
            verdicts[Path(entry["path"]).name] = (kind, entry.get("id"), entry.get("title"), entry.get("reason"))
    books = [(b["id"], b["title"], b["thumb_sha256"], b["cover_sha256"])
             for b in library.catalog.list_books(order="title", limit=100)]
    return {"verdicts": verdicts, "books": books}


def test_reader_process_gives_the_same_verdicts_and_rows_as_in_line(shelf, tmp_path):
    summaries = []
    for processes in (0, 1, 2):
        library = Library(tmp_path / f"data-{processes}")
        seen = []
        report = import_paths(library, [shelf], reader_processes=processes,
                              progress=lambda *_: seen.append(len(_reader_children())))
        assert max(seen) == processes
        summaries.append(_summary(library, report))
        assert library.check() == []
        library.close()
    assert summaries[0] == summaries[1] == summaries[2]
    verdicts = summaries[0]["verdicts"]
    assert verdicts["drm.epub"][0] == "rejected" and "DRM" in verdicts["drm.epub"][3]
    assert verdicts["sach-8.epub"][:2] == ("duplicates", verdicts["sach-3.epub"][1])
    assert len(summaries[0]["books"]) == 9


def test_small_imports_read_in_line(library, shelf, tmp_path):
    few = sorted(shelf.glob("sach-*.epub"))[: READER_PROCESS_MIN_BOOKS - 1]
    seen = []
    report = import_paths(library, few, progress=lambda *_: seen.append(_reader_children()))
    assert len(report.imported) == len(few) and not any(seen)


def _in_line_verdicts(shelf, data_dir) -> dict:
    """The verdicts of an import read in-line, by file name."""
    library = Library(data_dir)
    summary = _summary(library, import_paths(library, [shelf], reader_processes=0))
    library.close()
    return summary["verdicts"]


def _killer(times: int):
    """A progress callback whose thread kills ``times`` reader processes in turn, once 2 books are done."""
    killed: list[int] = []

    def kill_readers():
        """Kill each new reader process as soon as it appears, ``times`` in all."""
        deadline = time.monotonic() + 30
        while len(killed) < times and time.monotonic() < deadline:
            for reader in _reader_children():
                if reader not in killed and _alive(reader) and len(killed) < times:
                    os.kill(reader, signal.SIGKILL)
                    killed.append(reader)
            time.sleep(0.002)

    threads: list[threading.Thread] = []

    def progress(done, total, path):
        """Start the killer thread once two books are done."""
        if done == 2 and not threads:
            threads.append(threading.Thread(target=kill_readers))
            threads[0].start()

    return progress, killed, threads


@pytest.mark.parametrize("processes", [1, 2])
def test_a_killed_reader_is_replaced_and_nothing_is_lost(library, shelf, tmp_path, processes):
    progress, killed, threads = _killer(1)
    report = import_paths(library, [shelf], reader_processes=processes, progress=progress)
    threads[0].join()
    assert len(killed) == 1
    assert _summary(library, report)["verdicts"] == _in_line_verdicts(shelf, tmp_path / "in-line")
    assert library.check() == []


def test_a_book_that_kills_the_reader_twice_is_rejected(library, shelf, tmp_path):
    progress, killed, threads = _killer(2)
    report = import_paths(library, [shelf], reader_processes=1, progress=progress)
    threads[0].join()
    assert len(killed) == 2
    verdicts = _summary(library, report)["verdicts"]
    expected = _in_line_verdicts(shelf, tmp_path / "in-line")
    crashed = [name for name, verdict in verdicts.items() if "crashed the reader" in (verdict[3] or "")]
    assert len(crashed) == 1  # whichever book the second fresh reader was given first
    # every other file keeps its verdict (a copy of the crashed book may now be imported instead)
    lost_id = expected[crashed[0]][1]
    unaffected = [name for name, verdict in expected.items() if name not in crashed and verdict[1] != lost_id]
    assert {n: verdicts[n] for n in unaffected} == {n: expected[n] for n in unaffected}
    assert library.check() == []


def test_the_reader_does_not_outlive_a_killed_importer(shelf, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tests.ingest_writer", str(tmp_path / "data"), str(shelf)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()  # the first progress line: the run (and its reader) has started
    readers = []
    deadline = time.monotonic() + 30
    while not readers and time.monotonic() < deadline:
        readers = _reader_children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert readers
    deadline = time.monotonic() + 10
    while _alive(readers[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(readers[0])


@pytest.mark.slow
def test_a_book_that_takes_too_long_is_rejected_and_the_rest_imported(tmp_path):
    """A real PDF that takes longer to read than the (here tiny) time limit; the other books go on."""
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    make_pdf(shelf / "a-dai.pdf", pages=[f"Trang {n}: cày ruộng, gieo mạ, bón phân." * 20 for n in range(400)],
             title="Dài")
    for number in range(3):
        make_epub(shelf / f"b-{number}.epub", title=f"Sách {number}", chapters=[("Một", "<p>Lúa</p>")])
    library = Library(tmp_path / "data")
    started = time.monotonic()
    report = import_paths(library, [shelf], read_seconds=0.2)
    took = time.monotonic() - started
    assert [Path(e["path"]).name for e in report.rejected] == ["a-dai.pdf"]
    assert "took longer than" in report.rejected[0]["reason"]
    assert sorted(e["title"] for e in report.imported) == ["Sách 0", "Sách 1", "Sách 2"]
    assert library.check() == []
    # the same PDF is imported with the normal limit (the rejection was the limit, not the file)
    report = import_paths(library, [shelf / "a-dai.pdf"])
    assert [e["title"] for e in report.imported] == ["Dài"]
    assert took < 30
    library.close()


def test_a_pdf_gets_a_reader_process_even_in_a_small_import(tmp_path):
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    make_pdf(shelf / "lich.pdf", pages=["Tháng một"], title="Lịch")
    library = Library(tmp_path / "data")
    seen = []
    report = import_paths(library, [shelf], progress=lambda *_: seen.append(bool(_reader_children())))
    assert [e["title"] for e in report.imported] == ["Lịch"] and any(seen)
    library.close()
