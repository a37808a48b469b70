"""The box's sync against the hub on a real waitress server: releases down, usage up, the command."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import requests

from content.catalog import usage, usage_stats
from tests.conftest import REPO, LiveServer
from tests.fault_proxy import Action
from tests.sync_world import READPOINT, SyncWorld


@pytest.fixture
def world(tmp_path):
    """A hub with an API server and a box, not yet enrolled."""
    instance = SyncWorld(tmp_path)
    yield instance
    instance.close()


def test_first_sync_then_up_to_date_then_removal(world):
    ids = world.add_epubs(2)
    audio = world.add_audiobook()
    world.publish()
    world.enroll()
    report = world.sync()
    assert report.errors == []
    assert (report.release_before, report.release_after) == (0, 1)
    assert report.books_added == 3 and report.books_removed == 0
    assert report.files_downloaded == 4 and report.bytes_down > 0
    assert world.box_titles() == {"Sách 1", "Sách 2", "Nghe 3"}
    book = world.library.catalog.get_book(audio)
    assert book["origin"] == "hub" and book["format"] == "audio"
    assert world.library.check() == []
    again = world.sync()  # up to date: nothing but the small signed answers
    assert again.as_json() | {"bytes_down": 0, "bytes_up": 0} == {
        "release_before": 1, "release_after": 1, "books_added": 0, "books_removed": 0, "files_downloaded": 0,
        "bytes_down": 0, "bytes_up": 0, "events_sent": 0, "errors": []}
    assert again.bytes_down < 2000
    last = world.library.catalog.db.execute("SELECT last_result FROM sync_state WHERE id = 1").fetchone()[0]
    assert json.loads(last) == again.as_json()  # what the librarian's desk shows as the last result
    world.hub.remove([ids[0]])
    world.publish()
    third = world.sync()
    assert (third.release_after, third.books_removed, third.errors) == (2, 1, [])
    assert world.box_titles() == {"Sách 2", "Nghe 3"}
    assert world.library.check() == []


def test_usage_goes_up_once_and_is_pruned(world):
    world.publish()
    world.enroll()
    catalog = world.library.catalog
    usage.record(catalog, [{"at": "2026-11-01T10:05:00+00:00", "kind": "read", "book_id": "072d862b3ecddd38"},
                           {"at": "2026-11-01T10:20:00+00:00", "kind": "read", "book_id": "072d862b3ecddd38"},
                           {"at": "2026-11-01T11:00:00+00:00", "kind": "search_empty", "detail": "trâu  bò"},
                           {"at": "2026-11-01T11:01:00+00:00", "kind": "search", "detail": "lúa"}])
    report = world.sync()
    assert report.events_sent == 4 and report.errors == []
    assert usage.count_events(catalog) == 0  # acknowledged, so pruned
    assert usage_stats.pending(catalog) == 0  # ... but counted for the librarian's statistics first
    assert usage_stats.daily_counts(catalog, "2026-11-01", "2026-11-01")["2026-11-01"]["read"] == 2
    usage.record(catalog, [{"at": "2026-11-02T09:00:00+00:00", "kind": "listen", "book_id": "072d862b3ecddd38"}])
    assert world.sync().events_sent == 1
    device = world.hub.usage_report()["devices"][0]
    assert device["acked_through"] == 5 and device["applied_release"] == 1
    counts = {(r["day"], r["book_id"], r["kind"]): r["count"] for r in device["usage"]}
    assert counts == {("2026-11-01", "072d862b3ecddd38", "read"): 2, ("2026-11-01", None, "search_empty"): 1,
                      ("2026-11-01", None, "search"): 1, ("2026-11-02", "072d862b3ecddd38", "listen"): 1}
    assert device["not_found"] == [{"term": "trâu bò", "count": 1}]  # never the term of a search that found
    assert "lúa" not in json.dumps(device, ensure_ascii=False)


def test_budget_small_first_and_waiting_books(world):
    small = world.add_epubs(1, pad=100_000)[0]
    big = world.add_epubs(1, pad=1_000_000)[0]
    world.publish()
    world.enroll()
    world.write_box_settings(sync_run_budget_mb=1)
    first = world.sync()
    assert first.errors == [] and first.release_after == 1
    assert world.library.catalog.book_exists(small) and not world.library.catalog.book_exists(big)
    assert first.bytes_down < 2**20
    second = world.sync()  # a new run, a new budget: the big book arrives
    assert second.errors == [] and second.books_added == 1 and second.files_downloaded == 1
    assert world.library.catalog.book_exists(big)
    state = world.library.catalog.db.execute("SELECT month, month_bytes FROM sync_state").fetchone()
    assert state[0] == time.strftime("%Y-%m", time.gmtime()) and state[1] >= first.bytes_down + second.bytes_down
    world.add_epubs(1, pad=300_000)
    world.publish()
    world.write_box_settings(sync_run_budget_mb=0, sync_month_budget_mb=1)  # the month is spent
    third = world.sync()
    assert third.release_after == 2 and third.files_downloaded == 0 and third.books_added == 0


@pytest.mark.slow
def test_the_command_json_exit_codes_and_enroll(world):
    world.add_epubs(1)
    world.publish()
    world.write_box_settings()
    code = world.hub.enroll_code("xa")
    enrolled = world.sync_cli("enroll", "--code", code)
    assert enrolled.returncode == 0 and "enrolled as device" in enrolled.stdout
    reused = world.sync_cli("enroll", "--code", code)
    assert reused.returncode == 1 and "403" in reused.stderr
    done = world.sync_cli("--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == ["release_before", "release_after", "books_added", "books_removed",
                            "files_downloaded", "bytes_down", "bytes_up", "events_sent", "errors"]
    assert report["release_after"] == 1 and report["books_added"] == 1
    world.server.stop()  # the hub is unreachable
    world.write_box_settings(sync_timeout_seconds=1)
    failed = world.sync_cli("--json")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errors"] and json.loads(failed.stdout)["release_after"] == 1
    assert world.sync_cli("--bogus").returncode == 2
    world.server = _Stopped()


class _Stopped:
    """A server already stopped (for the world's clean-up)."""

    def stop(self):
        """Nothing left to stop."""


def test_not_enrolled_and_unconfigured(world, tmp_path):
    world.write_box_settings()
    report = world.sync()
    assert report.errors and "not enrolled" in report.errors[0]
    result = world.sync_cli("enroll", "--code", "XXXX")
    assert result.returncode == 1 and "403" in result.stderr
    (world.box_dir / "readpoint.toml").write_text("")
    result = world.sync_cli("enroll", "--code", "XXXX")
    assert result.returncode == 1 and "hub_public_key is not set" in result.stderr


def test_two_syncs_at_once_the_second_refuses(world):
    world.add_epubs(1)
    world.publish()
    world.enroll()
    started = threading.Event()

    def slow(method, path, n):
        if path == "/v1/releases/latest":
            started.set()
            return Action(stall=3)
        return None

    world.use_proxy(slow)
    first = subprocess.Popen([*READPOINT, "sync", "--data", str(world.box_dir), "--json"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert started.wait(60)
    second = world.sync_cli("--json")
    assert second.returncode == 1
    assert "another sync or import is running" in json.loads(second.stdout)["errors"][0]
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0 and json.loads(out)["books_added"] == 1


def test_the_running_server_shows_synced_books_without_a_restart(world, tmp_path):
    from readpoint.app import create_app

    world.publish()
    world.enroll()
    world.sync()
    app = create_app({"events_flush_seconds": 0, "load_starter": False}, data_dir=world.box_dir)
    box = LiveServer(app).start()
    try:
        before = requests.get(box.url + "/", timeout=10).text
        assert "Nông nghiệp ngày mai" not in before
        world.add_epubs(1, prefix="Nông nghiệp ngày mai")
        world.publish()
        assert world.sync_cli("--json").returncode == 0  # another process, as the timer runs it
        after = requests.get(box.url + "/", timeout=10).text
        assert "Nông nghiệp ngày mai" in after
        found = requests.get(box.url + "/search", params={"q": "nong nghiep ngay mai"}, timeout=10).text
        assert "Nông nghiệp ngày mai" in found
    finally:
        box.stop()
        app.extensions["library"].close()
