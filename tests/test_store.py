"""The content store's durability rules, including a writer killed at random points."""

from __future__ import annotations

import hashlib
import io
import random
import signal
import subprocess
import sys
import time

import pytest

from content.catalog import Catalog
from content.errors import HashMismatch, StoreError
from content.store import ContentStore, remove_orphans, writer_lock
from tests.conftest import REPO


def test_put_and_verify(tmp_path):
    store = ContentStore(tmp_path)
    sha, size = store.put_bytes(b"hello")
    assert size == 5 and store.has(sha) and store.verify(sha)
    assert store.path_for(sha) == tmp_path / "store" / sha[:2] / sha
    assert list(store.hashes()) == [sha]
    assert list(store.tmp.glob("*.part")) == []


def test_hash_mismatch_leaves_nothing(tmp_path):
    store = ContentStore(tmp_path)
    with pytest.raises(HashMismatch):
        store.put_stream(io.BytesIO(b"abc"), expected_sha256="0" * 64)
    assert list(store.hashes()) == []
    assert list(store.tmp.iterdir()) == []


def test_size_cap(tmp_path):
    store = ContentStore(tmp_path)
    with pytest.raises(StoreError):
        store.put_stream(io.BytesIO(b"x" * 100), max_bytes=10)
    assert list(store.hashes()) == [] and list(store.tmp.glob("*.part")) == []


@pytest.mark.parametrize("name", ["../x", "a" * 63, "A" * 64, "g" * 64, "", "/etc/passwd"])
def test_path_for_refuses_anything_but_a_hash(tmp_path, name):
    with pytest.raises(StoreError):
        ContentStore(tmp_path).path_for(name)


def test_corruption_is_detected(tmp_path):
    store = ContentStore(tmp_path)
    sha, _ = store.put_bytes(b"good bytes")
    store.path_for(sha).write_bytes(b"bad bytes")
    assert not store.verify(sha)


def test_orphans_removed_unless_a_writer_runs(tmp_path):
    store = ContentStore(tmp_path)
    kept, _ = store.put_bytes(b"kept")
    orphan, _ = store.put_bytes(b"orphan")
    with writer_lock(tmp_path):
        assert remove_orphans(store, lambda: {kept}) == []
    assert store.has(orphan)
    assert remove_orphans(store, lambda: {kept}) == [orphan]
    assert not store.has(orphan) and store.has(kept)


def _check_consistent(data_dir) -> tuple[int, int]:
    """After a kill: clean start-up, then every row has its verified file and vice versa."""
    store = ContentStore(data_dir)
    catalog = Catalog(data_dir / "catalog.sqlite3")
    try:
        assert catalog.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for part in store.tmp.glob("*.part"):  # never visible in the store itself
            assert part.parent == store.tmp
        store.remove_stale_parts()
        removed = remove_orphans(store, catalog.all_file_hashes)
        referenced = catalog.all_file_hashes()
        stored = set(store.hashes())
        assert referenced == stored
        for sha in stored:
            assert store.verify(sha), f"{sha} is visible but not complete"
        assert list(store.tmp.glob("*.part")) == []
        return len(referenced), len(removed)
    finally:
        catalog.close()


@pytest.mark.slow
def test_sigkill_at_random_points_never_shows_a_partial_file(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    rng = random.Random(1234)
    committed: set[str] = set()
    rounds = 12
    for round_number in range(rounds):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store_writer", str(data_dir), str(round_number)],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )
        time.sleep(rng.uniform(0.15, 0.9))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        committed.update(line.strip() for line in out.splitlines() if line.strip())
        rows, _removed = _check_consistent(data_dir)
        assert rows >= len(committed)  # nothing acknowledged was lost
    store = ContentStore(data_dir)
    for sha in committed:
        assert store.verify(sha)
    assert len(committed) > 0


# -- resumable partial downloads ------------------------------------------------


def test_partial_download_survives_a_restart_and_installs_verified(tmp_path):
    from content.library import Library

    data = random.Random(7).randbytes(3 * 2**20 + 123)
    sha = hashlib.sha256(data).hexdigest()
    library = Library(tmp_path)
    part = library.store.partial(sha, len(data))
    assert part.offset == 0
    assert part.append([data[: 2**20]]) == 2**20
    library.close()

    library = Library(tmp_path)  # a reboot: the start-up check runs
    report = library.startup(background=False)
    assert report.stale_parts_removed == 0
    (found,) = library.store.partials()
    assert (found.sha256, found.size, found.offset) == (sha, len(data), 2**20)
    found.append([data[2**20 :]])
    assert found.install() == sha
    assert library.store.verify(sha) and library.store.partials() == []
    library.close()


def test_partial_refuses_bytes_past_its_size_and_a_wrong_hash(tmp_path):
    store = ContentStore(tmp_path)
    data = b"x" * 1000
    part = store.partial(hashlib.sha256(data).hexdigest(), 1000)
    with pytest.raises(StoreError, match="more bytes"):
        part.append([data, b"extra"])
    assert part.offset == 1000  # nothing past the declared size is kept
    wrong = store.partial("0" * 64, 1000)
    wrong.append([data])
    with pytest.raises(HashMismatch):
        wrong.install()
    assert not wrong.path.exists() and not store.has("0" * 64)
    half = store.partial("3" * 64, 2000)
    half.append([data])
    with pytest.raises(StoreError, match="incomplete"):
        half.install()


def test_start_up_removes_other_parts_and_overlong_partials(tmp_path):
    store = ContentStore(tmp_path)
    (store.tmp / "abc123.part").write_bytes(b"import leftovers")
    overlong = store.tmp / f"dl-{'1' * 64}-3.part"
    overlong.write_bytes(b"four")
    kept = store.partial("2" * 64, 10)
    kept.append([b"12345"])
    assert store.remove_stale_parts() == 2
    assert [p.path for p in store.partials()] == [kept.path]


def test_partial_records_synced_offsets_and_resumes_after_unsynced_garbage(tmp_path):
    data = random.Random(8).randbytes(10_000)
    store = ContentStore(tmp_path)
    part = store.partial(hashlib.sha256(data).hexdigest(), len(data))
    part.SYNC_EVERY = 3000
    synced = []
    assert part.write_at(0, [data[i : i + 1000] for i in range(0, 7000, 1000)], on_sync=synced.append) == 7000
    assert synced == [3000, 6000] and part.sync() == 7000
    with open(part.path, "r+b") as handle:  # what a power cut may leave past the last recorded fsync
        handle.seek(6000)
        handle.write(b"\0" * 1500)
    part.truncate(synced[-1])
    assert part.offset == 6000
    with pytest.raises(StoreError):
        part.truncate(6001)  # never past what is there
    assert part.write_at(6000, [data[6000:]]) == len(data)
    assert part.install() == part.sha256 and store.verify(part.sha256)


def test_write_at_restarts_from_zero_and_install_trusts_a_recorded_verify(tmp_path):
    data = b"readpoint" * 500
    store = ContentStore(tmp_path)
    part = store.partial(hashlib.sha256(data).hexdigest(), len(data))
    part.append([b"garbage" * 100])
    part.write_at(0, [data])  # a 200 answer to a Range request: start again
    part.verify()
    assert part.install(verified=True) == part.sha256 and store.verify(part.sha256)
    half = store.partial("4" * 64, 10)
    half.append([b"12345"])
    with pytest.raises(StoreError, match="incomplete"):
        half.install(verified=True)  # completeness is checked even without hashing
    with pytest.raises(StoreError):
        half.write_at(6, [b"x"])  # no holes


@pytest.mark.parametrize("name", ["dl-../../x-5.part", "dl-" + "g" * 64 + "-5.part", "dl-" + "a" * 64 + "-x.part"])
def test_partial_names_are_checked(name):
    from content.store import PartialDownload

    assert PartialDownload.parse_name(name) is None
