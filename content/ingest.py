"""Loading books from folders (a USB stick, the starter collection): one verdict per file.

Every input file gets exactly one verdict: imported, duplicate, rejected (with a
reason a librarian understands) or skipped. The order of work for one book:
hash its files (a byte-identical copy is a duplicate before any parsing), read
it with the reader for its format, store its files durably, then write its rows
and its search entries in one catalog transaction. A crash or a pulled stick
at any point leaves the catalog consistent: what was committed is complete,
anything else is discarded by the start-up check, and running the import again
resumes (already-imported files are duplicates).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from content.catalog import book_id_for, now_iso
from content.categories import categories_for, fold_label
from content.errors import ContentError, FileVerdict, HashMismatch, RejectedFile, StoreError
from content.metadata import clean_book
from content.parsed import ParsedBook
from content.readers.audio import group_audiobooks, read_audio
from content.readers.epub import read_epub
from content.readers.pdf import read_pdf
from content.store import writer_lock
from content.thumbnails import make_thumbnail, placeholder_thumbnail

__all__ = ["ImportReport", "import_paths", "scan_paths", "AUDIO_EXTENSIONS", "MAX_TITLE"]

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".mp3", ".m4a", ".m4b", ".ogg", ".oga", ".opus", ".flac"}
BOOK_EXTENSIONS = {".epub", ".pdf"}
MAX_TITLE = 1000
HASH_CHUNK = 1024 * 1024
MEDIA_TYPES = {
    ".epub": "application/epub+zip",
    ".pdf": "application/pdf",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
}

Progress = Callable[[int, int, str], None]


@dataclass
class ImportReport:
    """The verdicts of one import run, in the CLI's ``--json`` shape."""

    imported: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    import_id: int | None = None
    interrupted: bool = False

    def as_json(self) -> dict:
        """The four verdict lists, as ``readpoint import --json`` prints them."""
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped": self.skipped,
        }


def _is_hidden(path: Path) -> bool:
    """Dot files and folders, and the litter other systems leave on sticks."""
    return path.name.startswith(".") or path.name in ("System Volume Information", "$RECYCLE.BIN")


def scan_paths(paths: Iterable[Path]) -> tuple[list[Path], list[dict]]:
    """Expand files and folders into candidate files (sorted); also the skipped ones.

    Symbolic links to folders are not followed (loops, and links off the stick).
    """
    candidates: list[Path] = []
    skipped: list[dict] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            candidates.append(root)
            continue
        if not root.is_dir():
            skipped.append({"path": str(root), "reason": "no such file or folder"})
            continue
        for folder, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
            dirnames[:] = sorted(d for d in dirnames if not _is_hidden(Path(d)))
            for name in sorted(filenames):
                path = Path(folder) / name
                if _is_hidden(path):
                    continue
                candidates.append(path)
    return candidates, skipped


def _sha256_of(path: Path) -> str:
    """Hash a source file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_error(path: Path, error: OSError) -> RejectedFile:
    """A librarian's reason for a file that could not be read at all."""
    if not path.parent.exists():
        return RejectedFile("could not be read: the USB stick or folder was removed")
    return RejectedFile(f"could not be read ({error.strerror or error})")


class _Importer:
    """One import run over a :class:`content.library.Library`."""

    def __init__(self, library, *, source: str, progress: Progress | None, limits: dict):
        self.library = library
        self.catalog = library.catalog
        self.source = source
        self.progress = progress or (lambda done, total, path: None)
        self.limits = limits
        self.report = ImportReport()
        self.pending_verdicts: list[dict] = []
        self.categories = self.catalog.categories()

    # -- verdicts ----------------------------------------------------------

    def verdict(self, kind: str, path: Path, *, reason: str = "", book: dict | None = None) -> None:
        """Record one file's verdict in the report and (batched) in ``import_files``."""
        entry = {"path": str(path)}
        if kind == "imported":
            entry.update(id=book["id"], title=book["title"], format=book["format"])
            self.report.imported.append(entry)
        elif kind == "duplicate":
            entry["id"] = book["id"]
            self.report.duplicates.append(entry)
        else:
            entry["reason"] = reason
            (self.report.rejected if kind == "rejected" else self.report.skipped).append(entry)
            log.info("%s %s: %s", kind, path, reason)
        self.pending_verdicts.append(
            {
                "import_id": self.report.import_id,
                "path": str(path),
                "verdict": kind,
                "reason": reason,
                "book_id": book["id"] if book else None,
            }
        )

    def flush_verdicts(self) -> None:
        """Write buffered verdicts (inside the caller's transaction, or in one of their own)."""
        if self.pending_verdicts:
            with self.catalog.write() as db:
                db["import_files"].insert_all(self.pending_verdicts)
            self.pending_verdicts = []

    # -- the run -----------------------------------------------------------

    def run(self, paths: list[Path]) -> ImportReport:
        """Import every candidate under ``paths``."""
        with self.catalog.write() as db:
            db["imports"].insert({"started_at": now_iso(), "source": self.source})
            self.report.import_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        candidates, missing = scan_paths(paths)
        for entry in missing:
            self.verdict("skipped", Path(entry["path"]), reason=entry["reason"])
        groups = self.group(candidates)
        total = len(candidates)
        done = 0
        for kind, files in groups:
            self.progress(done, total, str(files[0]))
            if not all(root.exists() for root in paths):
                self.report.interrupted = True
                log.warning("the source disappeared: import interrupted")
                break
            try:
                if kind == "audio":
                    self.import_audio_folder(files)
                else:
                    self.import_single(kind, files[0])
            except ContentError as error:  # a store/catalog problem with this one book
                for path in files:
                    self.verdict("rejected", path, reason=str(error))
            done += len(files)
        self.progress(done, total, "")
        self.finish()
        return self.report

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
        """Flush verdicts and close the import's history row with its counts."""
        self.flush_verdicts()
        status = "interrupted" if self.report.interrupted else "done"
        with self.catalog.write() as db:
            db["imports"].update(
                self.report.import_id,
                {
                    "finished_at": now_iso(),
                    "status": status,
                    "imported": len(self.report.imported),
                    "duplicates": len(self.report.duplicates),
                    "rejected": len(self.report.rejected),
                    "skipped": len(self.report.skipped),
                },
            )

    # -- one book ----------------------------------------------------------

    def check_size(self, path: Path) -> None:
        """Reject empty files and files over the size cap before reading them."""
        size = path.stat().st_size
        if size == 0:
            raise RejectedFile("empty file (0 bytes)")
        cap = self.limits["max_file_bytes"]
        if size > cap:
            raise RejectedFile(f"file too large ({size // 2**20} MB; the limit is {cap // 2**20} MB)")

    def import_single(self, kind: str, path: Path) -> None:
        """Import one EPUB or PDF file."""
        try:
            self.check_size(path)
            sha = _sha256_of(path)
            existing = self.existing_book([sha])
            if existing:
                self.verdict("duplicate", path, book=existing)
                return
            if kind == "epub":
                parsed = read_epub(path, max_uncompressed=self.limits["max_uncompressed_bytes"])
            else:
                parsed = read_pdf(path)
            self.add(parsed, [sha], [path])
        except FileVerdict as verdict:
            self.verdict(verdict.verdict, path, reason=verdict.reason)
        except OSError as error:
            self.verdict("rejected", path, reason=_read_error(path, error).reason)
        except Exception as error:  # noqa: BLE001 - one hostile file must not stop the run
            log.exception("unexpected error reading %s", path)
            self.verdict("rejected", path, reason=f"could not be read as {kind.upper()} ({type(error).__name__})")

    def import_audio_folder(self, files: list[Path]) -> None:
        """Read every audio file of one folder, then import the audiobooks they form."""
        readable = []
        for path in files:
            try:
                self.check_size(path)
                readable.append((path, read_audio(path)))
            except FileVerdict as verdict:
                self.verdict(verdict.verdict, path, reason=verdict.reason)
            except OSError as error:
                self.verdict("rejected", path, reason=_read_error(path, error).reason)
            except Exception as error:  # noqa: BLE001 - one hostile file must not stop the run
                log.exception("unexpected error reading %s", path)
                self.verdict("rejected", path, reason=f"could not be read as audio ({type(error).__name__})")
        if not readable:
            return
        for parsed in group_audiobooks(readable):
            paths = [f.path for f in parsed.files]
            try:
                hashes = [_sha256_of(p) for p in paths]
                existing = self.existing_book(hashes)
                if existing:
                    for path in paths:
                        self.verdict("duplicate", path, book=existing)
                    continue
                self.add(parsed, hashes, paths)
            except FileVerdict as verdict:
                for path in paths:
                    self.verdict(verdict.verdict, path, reason=verdict.reason)
            except OSError as error:
                for path in paths:
                    self.verdict("rejected", path, reason=_read_error(path, error).reason)

    def existing_book(self, hashes: list[str]) -> dict | None:
        """The book already made of exactly these files, if any."""
        book_id = book_id_for(hashes)
        if self.catalog.book_exists(book_id):
            return {"id": book_id}
        return None

    def add(self, parsed: ParsedBook, hashes: list[str], paths: list[Path]) -> None:
        """Clean, store and record one parsed book (files first, then rows).

        If anything fails after the first file is stored, the files this book
        stored are removed again: nothing of a rejected book stays in the store.
        """
        parsed = clean_book(parsed)
        if len(parsed.title) > MAX_TITLE:
            raise RejectedFile(f"title longer than {MAX_TITLE} characters")
        book_id = book_id_for(hashes)
        file_rows: list[dict] = []
        try:
            self.store_files(parsed, hashes, file_rows)
            cover_sha = self.store_cover(parsed, file_rows)
            thumb_sha = self.make_thumb(parsed, book_id)
            book = self.book_row(parsed, book_id, file_rows, cover_sha, thumb_sha)
            chapters, texts = self.chapter_rows(parsed, file_rows)
            with self.catalog.write():
                self.catalog.insert_book(
                    book,
                    files=file_rows,
                    chapters=chapters,
                    texts=texts,
                    categories=categories_for(parsed.subjects, self.categories),
                )
                self.library.search.index_book(self.catalog, book_id)
                for path in paths:
                    self.verdict("imported", path, book=book)
                self.flush_verdicts()
        except BaseException:
            self.pending_verdicts = [v for v in self.pending_verdicts if v["verdict"] != "imported"]
            self.report.imported = [e for e in self.report.imported if e.get("id") != book_id]
            self.discard_unreferenced([row["sha256"] for row in file_rows])
            raise

    def store_files(self, parsed: ParsedBook, hashes: list[str], file_rows: list[dict]) -> None:
        """Copy the book's files into the store, checking each against its earlier hash."""
        for position, (pfile, sha) in enumerate(zip(parsed.files, hashes)):
            try:
                stored_sha, size = self.library.store.put_file(
                    pfile.path, expected_sha256=sha, max_bytes=self.limits["max_file_bytes"]
                )
            except HashMismatch as error:
                raise RejectedFile(
                    "the file changed while it was copied (was the USB stick removed?)"
                ) from error
            except StoreError as error:
                raise RejectedFile(str(error)) from error
            suffix = pfile.path.suffix.lower()
            file_rows.append(
                {
                    "sha256": stored_sha,
                    "role": pfile.role,
                    "position": position,
                    "size": size,
                    "media_type": pfile.media_type or MEDIA_TYPES.get(suffix, "application/octet-stream"),
                    "name": unicodedata.normalize("NFC", pfile.path.name),
                    "duration": pfile.duration,
                }
            )

    def discard_unreferenced(self, hashes: list[str]) -> None:
        """Remove files this run stored for a book that was not recorded after all."""
        referenced = self.catalog.all_file_hashes()
        for sha in hashes:
            if sha not in referenced:
                self.library.store.remove(sha)

    def store_cover(self, parsed: ParsedBook, file_rows: list[dict]) -> str | None:
        """Store the book's original cover image (if any) as a ``cover`` file."""
        if not parsed.cover:
            return None
        sha, size = self.library.store.put_bytes(parsed.cover)
        file_rows.append(
            {"sha256": sha, "role": "cover", "position": 0, "size": size,
             "media_type": _image_type(parsed.cover), "name": "cover", "duration": None}
        )
        return sha

    def make_thumb(self, parsed: ParsedBook, book_id: str) -> str:
        """Write the phone-sized thumbnail (derived data) and return its hash."""
        data = None
        if parsed.cover:
            try:
                data = make_thumbnail(parsed.cover)
            except ContentError as error:
                log.info("cover of %s unusable (%s): placeholder used", parsed.title, error)
        if data is None:
            data = placeholder_thumbnail(parsed.title, book_id)
        sha = hashlib.sha256(data).hexdigest()
        target = self.library.thumb_path(sha)
        if not target.exists():
            part = target.with_suffix(".part")
            part.write_bytes(data)
            os.replace(part, target)
        return sha

    def book_row(self, parsed, book_id, file_rows, cover_sha, thumb_sha) -> dict:
        """The ``books`` row for a parsed book."""
        return {
            "id": book_id,
            "title": parsed.title,
            "sort_title": sort_title(parsed.title),
            "authors": parsed.authors,
            "language": parsed.language,
            "description": parsed.description,
            "publisher": parsed.publisher,
            "date": parsed.date,
            "subjects": parsed.subjects,
            "identifiers": parsed.identifiers,
            "format": parsed.format,
            "origin": "local",
            "status": "active",
            "cover_sha256": cover_sha,
            "thumb_sha256": thumb_sha,
            "size": sum(r["size"] for r in file_rows if r["role"] != "cover"),
            "duration": parsed.duration,
        }

    def chapter_rows(self, parsed: ParsedBook, file_rows: list[dict]) -> tuple[list[dict], list]:
        """Chapter rows and the (position, text) pairs for full-text search."""
        chapters, texts = [], []
        for position, chapter in enumerate(parsed.chapters):
            file_sha = None
            if chapter.file_index is not None and chapter.file_index < len(file_rows):
                file_sha = file_rows[chapter.file_index]["sha256"]
            chapters.append(
                {
                    "position": position,
                    "title": chapter.title,
                    "href": chapter.href,
                    "file_sha256": file_sha,
                    "start": chapter.start,
                    "duration": chapter.duration,
                }
            )
            if chapter.text:
                texts.append((position, chapter.text))
        return chapters, texts


def _image_type(data: bytes) -> str:
    """The media type of an image from its first bytes."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:3] == b"GIF":
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def sort_title(title: str) -> str:
    """A key that sorts titles the way people expect (case- and accent-insensitive)."""
    return fold_label(title)[:200]


def import_paths(
    library,
    paths: Iterable[Path | str],
    *,
    source: str | None = None,
    progress: Progress | None = None,
    max_uncompressed_bytes: int = 300 * 2**20,
    max_file_bytes: int = 2048 * 2**20,
) -> ImportReport:
    """Import every e-book and audiobook under ``paths`` into ``library``.

    Holds the data directory's writer lock for the whole run, so the server's
    start-up clean-up never removes a file this run stored but has not yet
    recorded. Returns the report; it is also kept in the ``imports`` tables.
    """
    paths = [Path(p) for p in paths]
    limits = {"max_uncompressed_bytes": max_uncompressed_bytes, "max_file_bytes": max_file_bytes}
    with writer_lock(library.data_dir):
        importer = _Importer(
            library,
            source=source or json.dumps([str(p) for p in paths], ensure_ascii=False),
            progress=progress,
            limits=limits,
        )
        return importer.run(paths)
