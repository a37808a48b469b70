"""Imports cut short: a stick pulled (folder moved away, or a real unmount), the box's disk full, a killed run.

In every case: what was committed stays complete, nothing half-done stays, no file
is blamed ("rejected") for the source or the storage going away, the run is marked
``interrupted``, ``check()`` is clean and the next run resumes without duplicates.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from content.ingest.run import import_paths
from content.library import Library
from tests.conftest import REPO
from tests.media import make_epub

BOOKS = 24


@pytest.fixture(scope="module")
def shelf(tmp_path_factory):
    """A folder of small, valid, distinct EPUBs (made once, copied per test)."""
    root = tmp_path_factory.mktemp("shelf")
    for number in range(BOOKS):
        make_epub(root / f"sach-{number:02}.epub", title=f"Sách số {number}",
                  chapters=[("Chương", f"<p>Nội dung {number} " + "lúa nước " * 300 + "</p>")])
    return root


def _mount_works(target) -> bool:
    """Whether this process may mount a tmpfs (root in a permissive container or VM)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)],
                          capture_output=True)
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(target)], check=True)
    return True


def _mount_tmpfs(target, size: str) -> None:
    """Mount a fresh tmpfs of ``size`` at ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], check=True)


def _unmount(target) -> None:
    """Detach the mount at ``target`` at once (open files keep working), if mounted."""
    if os.path.ismount(target):
        subprocess.run(["umount", "-l", str(target)], check=True)


def _pull_after(books_done: int, delay: float, pull) -> tuple:
    """A progress callback that, once ``books_done`` are done, has another thread ``pull`` the stick."""
    state = {"thread": None}

    def progress(done, total, path):
        """Start the puller once, when enough books are done."""
        if done >= books_done and state["thread"] is None:
            state["thread"] = threading.Thread(target=lambda: (time.sleep(delay), pull()))
            state["thread"].start()

    return progress, state


def _assert_interrupted_cleanly(library, report, total):
    """The invariants of a run cut short by the source going away."""
    assert report.interrupted
    assert "removed" in report.stopped_because or "no longer" in report.stopped_because
    assert report.rejected == []  # no file is blamed for the stick being pulled
    assert 0 < len(report.imported) < total
    assert library.catalog.count_books() == len(report.imported)
    assert set(library.store.hashes()) == library.catalog.all_file_hashes()
    assert list(library.store.tmp.glob("*.part")) == []
    status = library.catalog.db.execute(
        "SELECT status, imported FROM imports WHERE id = ?", [report.import_id]).fetchone()
    assert status == ("interrupted", len(report.imported))
    assert library.check() == []


def _assert_resumed(library, source, imported_before):
    """A second run over the restored source imports the rest, without duplicating anything."""
    report = import_paths(library, [source])
    assert not report.interrupted and report.rejected == []
    assert len(report.duplicates) == imported_before
    assert len(report.imported) + len(report.duplicates) == BOOKS
    assert library.catalog.count_books() == BOOKS
    assert library.check() == []


@pytest.mark.parametrize("seed", range(4))
def test_stick_pulled_mid_run(library, shelf, tmp_path, seed):
    """The source folder vanishes (moved away at once, as an unmount does) at a random moment."""
    source = tmp_path / "stick"
    shutil.copytree(shelf, source)
    away = tmp_path / "pulled"
    rng = random.Random(seed)
    progress, state = _pull_after(rng.randint(2, 6), rng.uniform(0, 0.05), lambda: source.rename(away))
    report = import_paths(library, [source], progress=progress)
    state["thread"].join()
    _assert_interrupted_cleanly(library, report, BOOKS)
    away.rename(source)  # the stick is plugged in again
    _assert_resumed(library, source, len(report.imported))


@pytest.mark.parametrize("reader_processes", [0, 1, 2])
def test_a_book_whose_file_vanishes_mid_import_is_not_blamed(library, shelf, tmp_path, reader_processes):
    """The stick goes at a known point: after book 4 was hashed (and perhaps read), before it is stored.

    Copying (or reading) it then fails; that failure must stop the run, not reject the book.
    """
    source = tmp_path / "stick"
    shutil.copytree(shelf, source)

    def progress(done, total, path):
        """Pull the stick just before the fourth book is stored."""
        if done == 3 and source.exists():
            source.rename(tmp_path / "pulled")

    report = import_paths(library, [source], progress=progress, reader_processes=reader_processes)
    assert [e["path"].rsplit("/", 1)[1] for e in report.imported] == ["sach-00.epub", "sach-01.epub",
                                                                      "sach-02.epub"]
    _assert_interrupted_cleanly(library, report, BOOKS)
    (tmp_path / "pulled").rename(source)
    _assert_resumed(library, source, 3)


def test_stick_pulled_between_two_sources(library, shelf, tmp_path):
    """With two folders given, losing one stops the run: the other is not half-imported either."""
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(shelf, first)
    second.mkdir()
    make_epub(second / "khac.epub", title="Sách khác")
    progress, state = _pull_after(3, 0, lambda: shutil.rmtree(second))
    report = import_paths(library, [first, second], progress=progress)
    state["thread"].join()
    assert report.interrupted and report.rejected == []
    assert library.check() == []


@pytest.fixture
def mount_point(tmp_path):
    """A folder where a tmpfs may be mounted (skips unless mounting works here); unmounted after."""
    target = tmp_path / "media" / "STICK"
    if not _mount_works(target):
        pytest.skip("needs root and mount rights (a real tmpfs stands in for the USB stick)")
    yield target
    _unmount(target)


def test_real_unmount_mid_run(library, shelf, mount_point):
    """A real mount detached mid-run: the mount point stays as an empty folder of another device."""
    _mount_tmpfs(mount_point, "16m")
    for path in shelf.iterdir():
        shutil.copy2(path, mount_point)
    progress, state = _pull_after(4, 0.01, lambda: _unmount(mount_point))
    report = import_paths(library, [mount_point], progress=progress)
    state["thread"].join()
    assert mount_point.is_dir() and not os.path.ismount(mount_point)
    _assert_interrupted_cleanly(library, report, BOOKS)
    _mount_tmpfs(mount_point, "16m")  # plugged in again
    for path in shelf.iterdir():
        shutil.copy2(path, mount_point)
    _assert_resumed(library, mount_point, len(report.imported))


def test_storage_full_stops_the_run(shelf, tmp_path):
    """The box's data directory fills up: the run stops (no file blamed) and resumes once there is room."""
    data_dir = tmp_path / "data"
    if not _mount_works(data_dir):
        pytest.skip("needs root and mount rights (a small tmpfs stands in for a full SD card)")
    source = tmp_path / "big"
    source.mkdir()
    for number in range(8):  # ~300 KB each, incompressible: the 1.5 MB disk holds a few
        make_epub(source / f"to-{number}.epub", title=f"Sách to {number}",
                  extra_files={"OEBPS/images/noise.bin": random.Random(number).randbytes(300_000)})
    _mount_tmpfs(data_dir, "1536k")
    try:
        library = Library(data_dir)
        report = import_paths(library, [source])
        assert report.interrupted and "storage" in report.stopped_because
        assert report.rejected == []
        assert 0 < len(report.imported) < 8
        assert list(library.store.tmp.glob("*.part")) == []
        assert library.check() == []
        subprocess.run(["mount", "-o", "remount,size=32m", str(data_dir)], check=True)
        again = import_paths(library, [source])
        assert again.rejected == [] and not again.interrupted
        assert len(again.imported) + len(again.duplicates) == 8
        assert library.check() == []
        library.close()
    finally:
        _unmount(data_dir)


def test_killed_run_is_marked_interrupted_by_the_next(shelf, tmp_path):
    """A SIGKILLed import leaves its history row 'running'; the next run closes it with its counts."""
    data_dir = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "tests.ingest_writer", str(data_dir), str(shelf)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # "done/total" before each book: 3/24 means 3 books committed
        if int(line.split("/")[0]) >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    library = Library(data_dir)
    killed = library.catalog.db.execute("SELECT id, status FROM imports").fetchall()
    assert [status for _, status in killed] == ["running"]
    import_paths(library, [shelf])
    row = library.catalog.db.execute(
        "SELECT status, imported FROM imports WHERE id = ?", [killed[0][0]]).fetchone()
    committed = library.catalog.db.execute(
        "SELECT count(*) FROM import_files WHERE import_id = ? AND verdict = 'imported'",
        [killed[0][0]]).fetchone()[0]
    assert row == ("interrupted", committed) and committed >= 3
    assert library.catalog.count_books() == BOOKS
    assert library.check() == []
    library.close()
