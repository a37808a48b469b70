"""Read a PDF into a :class:`~content.parsed.ParsedBook` with pypdf: metadata and text per page.

Each page becomes a chapter titled ``Trang N`` ("page N") whose text is the
page's extracted text (for search); the text of the first
:data:`MAX_TEXT_PAGES` pages is extracted, and at most :data:`MAX_PAGES`
chapters are listed. A page that pypdf cannot read costs only its own text.

Refused with :class:`~content.errors.RejectedFile`: no PDF header, a file
pypdf cannot open, no pages, and encryption that needs a password (PDFs
with only an owner password, "restrictions", open with the empty password
and are fine; AES needs the ``cryptography`` package).

The cover is the first page's large JPEG image when there is one (scanned
books and most e-book PDFs); pages are not rendered.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.constants import PageAttributes
from pypdf.errors import DependencyError, PyPdfError
from pypdf.generic import IndirectObject

from content.errors import RejectedFile
from content.ingest.metadata import clean_book, clean_paragraphs, clean_text
from content.parsed import ParsedBook, ParsedChapter, ParsedFile

__all__ = ["PDF_MEDIA_TYPE", "MAX_TEXT_PAGES", "MAX_PAGES", "read_pdf"]

log = logging.getLogger(__name__)

PDF_MEDIA_TYPE = "application/pdf"
MAX_TEXT_PAGES = 2000
MAX_PAGES = 10_000
MAX_PAGE_TEXT = 200_000  # characters kept per page
MIN_COVER_SIDE = 300  # pixels: smaller images on page 1 are logos, not covers
# What pypdf raises on broken files, besides its own errors.
_PYPDF_ERRORS = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
                 RecursionError, ArithmeticError, NotImplementedError, zlib.error, struct.error, UnicodeError,
                 EOFError)
_JUNK_TITLE = re.compile(r"^(untitled\b|document\s*\d*$|doc\d*$)", re.IGNORECASE)
_FILE_EXTENSION = re.compile(r"\.(docx?|odt|rtf|pptx?|indd|pdf|txt|tex|qxd)$", re.IGNORECASE)


def _open(fileobj: Any) -> PdfReader:
    """A PdfReader over ``fileobj``, decrypted with the empty password if needed."""
    head = fileobj.read(1024)
    if not head:
        raise RejectedFile("not a valid PDF: the file is empty")
    if b"%PDF-" not in head:
        raise RejectedFile("not a valid PDF: no PDF header")
    fileobj.seek(0)
    try:
        reader = PdfReader(fileobj)
        if reader.is_encrypted and not reader.decrypt(""):
            raise RejectedFile("protected by a password")
        return reader
    except DependencyError as error:
        raise RejectedFile("protected by a password (unsupported PDF encryption)") from error
    except _PYPDF_ERRORS as error:
        log.info("pypdf cannot open the file: %s", error)
        raise RejectedFile("not a valid PDF: the file is damaged or truncated") from error


def _page_count(reader: PdfReader) -> int:
    """How many pages the document has, or RejectedFile if the page tree is unreadable or empty."""
    try:
        count = len(reader.pages)
    except _PYPDF_ERRORS as error:
        raise RejectedFile("not a valid PDF: the page list is damaged") from error
    if count == 0:
        raise RejectedFile("not a valid PDF: no pages")
    return count


def _clean_title(title: str) -> str:
    """A PDF title without word-processor noise (``Microsoft Word - x.docx`` → ``x``)."""
    title = clean_text(title)
    title = re.sub(r"^microsoft (word|powerpoint) - ", "", title, flags=re.IGNORECASE)
    title = _FILE_EXTENSION.sub("", title).strip()
    return "" if _JUNK_TITLE.match(title) else title


def _info(reader: PdfReader) -> dict[str, str]:
    """The document information dictionary's text fields ('' where absent or unreadable)."""
    try:
        info = reader.metadata or {}
        fields = {key: info.get(f"/{key.title()}") for key in ("title", "author", "subject", "keywords")}
        fields = {key: _resolve(value) for key, value in fields.items()}
        return {key: clean_text(value) if isinstance(value, str) else "" for key, value in fields.items()}
    except _PYPDF_ERRORS as error:
        log.info("unreadable PDF metadata: %s", error)
        return {}


def _language(reader: PdfReader) -> str:
    """The document catalog's /Lang entry ('' if absent)."""
    try:
        value = reader.trailer["/Root"].get("/Lang")
        return str(value) if value is not None else ""
    except _PYPDF_ERRORS:
        return ""


def _page_text(reader: PdfReader, index: int) -> str:
    """One page's text as clean lines ('' if pypdf fails on it)."""
    try:
        text = reader.pages[index].extract_text() or ""
    except _PYPDF_ERRORS as error:
        log.info("page %d: no text (%s: %s)", index + 1, type(error).__name__, error)
        return ""
    return clean_paragraphs(text[: MAX_PAGE_TEXT * 2])[:MAX_PAGE_TEXT]


def _resolve(value: Any) -> Any:
    """The object an indirect reference points to (or the value itself)."""
    return value.get_object() if isinstance(value, IndirectObject) else value


def _first_page_cover(reader: PdfReader) -> bytes | None:
    """The largest JPEG image on page 1 if it is at least cover-sized, else None."""
    try:
        resources = _resolve(reader.pages[0].get(PageAttributes.RESOURCES)) or {}
        xobjects = _resolve(resources.get("/XObject")) or {}
        best, best_area = None, 0
        for reference in xobjects.values():
            image = _resolve(reference)
            filters = _resolve(image.get("/Filter"))
            filters = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)]
            width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
            is_jpeg = image.get("/Subtype") == "/Image" and filters == ["/DCTDecode"]
            if is_jpeg and min(width, height) >= MIN_COVER_SIDE and width * height > best_area:
                best, best_area = image, width * height
        data = best.get_data() if best is not None else None
    except _PYPDF_ERRORS as error:
        log.info("no cover from page 1: %s", error)
        return None
    return data if data and data.startswith(b"\xff\xd8\xff") else None


def _chapters(reader: PdfReader, count: int, max_text_pages: int) -> list[ParsedChapter]:
    """One chapter per page (``Trang N``), with text for the first ``max_text_pages`` pages."""
    if count > MAX_PAGES:
        log.info("%d pages: listing the first %d", count, MAX_PAGES)
    return [
        ParsedChapter(title=f"Trang {index + 1}", text=_page_text(reader, index) if index < max_text_pages else "")
        for index in range(min(count, MAX_PAGES))
    ]


def read_pdf(path: Path, *, max_text_pages: int = MAX_TEXT_PAGES) -> ParsedBook:
    """Reads the PDF at ``path``: info metadata, page texts as chapters, a cover if page 1 is one.

    Text is extracted from the first ``max_text_pages`` pages only.

    Raises :class:`~content.errors.RejectedFile` when the file is not a PDF,
    is damaged beyond reading, has no pages or needs a password.
    """
    path = Path(path)
    with open(path, "rb") as fileobj:
        reader = _open(fileobj)
        count = _page_count(reader)
        info = _info(reader)
        keywords = re.split(r"\s*[,;]\s*", info.get("keywords", ""))
        book = ParsedBook(
            format="pdf",
            files=[ParsedFile(path=path, media_type=PDF_MEDIA_TYPE, role="primary")],
            title=_clean_title(info.get("title", "")),
            authors=[info["author"]] if info.get("author") else [],
            language=_language(reader),
            description=info.get("subject", ""),
            subjects=[k for k in keywords if k],
            chapters=_chapters(reader, count, max_text_pages),
            cover=_first_page_cover(reader),
        )
    return clean_book(book)
