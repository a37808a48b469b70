"""The content store's durability rules, including a writer killed at random points."""

from __future__ import annotations

import io
import os
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
