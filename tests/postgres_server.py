"""A real PostgreSQL server for the hub's tests, from Debian's packages, in a temporary folder.

``initdb`` and ``pg_ctl`` run as an unprivileged user (``nobody`` when the tests
run as root, since PostgreSQL refuses to run as root), listening on 127.0.0.1 only.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_bin(name: str) -> str | None:
    """The newest Debian PostgreSQL's ``name`` program, or None when not installed."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else None


def _free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder; ``url(database)`` addresses one database."""

    def __init__(self):
        """Create and start the cluster (RuntimeError if PostgreSQL is not installed)."""
        initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            raise RuntimeError("PostgreSQL is not installed: provisioning/dev-deps.sh test installs it")
        self.root = Path(tempfile.mkdtemp(prefix="readpoint-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = {}
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody", "nogroup")
            self.user = {"user": "nobody", "group": "nogroup"}
        self._run([initdb, "-D", str(self.data), "-U", "hub", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run([self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"])

    def _run(self, command: list[str]) -> None:
        """Run a PostgreSQL program as the unprivileged user."""
        subprocess.run(command, check=True, capture_output=True, cwd=self.root, **self.user)

    def url(self, database: str = "postgres") -> str:
        """The address of a database on this server."""
        return f"postgresql://hub@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its address."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
