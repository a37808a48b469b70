"""The catalog: the SQLite database of one data directory and what owns each of its tables.

- :mod:`content.catalog.database`: connections, transactions, reading books (:class:`Catalog`)
- :mod:`content.catalog.migrations`: the schema, as named migrations
- :mod:`content.catalog.rows`: the rows of one parsed book
- :mod:`content.catalog.categories`: subjects onto categories
- :mod:`content.catalog.books`: the one door for every change to a book
- :mod:`content.catalog.imports`: the import history
- :mod:`content.catalog.usage`: the anonymous usage log, and what is read most
- :mod:`content.catalog.usage_stats`: daily counts for the librarian's statistics (``usage_*`` tables)
- :mod:`content.catalog.librarians`: librarian accounts (``librarians``)
- :mod:`content.catalog.collection`: the librarian's view of books, ``categories`` rows, the ``featured`` shelf
"""

from content.catalog.database import BOOK_JSON_FIELDS, Catalog, book_id_for, connect, now_iso

__all__ = ["Catalog", "connect", "book_id_for", "now_iso", "BOOK_JSON_FIELDS"]
