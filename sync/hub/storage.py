"""The hub's database behind one small interface: SQLite in the hub's folder, or PostgreSQL.

:class:`HubStorage` holds every query, written once in the SQL both engines
speak (``?`` placeholders become ``%s`` for PostgreSQL); :class:`SqliteStorage`
and :class:`sync.hub.postgres.PostgresStorage` only connect and lock.

Tables: ``enroll_codes`` (one-time codes, by hash), ``devices`` (public key,
``acked_through`` watermark, applied release, last status), ``challenges`` and
``tokens`` (by hash; expiry on the hub's clock), ``releases``, ``catalog``
(the published entry of every book ever published, ``removed`` for tombstones,
``release`` = the release that last changed it), ``staged`` (changes for the next
release), ``usage_counts`` (hourly counts per device, book and kind) and
``usage_missed`` (searched-but-not-found terms per device and hour), and
``staff`` (provincial staff accounts for the staff pages: name, scrypt hash,
session epoch) and ``box_groups`` (groups of boxes, e.g. a district; a box is
in at most one, ``devices.group_name``).

Times are unix seconds from the hub's clock (:attr:`HubStorage.clock`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["HubStorage", "SqliteStorage", "open_storage", "BatchResult"]

log = logging.getLogger(__name__)

SCHEMA: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE enroll_codes (
            code_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL, used_at BIGINT, device_id TEXT)""",
        """CREATE TABLE devices (
            device_id TEXT PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,
            enrolled_at BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
            acked_through BIGINT NOT NULL DEFAULT 0, last_sync_at BIGINT,
            applied_release BIGINT NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT '{}')""",
        """CREATE TABLE challenges (
            nonce TEXT PRIMARY KEY, device_id TEXT NOT NULL, expires_at BIGINT NOT NULL)""",
        """CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL, expires_at BIGINT NOT NULL)""",
        """CREATE TABLE releases (
            number BIGINT PRIMARY KEY, manifest_sha256 TEXT NOT NULL, manifest_size BIGINT NOT NULL,
            published_at BIGINT NOT NULL, books BIGINT NOT NULL, added BIGINT NOT NULL,
            removed BIGINT NOT NULL)""",
        """CREATE TABLE catalog (
            book_id TEXT PRIMARY KEY, release BIGINT NOT NULL, removed INTEGER NOT NULL DEFAULT 0,
            entry TEXT NOT NULL)""",
        "CREATE INDEX catalog_release ON catalog (release)",
        """CREATE TABLE staged (
            book_id TEXT PRIMARY KEY, op TEXT NOT NULL, entry TEXT NOT NULL, staged_at BIGINT NOT NULL)""",
        """CREATE TABLE usage_counts (
            device_id TEXT NOT NULL, hour TEXT NOT NULL, book_id TEXT NOT NULL, kind TEXT NOT NULL,
            count BIGINT NOT NULL, PRIMARY KEY (device_id, hour, book_id, kind))""",
        """CREATE TABLE usage_missed (
            device_id TEXT NOT NULL, hour TEXT NOT NULL, term TEXT NOT NULL, count BIGINT NOT NULL,
            PRIMARY KEY (device_id, hour, term))""",
    ]),
    (2, [
        """CREATE TABLE staff (
            name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, session_epoch BIGINT NOT NULL DEFAULT 1,
            created_at BIGINT NOT NULL)""",
        "CREATE INDEX devices_last_sync ON devices (last_sync_at)",
    ]),
    (3, [
        "CREATE TABLE box_groups (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL)",
        "ALTER TABLE devices ADD COLUMN group_name TEXT",
        "CREATE INDEX devices_group ON devices (group_name)",
    ]),
    (4, [
        "ALTER TABLE box_groups ADD COLUMN window_start BIGINT",
        "ALTER TABLE box_groups ADD COLUMN window_end BIGINT",
        "ALTER TABLE box_groups ADD COLUMN run_budget_mb BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE box_groups ADD COLUMN month_budget_mb BIGINT NOT NULL DEFAULT 0",
    ]),
]


class BatchResult(tuple):
    """(outcome, acked_through): outcome is ``accepted``, ``duplicate`` or ``gap``."""

    __slots__ = ()

    def __new__(cls, outcome: str, acked_through: int):
        return super().__new__(cls, (outcome, acked_through))

    @property
    def outcome(self) -> str:
        """``accepted``, ``duplicate`` or ``gap``."""
        return self[0]

    @property
    def acked_through(self) -> int:
        """The device's watermark after the batch."""
        return self[1]


class StaffStorage:
    """Queries of the staff pages (mixed into :class:`HubStorage`)."""

    def add_staff(self, name: str, password_hash: str) -> bool:
        """Create a staff account; False when the name is taken."""
        with self.transaction() as tx:
            if self._run(tx, "SELECT 1 FROM staff WHERE name = ?", [name]).fetchone():
                return False
            self._run(tx, "INSERT INTO staff (name, password_hash, session_epoch, created_at) VALUES (?, ?, 1, ?)",
                      [name, password_hash, self.now()])
        return True

    def set_staff_password(self, name: str, password_hash: str) -> bool:
        """Give an account a new password and end its sessions; False when there is no such account."""
        with self.transaction() as tx:
            cursor = self._run(tx, "UPDATE staff SET password_hash = ?, session_epoch = session_epoch + 1 "
                                   "WHERE name = ?", [password_hash, name])
            return cursor.rowcount == 1

    def staff(self, name: str) -> dict | None:
        """One account (name, password_hash, session_epoch), or None."""
        row = self._one("SELECT name, password_hash, session_epoch FROM staff WHERE name = ?", [name])
        return {"name": row[0], "password_hash": row[1], "session_epoch": row[2]} if row else None

    def fleet(self, *, offset: int, limit: int, stale_before: int, stale_only: bool,
              group: str | None = None) -> tuple[list[dict], int, int]:
        """(one page of boxes, boxes in all, boxes not seen since ``stale_before``), never-seen and stalest first.

        ``group`` limits everything to one group of boxes.
        """
        stale = "(last_sync_at IS NULL OR last_sync_at < ?)"
        scope, scope_params = ("revoked = 0 AND group_name = ?", [group]) if group else ("revoked = 0", [])
        where = f"WHERE {scope} AND {stale}" if stale_only else f"WHERE {scope}"
        params = [*scope_params, stale_before] if stale_only else scope_params
        rows = self._all(
            "SELECT device_id, name, enrolled_at, last_sync_at, applied_release, status, group_name FROM devices "
            f"{where} ORDER BY coalesce(last_sync_at, 0), name, device_id LIMIT ? OFFSET ?",
            [*params, limit, offset])
        total = self._one(f"SELECT count(*) FROM devices WHERE {scope}", scope_params)[0]
        stale_count = self._one(f"SELECT count(*) FROM devices WHERE {scope} AND {stale}",
                                [*scope_params, stale_before])[0]
        boxes = [{"device_id": r[0], "name": r[1], "enrolled_at": r[2], "last_sync_at": r[3],
                  "applied_release": r[4], "status": json.loads(r[5] or "{}"), "group": r[6]} for r in rows]
        return boxes, int(total), int(stale_count)

    def groups(self, *, policies: bool = False) -> list[dict]:
        """Every group of boxes with how many boxes it has (and its sync policy), by name."""
        rows = self._all("SELECT g.name, count(d.device_id), g.window_start, g.window_end, g.run_budget_mb, "
                         "g.month_budget_mb FROM box_groups g LEFT JOIN devices d "
                         "ON d.group_name = g.name AND d.revoked = 0 GROUP BY g.name, g.window_start, "
                         "g.window_end, g.run_budget_mb, g.month_budget_mb ORDER BY g.name")
        if not policies:
            return [{"name": row[0], "boxes": int(row[1])} for row in rows]
        return [{"name": r[0], "boxes": int(r[1]), "window": [r[2], r[3]] if r[2] is not None else None,
                 "run_budget_mb": int(r[4]), "month_budget_mb": int(r[5])} for r in rows]

    def set_group_policy(self, group: str, window: list[int] | None, run_mb: int, month_mb: int) -> bool:
        """Set a group's sync window (minutes after local midnight, or None) and budgets; False if no such group."""
        start, end = window if window else (None, None)
        with self.transaction() as tx:
            return self._run(tx, "UPDATE box_groups SET window_start = ?, window_end = ?, run_budget_mb = ?, "
                                 "month_budget_mb = ? WHERE name = ?", [start, end, run_mb, month_mb, group]
                             ).rowcount == 1

    def device_policy(self, device_id: str) -> dict:
        """The sync policy of a box's group (no window, no budgets when it has no group)."""
        row = self._one("SELECT g.name, g.window_start, g.window_end, g.run_budget_mb, g.month_budget_mb "
                        "FROM devices d JOIN box_groups g ON g.name = d.group_name WHERE d.device_id = ?",
                        [device_id])
        if row is None:
            return {"group": None, "window": None, "run_budget_mb": 0, "month_budget_mb": 0}
        return {"group": row[0], "window": [int(row[1]), int(row[2])] if row[1] is not None else None,
                "run_budget_mb": int(row[3]), "month_budget_mb": int(row[4])}

    def set_group(self, device_ids: list[str], group: str | None) -> int:
        """Put boxes into ``group`` (made if new; None: out of any group); how many boxes moved."""
        moved = 0
        with self.transaction() as tx:
            if group and not self._run(tx, "SELECT 1 FROM box_groups WHERE name = ?", [group]).fetchone():
                self._run(tx, "INSERT INTO box_groups (name, created_at) VALUES (?, ?)", [group, self.now()])
            for device_id in device_ids:
                moved += self._run(tx, "UPDATE devices SET group_name = ? WHERE device_id = ?",
                                   [group, device_id]).rowcount
        return moved

    def group_exists(self, group: str) -> bool:
        """Whether a group of boxes of this name exists."""
        return self._one("SELECT 1 FROM box_groups WHERE name = ?", [group]) is not None

    def staged_changes(self, limit: int = 500) -> tuple[list[dict], int]:
        """(the first ``limit`` staged changes with their titles, how many in all)."""
        rows = self._all("SELECT book_id, op, entry, staged_at FROM staged ORDER BY staged_at, book_id LIMIT ?",
                         [limit])
        total = self._one("SELECT count(*) FROM staged")[0]
        changes = []
        for book_id, op, entry, staged_at in rows:
            data = json.loads(entry or "{}")
            title = data.get("title")
            if title is None:
                published = self._one("SELECT entry FROM catalog WHERE book_id = ?", [book_id])
                title = json.loads(published[0]).get("title", "") if published else ""
            changes.append({"book_id": book_id, "op": op, "title": title or "", "staged_at": staged_at})
        return changes, int(total)

    def releases(self, limit: int = 20) -> list[dict]:
        """The newest ``limit`` releases, newest first."""
        keys = ("number", "published_at", "books", "added", "removed")
        return [dict(zip(keys, row)) for row in
                self._all("SELECT number, published_at, books, added, removed FROM releases "
                          "ORDER BY number DESC LIMIT ?", [limit])]


class HubStorage(StaffStorage):
    """Every query of the hub; subclasses provide connections, transactions and row locks."""

    placeholder = "?"
    lock_clause = ""  # "FOR UPDATE" where the engine locks rows

    def __init__(self, clock: Callable[[], float] = time.time):
        """``clock`` is the hub's clock (tests move it)."""
        self.clock = clock

    # -- engine hooks ------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator:
        """A transaction (a read-only one when ``write`` is false); yields an object with
        ``execute`` and ``executemany``."""
        raise NotImplementedError

    def close(self) -> None:
        """Close every connection."""
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        """``sql`` with this engine's placeholders."""
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _run(self, tx, sql: str, params=()):
        """Execute one statement in ``tx``; return the cursor."""
        return tx.execute(self._sql(sql), tuple(params))

    def _one(self, sql: str, params=()):
        """The first row of a query (in a transaction of its own), or None."""
        with self.transaction(write=False) as tx:
            return self._run(tx, sql, params).fetchone()

    def _all(self, sql: str, params=()) -> list:
        """Every row of a query (in a transaction of its own)."""
        with self.transaction(write=False) as tx:
            return self._run(tx, sql, params).fetchall()

    def now(self) -> int:
        """The hub's clock, whole seconds."""
        return int(self.clock())

    # -- schema ------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema (numbered steps, recorded in ``hub_schema``)."""
        with self.transaction() as tx:
            self._run(tx, "CREATE TABLE IF NOT EXISTS hub_schema (version BIGINT PRIMARY KEY)")
            done = {row[0] for row in self._run(tx, "SELECT version FROM hub_schema").fetchall()}
            for version, statements in SCHEMA:
                if version in done:
                    continue
                for statement in statements:
                    self._run(tx, statement)
                self._run(tx, "INSERT INTO hub_schema (version) VALUES (?)", [version])

    # -- enrollment and sessions -------------------------------------------

    def add_code(self, code_hash: str, name: str, lifetime: int) -> None:
        """Record a one-time enrollment code (by its hash) valid for ``lifetime`` seconds."""
        now = self.now()
        with self.transaction() as tx:
            self._run(tx, "INSERT INTO enroll_codes (code_hash, name, created_at, expires_at) VALUES (?, ?, ?, ?)",
                      [code_hash, name, now, now + lifetime])

    def enroll(self, code_hash: str, device_id: str, public_key: str) -> dict | None:
        """Use a code to enroll a key; the device (new, or the one already holding the key) or None."""
        now = self.now()
        with self.transaction() as tx:
            row = self._run(tx, "SELECT name, expires_at, used_at FROM enroll_codes WHERE code_hash = ? "
                                + self.lock_clause, [code_hash]).fetchone()
            if row is None or row[2] is not None or row[1] < now:
                return None
            existing = self._run(tx, "SELECT device_id, name FROM devices WHERE public_key = ?",
                                 [public_key]).fetchone()
            if existing is not None:
                device_id, name = existing
                self._run(tx, "UPDATE devices SET revoked = 0 WHERE device_id = ?", [device_id])
            else:
                name = row[0]
                self._run(tx, "INSERT INTO devices (device_id, name, public_key, enrolled_at) VALUES (?, ?, ?, ?)",
                          [device_id, name, public_key, now])
            self._run(tx, "UPDATE enroll_codes SET used_at = ?, device_id = ? WHERE code_hash = ?",
                      [now, device_id, code_hash])
        return {"device_id": device_id, "name": name}

    def device(self, device_id: str) -> dict | None:
        """One device's row as a dict, or None."""
        row = self._one("SELECT device_id, name, public_key, revoked, acked_through, last_sync_at, "
                        "applied_release, status FROM devices WHERE device_id = ?", [device_id])
        if row is None:
            return None
        keys = ("device_id", "name", "public_key", "revoked", "acked_through", "last_sync_at",
                "applied_release", "status")
        device = dict(zip(keys, row))
        device["status"] = json.loads(device["status"] or "{}")
        return device

    def device_watermarks(self, group: str | None = None) -> list[tuple[str, int]]:
        """(device_id, acked_through) of every box not revoked (of one group, when given)."""
        if group:
            rows = self._all("SELECT device_id, acked_through FROM devices WHERE revoked = 0 AND group_name = ? "
                             "ORDER BY device_id", [group])
        else:
            rows = self._all("SELECT device_id, acked_through FROM devices WHERE revoked = 0 ORDER BY device_id")
        return [(row[0], row[1]) for row in rows]

    def add_challenge(self, nonce: str, device_id: str, lifetime: int) -> None:
        """Remember a challenge nonce for a device for ``lifetime`` seconds; forget expired ones."""
        now = self.now()
        with self.transaction() as tx:
            self._run(tx, "DELETE FROM challenges WHERE expires_at < ?", [now])
            self._run(tx, "INSERT INTO challenges (nonce, device_id, expires_at) VALUES (?, ?, ?)",
                      [nonce, device_id, now + lifetime])

    def take_challenge(self, nonce: str, device_id: str) -> bool:
        """Use a challenge once: True if it was issued to this device and has not expired."""
        with self.transaction() as tx:
            row = self._run(tx, "SELECT device_id, expires_at FROM challenges WHERE nonce = ?", [nonce]).fetchone()
            self._run(tx, "DELETE FROM challenges WHERE nonce = ?", [nonce])
        return row is not None and row[0] == device_id and row[1] >= self.now()

    def add_token(self, token_hash: str, device_id: str, lifetime: int) -> None:
        """Record a session token (by hash) for ``lifetime`` seconds; forget expired ones."""
        now = self.now()
        with self.transaction() as tx:
            self._run(tx, "DELETE FROM tokens WHERE expires_at < ?", [now])
            self._run(tx, "INSERT INTO tokens (token_hash, device_id, expires_at) VALUES (?, ?, ?)",
                      [token_hash, device_id, now + lifetime])

    def token_device(self, token_hash: str) -> str | None:
        """The device a live token belongs to (not revoked), or None."""
        row = self._one("SELECT t.device_id FROM tokens t JOIN devices d ON d.device_id = t.device_id "
                        "WHERE t.token_hash = ? AND t.expires_at >= ? AND d.revoked = 0",
                        [token_hash, self.now()])
        return row[0] if row else None

    # -- releases and the published catalog --------------------------------

    def latest_release(self) -> dict | None:
        """The newest release (number, manifest hash and size, counts), or None before the first."""
        row = self._one("SELECT number, manifest_sha256, manifest_size, published_at, books, added, removed "
                        "FROM releases ORDER BY number DESC LIMIT 1")
        keys = ("number", "manifest_sha256", "manifest_size", "published_at", "books", "added", "removed")
        return dict(zip(keys, row)) if row else None

    def release_exists(self, number: int) -> bool:
        """Whether release ``number`` was published."""
        return self._one("SELECT 1 FROM releases WHERE number = ?", [number]) is not None

    def stage(self, book_id: str, op: str, entry: dict | None) -> None:
        """Stage an upsert (with its entry) or a removal for the next release."""
        with self.transaction() as tx:
            self._run(tx, "DELETE FROM staged WHERE book_id = ?", [book_id])
            self._run(tx, "INSERT INTO staged (book_id, op, entry, staged_at) VALUES (?, ?, ?, ?)",
                      [book_id, op, json.dumps(entry or {}, ensure_ascii=False), self.now()])

    def is_published(self, book_id: str) -> bool:
        """Whether the book is in the published catalog (not removed)."""
        return self._one("SELECT 1 FROM catalog WHERE book_id = ? AND removed = 0", [book_id]) is not None

    def apply_staged(self, tx, number: int) -> tuple[int, int]:
        """Inside ``tx``: move staged changes into the catalog as release ``number``; (added, removed)."""
        staged = self._run(tx, "SELECT book_id, op, entry FROM staged ORDER BY book_id").fetchall()
        added = removed = 0
        for book_id, op, entry in staged:
            present = self._run(tx, "SELECT removed FROM catalog WHERE book_id = ?", [book_id]).fetchone()
            if op == "remove":
                if present is not None and not present[0]:
                    self._run(tx, "UPDATE catalog SET removed = 1, release = ?, entry = ? WHERE book_id = ?",
                              [number, "{}", book_id])
                    removed += 1
                continue
            if present is None:
                self._run(tx, "INSERT INTO catalog (book_id, release, removed, entry) VALUES (?, ?, 0, ?)",
                          [book_id, number, entry])
            else:
                self._run(tx, "UPDATE catalog SET release = ?, removed = 0, entry = ? WHERE book_id = ?",
                          [number, entry, book_id])
            if present is None or present[0]:
                added += 1
        self._run(tx, "DELETE FROM staged")
        return added, removed

    def catalog_lines(self, tx, since: int | None) -> Iterator[dict]:
        """Inside ``tx``: the snapshot (``since`` None) or delta lines after release ``since``."""
        if since is None:
            cursor = self._run(tx, "SELECT book_id, removed, entry FROM catalog WHERE removed = 0 ORDER BY book_id")
        else:
            cursor = self._run(tx, "SELECT book_id, removed, entry FROM catalog WHERE release > ? ORDER BY book_id",
                               [since])
        for book_id, gone, entry in cursor:
            if gone:
                yield {"op": "remove", "id": book_id}
            else:
                yield {"op": "upsert", **json.loads(entry)}

    def count_books(self, tx) -> int:
        """Inside ``tx``: books in the catalog (not removed)."""
        return self._run(tx, "SELECT count(*) FROM catalog WHERE removed = 0").fetchone()[0]

    def add_release(self, tx, release: dict) -> None:
        """Inside ``tx``: record a release (its manifest hash and size, counts)."""
        self._run(tx, "INSERT INTO releases (number, manifest_sha256, manifest_size, published_at, books, added, "
                      "removed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [release["number"], release["manifest_sha256"], release["manifest_size"],
                   release["published_at"], release["books"], release["added"], release["removed"]])

    def next_release_number(self, tx) -> int:
        """Inside ``tx``: the number the next release gets."""
        return self._run(tx, "SELECT coalesce(max(number), 0) + 1 FROM releases").fetchone()[0]

    # -- usage and status --------------------------------------------------

    def record_batch(self, device_id: str, first: int, last: int, hours: list, missed: list) -> BatchResult:
        """Take a usage batch exactly once (the ``acked_through`` watermark, under a row lock).

        ``last`` at or below the watermark: a duplicate (nothing written). ``first``
        not right after it: a gap (or an overlap, which hourly counts cannot trim).
        Otherwise the counts are added and the watermark moves to ``last``, in one
        transaction.
        """
        now = self.now()
        with self.transaction() as tx:
            row = self._run(tx, "SELECT acked_through FROM devices WHERE device_id = ? " + self.lock_clause,
                            [device_id]).fetchone()
            acked = row[0]
            if last <= acked:
                self._run(tx, "UPDATE devices SET last_sync_at = ? WHERE device_id = ?", [now, device_id])
                return BatchResult("duplicate", acked)
            if first != acked + 1:
                return BatchResult("gap", acked)
            self._add_counts(tx, device_id, hours, missed)
            self._run(tx, "UPDATE devices SET acked_through = ?, last_sync_at = ? WHERE device_id = ?",
                      [last, now, device_id])
        return BatchResult("accepted", last)

    def _add_counts(self, tx, device_id: str, hours: list, missed: list) -> None:
        """Inside ``tx``: add hourly counts and missed-search counts of one device."""
        if hours:
            tx.executemany(self._sql(
                "INSERT INTO usage_counts (device_id, hour, book_id, kind, count) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (device_id, hour, book_id, kind) DO UPDATE SET count = usage_counts.count + "
                "excluded.count"), [(device_id, hour, book or "", kind, count) for hour, book, kind, count in hours])
        if missed:
            tx.executemany(self._sql(
                "INSERT INTO usage_missed (device_id, hour, term, count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device_id, hour, term) DO UPDATE SET count = usage_missed.count + excluded.count"),
                [(device_id, hour, term, count) for hour, term, count in missed])

    def set_status(self, device_id: str, status: dict) -> None:
        """Keep a device's last status report (and its applied release) with the hub's time."""
        release = status.get("applied_release")
        with self.transaction() as tx:
            self._run(tx, "UPDATE devices SET status = ?, last_sync_at = ?, applied_release = ? WHERE device_id = ?",
                      [json.dumps(status, ensure_ascii=False), self.now(),
                       release if isinstance(release, int) else 0, device_id])

    def usage_report(self) -> list[dict]:
        """Per device: last sync, watermark, applied release, status, counts per book and day, missed terms."""
        devices = []
        for row in self._all("SELECT device_id, name, last_sync_at, acked_through, applied_release, status "
                             "FROM devices ORDER BY name, device_id"):
            device_id = row[0]
            usage = self._all(
                "SELECT substr(hour, 1, 10) AS day, book_id, kind, sum(count) FROM usage_counts "
                "WHERE device_id = ? GROUP BY day, book_id, kind ORDER BY day, book_id, kind", [device_id])
            missed = self._all(
                "SELECT term, sum(count) AS n FROM usage_missed WHERE device_id = ? GROUP BY term "
                "ORDER BY n DESC, term", [device_id])
            devices.append({
                "device_id": device_id,
                "name": row[1],
                "last_sync": _iso(row[2]),
                "acked_through": row[3],
                "applied_release": row[4],
                "status": json.loads(row[5] or "{}"),
                "usage": [{"day": d, "book_id": b or None, "kind": k, "count": int(n)} for d, b, k, n in usage],
                "not_found": [{"term": t, "count": int(n)} for t, n in missed],
            })
        return devices


def _iso(seconds: int | None) -> str | None:
    """Unix seconds as ISO 8601 UTC, or None."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class SqliteStorage(HubStorage):
    """The hub's database as one SQLite file (WAL), one connection per thread."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        """Open (creating) the database at ``path``."""
        super().__init__(clock)
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (or a deferred read) … ``COMMIT``, rolled back on error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this storage opened."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def open_storage(hub_dir: Path, database_url: str = "", clock: Callable[[], float] = time.time) -> HubStorage:
    """The hub's storage: PostgreSQL when ``database_url`` is set, else ``hub.sqlite3`` in ``hub_dir``."""
    if database_url:
        from sync.hub.postgres import PostgresStorage

        storage: HubStorage = PostgresStorage(database_url, clock)
    else:
        storage = SqliteStorage(Path(hub_dir) / "hub.sqlite3", clock)
    storage.migrate()
    return storage
