"""What a reader module (EPUB, PDF, audio) makes of one book, before it is stored.

The readers in ``content.readers`` turn files into a :class:`ParsedBook`; the
ingest module stores its files, cleans its metadata and writes its rows. A
reader never touches the catalog or the store, so it can be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ParsedChapter", "ParsedFile", "ParsedBook"]


@dataclass
class ParsedChapter:
    """One chapter: an EPUB spine/TOC entry, a PDF page, or an audio chapter.

    ``href`` is the EPUB member the chapter lives in (with any ``#fragment``),
    ``file_index`` the index in ``ParsedBook.files`` of the audio file that holds it,
    ``start`` its start in seconds inside that file (audio), ``text`` its plain
    text for search (empty for audio).
    """

    title: str
    href: str | None = None
    file_index: int | None = None
    start: float | None = None
    duration: float | None = None
    text: str = ""


@dataclass
class ParsedFile:
    """A source file that belongs to the book: path on the source medium and role."""

    path: Path
    media_type: str
    role: str = "primary"  # "primary" (the book itself) or "chapter" (one audio file of many)
    duration: float | None = None


@dataclass
class ParsedBook:
    """Metadata, files and chapters of one book as read from its source files."""

    format: str  # "epub", "pdf" or "audio"
    files: list[ParsedFile]
    title: str = ""
    authors: list[str] = field(default_factory=list)
    language: str = ""
    description: str = ""
    publisher: str = ""
    date: str = ""
    subjects: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    chapters: list[ParsedChapter] = field(default_factory=list)
    cover: bytes | None = None  # the raw cover image, if the book has one
    duration: float | None = None  # audio: total seconds
