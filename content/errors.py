"""Errors raised by the library (catalog, store, ingest, search).

The tree (classes defined beside the code that raises them are named with their module)::

    ContentError                 anything the content package refuses or cannot do
    ├── CatalogError             the catalog database is missing, locked or inconsistent
    ├── StoreError               the content store cannot take or give a file
    │   ├── HashMismatch         bytes on disk (or just written) do not match their sha256
    │   └── store.WriterBusy     another import or sync holds the data directory's writer lock
    ├── FileVerdict              one input file cannot be imported (carries a reason for librarians)
    │   ├── RejectedFile         the file is broken, hostile or protected: "rejected"
    │   │   └── readers.archive.DamagedMember   a zip member fails its checks while read
    │   └── SkippedFile          the file is not a kind of book we load: "skipped"
    ├── StorageFull              the box's disk is full or read-only: an import or sync run stops
    ├── catalog.books.BookChangeError   the book door refuses a change (unknown book, bad value)
    ├── catalog.librarians.AccountError   a librarian account cannot be made or changed as asked
    ├── catalog.collection.CategoryError  a category or the featured shelf cannot be changed as asked
    ├── ingest.usb.SourceGone           the stick or folder being imported disappeared mid-run
    ├── ingest.thumbnails.ThumbnailError   a cover image cannot be made into a thumbnail
    ├── html.chapters.ChapterUnavailable   a stored EPUB chapter cannot be rendered
    └── SearchError              a search engine failed (queries never raise on bad syntax)

Only ``FileVerdict`` subclasses carry text that is shown to a librarian; the
others are for logs and for the CLI's one-line messages.
"""

__all__ = [
    "ContentError",
    "CatalogError",
    "StoreError",
    "HashMismatch",
    "FileVerdict",
    "RejectedFile",
    "SkippedFile",
    "SearchError",
    "StorageFull",
]


class ContentError(Exception):
    """Base class of every error the content package raises on purpose."""


class CatalogError(ContentError):
    """The catalog database cannot be opened, migrated or read."""


class StoreError(ContentError):
    """The content store cannot store or find a file."""


class HashMismatch(StoreError):
    """A file's bytes do not hash to the sha256 they were stored or declared under."""


class FileVerdict(ContentError):
    """One input file will not be imported; ``reason`` is written for a librarian."""

    verdict = "rejected"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RejectedFile(FileVerdict):
    """The file looks like a book but is broken, hostile, too large or DRM-protected."""

    verdict = "rejected"


class SkippedFile(FileVerdict):
    """The file is not something readpoint loads (a Word file, a photo, a hidden file)."""

    verdict = "skipped"


class SearchError(ContentError):
    """The search engine failed in a way a query cannot fix (a broken index)."""


class StorageFull(ContentError):
    """The box's data directory cannot take more (disk full, quota exceeded, read-only)."""
