"""What the box refuses: forged, replayed, rolled-back, equivocating, mixed, oversized and portal answers.

Each case checks that the refusal is reported and that nothing of the release
was applied (the box's catalog and applied release are unchanged).
"""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from sync.protocol import seal
from tests.fault_proxy import Action
from tests.sync_world import SyncWorld


@pytest.fixture
def world(tmp_path):
    """A hub with release 1 (two books) synced to an enrolled box, and release 2 (one more) published."""
    instance = SyncWorld(tmp_path)
    instance.add_epubs(2)
    instance.publish()
    instance.enroll()
    assert instance.sync().errors == []
    instance.add_epubs(1, prefix="Mới")
    instance.publish()
    yield instance
    instance.close()


def unchanged(world, report) -> None:
    """The box still has release 1 and its two books, and its checks pass."""
    assert report.release_after == 1 and report.books_added == 0
    assert world.box_titles() == {"Sách 1", "Sách 2"}
    assert world.library.check() == []


def test_a_hub_with_another_key_is_refused(world, tmp_path):
    from sync.signing import create_key

    world.hub.key = create_key(tmp_path / "impostor.key")  # everything now signed by another key
    report = world.sync()
    assert any("signature does not verify" in e for e in report.errors)
    unchanged(world, report)


def test_a_tampered_manifest_is_refused(world):
    path = world.hub.manifest_path(2)
    envelope = json.loads(path.read_bytes())
    envelope["signed"]["books"] = 99  # changed after signing, pointer updated to match
    data = json.dumps(envelope).encode()
    world.use_proxy(lambda m, p, n: Action(rewrite=lambda body: data) if p == "/v1/releases/2/manifest" else None)
    report = world.sync()
    # the signed pointer pins the manifest's size and hash
    assert any("/manifest" in e and ("allowed" in e or "do not match the signed pointer" in e) for e in report.errors)
    unchanged(world, report)


def test_a_rolled_back_hub_is_refused(world):
    world.sync()
    assert world.library.catalog.db.execute("SELECT applied_release FROM sync_state").fetchone()[0] == 2
    with world.hub.storage.transaction() as tx:  # the hub restored from an old backup
        tx.execute("DELETE FROM releases WHERE number = 2")
    report = world.sync()
    assert any("older than the applied 2" in e for e in report.errors)
    assert report.release_after == 2 and "Mới 3" in world.box_titles()


def test_the_same_release_with_other_bytes_is_refused(world):
    world.sync()
    with world.hub.storage.transaction() as tx:  # release 2 published again, differently
        tx.execute("DELETE FROM releases WHERE number = 2")
        tx.execute("UPDATE catalog SET release = 1 WHERE release = 2")
    shutil.rmtree(world.hub.releases_dir / "2")
    world.add_epubs(1, prefix="Khác")
    assert world.publish()["release"] == 2
    report = world.sync()
    assert any("other bytes" in e for e in report.errors)
    assert report.release_after == 2 and "Khác 4" not in world.box_titles()


def test_a_replayed_pointer_is_refused(world):
    recorded = {}

    def replay(method, path, n):
        if path != "/v1/releases/latest":
            return None
        if n == 0:
            return Action(rewrite=lambda body: recorded.setdefault("latest", body))
        return Action(rewrite=lambda body: recorded["latest"])

    world.use_proxy(replay)
    world.sync()  # records release 2's pointer (and applies it)
    report = world.sync()  # the same signed pointer again: not fresh for this nonce
    assert any("not for our question" in e for e in report.errors)


def test_a_mixed_manifest_is_refused(world):
    release_1 = world.hub.manifest_path(1).read_bytes()
    world.use_proxy(lambda m, p, n: Action(rewrite=lambda body: release_1) if p == "/v1/releases/2/manifest" else None)
    report = world.sync()
    assert any("do not match the signed pointer" in e for e in report.errors)
    unchanged(world, report)


def test_a_manifest_signed_for_another_release_is_refused(world):
    manifest_1 = json.loads(world.hub.manifest_path(1).read_bytes())["signed"]
    data = seal(world.hub.key, manifest_1)  # validly signed, but release 1's
    import hashlib
    with world.hub.storage.transaction() as tx:
        tx.execute("UPDATE releases SET manifest_sha256 = ?, manifest_size = ? WHERE number = 2",
                   (hashlib.sha256(data).hexdigest(), len(data)))
    world.hub.manifest_path(2).write_bytes(data)
    report = world.sync()
    assert any("signed for release 1" in e for e in report.errors)
    unchanged(world, report)


def test_a_tampered_catalog_file_is_refused(world):
    path = world.hub.catalog_path(2, "delta-1-2.jsonl.gz")
    lines = gzip.decompress(path.read_bytes()).replace(b"M\xe1\xbb\x9bi 3", b"Fake 3")
    path.write_bytes(gzip.compress(lines, mtime=0))
    report = world.sync()
    assert any("bytes offered" in e or "do not match the catalog's hash" in e for e in report.errors)
    unchanged(world, report)
    assert not list(world.box_dir.glob("tmp/dl-*.part"))


def test_a_tampered_or_swapped_content_file_is_refused(world):
    entry = json.loads(gzip.decompress(world.hub.catalog_path(2, "delta-1-2.jsonl.gz").read_bytes()))
    target = world.hub.store.path_for(entry["files"][0]["sha256"])
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.unlink()  # a hard link to the workspace's copy: replace, do not write through it
    target.write_bytes(bytes(data))
    report = world.sync()
    assert any("do not match the catalog's hash" in e for e in report.errors)
    assert report.release_after == 2 and "Mới 3" not in world.box_titles()  # the book waits for good bytes
    assert world.library.check() == []


def test_more_bytes_than_declared_are_refused(world):
    world.use_proxy(lambda m, p, n: Action(rewrite=lambda body: body + b"x" * 5000) if p.startswith("/files/") else None)
    report = world.sync()
    assert any("bytes offered" in e or "more than the declared" in e for e in report.errors)
    assert "Mới 3" not in world.box_titles()
    assert world.library.check() == []


def test_a_captive_portal_is_reported_and_changes_nothing(world):
    world.use_proxy(lambda m, p, n: Action(portal=True))
    report = world.sync()
    assert len(report.errors) == 1 and "log in to the network first" in report.errors[0]
    unchanged(world, report)


def test_an_oversized_answer_is_refused(world):
    world.use_proxy(lambda m, p, n: Action(rewrite=lambda body: body + b" " * 70_000) if p == "/v1/time" else None)
    report = world.sync()
    assert any("allowed" in e for e in report.errors)
    unchanged(world, report)
