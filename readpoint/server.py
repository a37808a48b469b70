"""The production WSGI server (waitress), wrapped so the CLI and tests start it the same way."""

from __future__ import annotations

import signal

import waitress
from flask import Flask

__all__ = ["make_server", "serve"]


def make_server(app: Flask, *, host: str, port: int, threads: int = 8):
    """A bound (not yet running) waitress server; ``port=0`` picks a free port.

    ``server.run()`` serves until ``server.close()``; ``server.effective_port``
    is the port actually bound.
    """
    return waitress.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="readpoint",
        clear_untrusted_proxy_headers=True,
        channel_timeout=60,
        connection_limit=200,
    )


def _stop(_signum, _frame):
    """Turn SIGTERM into a normal exit so ``atexit`` handlers (event flush) run."""
    raise SystemExit(0)


def serve(app: Flask, *, host: str, port: int, threads: int = 8) -> None:
    """Serve ``app`` until interrupted."""
    server = make_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, _stop)  # systemd's stop: exit cleanly, flush usage events
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
