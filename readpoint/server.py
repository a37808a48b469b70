"""The production WSGI server (waitress), wrapped so the CLI and tests start it the same way."""

from __future__ import annotations

import signal

import waitress
from flask import Flask

__all__ = ["make_server", "serve", "BindError"]


class BindError(OSError):
    """The server could not take its address (in use, not permitted, not this machine's)."""

    def __init__(self, error: OSError, host: str, port: int):
        """Keep the original errno and message, and the address that was wanted."""
        super().__init__(error.errno, error.strerror)
        self.host = host
        self.port = port


def make_server(app: Flask, *, host: str, port: int, threads: int = 8):
    """A bound (not yet running) waitress server; ``port=0`` picks a free port.

    ``server.run()`` serves until ``server.close()``; ``server.effective_port``
    is the port actually bound. Raises :class:`BindError` when the address
    cannot be taken.
    """
    try:
        return _create_server(app, host, port, threads)
    except OSError as error:
        raise BindError(error, host, port) from error


def _create_server(app: Flask, host: str, port: int, threads: int):
    """waitress's server with the box's settings."""
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


def serve(app: Flask, *, host: str, port: int, threads: int = 8, on_ready=None) -> None:
    """Serve ``app`` until interrupted; ``on_ready(server)`` runs once the address is bound."""
    server = make_server(app, host=host, port=port, threads=threads)
    if on_ready is not None:
        on_ready(server)
    signal.signal(signal.SIGTERM, _stop)  # systemd's stop: exit cleanly, flush usage events
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
