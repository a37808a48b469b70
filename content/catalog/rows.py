"""The catalog rows of one parsed book: ``books``, ``files`` and ``chapters``.

Pure functions from a :class:`~content.parsed.ParsedBook` (and the hashes its
files were stored under) to the dicts :meth:`content.catalog.Catalog.insert_book`
takes. The ingest loop decides *when* rows are written; this module only says
*what* they hold.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from content.catalog.categories import fold_label
from content.parsed import ParsedBook, ParsedFile

__all__ = ["book_row", "chapter_rows", "cover_row", "display_text", "file_row", "sort_title", "image_media_type"]


def display_text(path: Path | str) -> str:
    """``path`` (or a title made from a file name) as text that can be stored and printed.

    A name that is not valid UTF-8 (a stick written by an old Windows or
    camera) reaches Python with lone surrogates, which SQLite and a UTF-8
    terminal refuse: those bytes become U+FFFD.
    """
    text = os.fspath(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return text.encode("utf-8", "replace").decode("utf-8")


def sort_title(title: str) -> str:
    """A key that sorts titles the way people expect (case- and accent-insensitive)."""
    return fold_label(title)[:200]


def image_media_type(data: bytes) -> str:
    """The media type of an image from its first bytes."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:3] == b"GIF":
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def file_row(pfile: ParsedFile, position: int, sha256: str, size: int) -> dict:
    """The ``files`` row of one of the book's own files, stored under ``sha256``."""
    return {
        "sha256": sha256,
        "role": pfile.role,
        "position": position,
        "size": size,
        "media_type": pfile.media_type,
        "name": unicodedata.normalize("NFC", display_text(pfile.path.name)),
        "duration": pfile.duration,
    }


def cover_row(cover: bytes, sha256: str, size: int) -> dict:
    """The ``files`` row of the book's original cover image."""
    return {"sha256": sha256, "role": "cover", "position": 0, "size": size,
            "media_type": image_media_type(cover), "name": "cover", "duration": None}


def book_row(parsed: ParsedBook, book_id: str, file_rows: list[dict], cover_sha: str | None,
             thumb_sha: str) -> dict:
    """The ``books`` row for a parsed book whose files are described by ``file_rows``."""
    title = display_text(parsed.title)  # a title made from a file name that is not UTF-8
    return {
        "id": book_id,
        "title": title,
        "sort_title": sort_title(title),
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


def chapter_rows(parsed: ParsedBook, file_rows: list[dict]) -> tuple[list[dict], list[tuple[int, str]]]:
    """Chapter rows and the (position, text) pairs for full-text search."""
    chapters, texts = [], []
    for position, chapter in enumerate(parsed.chapters):
        file_sha = None
        if chapter.file_index is not None and chapter.file_index < len(file_rows):
            file_sha = file_rows[chapter.file_index]["sha256"]
        chapters.append(
            {
                "position": position,
                "title": display_text(chapter.title) if chapter.title else chapter.title,
                "href": chapter.href,
                "file_sha256": file_sha,
                "start": chapter.start,
                "duration": chapter.duration,
            }
        )
        if chapter.text:
            texts.append((position, chapter.text))
    return chapters, texts
