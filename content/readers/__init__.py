"""Readers: pure functions from files on a source medium to :class:`~content.parsed.ParsedBook`.

* :func:`content.readers.epub.read_epub` (ebooklib, with a lenient fallback parser),
* :func:`content.readers.pdf.read_pdf` (pypdf),
* :func:`content.readers.audio.read_audio` and
  :func:`content.readers.audio.group_audiobooks` (mutagen), with
  :mod:`content.readers.mp4_chapters` for the QuickTime chapter tracks of
  M4A/M4B files, which mutagen does not read,
* :mod:`content.readers.archive`: the zip safety checks every EPUB goes
  through first (also used to serve chapters from stored EPUBs).

A reader never touches the catalog or the store. Whatever makes a file
unusable becomes a :class:`~content.errors.RejectedFile` or
:class:`~content.errors.SkippedFile` with a reason for librarians. The EPUB
and PDF readers and :func:`~content.readers.audio.group_audiobooks` return
books already passed through :func:`content.ingest.metadata.clean_book`.

Nothing is imported here, so that the web app can use ``archive`` without
loading ebooklib, pypdf and mutagen.
"""

__all__ = ["archive", "audio", "epub", "mp4_chapters", "pdf"]
