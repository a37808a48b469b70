"""The production WSGI server (waitress), shaped so a crowd of phones cannot freeze the box.

A few hundred phones share one box. What holds a worker thread, a connection
slot or memory for as long as a phone is slow must not exist:

- files go out through waitress's ``wsgi.file_wrapper`` (see
  :mod:`readpoint.http_files`): the worker hands the open file to the
  connection and is free at once; the event loop sends it as the phone reads;
- a connection with nothing in flight is closed after :data:`IDLE_SECONDS`, a
  request whose headers are not complete :data:`HEADER_SECONDS` after its
  first byte (slowloris) is dropped, and a response the phone stopped reading
  for :data:`STALL_SECONDS` (a phone that walked out of Wi-Fi range) too;
- up to :data:`CONNECTION_LIMIT` connections, polled with ``poll()`` (not
  ``select()``, which fails past 1,024 descriptors), the open-file limit
  raised to match; near the limit, idle keep-alive connections are closed at
  once to make room for phones that want an answer;
- waitress's own error answers (400, 431, its bare 500) carry the same security
  headers as the app's, and its warnings are rate-limited
  (:mod:`readpoint.log_limits`).
"""

from __future__ import annotations

import logging
import resource
import signal
import time

import waitress
from flask import Flask
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from readpoint.log_limits import limit_logger
from readpoint.security import SECURITY_HEADERS

__all__ = ["make_server", "serve", "BindError", "IDLE_SECONDS", "HEADER_SECONDS", "STALL_SECONDS",
           "CONNECTION_LIMIT"]

log = logging.getLogger(__name__)

IDLE_SECONDS = 5  # a keep-alive connection with nothing in flight (Apache's default)
HEADER_SECONDS = 10  # from a request's first byte to the end of its headers
STALL_SECONDS = 30  # a response (or request body) not moving at all
CONNECTION_LIMIT = 1000
MAX_HEADER_BYTES = 32 * 1024  # a phone's request line and headers; more is a 431
MAX_BODY_BYTES = 8 * 1024 * 1024  # phones send small forms; waitress spools bodies to /tmp (RAM on the box)
SPARE_FILES = 64  # descriptors beside the connections: the catalog, the log, files being sent
MAINTENANCE_SECONDS = 1
CROWDED_SHARE = 0.9  # past this share of the connection limit, idle keep-alive connections go at once


class BindError(OSError):
    """The server could not take its address (in use, not permitted, not this machine's)."""

    def __init__(self, error: OSError, host: str, port: int):
        """Keep the original errno and message, and the address that was wanted."""
        super().__init__(error.errno, error.strerror)
        self.host = host
        self.port = port


class _SecureErrorTask(ErrorTask):
    """waitress's own error answers (400, 431, 500), with the security headers of every page."""

    def execute(self):
        """Add the headers, then let waitress write its plain-text error."""
        self.response_headers.extend(SECURITY_HEADERS)
        super().execute()


class _Channel(HTTPChannel):
    """A connection that remembers when its current request began, for the header deadline."""

    error_task_class = _SecureErrorTask
    request_began = 0.0

    def received(self, data):
        """Receive bytes; note the time when they start a new request."""
        partial = self.request is not None
        result = super().received(data)
        if self.request is not None and not partial:
            self.request_began = time.time()
        return result


def _overdue(channel: _Channel, now: float) -> bool:
    """Whether a connection with no request being served should be closed now."""
    request = channel.request
    if request is not None and not request.headers_finished:
        return now - channel.request_began > HEADER_SECONDS
    quiet = now - channel.last_activity
    if channel.total_outbufs_len or request is not None:
        return quiet > STALL_SECONDS
    return quiet > IDLE_SECONDS


def _maintenance(server, now: float) -> None:
    """Close idle, slow and stalled connections (replaces waitress's one-timeout sweep).

    A connection whose request a worker is serving is left alone: the worker
    holds it, and file downloads are no longer served by workers. One with
    output the phone stopped reading is closed here and now: ``will_close``
    would wait for the socket to be writable, which it never becomes. This runs
    in the event loop's thread, like every other close.
    """
    crowded = len(server._map) >= server.adj.connection_limit * CROWDED_SHARE
    for channel in list(server.active_channels.values()):
        if channel.requests or channel.will_close:
            continue
        idle = channel.request is None and not channel.total_outbufs_len
        if not (_overdue(channel, now) or (crowded and idle)):
            continue
        if channel.total_outbufs_len:
            channel.handle_close()
        else:
            channel.will_close = True


def _open_file_limit(connections: int) -> int:
    """Raise this process's open-file limit for ``connections``; return the connections it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections * 2 + SPARE_FILES  # a socket, and a file while one is being sent
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            soft = new_soft
        except (ValueError, OSError) as error:
            log.warning("cannot raise the open-file limit to %d: %s", wanted, error)
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(16, min(connections, (soft - SPARE_FILES) // 2))


def make_server(app: Flask, *, host: str, port: int, threads: int = 8):
    """A bound (not yet running) waitress server; ``port=0`` picks a free port.

    ``server.run()`` serves until ``server.close()``; ``server.effective_port``
    is the port actually bound. Raises :class:`BindError` when the address
    cannot be taken.
    """
    limit_logger("waitress")
    limit_logger("waitress.queue")
    try:
        server = _create_server(app, host, port, threads)
    except OSError as error:
        raise BindError(error, host, port) from error
    server.channel_class = _Channel
    server.maintenance = lambda now: _maintenance(server, now)
    return server


def _create_server(app: Flask, host: str, port: int, threads: int):
    """waitress's server with the box's settings."""
    return waitress.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="readpoint",
        clear_untrusted_proxy_headers=True,
        connection_limit=_open_file_limit(CONNECTION_LIMIT),
        channel_timeout=STALL_SECONDS,
        cleanup_interval=MAINTENANCE_SECONDS,
        asyncore_use_poll=True,
        max_request_header_size=MAX_HEADER_BYTES,
        max_request_body_size=MAX_BODY_BYTES,
        log_socket_errors=False,  # a phone leaving mid-download is normal, not a traceback
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
