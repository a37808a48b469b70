"""Shared fixtures: a data directory, the app over it, a real waitress server on 127.0.0.1."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """An empty data directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def library(data_dir):
    """A Library over the empty data directory."""
    from content.library import Library

    lib = Library(data_dir)
    yield lib
    lib.close()


@pytest.fixture
def app(data_dir):
    """The app over the data directory, events flushed at once."""
    from readpoint.app import create_app

    application = create_app({"events_flush_seconds": 0}, data_dir=data_dir)
    yield application
    application.extensions["events"].flush()
    application.extensions["library"].close()


@pytest.fixture
def client(app):
    """Flask's test client (for tests where HTTP framing does not matter)."""
    return app.test_client()


class LiveServer:
    """A waitress server running the app in a thread on 127.0.0.1."""

    def __init__(self, app):
        from readpoint.server import make_server

        self.app = app
        self.server = make_server(app, host="127.0.0.1", port=0, threads=4)
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        """Finish the requests in flight, then close every socket from the server's own thread.

        A worker answering after ``close()`` writes to a closed trigger (EBADF in a thread), and
        keep-alive connections left open are unclosed sockets: both are errors under
        ``filterwarnings = error``. Closing the map from the loop thread (a trigger thunk) ends
        the loop cleanly.
        """
        from waitress import wasyncore

        self.server.task_dispatcher.shutdown()
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app behind a real waitress server on a free port of 127.0.0.1."""
    server = LiveServer(app).start()
    yield server
    server.stop()
