"""Reading books for the importer, in-line or in reader processes of their own.

The part of importing an EPUB or PDF that needs neither catalog nor store is
:func:`read_book`: parse the file with its reader, clean the metadata, refuse
an absurd title, render the phone thumbnail, and analyse the chapter texts for
search (the costliest step of all for a long book). :class:`BookReader` runs it
either in-line or in child processes (``python -m content.ingest.reader``,
niced), so that on a machine with two or more cores reading the next books
overlaps storing and indexing the current one (:mod:`content.ingest` keeps a
few books in flight and takes their results in file order).

A child only reads: it opens no catalog and writes no file. Requests and
results travel as pickles over its stdin and stdout (a channel between this
module and its own child, nothing else writes to it); what the child logs is
collected and handed back with each result. When its input closes (the importer
finished, or was killed) it exits.

If a child dies (the kernel's out-of-memory killer, a crash in a C library,
someone's ``kill``), a fresh one is started and the books it had not answered
are sent again: a book that kills the reader twice is rejected. If fresh readers
keep dying before answering anything, the rest of the books are read in-line.
A child still reading one book after :data:`READ_SECONDS` (more for a big file)
is killed and the book rejected; reading in-line has no such limit, so PDFs,
whose parser is the one known to hang, always get a reader process.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from content.errors import ContentError, FileVerdict, RejectedFile
from content.ingest.metadata import clean_book
from content.parsed import ParsedBook
from content.readers.epub import read_epub
from content.search.analysis import index_streams
from content.ingest.thumbnails import make_thumbnail, placeholder_thumbnail

__all__ = ["MAX_TITLE", "ReadResult", "BookReader", "read_book", "prepare_book", "read_error_reason"]

log = logging.getLogger(__name__)

MAX_TITLE = 1000
READER_NICENESS = 10  # the web server answers phones first; reading ahead can wait
# A reader process gets this long for one book, plus some per megabyte, before it
# is stopped and the file rejected (pypdf can spin for hours on a damaged PDF).
READ_SECONDS = 120.0
READ_SECONDS_PER_MB = 2.0
# A reader process says READY once it has started (imports, ICU); starting may take this long.
READY = "ready"
START_SECONDS = 60.0


@dataclass
class ReadResult:
    """A book read and made ready to store, or the verdict that it cannot be.

    ``streams`` maps each chapter text to its search streams (see
    :func:`content.search.analysis.index_streams`), so the importer does not
    analyse them again; ``records`` are log records the reading produced in a
    child process.
    """

    parsed: ParsedBook | None = None
    thumbnail: bytes = b""
    streams: dict[str, tuple[str, str]] = field(default_factory=dict)
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
    """Read one EPUB or PDF (``kind``), prepare it and analyse its texts; never raises for a bad file."""
    try:
        if kind == "epub":
            parsed = read_epub(path, max_uncompressed=max_uncompressed)
        else:
            # pypdf takes ~20 MB once imported: only processes that meet a PDF pay for it.
            from content.readers.pdf import read_pdf

            parsed = read_pdf(path)
        parsed, thumbnail = prepare_book(parsed, book_id)
        streams = {chapter.text: index_streams(chapter.text) for chapter in parsed.chapters if chapter.text}
    except FileVerdict as verdict:
        return ReadResult(verdict=verdict.verdict, reason=verdict.reason)
    except OSError as error:
        return ReadResult(verdict="rejected", reason=read_error_reason(path, error))
    except Exception as error:  # noqa: BLE001 - one hostile file must not stop the run
        log.error("unexpected error reading %s\n%s", path, traceback.format_exc())
        return ReadResult(verdict="rejected", reason=f"could not be read as {kind.upper()} ({type(error).__name__})")
    return ReadResult(parsed=parsed, thumbnail=thumbnail, streams=streams)


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
    """Run as the reader process: ``python -m content.ingest.reader LOG_LEVEL``."""
    os.nice(READER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importer's to handle
    collector = _Collector()
    logging.getLogger().handlers[:] = [collector]
    logging.getLogger().setLevel(int(argv[0]) if argv else logging.WARNING)
    results = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the results channel
    try:
        pickle.dump(READY, results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()
    except BrokenPipeError:
        return
    serve_reads(sys.stdin.buffer, results, collector)


class _Child:
    """One reader process and the requests sent to it, in order, not yet answered."""

    def __init__(self) -> None:
        """Start the process: it finds this checkout's packages first, and logs at our level."""
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        level = logging.getLogger().getEffectiveLevel()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "content.ingest.reader", str(level)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self.waiting: deque[tuple] = deque()
        self.answered = False
        self.ready = False  # its READY message was received
        self.lock = threading.Lock()
        self.loading = False
        self.timed_out = False

    def send(self, arguments: tuple) -> None:
        """Write one request (if the process died, :meth:`load` will notice)."""
        try:
            pickle.dump(arguments, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except OSError:
            pass

    def load(self, seconds: float) -> ReadResult | None:
        """The next result (its log records handled), or None if the process died.

        If no result comes within ``seconds``, the process is killed (and
        :attr:`timed_out` set): a file can keep a parser busy for hours. The
        time the process takes to start (its :data:`READY` message) does not count.
        """
        if not self.ready:
            marker = self._load_within(START_SECONDS)
            self.timed_out = False  # a child too slow to start is a dead child, not a slow book
            if marker != READY:
                return None
            self.ready = True
        result = self._load_within(seconds)
        if result is None:
            return None
        self.answered = True
        for record in result.records:
            logging.getLogger(record.name).handle(record)
        return result

    def _load_within(self, seconds: float) -> object:
        """The next object from the process, or None if it died or sent nothing for ``seconds``."""
        self.timed_out = False
        timer = threading.Timer(seconds, self._expire)
        timer.daemon = True
        with self.lock:
            self.loading = True
        timer.start()
        try:
            return pickle.load(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            return None
        finally:
            with self.lock:
                self.loading = False
            timer.cancel()

    def _expire(self) -> None:
        """Kill the process if a :meth:`load` is still waiting for it (the timer's action)."""
        with self.lock:
            if self.loading:
                self.timed_out = True
                self.process.kill()

    def forget(self, arguments: tuple) -> None:
        """Drop the oldest request, which ``arguments`` is, from the waiting ones."""
        if self.waiting and self.waiting[0] is arguments:
            self.waiting.popleft()

    def stop(self) -> None:
        """Close the pipes and wait for the process (kill it if it hangs)."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:  # a request still in the pipe to a dead child
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in a hostile file: it holds nothing worth waiting for
            self.process.kill()
            self.process.wait()


class BookReader:
    """Reads books in-line (``processes=0``) or in that many child processes.

    Requests go to the children in turn; each child answers its own in order, so
    taking the results in submission order reads each from the child it went to.
    """

    def __init__(self, processes: int, seconds: float = READ_SECONDS):
        """Start the child processes asked for; a child gets ``seconds`` for each book (plus its size)."""
        self.seconds = seconds
        self.in_line = processes <= 0
        self.children: list[_Child] = [_Child() for _ in range(max(processes, 0))]
        self.submitted = 0
        self.silent_deaths = 0  # children that died before answering anything, in a row

    def submit(self, kind: str, path: Path, book_id: str, max_uncompressed: int,
               size: int) -> Callable[[], ReadResult]:
        """Start reading a book of ``size`` bytes; return a function that waits for and returns the result.

        Results must be taken in the order the books were submitted. A child
        gets :attr:`seconds`, plus :data:`READ_SECONDS_PER_MB` for each MB of
        ``size``, to answer.
        """
        arguments = (kind, path, book_id, max_uncompressed)
        if self.in_line:
            return lambda: read_book(*arguments)
        slot = self.submitted % len(self.children)
        self.submitted += 1
        child = self.children[slot]
        child.waiting.append(arguments)
        child.send(arguments)
        seconds = self.seconds + READ_SECONDS_PER_MB * size / 2**20
        return lambda: self._receive(slot, arguments, seconds)

    def _receive(self, slot: int, arguments: tuple, seconds: float) -> ReadResult:
        """The result for ``arguments``, the oldest request of child ``slot``, within ``seconds``.

        See the module docstring for what happens when the child dies or takes too long.
        """
        deaths = 0
        while not self.in_line:
            child = self.children[slot]
            result = child.load(seconds)
            if result is not None:
                self.silent_deaths = 0
                child.forget(arguments)
                return result
            if child.timed_out:
                limit = f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}"
                log.warning("reading %s took over %s s: the reader was stopped", arguments[1], limit)
                child.forget(arguments)
                self._restart(slot)
                return ReadResult(verdict="rejected",
                                  reason=f"reading this file took longer than {limit} seconds (damaged?)")
            deaths += 1
            self._note_death(child, arguments)
            if self.in_line:
                break
            if deaths == 2:
                child.forget(arguments)
                self._restart(slot)  # the requests behind this one, without it
                return ReadResult(verdict="rejected", reason="reading this file crashed the reader (out of memory?)")
            self._restart(slot)  # this request and those behind it, once more
        return read_book(*arguments)

    def _note_death(self, child: _Child, arguments: tuple) -> None:
        """Count a dead child; after three fresh ones in a row died silent, read in-line from now on."""
        log.warning("the reader process died while reading %s", arguments[1])
        self.silent_deaths = 0 if child.answered else self.silent_deaths + 1
        if self.silent_deaths >= 3:
            log.error("the reader process keeps dying: reading in-line from now on")
            self.close()
            self.in_line = True

    def _restart(self, slot: int) -> None:
        """Replace child ``slot`` by a fresh one that gets its waiting requests."""
        old = self.children[slot]
        old.stop()
        fresh = _Child()
        fresh.waiting = old.waiting
        for arguments in fresh.waiting:
            fresh.send(arguments)
        self.children[slot] = fresh

    def close(self) -> None:
        """Stop the child processes (requests still waiting are dropped)."""
        for child in self.children:
            child.stop()
        self.children = []


if __name__ == "__main__":
    # Run the module under its own name, so results pickle as content.ingest.reader.ReadResult.
    from content.ingest.reader import main as reader_main

    reader_main(sys.argv[1:])
