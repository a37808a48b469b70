"""The librarian's statistics: daily usage counts rolled up from the ``events`` log.

``events`` grows with every page a phone opens, and sync prunes it once the
hub has the events; the statistics need a year of history at a cost that does
not grow with it. So :func:`roll_up` adds new events (past
``usage_rollup_state.through_seq``) into small daily tables, and every query
here reads those:

- ``usage_days``: events per day and kind (the charts, the CSV);
- ``usage_book_days``: per day, book and kind (top books this week / month);
- ``usage_missed``: searched-but-not-found terms per day;
- ``usage_hours``: how many phones were active in an hour (a count, written by
  the app's phone counter; no address or identity is ever stored).

The log is read only through :mod:`content.catalog.usage`, its owner.

The box's usage recorder rolls up a little after every flush (so the counts
are minutes behind the log at most, and a backlog, after an upgrade, drains a
chunk at a time); the statistics page finishes the job, within a time budget.

Days and hours are the box's local time: UTC plus ``utc_offset_hours`` (a
setting; Viet Nam and Thailand are both UTC+7). Whatever prunes ``events``
must call :func:`roll_up` first, or the pruned events never reach the counts.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from content.catalog import Catalog, usage

__all__ = [
    "roll_up",
    "pending",
    "daily_counts",
    "top_books",
    "missed_terms",
    "phones_per_hour",
    "busiest_hours_by_day",
    "record_phones",
    "last_sync",
    "local_now",
    "BOOK_KINDS",
    "DAY_KINDS",
    "ROLL_UP_CHUNK",
]

# Kinds counted per book (what "read" means on the top-books list), and every kind counted per day.
BOOK_KINDS = ("read", "listen", "download")
DAY_KINDS = ("view", "read", "listen", "download", "search", "search_empty")
# Events added up per transaction: keeps each write short however far behind the roll-up is.
ROLL_UP_CHUNK = 50_000
MAX_TERM = 100


def local_now(offset_hours: int) -> datetime:
    """The box's local time now (UTC plus the offset), without a time zone."""
    return datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=offset_hours)


def _local_day(hour: str, offset_hours: int) -> str:
    """The local date of a UTC hour ``YYYY-MM-DDTHH`` (as :func:`usage.hourly_counts` gives it)."""
    try:
        moment = datetime.strptime(hour, "%Y-%m-%dT%H")
    except ValueError:  # an event with a malformed time still counts, on the day its text names
        return hour[:10]
    return (moment + timedelta(hours=offset_hours)).date().isoformat()


def _add_up(rows: list[dict], offset_hours: int) -> tuple[dict, dict, dict]:
    """Hourly counts folded into per-day totals: by kind, by book and kind, by missed term."""
    days: dict[tuple[str, str], int] = {}
    books: dict[tuple[str, str, str], int] = {}
    missed: dict[tuple[str, str], int] = {}
    for row in rows:
        day = _local_day(row["hour"], offset_hours)
        kind, count = row["kind"], row["count"]
        days[day, kind] = days.get((day, kind), 0) + count
        if kind in BOOK_KINDS and row["book_id"]:
            key = (day, row["book_id"], kind)
            books[key] = books.get(key, 0) + count
        if kind == "search_empty" and row["term"]:
            key = (day, row["term"][:MAX_TERM])
            missed[key] = missed.get(key, 0) + count
    return days, books, missed


def pending(catalog: Catalog) -> int:
    """How many event numbers are not counted yet (0: the daily counts are up to date)."""
    done = catalog.db.execute("SELECT through_seq FROM usage_rollup_state WHERE id = 1").fetchone()[0]
    return max(0, usage.last_seq(catalog) - done)


def roll_up(catalog: Catalog, offset_hours: int, *, chunk: int = ROLL_UP_CHUNK,
            max_chunks: int | None = None, budget_seconds: float | None = None) -> int:
    """Add the events not yet counted into the daily tables; return the span of seq covered.

    Reads the log through :func:`content.catalog.usage.hourly_counts`, a chunk
    of seq at a time, and stops after ``max_chunks`` chunks or once
    ``budget_seconds`` have passed (the rest is counted next time). Idempotent
    and safe to interrupt: each chunk's counts and the new watermark are
    committed together.
    """
    last = usage.last_seq(catalog)
    covered = chunks = 0
    started = time.monotonic()
    while True:
        done = catalog.db.execute("SELECT through_seq FROM usage_rollup_state WHERE id = 1").fetchone()[0]
        out_of_time = budget_seconds is not None and time.monotonic() - started >= budget_seconds
        if done >= last or (max_chunks is not None and chunks >= max_chunks) or out_of_time:
            return covered
        upto = min(done + chunk, last)
        days, books, missed = _add_up(usage.hourly_counts(catalog, done + 1, upto), offset_hours)
        with catalog.write() as db:
            if db.execute("SELECT through_seq FROM usage_rollup_state WHERE id = 1").fetchone()[0] != done:
                continue  # another thread counted this chunk meanwhile
            conn = db.conn
            conn.executemany(
                "INSERT INTO usage_days (day, kind, events) VALUES (?, ?, ?) "
                "ON CONFLICT (day, kind) DO UPDATE SET events = events + excluded.events",
                [(*key, count) for key, count in days.items()],
            )
            conn.executemany(
                "INSERT INTO usage_book_days (day, book_id, kind, events) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (day, book_id, kind) DO UPDATE SET events = events + excluded.events",
                [(*key, count) for key, count in books.items()],
            )
            conn.executemany(
                "INSERT INTO usage_missed (day, term, events) VALUES (?, ?, ?) "
                "ON CONFLICT (day, term) DO UPDATE SET events = events + excluded.events",
                [(*key, count) for key, count in missed.items()],
            )
            conn.execute("UPDATE usage_rollup_state SET through_seq = ? WHERE id = 1", [upto])
        covered += upto - done
        chunks += 1


def daily_counts(catalog: Catalog, first_day: str, last_day: str) -> dict[str, dict[str, int]]:
    """``{day: {kind: events}}`` for the days from ``first_day`` to ``last_day`` (ISO dates) that had any."""
    counts: dict[str, dict[str, int]] = {}
    rows = catalog.db.execute(
        "SELECT day, kind, events FROM usage_days WHERE day BETWEEN ? AND ?", [first_day, last_day]
    )
    for day, kind, events in rows:
        counts.setdefault(day, {})[kind] = events
    return counts


def top_books(catalog: Catalog, first_day: str, *, limit: int = 10) -> list[dict]:
    """The books read, heard or downloaded most since ``first_day``: id, title, status and counts per kind."""
    kinds = ", ".join(f"'{kind}'" for kind in BOOK_KINDS)
    rows = catalog.db.execute(
        "SELECT u.book_id, sum(u.events) AS total, "
        + ", ".join(f"sum(CASE WHEN u.kind = '{kind}' THEN u.events ELSE 0 END)" for kind in BOOK_KINDS)
        + ", b.title, b.status FROM usage_book_days u LEFT JOIN books b ON b.id = u.book_id "
        f"WHERE u.day >= ? AND u.kind IN ({kinds}) GROUP BY u.book_id ORDER BY total DESC, u.book_id LIMIT ?",
        [first_day, limit],
    ).fetchall()
    books = []
    for row in rows:
        book = {"id": row[0], "total": row[1], "title": row[-2], "status": row[-1]}
        book.update(zip(BOOK_KINDS, row[2:2 + len(BOOK_KINDS)]))
        books.append(book)
    return books


def missed_terms(catalog: Catalog, first_day: str, *, limit: int = 20) -> list[tuple[str, int]]:
    """What phones searched for and did not find since ``first_day``, most asked first."""
    return [
        (term, count)
        for term, count in catalog.db.execute(
            "SELECT term, sum(events) AS n FROM usage_missed WHERE day >= ? GROUP BY term "
            "ORDER BY n DESC, term LIMIT ?",
            [first_day, limit],
        )
    ]


def phones_per_hour(catalog: Catalog, first_hour: str) -> dict[str, int]:
    """``{hour: phones}`` for the hours from ``first_hour`` on (``YYYY-MM-DD HH``, local time)."""
    return dict(catalog.db.execute("SELECT hour, phones FROM usage_hours WHERE hour >= ?", [first_hour]))


def busiest_hours_by_day(catalog: Catalog, first_day: str) -> dict[str, int]:
    """``{day: most phones in one hour of that day}`` since ``first_day``."""
    return dict(
        catalog.db.execute(
            "SELECT substr(hour, 1, 10), max(phones) FROM usage_hours WHERE hour >= ? GROUP BY 1", [first_day]
        )
    )


def record_phones(catalog: Catalog, hour: str, phones: int) -> None:
    """Keep the count of phones active in ``hour`` (the larger of what is stored and ``phones``)."""
    with catalog.write() as db:
        db.execute(
            "INSERT INTO usage_hours (hour, phones) VALUES (?, ?) "
            "ON CONFLICT (hour) DO UPDATE SET phones = max(phones, excluded.phones)",
            [hour, phones],
        )


def last_sync(catalog: Catalog) -> dict | None:
    """The sync state row (applied release, stage, when, and whatever result the sync client records), or None."""
    rows = list(catalog.db.query("SELECT * FROM sync_state WHERE id = 1"))
    return rows[0] if rows else None
