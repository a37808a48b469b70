"""Content in: walking sources (folders, USB sticks), reading books in helper processes, one verdict per file.

This package's ``__init__`` imports nothing, so a reader process
(``python -m content.ingest.reader``) starts without the rest of the run.

- :mod:`content.ingest.run`: the import run and its report
- :mod:`content.ingest.reader`: reading one book (in a child process when it pays)
- :mod:`content.ingest.usb`: finding sticks, noticing one pulled mid-run
- :mod:`content.ingest.metadata`: cleaning what books say about themselves
- :mod:`content.ingest.thumbnails`: phone-sized covers
"""

__all__: list[str] = []
