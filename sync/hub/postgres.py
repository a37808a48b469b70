"""The hub's database on PostgreSQL (``hub_database_url``), through psycopg 3.

The only module that imports psycopg. Every query is :class:`HubStorage`'s;
this class connects (one connection per thread), runs transactions and locks
the device row (``FOR UPDATE``) while a usage batch moves its watermark.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import psycopg

from sync.errors import ConfigError
from sync.hub.storage import HubStorage

__all__ = ["PostgresStorage"]


class PostgresStorage(HubStorage):
    """The hub's tables in a PostgreSQL database."""

    placeholder = "%s"
    lock_clause = "FOR UPDATE"

    def __init__(self, url: str, clock: Callable[[], float] = time.time):
        """Use the database at ``url`` (``postgresql://...``); connect lazily per thread."""
        super().__init__(clock)
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("hub_database_url must be a postgresql:// address")
        self.url = url
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> psycopg.Connection:
        """This thread's connection (autocommit outside explicit transactions)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self.url, autocommit=True)
            except psycopg.OperationalError as error:
                raise ConfigError(f"cannot connect to the hub database: {error}") from error
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[psycopg.Cursor]:
        """One transaction; yields a cursor (committed on success, rolled back on error)."""
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cursor:
            yield cursor

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
