"""A full disk: a 20 MB tmpfs data directory filled to the last byte under a live server; gc and check."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys

import pytest
import requests

from readpoint import usage
from readpoint.usage import EventRecorder
from tests.books import add_plain_book
from tests.conftest import REPO, LiveServer


@pytest.fixture
def small_disk(tmp_path):
    """A 20 MB tmpfs mounted for the test (root only; unmounted afterwards)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path) -> int:
    """Write ``path`` until the filesystem refuses one more byte; return its size."""
    written = 0
    with open(path, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 14, 1 << 10, 64, 1):
            block = b"\0" * size
            while True:
                try:
                    written += handle.write(block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    return written


def _cli(*args):
    """Run the readpoint command line."""
    return subprocess.run([sys.executable, "-m", "readpoint.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_disk_filled_to_the_last_byte_keeps_pages_up_and_logs_one_warning(small_disk, caplog):
    from readpoint.app import create_app

    caplog.set_level(logging.INFO)
    data_dir = small_disk / "data"
    app = create_app({"events_flush_seconds": 0}, data_dir=data_dir)
    library = app.extensions["library"]
    _book_id, sha = add_plain_book(library, os.urandom(20_000), texts=["Nông nghiệp trên núi cao."])
    server = LiveServer(app).start()
    filler = small_disk / "filler"
    try:
        _fill(filler)
        for number in range(60):
            for path in ("/", f"/search?q=nong+{number}", f"/files/{sha}?download=1", "/healthz"):
                response = requests.get(server.url + path, timeout=30)
                assert response.status_code == 200, (path, response.status_code)
        recorder = app.extensions["events"]
        assert recorder.disk_full and recorder.dropped > 0
        health = requests.get(server.url + "/healthz", timeout=10).json()
        assert health["disk_full"] is True
        with app.test_request_context():
            from readpoint.views.admin.stats import _disk

            assert _disk()["full"] is True  # the librarian's desk says "The disk is full"
        full_warnings = [r for r in caplog.records if "disk is full" in r.getMessage()]
        assert len(full_warnings) == 1
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        wal = data_dir / "catalog.sqlite3-wal"
        wal_when_full = wal.stat().st_size

        filler.unlink()  # the librarian frees space
        assert requests.get(server.url + "/search?q=nong", timeout=10).status_code == 200
        assert not recorder.disk_full
        assert any("room again" in r.getMessage() for r in caplog.records)
        assert requests.get(server.url + "/healthz", timeout=10).json()["disk_full"] is False
        assert wal.stat().st_size < max(wal_when_full, 1)  # checkpointed as soon as there was room
    finally:
        server.stop()
        app.extensions["events"].flush()
        library.close()
    check = _cli("check", "--data", data_dir)
    assert check.returncode == 0, check.stderr
    assert "disk: " in check.stderr and "free of 20.0 MB" in check.stderr


def test_gc_frees_unused_thumbnails_orphans_and_parts_and_keeps_the_rest(library, data_dir):
    book_id, sha = add_plain_book(library, os.urandom(3000))
    shown = "a" * 64
    with library.catalog.write() as db:
        db.execute("UPDATE books SET thumb_sha256 = ? WHERE id = ?", [shown, book_id])
    library.thumb_path(shown).write_bytes(b"jpeg")
    library.thumb_path("b" * 64).write_bytes(b"old jpeg")
    orphan, _size = library.store.put_bytes(b"no book refers to this")
    (data_dir / "tmp" / "left.part").write_bytes(b"half")
    library.close()
    result = _cli("gc", "--data", data_dir)
    assert result.returncode == 0, result.stderr
    assert "1 partial file(s), 1 orphan file(s), 1 unused thumbnail(s)" in result.stdout
    assert "catalog log: checkpointed and truncated" in result.stdout
    assert library.thumb_path(shown).exists() and not library.thumb_path("b" * 64).exists()
    assert library.store.has(sha) and not library.store.has(orphan)
    assert _cli("check", "--data", data_dir).returncode == 0


def test_the_event_buffer_is_bounded_and_counts_what_it_drops(library, monkeypatch):
    monkeypatch.setattr(usage, "MAX_BUFFERED", 20)
    recorder = EventRecorder(library.catalog, flush_seconds=3600, buffer_max=10**6)
    for _ in range(30):
        recorder.record("view", "x")
    assert recorder.dropped == 10
    assert recorder.flush() == 20
