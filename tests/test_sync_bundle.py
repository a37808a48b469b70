"""USB bundles: hub -> stick -> box -> outbox -> hub, and a stick as hostile input.

The box is enrolled over the network once (as at the provincial office); every
release afterwards comes on a stick. Each refusal checks that nothing of the
bundle was applied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from content.catalog import usage
from sync.hub.bundle import take_returns, write_bundle
from sync.protocol import seal
from tests.conftest import REPO
from tests.sync_world import READPOINT, SyncWorld

REPORT_KEYS = ["release_before", "release_after", "books_added", "books_removed", "files_downloaded",
               "bytes_down", "bytes_up", "events_sent", "errors"]


@pytest.fixture
def world(tmp_path):
    """A hub with release 1 (two e-books and an audiobook) and an enrolled box that has nothing yet."""
    instance = SyncWorld(tmp_path)
    instance.add_epubs(2)
    instance.add_audiobook()
    instance.publish()
    instance.enroll()
    yield instance
    instance.close()


def stick(world, name: str = "stick", **options) -> Path:
    """A new folder with a bundle of the newest release written by the hub."""
    folder = world.tmp / f"{name}-{uuid.uuid4().hex[:6]}"
    write_bundle(world.hub, folder, **options)
    return folder


def apply(world, folder: Path):
    """``run_sync`` with the bundle, in this process."""
    from sync.client.run import run_sync

    return run_sync(world.library, world.settings(), bundle=folder)


def nothing_applied(world, report) -> None:
    """The box still has no release and no book."""
    assert report.release_after == 0 and report.books_added == 0
    assert world.box_titles() == set()
    assert world.library.check() == []


def content_files(folder: Path) -> list[Path]:
    """The content files of a bundle, largest first."""
    return sorted((folder / "READPOINT_BUNDLE" / "files").iterdir(), key=lambda p: -p.stat().st_size)


def record_reads(world, count: int, day: str = "2026-11-01") -> None:
    """``count`` read events on the box."""
    usage.record(world.library.catalog, [{"at": f"{day}T10:{i % 60:02}:00+00:00", "kind": "read",
                                          "book_id": "072d862b3ecddd38"} for i in range(count)])


def hub_cli(world, *args) -> subprocess.CompletedProcess:
    """``readpoint hub ...`` in a subprocess."""
    return subprocess.run([*READPOINT, "hub", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def reads_on_hub(world) -> int:
    """The read events the hub has counted for the box."""
    device = world.hub.usage_report()["devices"][0]
    return sum(row["count"] for row in device["usage"] if row["kind"] == "read")


@pytest.mark.slow
def test_round_trip_by_the_commands_counts_usage_once(world):
    record_reads(world, 3)
    folder = world.tmp / "usb"
    made = hub_cli(world, "bundle", "--data", str(world.hub_dir), "--out", str(folder), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["release"] == 1 and json.loads(made.stdout)["books"] == 3
    ran = world.sync_cli("--bundle", str(folder), "--json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert list(report) == REPORT_KEYS  # the shape of `readpoint sync --json`
    assert (report["release_before"], report["release_after"], report["books_added"]) == (0, 1, 3)
    assert report["files_downloaded"] == 4 and report["bytes_down"] > 0 and report["bytes_up"] > 0
    assert world.box_titles() == {"Sách 1", "Sách 2", "Nghe 3"}
    assert world.library.check() == []
    outbox = sorted(p.name for p in (folder / "READPOINT_BUNDLE" / "outbox").iterdir())
    device = world.library.catalog.db.execute("SELECT device_id FROM device").fetchone()[0]
    assert outbox == [f"status-{device}.json", f"status-{device}.sig",
                      f"usage-{device}-1-3.json", f"usage-{device}-1-3.sig"]
    back = hub_cli(world, "bundle-return", "--data", str(world.hub_dir), str(folder), "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout) | {"refused": []} == {"batches": 1, "accepted": 1, "duplicate": 0, "gap": 0,
                                                         "statuses": 1, "refused": []}
    assert reads_on_hub(world) == 3
    hub_device = world.hub.storage.device(device)
    assert hub_device["applied_release"] == 1 and hub_device["status"]["via"] == "bundle"
    again = hub_cli(world, "bundle-return", "--data", str(world.hub_dir), str(folder), "--json")
    assert json.loads(again.stdout)["duplicate"] == 1 and json.loads(again.stdout)["accepted"] == 0
    assert reads_on_hub(world) == 3  # a second return changes nothing


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module's hub on PostgreSQL."""
    from tests.postgres_server import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def any_world(request, tmp_path):
    """``world`` with the hub on SQLite, and on PostgreSQL."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"hub_{uuid.uuid4().hex[:12]}")
    instance = SyncWorld(tmp_path, database_url=url)
    instance.add_epubs(2)
    instance.add_audiobook()
    instance.publish()
    instance.enroll()
    yield instance
    instance.close()


def test_batches_repeat_until_acked_then_are_pruned(any_world):
    world = any_world
    record_reads(world, 2)
    first = stick(world)
    assert apply(world, first).errors == []
    record_reads(world, 1, day="2026-11-02")
    world.add_epubs(1, prefix="Mới")
    world.publish()
    second = stick(world, from_release=1)  # written before the first stick came back: no ack yet
    report = apply(world, second)
    assert report.errors == [] and (report.release_after, report.books_added) == (2, 1)
    names = sorted(p.name for p in (second / "READPOINT_BUNDLE" / "outbox").glob("usage-*.json"))
    assert [n.split("-", 2)[2] for n in names] == ["1-2.json", "3-3.json"]  # the same range again, then the new
    # the second stick comes back first, then the first one: each event is counted once
    assert take_returns(world.hub, second)["accepted"] == 2
    assert take_returns(world.hub, first)["duplicate"] == 1
    assert reads_on_hub(world) == 3
    third = stick(world, from_release=2)  # carries the hub's signed ack
    assert apply(world, third).errors == []
    assert usage.count_events(world.library.catalog) == 0  # acknowledged, so pruned
    assert not list((third / "READPOINT_BUNDLE" / "outbox").glob("usage-*"))


def test_a_bundle_for_a_group_carries_only_its_boxes_acks(world):
    from sync.errors import SyncError

    device = world.library.catalog.db.execute("SELECT device_id FROM device").fetchone()[0]
    with pytest.raises(SyncError, match="no group"):
        stick(world, group="Huyện Sa Pa")
    assert world.hub.storage.set_group([device], "Huyện Sa Pa") == 1
    world.hub.storage.set_group([], "Huyện Bát Xát")
    ours = stick(world, group="Huyện Sa Pa")
    assert [p.name for p in (ours / "READPOINT_BUNDLE" / "acks").iterdir()] == [f"{device}.json"]
    theirs = stick(world, group="Huyện Bát Xát")
    assert list((theirs / "READPOINT_BUNDLE" / "acks").iterdir()) == []
    assert apply(world, theirs).books_added == 3  # the same release for every group, for now


def test_tampered_manifest_is_refused(world):
    folder = stick(world)
    path = folder / "READPOINT_BUNDLE" / "manifest.json"
    envelope = json.loads(path.read_bytes())
    envelope["signed"]["books"] = 99
    path.write_text(json.dumps(envelope))
    report = apply(world, folder)
    assert any("signature does not verify" in e for e in report.errors)
    nothing_applied(world, report)


def test_tampered_catalog_is_refused(world):
    folder = stick(world)
    (path,) = (folder / "READPOINT_BUNDLE" / "catalog").iterdir()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    report = apply(world, folder)
    assert report.errors
    nothing_applied(world, report)


def test_tampered_content_refuses_all_then_a_good_stick_finishes(world):
    folder = stick(world)
    good = world.tmp / "good-copy"
    shutil.copytree(folder, good)
    victim = content_files(folder)[0]
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    report = apply(world, folder)
    assert any("do not match" in e for e in report.errors)
    nothing_applied(world, report)
    again = apply(world, good)
    assert again.errors == [] and again.books_added == 3
    assert again.files_downloaded == 1  # what was verified before stayed: only the bad one copied again
    assert world.library.check() == []


def test_replayed_older_bundle_and_same_number_other_bytes_are_refused(world):
    old = stick(world)
    assert apply(world, old).release_after == 1
    world.add_epubs(1, prefix="Mới")
    world.publish()
    assert apply(world, stick(world, from_release=1)).release_after == 2
    titles = world.box_titles()
    replay = apply(world, old)
    assert any("older than the applied 2" in e for e in replay.errors)
    assert replay.release_after == 2 and world.box_titles() == titles
    # release 2 signed again by the hub's key with other contents: an equivocation
    forged = stick(world)
    path = forged / "READPOINT_BUNDLE" / "manifest.json"
    signed = json.loads(path.read_bytes())["signed"]
    signed["books"] += 1
    path.write_bytes(seal(world.hub.key, signed))
    report = apply(world, forged)
    assert any("other bytes" in e for e in report.errors)
    assert world.box_titles() == titles


def test_oversize_files_are_refused(world):
    folder = stick(world)
    with open(content_files(folder)[-1], "ab") as handle:
        handle.write(b"x" * 10)
    report = apply(world, folder)
    assert any("more than the declared" in e for e in report.errors)
    nothing_applied(world, report)
    big = stick(world)
    (big / "READPOINT_BUNDLE" / "manifest.json").write_bytes(b"{" + b" " * (2 * 2**20) + b"}")
    report = apply(world, big)
    assert any("allowed" in e for e in report.errors)
    nothing_applied(world, report)


def test_links_and_undeclared_names_are_never_followed(world, tmp_path):
    folder = stick(world)
    bundle = folder / "READPOINT_BUNDLE"
    victim = content_files(folder)[0]
    elsewhere = tmp_path / "elsewhere.bin"
    shutil.move(victim, elsewhere)
    victim.symlink_to(elsewhere)  # the right bytes, but through a link
    (bundle / "files" / "evil.sh").write_text("rm -rf /")
    report = apply(world, folder)
    assert any("link" in e for e in report.errors)
    nothing_applied(world, report)
    # the whole bundle folder a link: refused before anything is read
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "READPOINT_BUNDLE").symlink_to(bundle)
    assert any("link" in e for e in apply(world, linked).errors)
    # an outbox that links into the box's data directory: nothing is written through it
    victim.unlink()
    shutil.move(elsewhere, victim)
    shutil.rmtree(bundle / "outbox")
    (bundle / "outbox").symlink_to(world.box_dir)
    before = sorted(os.listdir(world.box_dir))
    record_reads(world, 1)
    report = apply(world, folder)
    assert report.release_after == 1 and report.books_added == 3  # the release is fine
    assert any("outbox" in e for e in report.errors)
    assert sorted(os.listdir(world.box_dir)) == before


def test_pulled_stick_leaves_the_box_consistent_and_a_rerun_finishes(world):
    folder = stick(world)
    whole = world.tmp / "whole"
    shutil.copytree(folder, whole)
    files = content_files(folder)
    files[0].unlink()  # the copy onto the stick stopped before this one ...
    with open(files[1], "r+b") as handle:  # ... and in the middle of this one
        handle.truncate(files[1].stat().st_size // 2)
    report = apply(world, folder)
    assert any("cut short" in e for e in report.errors)
    nothing_applied(world, report)
    files[1].unlink()  # only whole files left, two missing: what is complete goes in, the rest waits
    partial = apply(world, folder)
    assert partial.errors == [] and partial.release_after == 1 and 0 < partial.books_added < 3
    assert world.library.check() == []
    rest = apply(world, whole)
    assert rest.errors == [] and partial.books_added + rest.books_added == 3
    assert world.box_titles() == {"Sách 1", "Sách 2", "Nghe 3"}
    assert world.library.check() == []


@pytest.fixture
def read_only_mount(tmp_path):
    """A tmpfs mounted read-only after the bundle is put on it (needs root, as CI runs)."""
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_read_only_stick_is_applied_and_the_outbox_error_is_clear(world, read_only_mount):
    write_bundle(world.hub, read_only_mount)
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    record_reads(world, 1)
    report = apply(world, read_only_mount)
    assert report.release_after == 1 and report.books_added == 3
    assert len(report.errors) == 1 and "outbox" in report.errors[0] and "Read-only" in report.errors[0]
    assert usage.count_events(world.library.catalog) == 1  # kept for the next stick or sync
