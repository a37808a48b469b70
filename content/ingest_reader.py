"""Reading books for the importer, in-line or in a reader process of its own.

The part of importing an EPUB or PDF that needs neither catalog nor store is
:func:`read_book`: parse the file with its reader, clean the metadata, refuse
an absurd title, render the phone thumbnail. :class:`BookReader` runs it either
in-line or in one child process (``python -m content.ingest_reader``, niced),
so that on a machine with two or more cores reading the next books overlaps
storing and indexing the current one (:mod:`content.ingest` keeps a few books
in flight and takes their results in file order).

The child only reads: it opens no catalog and writes no file. Requests and
results travel as pickles over its stdin and stdout (a channel between this
module and its own child, nothing else writes to it); what the child logs is
collected and handed back with each result. When its input closes (the importer
finished, or was killed) it exits.

If the child dies (the kernel's out-of-memory killer, a crash in a C library,
someone's ``kill``), a fresh one is started and the books it had not answered
are sent again: a book that kills the reader twice is rejected. If fresh readers
keep dying before answering anything, the rest of the books are read in-line.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from content.errors import ContentError, FileVerdict, RejectedFile
from content.metadata import clean_book
from content.parsed import ParsedBook
from content.readers.epub import read_epub
from content.readers.pdf import read_pdf
from content.thumbnails import make_thumbnail, placeholder_thumbnail

__all__ = ["MAX_TITLE", "ReadResult", "BookReader", "read_book", "prepare_book", "read_error_reason"]

log = logging.getLogger(__name__)

MAX_TITLE = 1000
READER_NICENESS = 10  # the web server answers phones first; reading ahead can wait


@dataclass
class ReadResult:
    """A book read and made ready to store, or the verdict that it cannot be.

    ``records`` are log records the reading produced in a child process.
    """

    parsed: ParsedBook | None = None
    thumbnail: bytes = b""
    verdict: str = ""
    reason: str = ""
    records: list[logging.LogRecord] = field(default_factory=list)


def read_error_reason(path: Path, error: OSError) -> str:
    """A librarian's reason for a file that could not be read at all."""
    if not path.parent.exists():
        return "could not be read: the USB stick or folder was removed"
    return f"could not be read ({error.strerror or error})"


def _thumbnail(parsed: ParsedBook, book_id: str) -> bytes:
    """The phone-sized cover thumbnail, or a placeholder drawn from the title and id."""
    if parsed.cover:
        try:
            return make_thumbnail(parsed.cover)
        except ContentError as error:
            log.info("cover of %s unusable (%s): placeholder used", parsed.title, error)
    return placeholder_thumbnail(parsed.title, book_id)


def prepare_book(parsed: ParsedBook, book_id: str) -> tuple[ParsedBook, bytes]:
    """Clean a parsed book's metadata, refuse an absurd title, render its thumbnail."""
    parsed = clean_book(parsed)
    if len(parsed.title) > MAX_TITLE:
        raise RejectedFile(f"title longer than {MAX_TITLE} characters")
    return parsed, _thumbnail(parsed, book_id)


def read_book(kind: str, path: Path, book_id: str, max_uncompressed: int) -> ReadResult:
    """Read one EPUB or PDF (``kind``) and prepare it; never raises for a bad file."""
    try:
        if kind == "epub":
            parsed = read_epub(path, max_uncompressed=max_uncompressed)
        else:
            parsed = read_pdf(path)
        parsed, thumbnail = prepare_book(parsed, book_id)
    except FileVerdict as verdict:
        return ReadResult(verdict=verdict.verdict, reason=verdict.reason)
    except OSError as error:
        return ReadResult(verdict="rejected", reason=read_error_reason(path, error))
    except Exception as error:  # noqa: BLE001 - one hostile file must not stop the run
        log.error("unexpected error reading %s\n%s", path, traceback.format_exc())
        return ReadResult(verdict="rejected", reason=f"could not be read as {kind.upper()} ({type(error).__name__})")
    return ReadResult(parsed=parsed, thumbnail=thumbnail)


class _Collector(logging.Handler):
    """Keeps the log records of one read in the child, to send them back."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep a picklable copy: the message formatted, no arguments or exception objects."""
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
        self.records.append(record)


def serve_reads(requests: BinaryIO, results: BinaryIO, collector: _Collector) -> None:
    """The reader process's loop: answer each request in order until the input ends."""
    while True:
        try:
            arguments = pickle.load(requests)
        except EOFError:
            return
        result = read_book(*arguments)
        result.records, collector.records = collector.records, []
        try:
            pickle.dump(result, results, protocol=pickle.HIGHEST_PROTOCOL)
            results.flush()
        except BrokenPipeError:  # the importer stopped listening: it is closing down
            return


def main(argv: list[str]) -> None:
    """Run as the reader process: ``python -m content.ingest_reader LOG_LEVEL``."""
    os.nice(READER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importer's to handle
    collector = _Collector()
    logging.getLogger().handlers[:] = [collector]
    logging.getLogger().setLevel(int(argv[0]) if argv else logging.WARNING)
    results = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the results channel
    serve_reads(sys.stdin.buffer, results, collector)


class BookReader:
    """Reads books in-line (``processes=0``) or in one child process (``processes=1``)."""

    def __init__(self, processes: int):
        """Start the child process if asked for one."""
        self.child: subprocess.Popen | None = None
        self.waiting: deque[tuple] = deque()  # requests sent, results not yet taken, in order
        self.silent_deaths = 0  # children that died before answering anything, in a row
        self.answered = False
        self.in_line = processes <= 0
        if not self.in_line:
            self._start()

    def submit(self, kind: str, path: Path, book_id: str, max_uncompressed: int) -> Callable[[], ReadResult]:
        """Start reading a book; return a function that waits for and returns the result.

        Results must be taken in the order the books were submitted.
        """
        arguments = (kind, path, book_id, max_uncompressed)
        if self.in_line:
            return lambda: read_book(*arguments)
        self.waiting.append(arguments)
        self._send(arguments)
        return lambda: self._receive(arguments)

    def _start(self) -> None:
        """Start a child and send it every request still waiting for an answer."""
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        level = logging.getLogger().getEffectiveLevel()
        self.child = subprocess.Popen(
            [sys.executable, "-m", "content.ingest_reader", str(level)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self.answered = False
        for arguments in self.waiting:
            self._send(arguments)

    def _send(self, arguments: tuple) -> None:
        """Write one request to the child (if it died, :meth:`_receive` will notice)."""
        try:
            pickle.dump(arguments, self.child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.child.stdin.flush()
        except OSError:
            pass

    def _receive(self, arguments: tuple) -> ReadResult:
        """The result for ``arguments``, the oldest request; see the module docstring on crashes."""
        deaths = 0
        while not self.in_line:
            result = self._load()
            if result is not None:
                self._forget(arguments)
                return result
            deaths += 1
            self._note_death(arguments)
            if self.in_line:
                break
            if deaths == 2:
                self._forget(arguments)
                self._restart()  # the requests behind this one, without it
                return ReadResult(verdict="rejected", reason="reading this file crashed the reader (out of memory?)")
            self._restart()  # this request and those behind it, once more
        self._forget(arguments)
        return read_book(*arguments)

    def _load(self) -> ReadResult | None:
        """The child's next result (its log records handled), or None if the child died."""
        try:
            result = pickle.load(self.child.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            return None
        self.answered, self.silent_deaths = True, 0
        for record in result.records:
            logging.getLogger(record.name).handle(record)
        return result

    def _forget(self, arguments: tuple) -> None:
        """Drop the oldest request, which ``arguments`` is, from the waiting ones."""
        if self.waiting and self.waiting[0] is arguments:
            self.waiting.popleft()

    def _note_death(self, arguments: tuple) -> None:
        """Count a dead child; after three fresh ones in a row died silent, read in-line from now on."""
        log.warning("the reader process died while reading %s", arguments[1])
        self.silent_deaths = 0 if self.answered else self.silent_deaths + 1
        if self.silent_deaths >= 3:
            log.error("the reader process keeps dying: reading in-line from now on")
            self._stop_child()
            self.in_line = True

    def _restart(self) -> None:
        """Replace the child by a fresh one that gets the waiting requests."""
        self._stop_child()
        self._start()

    def _stop_child(self) -> None:
        """Close the child's pipes and wait for it (kill it if it hangs)."""
        child, self.child = self.child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            try:
                stream.close()
            except OSError:  # a request still in the pipe to a dead child
                pass
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in a hostile file: it holds nothing worth waiting for
            child.kill()
            child.wait()

    def close(self) -> None:
        """Stop the child process, if any (requests still waiting are dropped)."""
        self._stop_child()


if __name__ == "__main__":
    # Run the module under its own name, so results pickle as content.ingest_reader.ReadResult.
    from content.ingest_reader import main as reader_main

    reader_main(sys.argv[1:])
