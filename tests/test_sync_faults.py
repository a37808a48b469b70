"""Sync over a bad link and a bad day: cuts, stalls, error statuses, kills, a full disk, a wrong clock."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from content.catalog import usage
from tests.conftest import REPO
from tests.fault_proxy import Action
from tests.sync_world import READPOINT, SyncWorld


@pytest.fixture
def world(tmp_path):
    """A hub and an enrolled box."""
    instance = SyncWorld(tmp_path)
    yield instance
    instance.close()


def test_a_cut_download_resumes_where_it_stopped(world):
    book = world.add_epubs(1, pad=3_000_000)[0]
    world.publish()
    world.enroll()
    cuts = {"done": False}

    def cut_once(method, path, n):
        if path.startswith("/files/") and not cuts["done"]:
            cuts["done"] = True
            return Action(cut_after=1_500_000)
        return None

    proxy = world.use_proxy(cut_once)
    report = world.sync()
    assert report.errors == [] and world.library.catalog.book_exists(book)
    files = [(m, p, s) for m, p, s in proxy.requests if p.startswith("/files/")]
    assert [s for _, _, s in files] == [200, 206]  # cut, then resumed with Range
    size = world.library.catalog.files_of(book)[0]["size"]
    assert size <= report.bytes_down < size + 200_000  # what arrived before the cut was not fetched again
    assert world.library.check() == []


@pytest.mark.slow
def test_a_download_cut_by_a_dead_process_resumes_from_the_saved_offset(world):
    from sync.client.downloads import SYNC_EVERY

    book = world.add_epubs(1, pad=3 * SYNC_EVERY)[0]
    world.publish()
    world.enroll()
    world.use_proxy(lambda m, p, n: Action(cut_after=2 * SYNC_EVERY + 1000) if p.startswith("/files/") and n == 0
                    else (Action(status=503) if p.startswith("/files/") else None))
    first = world.sync()  # cut, then the hub is "down" for files: the run ends with the offset saved
    assert first.errors and not world.library.catalog.book_exists(book)
    offset = world.library.catalog.db.execute("SELECT offset FROM downloads WHERE offset > 0").fetchone()[0]
    assert offset >= 2 * SYNC_EVERY
    world.proxy.close()
    world.proxy = None
    world.write_box_settings()
    second = world.sync()
    assert second.errors == [] and world.library.catalog.book_exists(book)
    size = world.library.catalog.files_of(book)[0]["size"]
    assert second.bytes_down < size - offset + 100_000


def test_a_partial_download_survives_a_start_up_between_runs(world):
    book = world.add_epubs(1, pad=3_000_000)[0]
    world.publish()
    world.enroll()
    world.use_proxy(lambda m, p, n: (Action(cut_after=1_500_000) if n == 0 else
                                     Action(status=503, headers={"Retry-After": "0"}))
                    if p.startswith("/files/") else None)
    first = world.sync()  # cut mid-file, then the hub is "down" for files: the offset stays recorded
    assert first.errors and not world.library.catalog.book_exists(book)
    (part,) = world.library.store.partials()
    offset = world.library.catalog.db.execute("SELECT offset FROM downloads WHERE sha256 = ?",
                                              [part.sha256]).fetchone()[0]
    assert 1_000_000 < offset <= part.offset < part.size

    startup = world.restart_box()  # a reboot: the start-up clean-up runs between the two syncs
    assert startup.stale_parts_removed == 0
    assert [(p.sha256, p.offset) for p in world.library.store.partials()] == [(part.sha256, part.offset)]
    world.proxy.close()
    world.proxy = None
    world.write_box_settings()
    second = world.sync()
    assert second.errors == [] and world.library.catalog.book_exists(book)
    assert second.bytes_down < part.size - offset + 100_000  # resumed at the offset, not from zero
    assert world.library.store.partials() == [] and world.library.check() == []


@pytest.mark.slow
def test_stalls_and_error_statuses_are_retried(world):
    world.add_epubs(1)
    world.publish()
    world.enroll()
    script = {"/v1/time": [Action(status=503, headers={"Retry-After": "1"})],
              "/v1/releases/latest": [Action(status=429, headers={"Retry-After": "1"}), Action(status=502)],
              "/v1/auth/token": [Action(status=500)],
              "/v1/releases/1/manifest": [Action(stall=7)]}  # longer than sync_timeout_seconds (5)

    def rule(method, path, n):
        actions = script.get(path, [])
        if path.startswith("/files/") and n == 0:
            return Action(status=503, then_cut=True, body=b"{}" * 10)
        return actions[n] if n < len(actions) else None

    world.use_proxy(rule)
    started = time.monotonic()
    report = world.sync()
    assert report.errors == [] and report.books_added == 1
    assert time.monotonic() - started >= 2  # Retry-After was honoured


def test_a_hub_that_keeps_failing_ends_the_run_cleanly(world):
    world.add_epubs(1)
    world.publish()
    world.enroll()
    world.use_proxy(lambda m, p, n: Action(status=500) if p == "/v1/releases/latest" else None)
    report = world.sync()
    assert any("500" in e for e in report.errors) and report.release_after == 0
    assert world.library.check() == []


def test_a_gap_409_makes_the_box_ask_and_resend(world):
    world.publish()
    world.enroll()
    usage.record(world.library.catalog, [{"at": "2026-11-01T10:00:00+00:00", "kind": "view", "book_id": None}] * 3)
    world.use_proxy(lambda m, p, n: Action(status=409, body=b'{"error": "gap", "expected_from": 1}')
                    if p.endswith("/batches") and n == 0 else None)
    report = world.sync()
    assert report.errors == [] and report.events_sent == 3
    assert world.hub.usage_report()["devices"][0]["acked_through"] == 3


def test_a_delta_gone_410_falls_back_to_the_snapshot(world):
    ids = world.add_epubs(2)
    world.publish()
    world.enroll()
    world.sync()
    world.hub.remove([ids[0]])
    world.add_epubs(1, prefix="Mới")
    world.publish()
    proxy = world.use_proxy(lambda m, p, n: Action(status=410, body=b'{"error": "gone"}')
                            if "/catalog/delta-" in p else None)
    report = world.sync()
    assert report.errors == [] and report.release_after == 2
    assert world.box_titles() == {"Sách 2", "Mới 3"}  # the snapshot's absences are removals
    assert report.books_removed == 1 and report.books_added == 1
    assert any("snapshot-2" in p for _, p, _ in proxy.requests)
    assert world.library.check() == []


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(world):
    world.add_epubs(4, pad=400_000)
    world.add_audiobook(seconds=20)
    world.publish()
    world.enroll()
    world.write_box_settings(sync_bandwidth_kbit=8000)  # slow enough to be killed mid-way
    catalog = world.library.catalog
    rng = random.Random(10)
    recorded = 0
    for round_ in range(8):
        usage.record(catalog, [{"at": f"2026-11-01T{round_:02}:00:00+00:00", "kind": "read",
                                "book_id": "072d862b3ecddd38"}] * 5)
        recorded += 5
        process = subprocess.Popen([*READPOINT, "sync", "--data", str(world.box_dir), "--json"], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.8))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check = subprocess.run([*READPOINT, "check", "--data", str(world.box_dir)], cwd=REPO,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    world.write_box_settings(sync_bandwidth_kbit=0)
    final = world.sync_cli("--json")
    assert final.returncode == 0, final.stdout + final.stderr
    assert json.loads(final.stdout)["release_after"] == 1
    assert len(world.box_titles()) == 5
    device = world.hub.usage_report()["devices"][0]
    assert sum(row["count"] for row in device["usage"]) == recorded  # every event once, none twice
    assert device["acked_through"] == recorded and usage.count_events(catalog) == 0
    assert subprocess.run([*READPOINT, "check", "--data", str(world.box_dir)], cwd=REPO).returncode == 0


@pytest.mark.slow
def test_a_full_disk_during_a_download(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], check=True)
    world = SyncWorld(tmp_path, box_dir=mount / "box")
    try:
        small = world.add_epubs(1)[0]
        big = world.add_epubs(1, pad=6_000_000)[0]
        world.publish()
        world.enroll()
        filler = mount / "filler"
        big_path = "/files/" + world.hub.entry(big)["files"][0]["sha256"]
        filled = []

        def fill(method, path, n):
            if path == big_path and not filled:  # the big file has passed the free-space check
                filled.append(path)
                # someone else fills the disk while the big file is on its way
                free = shutil.disk_usage(mount).free
                with open(filler, "wb") as handle:
                    handle.write(b"\0" * max(free - 3_000_000, 0))
            return None

        world.use_proxy(fill)
        report = world.sync()
        assert any("storage is full (No space left" in e for e in report.errors), report.errors
        assert world.library.catalog.book_exists(small) and not world.library.catalog.book_exists(big)
        assert not list((mount / "box" / "tmp").glob("dl-*.part"))  # the part was given back
        assert world.library.check() == []
        filler.unlink()
        again = world.sync()
        assert again.errors == [] and world.library.catalog.book_exists(big)
    finally:
        world.close()
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("fake", ["2001-01-01 00:00:00", "2041-06-01 00:00:00"])
def test_a_wrong_box_clock_changes_no_security_decision(world, fake):
    faketime = shutil.which("faketime")
    assert faketime, "faketime is installed by provisioning/dev-deps.sh test"
    world.add_epubs(1)
    world.publish()
    world.write_box_settings()
    code = world.hub.enroll_code("xa")
    env = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1")
    enrolled = world.sync_cli("enroll", "--code", code, prefix=[faketime, "-f", f"@{fake}"], env=env)
    assert enrolled.returncode == 0, enrolled.stderr
    usage.record(world.library.catalog, [{"at": "2026-11-01T10:00:00+00:00", "kind": "read",
                                          "book_id": "072d862b3ecddd38"}])
    result = world.sync_cli("--json", prefix=[faketime, "-f", f"@{fake}"], env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["release_after"] == 1 and report["books_added"] == 1 and report["events_sent"] == 1
    offset = world.library.catalog.db.execute("SELECT clock_offset, month FROM sync_state").fetchone()
    assert abs(offset[0]) > 300 * 24 * 3600  # noticed and reported, not trusted
    assert offset[1] == time.strftime("%Y-%m", time.gmtime())  # the budget month is the hub's
    status = world.hub.usage_report()["devices"][0]["status"]
    assert status["clock_offset_seconds"] == offset[0]
