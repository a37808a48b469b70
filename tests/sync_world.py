"""A hub and a box for sync tests: the hub's API on a real waitress server, the box a data dir.

Optionally a :class:`tests.fault_proxy.FaultProxy` sits between them. The hub's
clock is the world's ``hub_clock`` (tests move it); the box's is its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, LiveServer
from tests.fault_proxy import FaultProxy
from tests.media import make_epub, make_mp3

READPOINT = [sys.executable, "-m", "readpoint.cli"]


class SyncWorld:
    """A hub (its folder, API server) and one box (its data directory)."""

    def __init__(self, tmp_path: Path, *, database_url: str = "", box_dir: Path | None = None):
        """Create and start the hub; the box is set up by :meth:`enroll`."""
        from sync.hub.app import create_app
        from sync.hub.hub import Hub, init_hub

        self.tmp = tmp_path
        self.hub_dir = tmp_path / "hub"
        self.public_key = init_hub(self.hub_dir)
        if database_url:
            (self.hub_dir / "readpoint.toml").write_text(f'hub_database_url = "{database_url}"\n')
        self.offset = 0.0
        self.hub = Hub(self.hub_dir, clock=lambda: time.time() + self.offset)
        self.server = LiveServer(create_app(self.hub)).start()
        self.proxy: FaultProxy | None = None
        self.box_dir = box_dir or tmp_path / "box"
        self.box_dir.mkdir(exist_ok=True)
        self.box_settings: dict = {}
        self._library = None
        self.sources = tmp_path / "sources"
        self.sources.mkdir()
        self._books = 0

    # -- hub side ----------------------------------------------------------

    def add_epubs(self, count: int = 1, *, pad: int = 0, prefix: str = "Sách") -> list[str]:
        """Write ``count`` new EPUBs (``pad`` extra bytes each) and stage them; return their ids."""
        folder = self.sources / f"batch{self._books}"
        folder.mkdir()
        for _ in range(count):
            self._books += 1
            options = {"extra_files": {"OEBPS/pad.bin": os.urandom(pad)}} if pad else {}
            make_epub(folder / f"b{self._books}.epub", title=f"{prefix} {self._books}", **options)
        report = self.hub.add([folder])
        assert not report.rejected, report.rejected
        return [entry["id"] for entry in report.imported]

    def add_audiobook(self, seconds: float = 2.0) -> str:
        """Stage a two-file audiobook; return its id."""
        self._books += 1
        folder = self.sources / f"audio{self._books}"
        folder.mkdir()
        for track in (1, 2):
            make_mp3(folder / f"{track:02}.mp3", seconds, album=f"Nghe {self._books}", title=f"Phần {track}",
                     track=track)
        report = self.hub.add([folder])
        return report.imported[0]["id"]

    def publish(self) -> dict:
        """Publish what is staged."""
        return self.hub.publish()

    # -- network -----------------------------------------------------------

    def use_proxy(self, rule=None) -> FaultProxy:
        """Put a fault proxy between box and hub (the box's hub_url points at it)."""
        self.proxy = FaultProxy(self.server.port, rule)
        self.write_box_settings()
        return self.proxy

    @property
    def hub_url(self) -> str:
        """Where the box reaches the hub."""
        return self.proxy.url if self.proxy else self.server.url

    # -- box side ----------------------------------------------------------

    def write_box_settings(self, **extra) -> None:
        """Write the box's readpoint.toml (hub_url, hub_public_key and ``extra``)."""
        self.box_settings.update(extra)
        values = {"hub_url": self.hub_url, "hub_public_key": self.public_key, "load_starter": False,
                  "sync_timeout_seconds": 5, **self.box_settings}
        lines = []
        for name, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{name} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{name} = {value}")
            else:
                lines.append(f'{name} = "{value}"')
        (self.box_dir / "readpoint.toml").write_text("\n".join(lines) + "\n")

    @property
    def library(self):
        """The box's library (opened once)."""
        if self._library is None:
            from content.library import Library

            self._library = Library(self.box_dir)
        return self._library

    def restart_box(self):
        """Close the box's library and open it again with its start-up check (a reboot); the report."""
        if self._library is not None:
            self._library.close()
            self._library = None
        return self.library.startup(background=False)

    def settings(self) -> dict:
        """The box's settings as the CLI would load them."""
        from content.settings import load_settings

        return load_settings(self.box_dir)

    def enroll(self, name: str = "xa Tả Van") -> dict:
        """Write the box's settings and enroll it with a fresh code."""
        from sync.client.run import enroll

        self.write_box_settings()
        return enroll(self.library, self.settings(), self.hub.enroll_code(name))

    def sync(self):
        """One sync run in this process; the report."""
        from sync.client.run import run_sync

        return run_sync(self.library, self.settings())

    def sync_cli(self, *args, timeout: float = 120, env=None, prefix=()) -> subprocess.CompletedProcess:
        """``readpoint sync --data BOX`` in a subprocess."""
        if args[:1] == ("enroll",):  # the documented form: readpoint sync enroll --data D --code C
            command = [*prefix, *READPOINT, "sync", "enroll", "--data", str(self.box_dir), *args[1:]]
        else:
            command = [*prefix, *READPOINT, "sync", "--data", str(self.box_dir), *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)

    def box_titles(self) -> set[str]:
        """Titles of the box's active books."""
        rows = self.library.catalog.db.execute("SELECT title FROM books WHERE status = 'active'").fetchall()
        return {row[0] for row in rows}

    def close(self) -> None:
        """Stop everything."""
        if self.proxy:
            self.proxy.close()
        self.server.stop()
        self.hub.close()
        if self._library is not None:
            self._library.close()
