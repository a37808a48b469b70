"""What the box keeps about sync in its catalog: identity, pinned key, releases, pending books.

Tables (migrations ``0004_sync_tables`` and ``0010_sync_client``): ``device``
(this box's id at the hub and its public key; the private key is the 0600 file
``keys/device.key``), ``trust`` (the hub key pinned at enrollment),
``sync_state`` (applied release and its manifest hash, the incoming one, the
month's byte count, the usage watermark), ``sync_entries`` (catalog lines not
applied yet) and ``downloads`` (resumable offsets). Only this module writes them
(``downloads``: :mod:`sync.client.downloads`; ``sync_outbox``, the usage left on
USB sticks: :mod:`sync.client.bundle`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from content.catalog import Catalog, now_iso
from sync.errors import ConfigError
from sync.signing import SigningKey, key_id, load_key, load_or_create_key

__all__ = ["SyncState", "device_key_path"]


def device_key_path(data_dir: Path) -> Path:
    """Where the box's private key lives."""
    return Path(data_dir) / "keys" / "device.key"


class SyncState:
    """Reads and writes of the sync tables of one catalog."""

    def __init__(self, catalog: Catalog, data_dir: Path):
        """Bind to ``catalog`` (migrated) of the data directory ``data_dir``."""
        self.catalog = catalog
        self.data_dir = Path(data_dir)

    # -- identity and trust ------------------------------------------------

    def device_key(self, *, create: bool = False) -> SigningKey:
        """The box's signing key (generated first when ``create`` and there is none)."""
        path = device_key_path(self.data_dir)
        if create:
            return load_or_create_key(path)[0]
        return load_key(path)

    def device(self) -> dict | None:
        """This box's enrollment (device_id, public_key, enrolled_at) or None."""
        rows = list(self.catalog.db.query("SELECT device_id, public_key, enrolled_at FROM device WHERE id = 1"))
        return rows[0] if rows else None

    def pinned_key(self) -> str | None:
        """The hub public key pinned at enrollment, or None."""
        row = self.catalog.db.execute("SELECT public_key FROM trust WHERE kind = 'root' LIMIT 1").fetchone()
        return row[0] if row else None

    def save_enrollment(self, device_id: str, public_key: str, hub_key: str) -> None:
        """Record the enrollment and pin the hub key, in one transaction."""
        stamp = now_iso()
        with self.catalog.write() as db:
            db.execute("DELETE FROM device")
            db.execute("INSERT INTO device (id, device_id, public_key, enrolled_at) VALUES (1, ?, ?, ?)",
                       [device_id, public_key, stamp])
            db.execute("DELETE FROM trust WHERE kind = 'root'")
            db.execute("INSERT INTO trust (key_id, public_key, kind, pinned_at) VALUES (?, ?, 'root', ?)",
                       [key_id(hub_key), hub_key, stamp])

    def require_enrolled(self, configured_key: str) -> tuple[dict, str]:
        """(device, pinned hub key); ConfigError when not enrolled or the configured key differs."""
        device = self.device()
        pinned = self.pinned_key()
        if device is None or pinned is None:
            raise ConfigError("this box is not enrolled: run `readpoint sync enroll --code CODE`")
        if configured_key and configured_key.strip() != pinned:
            raise ConfigError("hub_public_key differs from the key pinned at enrollment: "
                              "enroll again with a new code to trust a new hub key")
        return device, pinned

    # -- sync_state --------------------------------------------------------

    def state(self) -> dict:
        """The one ``sync_state`` row."""
        rows = list(self.catalog.db.query("SELECT * FROM sync_state WHERE id = 1"))
        if rows:
            return rows[0]
        with self.catalog.write() as db:
            db.execute("INSERT OR IGNORE INTO sync_state (id) VALUES (1)")
        return list(self.catalog.db.query("SELECT * FROM sync_state WHERE id = 1"))[0]

    def update(self, db, **fields) -> None:
        """Set ``sync_state`` columns (call inside a write transaction)."""
        fields["updated_at"] = now_iso()
        names = ", ".join(f"{name} = ?" for name in fields)
        db.execute(f"UPDATE sync_state SET {names} WHERE id = 1", list(fields.values()))

    def set(self, **fields) -> None:
        """Set ``sync_state`` columns in a transaction of their own."""
        self.state()
        with self.catalog.write() as db:
            self.update(db, **fields)

    # -- entries not applied yet -------------------------------------------

    def stage_incoming(self, release: int, manifest_sha256: str, lines: Iterable[dict], *,
                       snapshot: bool = False) -> int:
        """Replace the incoming entries with ``lines`` of ``release``, in one transaction.

        Lines are written as they come (a release's catalog never sits in memory
        whole). A ``snapshot`` also turns every hub book of this box that it does
        not list into a removal, and drops waiting books it no longer lists.
        Returns the number of lines staged.
        """
        count = 0
        with self.catalog.write() as db:
            db.execute("DELETE FROM sync_entries WHERE state = 'incoming'")
            for line in lines:
                db.execute("INSERT OR REPLACE INTO sync_entries (book_id, release, op, entry, state) "
                           "VALUES (?, ?, ?, ?, 'incoming')",
                           [line["id"], release, line["op"], json.dumps(line, ensure_ascii=False)])
                count += 1
            if snapshot:
                db.execute("DELETE FROM sync_entries WHERE state = 'waiting'")
                db.execute(
                    "INSERT INTO sync_entries (book_id, release, op, entry, state) "
                    "SELECT id, ?, 'remove', json_object('op', 'remove', 'id', id), 'incoming' FROM books "
                    "WHERE origin = 'hub' AND id NOT IN (SELECT book_id FROM sync_entries)", [release])
            self.update(db, incoming_release=release, incoming_manifest_sha256=manifest_sha256)
        return count

    def drop_incoming(self) -> None:
        """Forget a staged release (the hub has a newer one)."""
        with self.catalog.write() as db:
            db.execute("DELETE FROM sync_entries WHERE state = 'incoming'")
            self.update(db, incoming_release=0, incoming_manifest_sha256=None)

    def entries(self, state: str) -> Iterator[tuple[str, int, str, dict]]:
        """(book_id, release, op, entry) of the entries in ``state``, one at a time."""
        cursor = self.catalog.db.execute(
            "SELECT book_id, release, op, entry FROM sync_entries WHERE state = ? ORDER BY book_id", [state])
        for book_id, release, op, entry in cursor:
            yield book_id, release, op, json.loads(entry)

    def count_entries(self, state: str) -> int:
        """How many entries are in ``state``."""
        return self.catalog.db.execute("SELECT count(*) FROM sync_entries WHERE state = ?", [state]).fetchone()[0]

    def wanted_files(self) -> list[dict]:
        """Files of incoming and waiting upserts: {sha256, size, role, media_type}, one per hash."""
        wanted: dict[str, dict] = {}
        for state in ("incoming", "waiting"):
            for _book_id, _release, op, entry in self.entries(state):
                if op != "upsert":
                    continue
                for item in entry["files"]:
                    wanted.setdefault(item["sha256"], {
                        "sha256": item["sha256"], "size": item["size"], "role": item["role"],
                        "media_type": item.get("media_type") or "", "format": entry.get("format", ""),
                    })
        return list(wanted.values())
