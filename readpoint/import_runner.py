"""Running ``readpoint import --usb`` for the librarian's desk, and following its progress.

The import runs in a child process, the same command a librarian would type:
its memory (readers, parsers, cover images) goes back to the system when it
ends, a crash in it cannot take the web server down, and the data directory's
writer lock serialises it with any other import or sync. The child gets every
setting of the app through ``READPOINT_*`` variables, so it finds the same
sticks with the same limits. Its progress lines on stderr (``[###...] 3/10
name``) are read by a thread; the verdicts themselves are committed by the
child into the import history, where the desk reads them.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ImportJob", "child_environment"]

log = logging.getLogger(__name__)

_PROGRESS_RE = re.compile(r"^\[[#.]*\] (\d+)/(\d+)(?: (.*))?$")
MESSAGE_LINES = 5


def child_environment(settings: dict) -> dict[str, str]:
    """The environment of the child: this process's, with every app setting as ``READPOINT_<NAME>``."""
    env = dict(os.environ)
    for name, value in settings.items():
        env["READPOINT_" + name.upper()] = str(value)
    return env


@dataclass
class ImportJob:
    """One ``readpoint import --usb`` run started from the desk."""

    data_dir: Path
    settings: dict
    after_import_id: int
    started: float = field(default_factory=time.time)
    done: int = 0
    total: int = 0
    current: str = ""
    returncode: int | None = None
    messages: deque = field(default_factory=lambda: deque(maxlen=MESSAGE_LINES))
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = None

    def start(self) -> "ImportJob":
        """Start the child and the thread that follows its progress."""
        command = [sys.executable, "-m", "readpoint.cli", "import", "--usb", "--data", str(self.data_dir)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=child_environment(self.settings), text=True, encoding="utf-8", errors="replace",
            start_new_session=True,
        )
        log.info("import from USB started (process %d)", self.process.pid)
        self.reader = threading.Thread(target=self._follow, name="import-progress", daemon=True)
        self.reader.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the child has not finished yet."""
        return self.returncode is None

    def _follow(self) -> None:
        """Read the child's progress until it ends, then keep its exit status."""
        assert self.process is not None and self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self._take(line.rstrip("\n"))
        self.returncode = self.process.wait()
        log.info("import from USB ended with status %d", self.returncode)

    def _take(self, line: str) -> None:
        """One line of the child's stderr: a progress line, or a message worth showing."""
        match = _PROGRESS_RE.match(line.strip())
        if match:
            self.done, self.total = int(match.group(1)), int(match.group(2))
            self.current = match.group(3) or ""
        elif line.strip() and " INFO " not in line:
            self.messages.append(line.strip()[:300])

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the child and its reader to finish; whether they did within ``timeout``."""
        if self.reader is not None:
            self.reader.join(timeout)
        return not self.running
