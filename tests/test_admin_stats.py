"""What is read: daily counts rolled up from the usage log, top books, searches not found, phones per hour,
capacity, disk, sync, CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import timedelta

import pytest

from content.catalog import usage, usage_stats
from content.ingest.run import import_paths
from readpoint import capacity
from tests.admin_desk import set_up_account
from tests.media import make_epub

OFFSET = 7


@pytest.fixture
def desk(app, client, data_dir, tmp_path):
    """Two books and a logged-in librarian; returns the book ids."""
    src = tmp_path / "src"
    src.mkdir()
    make_epub(src / "a.epub", title="Sách được đọc nhiều", language="vi", identifier="urn:uuid:a")
    make_epub(src / "b.epub", title="Sách ít người đọc", language="vi", identifier="urn:uuid:b")
    report = import_paths(app.extensions["library"], [src])
    set_up_account(client, data_dir)
    return sorted((e["path"], e["id"]) for e in report.imported)


def _utc(local_day_back: int, hour: int) -> str:
    """An event time in UTC for ``hour`` local time, ``local_day_back`` days ago (box at UTC+7)."""
    local = usage_stats.local_now(OFFSET).replace(hour=hour, minute=30, second=0, microsecond=0)
    moment = local - timedelta(days=local_day_back) - timedelta(hours=OFFSET)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _csv(client, days: int = 7) -> dict[str, dict[str, int]]:
    """The CSV export as ``{day: {column: value}}``."""
    response = client.get("/admin/stats.csv", query_string={"days": days})
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert len(rows) == days
    return {row.pop("day"): {name: int(value) for name, value in row.items()} for row in rows}


def test_daily_counts_top_books_and_missed_searches(app, client, desk):
    (_, popular), (_, quiet) = desk
    catalog = app.extensions["library"].catalog
    events = [{"at": _utc(0, 9), "kind": "read", "book_id": popular} for _ in range(5)]
    events += [{"at": _utc(0, 10), "kind": "listen", "book_id": quiet},
               {"at": _utc(2, 8), "kind": "download", "book_id": popular},
               {"at": _utc(2, 8), "kind": "read", "book_id": quiet},
               {"at": _utc(0, 11), "kind": "search_empty", "detail": "phân bón hữu cơ"},
               {"at": _utc(1, 11), "kind": "search_empty", "detail": "phân bón hữu cơ"},
               {"at": _utc(0, 11), "kind": "search", "detail": ""}]
    usage.record(catalog, events)
    today, two_days = (usage_stats.local_now(OFFSET).date() - timedelta(days=n) for n in (0, 2))
    figures = _csv(client)
    assert figures[today.isoformat()] == {"view": 0, "read": 5, "listen": 1, "download": 0, "search": 1,
                                          "search_empty": 1, "phones_busiest_hour": 1}  # the librarian's own
    assert figures[two_days.isoformat()]["download"] == 1 and figures[two_days.isoformat()]["read"] == 1
    assert _csv(client) == figures  # counting again adds nothing
    page = client.get("/admin/stats", query_string={"days": 7}).data.decode()
    week = page.split("<h2>Đọc nhiều nhất tuần này</h2>")[1].split("<h2>")[0]
    assert week.index("Sách được đọc nhiều") < week.index("Sách ít người đọc")
    assert "phân bón hữu cơ" in page and "<svg" in page and page.count('class="bars"') >= 3
    usage.prune_through(catalog, usage.last_seq(catalog))  # sync sent them: the counts stay
    assert _csv(client) == figures


def test_days_are_the_box_local_days(app, client, desk):
    (_, book), _ = desk
    catalog = app.extensions["library"].catalog
    local_midnight = usage_stats.local_now(OFFSET).replace(hour=0, minute=10, second=0, microsecond=0)
    utc = (local_midnight - timedelta(hours=OFFSET)).strftime("%Y-%m-%dT%H:%M:%S+00:00")  # the UTC day before
    usage.record(catalog, [{"at": utc, "kind": "read", "book_id": book}])
    assert _csv(client)[local_midnight.date().isoformat()]["read"] == 1


def test_phones_per_hour_is_a_count_only(app, client, desk, data_dir):
    for address in ("10.42.0.17", "10.42.0.18", "10.42.0.17"):
        client.get("/", environ_base={"REMOTE_ADDR": address})
    _hour, phones = app.extensions["phone_counter"].current()
    assert phones >= 2  # the librarian's own test client counts too
    page = client.get("/admin/stats").data.decode()
    assert "<svg" in page
    day = usage_stats.local_now(OFFSET).date().isoformat()
    assert _csv(client)[day]["phones_busiest_hour"] == phones
    stored = b"".join(path.read_bytes() for path in data_dir.glob("catalog.sqlite3*"))
    assert b"10.42.0.17" not in stored and b"10.42.0.18" not in stored


def test_capacity_disk_and_sync_on_the_front_page(app, client, desk, data_dir):
    for _ in range(4):
        client.get("/")
    times = app.extensions["home_times"].summary()
    assert times[0] == 4 and times[1] > 0
    page = client.get("/admin/").data.decode()
    assert "4 lượt" in page and " ms" in page
    assert "Dung lượng còn trống" in page and "chưa đồng bộ" in page
    with sqlite3.connect(data_dir / "catalog.sqlite3") as db:
        db.execute("INSERT OR IGNORE INTO sync_state (id) VALUES (1)")  # the sync client's migration makes it
        db.execute("UPDATE sync_state SET applied_release = 42, stage = 'done', "
                   "updated_at = '2026-03-01T08:00:00+00:00' WHERE id = 1")
    page = client.get("/admin/").data.decode()
    assert "2026-03-01 08:00" in page and "done" in page and ">42<" in page


def test_phones_on_the_wifi_unknown_without_hostapd_and_counted_with_it(client, desk, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    capacity._stations_cache.clear()
    assert capacity.wifi_stations() is None
    assert "không rõ" in client.get("/admin/").data.decode()
    # hostapd_cli's own output format: a MAC line per station, then its details
    (tmp_path / "bin").mkdir()
    program = tmp_path / "bin" / "hostapd_cli"
    program.write_text("#!/bin/sh\necho 'Selected interface '\"'\"'wlan0'\"'\"\n"
                       "printf 'a4:5e:60:01:02:03\\nflags=[AUTH][ASSOC][AUTHORIZED]\\nrx_packets=12\\n"
                       "b8:27:eb:aa:bb:cc\\nflags=[AUTH][ASSOC]\\n'\n")
    program.chmod(0o755)
    capacity._stations_cache.clear()
    assert capacity.wifi_stations() == 2
    capacity._stations_cache.clear()


def test_roll_up_survives_a_large_backlog_in_chunks(app, desk):
    (_, book), _ = desk
    catalog = app.extensions["library"].catalog
    usage.record(catalog, [{"at": _utc(0, 12), "kind": "read", "book_id": book}] * 250)
    covered = usage_stats.roll_up(catalog, OFFSET, chunk=100)
    assert covered == 250
    day = usage_stats.local_now(OFFSET).date().isoformat()
    assert usage_stats.daily_counts(catalog, day, day) == {day: {"read": 250}}
    assert usage_stats.roll_up(catalog, OFFSET) == 0


def test_the_recorder_counts_as_it_flushes_and_drains_a_backlog_a_chunk_at_a_time(app, client, desk, monkeypatch):
    (_, book), _ = desk
    catalog = app.extensions["library"].catalog
    usage.record(catalog, [{"at": _utc(3, 9), "kind": "download", "book_id": book}] * 30)  # an old backlog
    monkeypatch.setattr("readpoint.usage.FLUSH_ROLL_UP_CHUNK", 20)
    client.get(f"/book/{book}")  # a villager's visit: one "view" event, flushed at once in tests
    assert usage_stats.pending(catalog) > 0  # one chunk of 20 per flush
    client.get(f"/book/{book}")
    client.get(f"/book/{book}")
    assert usage_stats.pending(catalog) == 0
    first = (usage_stats.local_now(OFFSET).date() - timedelta(days=3)).isoformat()
    assert usage_stats.daily_counts(catalog, first, first)[first] == {"download": 30}


def test_the_page_says_when_old_events_are_still_being_counted(app, client, desk, monkeypatch):
    (_, book), _ = desk
    usage.record(app.extensions["library"].catalog, [{"at": _utc(1, 9), "kind": "read", "book_id": book}] * 5)
    monkeypatch.setattr("readpoint.views.admin.stats.ROLL_UP_BUDGET_SECONDS", 0)
    assert "vẫn đang đếm" in client.get("/admin/stats").data.decode()
    monkeypatch.setattr("readpoint.views.admin.stats.ROLL_UP_BUDGET_SECONDS", 2.0)
    assert "vẫn đang đếm" not in client.get("/admin/stats").data.decode()
