"""Putting books straight into a library for tests that are not about importing."""

from __future__ import annotations

from content.catalog import book_id_for


def add_plain_book(library, data: bytes, *, title="Sách thử", fmt="pdf", language="vi",
                   media_type="application/pdf", name="book.pdf", categories=("farming",),
                   texts=()):
    """Store ``data`` as a one-file book and write its rows (and search entries); return its id."""
    sha, size = library.store.put_bytes(data)
    book_id = book_id_for([sha])
    with library.catalog.write():
        library.catalog.insert_book(
            {"id": book_id, "title": title, "sort_title": title.casefold(), "format": fmt,
             "language": language, "size": size, "authors": ["Tác giả"]},
            files=[{"sha256": sha, "role": "primary", "position": 0, "size": size,
                    "media_type": media_type, "name": name}],
            chapters=[{"position": i, "title": f"Trang {i + 1}"} for i, _ in enumerate(texts)],
            texts=list(enumerate(texts)),
            categories=list(categories),
        )
        library.search.index_book(library.catalog, book_id)
    return book_id, sha
