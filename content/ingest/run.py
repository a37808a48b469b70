"""Loading books from folders (a USB stick, the starter collection): one verdict per file.

Every input file gets exactly one verdict: imported, duplicate, rejected (with a
reason a librarian understands) or skipped. The order of work for one book:
hash its files (a byte-identical copy is a duplicate before any parsing), read
it with the reader for its format, store its files durably, then write its rows
and its search entries in one catalog transaction. A crash or a pulled stick
at any point leaves the catalog consistent: what was committed is complete,
anything else is discarded by the start-up check, and running the import again
resumes (already-imported files are duplicates).

Two conditions stop a run early instead of giving files verdicts they do not
deserve (the run is then marked ``interrupted`` in ``imports``):

- :class:`SourceGone`: a folder or drive being imported disappeared (a USB stick
  pulled or unmounted). A failure while the source is gone is not the file's fault,
  so the book in progress gets no verdict and nothing of it is kept.
- :class:`StorageFull`: the box's own data directory cannot take more (disk full,
  quota, read-only); every following file would fail the same way.

A run killed outright (SIGKILL, power cut) leaves its ``imports`` row ``running``;
the next run, which holds the same writer lock, marks it ``interrupted``.

Speed: reading an EPUB or PDF (parsing, text, thumbnail, analysing the text for
search) needs no catalog, so on a machine with two or more cores it runs a few
books ahead in reader processes (:mod:`content.ingest.reader`) while this process
hashes, stores, records and indexes in file order. Each book still gets its own
transaction, committed only after its files are fsynced in the store; the
write-ahead log is checkpointed rarely during the run and synced at its end
(:meth:`content.catalog.Catalog.bulk_writes`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from content.catalog import book_id_for, imports
from content.catalog.books import NewBook
from content.catalog.rows import display_text
from content.ingest.report import ImportReport, VerdictLog
from content.errors import ContentError, FileVerdict, RejectedFile, StorageFull
from content.ingest.reader import (
    MAX_TITLE,
    READ_SECONDS,
    BookReader,
    ReadResult,
    prepare_book,
    read_error_reason,
)
from content.parsed import ParsedBook
from content.readers.audio import AUDIO_EXTENSIONS, group_audiobooks, read_audio
from content.store import sha256_of_file, writer_lock
from content.ingest.usb import SourceGone, SourceWatch, scan_paths

__all__ = [
    "ImportReport",
    "import_paths",
    "scan_paths",
    "SourceGone",
    "StorageFull",
    "AUDIO_EXTENSIONS",
    "MAX_TITLE",
]

log = logging.getLogger(__name__)

BOOK_EXTENSIONS = {".epub", ".pdf"}
# A reader process pays for itself (about a second to start) from this many books on.
READER_PROCESS_MIN_BOOKS = 8
# Reader processes at most: each holds its own parsers and ICU (about 70 MB), and
# the importer must stay under 300 MB; on two cores, two readers keep this process
# (storing and indexing) busy.
MAX_READER_PROCESSES = 2
# Books read ahead of the one being stored, per reader: enough to keep the readers
# busy, few enough that their texts and covers stay a small part of the memory budget.
READ_AHEAD_PER_READER = 2
Progress = Callable[[int, int, str], None]


@dataclass
class _Job:
    """One EPUB or PDF on its way through the run: hashed, maybe being read ahead.

    Exactly one of ``duplicate``, ``failure`` and ``read`` is set once started.
    """

    kind: str
    path: Path
    sha: str = ""
    duplicate: dict | None = None
    failure: tuple[str, str] | None = None
    read: Callable[[], ReadResult] | None = None


class _Importer:
    """One import run over a :class:`content.library.Library`."""

    def __init__(self, library, *, source: str, progress: Progress | None, limits: dict, actor: str):
        """Prepare a run; nothing is written until :meth:`run`."""
        self.library = library
        self.actor = actor
        self.catalog = library.catalog
        self.source = source
        self.progress = progress or (lambda done, total, path: None)
        self.limits = limits
        self.verdicts = VerdictLog(self.catalog)
        self.sources = SourceWatch([])
        self.reader = BookReader(0)
        self.done = self.total = 0  # files with a verdict, and all candidate files (for progress)

    # -- verdicts ----------------------------------------------------------

    @property
    def report(self) -> ImportReport:
        """The run's report so far."""
        return self.verdicts.report

    def verdict(self, kind: str, path: Path, *, reason: str = "", book: dict | None = None) -> None:
        """Record one file's verdict (see :meth:`VerdictLog.give`)."""
        self.verdicts.give(kind, path, reason=reason, book=book)

    def failed(self, paths: list[Path], kind: str, reason: str) -> None:
        """Give ``paths`` a failure verdict, unless the source is gone (then raise SourceGone)."""
        self.sources.confirm()
        for path in paths:
            self.verdict(kind, path, reason=reason)

    # -- the run -----------------------------------------------------------

    def run(self, paths: list[Path]) -> ImportReport:
        """Import every candidate under ``paths``; stop early if the source or the storage fails."""
        imports.close_killed_runs(self.catalog)
        self.report.import_id = imports.start_run(self.catalog, self.source)
        self.sources = SourceWatch(paths)
        try:
            candidates, missing = scan_paths(paths)
            for entry in missing:
                self.verdict("skipped", Path(entry["path"]), reason=entry["reason"])
            groups = self.group(candidates)
            self.total = len(candidates)
            self.done = self.total - sum(len(files) for _, files in groups)  # skipped: done already
            self.reader = BookReader(self.reader_processes([kind for kind, _ in groups]),
                                     self.limits["read_seconds"])
            self.import_groups(groups)
            self.progress(self.done, self.total, "")
        except (SourceGone, StorageFull) as error:
            self.report.interrupted = True
            self.report.stopped_because = str(error)
            log.warning("import stopped after %d files: %s", self.done, error)
        except BaseException:
            self.report.interrupted = True
            self.finish()
            raise
        finally:
            self.reader.close()
        self.finish()
        return self.report

    def reader_processes(self, kinds: list[str]) -> int:
        """How many child processes read EPUBs and PDFs ahead (0: read them here).

        ``kinds`` are the groups' kinds. A PDF always gets one, for its time limit
        (see :mod:`content.ingest.reader`).
        """
        wanted = self.limits.get("reader_processes")
        if wanted is not None:
            return wanted
        cores = os.cpu_count() or 1
        singles = sum(1 for kind in kinds if kind != "audio")
        if singles >= READER_PROCESS_MIN_BOOKS and cores >= 2:
            return min(cores, MAX_READER_PROCESSES)
        return 1 if "pdf" in kinds else 0

    def import_groups(self, groups: list[tuple[str, list[Path]]]) -> None:
        """Import the groups in order, reading a few books ahead (:data:`READ_AHEAD_PER_READER`)."""
        read_ahead = READ_AHEAD_PER_READER * max(len(self.reader.children), 1)
        in_flight: deque[_Job] = deque()
        for kind, files in groups:
            if not self.sources.present():
                raise SourceGone("the USB stick or folder was removed during the import")
            if kind == "audio":
                while in_flight:
                    self.finish_job(in_flight.popleft())
                self.progress(self.done, self.total, str(files[0]))
                self.import_audio_folder(files)
                self.done += len(files)
                continue
            in_flight.append(self.start_job(kind, files[0]))
            while len(in_flight) > read_ahead:
                self.finish_job(in_flight.popleft())
        while in_flight:
            self.finish_job(in_flight.popleft())

    def per_book(self, paths: list[Path], label: str, step: Callable[[], None]) -> None:
        """Run ``step`` for one book: whatever goes wrong with it becomes its verdict.

        This is the per-file boundary of the run: only a source gone or a full
        disk (which no other file would survive either) gets through.
        """
        try:
            step()
        except FileVerdict as verdict:
            self.failed(paths, verdict.verdict, verdict.reason)
        except (SourceGone, StorageFull):
            raise
        except ContentError as error:  # a store or catalog problem with this one book
            self.failed(paths, "rejected", str(error))
        except OSError as error:
            self.failed(paths, "rejected", read_error_reason(paths[0], error))
        except Exception as error:  # noqa: BLE001 - one hostile file must not stop the run
            log.exception("unexpected error importing %s", paths[0])
            self.failed(paths, "rejected", f"could not be read as {label} ({type(error).__name__})")

    def group(self, candidates: list[Path]) -> list[tuple[str, list[Path]]]:
        """Split candidates into single books, audio folders and skipped files."""
        groups: list[tuple[str, list[Path]]] = []
        audio_by_folder: dict[Path, list[Path]] = {}
        for path in candidates:
            suffix = path.suffix.lower()
            if suffix in BOOK_EXTENSIONS:
                groups.append((suffix[1:], [path]))
            elif suffix in AUDIO_EXTENSIONS:
                audio_by_folder.setdefault(path.parent, []).append(path)
            else:
                label = suffix or "no extension"
                self.verdict("skipped", path, reason=f"not an e-book or audiobook ({label})")
        groups.extend(("audio", files) for files in audio_by_folder.values())
        return groups

    def finish(self) -> None:
        """Flush verdicts and close the import's history row with its counts.

        If the catalog cannot be written (the disk is full), the row stays
        ``running`` and the next run marks it interrupted.
        """
        status = "interrupted" if self.report.interrupted else "done"
        try:
            self.verdicts.flush()
            imports.finish_run(self.catalog, self.report.import_id, status, self.report.counts())
        except (sqlite3.Error, OSError) as error:
            log.error("could not record the end of import %s: %s", self.report.import_id, error)

    # -- one book ----------------------------------------------------------

    def check_size(self, path: Path) -> int:
        """The file's size; RejectedFile for an empty file or one over the size cap."""
        size = path.stat().st_size
        if size == 0:
            raise RejectedFile("empty file (0 bytes)")
        cap = self.limits["max_file_bytes"]
        if size > cap:
            raise RejectedFile(f"file too large ({size // 2**20} MB; the limit is {cap // 2**20} MB)")
        return size

    def start_job(self, kind: str, path: Path) -> _Job:
        """Check and hash one EPUB/PDF; unless it is a duplicate or unreadable, start reading it."""
        job = _Job(kind, path)
        try:
            size = self.check_size(path)
            job.sha = sha256_of_file(path)
            job.duplicate = self.existing_book([job.sha])
            if job.duplicate is None:
                job.read = self.reader.submit(kind, path, book_id_for([job.sha]),
                                              self.limits["max_uncompressed_bytes"], size)
        except FileVerdict as verdict:
            job.failure = (verdict.verdict, verdict.reason)
        except OSError as error:
            job.failure = ("rejected", read_error_reason(path, error))
        return job

    def finish_job(self, job: _Job) -> None:
        """Give one EPUB/PDF its verdict: store and record it if it was read well."""
        self.progress(self.done, self.total, str(job.path))
        self.per_book([job.path], job.kind.upper(), lambda: self.finish_single(job))
        self.done += 1

    def finish_single(self, job: _Job) -> None:
        """The verdict of one started job (see :meth:`finish_job`)."""
        if job.duplicate is not None:
            self.verdict("duplicate", job.path, book=job.duplicate)
            return
        if job.failure is not None:
            self.failed([job.path], *job.failure)
            return
        result = job.read()
        if result.parsed is None:
            self.failed([job.path], result.verdict, result.reason)
            return
        existing = self.existing_book([job.sha])  # the same file twice in this run
        if existing is not None:
            self.verdict("duplicate", job.path, book=existing)
            return
        self.add(result, [job.sha], [job.path])

    def import_audio_folder(self, files: list[Path]) -> None:
        """Read every audio file of one folder, then import the audiobooks they form."""
        readable: list[tuple[Path, object]] = []
        for path in files:
            self.per_book([path], "audio", lambda: readable.append((path, self.read_audio_file(path))))
        if not readable:
            return
        books: list[ParsedBook] = []
        self.per_book([path for path, _ in readable], "audio", lambda: books.extend(group_audiobooks(readable)))
        for parsed in books:
            paths = [f.path for f in parsed.files]
            self.per_book(paths, "audio", lambda: self.import_audiobook(parsed, paths))

    def read_audio_file(self, path: Path):
        """One audio file's tags and duration (after the size checks)."""
        self.check_size(path)
        return read_audio(path)

    def import_audiobook(self, parsed: ParsedBook, paths: list[Path]) -> None:
        """Hash an audiobook's files; record it as a duplicate or prepare and add it."""
        hashes = [sha256_of_file(p) for p in paths]
        existing = self.existing_book(hashes)
        if existing:
            for path in paths:
                self.verdict("duplicate", path, book=existing)
            return
        parsed, thumbnail = prepare_book(parsed, book_id_for(hashes))
        self.add(ReadResult(parsed=parsed, thumbnail=thumbnail), hashes, paths)

    def existing_book(self, hashes: list[str]) -> dict | None:
        """The book already made of exactly these files, if any."""
        book_id = book_id_for(hashes)
        if self.catalog.book_exists(book_id):
            return {"id": book_id}
        return None

    def add(self, read: ReadResult, hashes: list[str], paths: list[Path]) -> None:
        """Add one prepared book through the book door, its verdicts in the book's transaction.

        The door stores the files first and removes them again if anything fails;
        a full disk or catalog becomes :class:`StorageFull`.
        """
        new = NewBook(read.parsed, hashes, read.thumbnail, read.streams)

        def in_transaction(book: dict) -> None:
            for path in paths:
                self.verdict("imported", path, book=book)
            self.verdicts.flush()

        try:
            self.library.books.add(new, actor=self.actor, max_file_bytes=self.limits["max_file_bytes"],
                                   in_transaction=in_transaction)
        except BaseException:
            self.verdicts.forget_imported(new.book_id)
            raise


def import_paths(
    library,
    paths: Iterable[Path | str],
    *,
    source: str | None = None,
    progress: Progress | None = None,
    max_uncompressed_bytes: int = 300 * 2**20,
    max_file_bytes: int = 2048 * 2**20,
    reader_processes: int | None = None,
    read_seconds: float = READ_SECONDS,
    actor: str = "import",
) -> ImportReport:
    """Import every e-book and audiobook under ``paths`` into ``library``.

    Holds the data directory's writer lock for the whole run, so the server's
    start-up clean-up never removes a file this run stored but has not yet
    recorded. ``reader_processes`` says how many child processes read EPUBs and
    PDFs ahead (0: none); by default one per core, at most
    :data:`MAX_READER_PROCESSES`, when there are enough books and two or more cores,
    and always one for PDFs. A reader process gets ``read_seconds`` for each book
    (plus 2 s per MB) before the book is rejected as taking too long. ``actor``
    names who imported in the catalog's change history. Returns the report; it
    is also kept in the import history (:mod:`content.catalog.imports`).
    """
    paths = [Path(p) for p in paths]
    limits = {
        "max_uncompressed_bytes": max_uncompressed_bytes,
        "max_file_bytes": max_file_bytes,
        "reader_processes": reader_processes,
        "read_seconds": read_seconds,
    }
    with writer_lock(library.data_dir), library.catalog.bulk_writes():
        importer = _Importer(
            library,
            source=source or json.dumps([display_text(p) for p in paths], ensure_ascii=False),
            progress=progress,
            limits=limits,
            actor=actor,
        )
        return importer.run(paths)
