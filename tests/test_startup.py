"""What the server's start-up check repairs: crash leftovers and a stale search index."""

from __future__ import annotations

from content.library import Library
from content.search import SearchQuery
from readpoint.app import create_app
from tests.books import add_plain_book


def test_start_removes_crash_leftovers_and_keeps_recorded_files(data_dir):
    library = Library(data_dir)
    _book, kept = add_plain_book(library, b"%PDF-1.4 recorded")
    orphan, _size = library.store.put_bytes(b"stored but never recorded")
    (library.store.tmp / "abandoned.part").write_bytes(b"half a file")
    library.close()
    app = create_app(data_dir=data_dir)
    lib = app.extensions["library"]
    try:
        assert lib.store.has(kept)
        assert not lib.store.has(orphan)
        assert list(lib.store.tmp.glob("*.part")) == []
        assert app.extensions["startup"].orphans_removed == [orphan]
        assert lib.check() == []
    finally:
        lib.close()


def test_stale_index_is_refreshed_in_the_background(data_dir):
    library = Library(data_dir)
    book_id, _sha = add_plain_book(library, b"%PDF-1.4 x", title="Kỹ thuật nuôi cá",
                                   texts=["Ao cá cần nước sạch"])
    with library.catalog.write():
        library.search.remove_book(library.catalog, book_id)
    assert library.search.is_stale(library.catalog)
    library.close()
    app = create_app(data_dir=data_dir)
    lib = app.extensions["library"]
    try:
        assert app.test_client().get("/healthz").status_code == 200  # serving meanwhile
        thread = app.extensions["startup"].index_refresh
        assert thread is not None
        thread.join(timeout=60)
        assert not lib.search.is_stale(lib.catalog)
        found = lib.search.search(lib.catalog, SearchQuery("nuoi ca"))
        assert [hit.id for hit in found.results] == [book_id]
    finally:
        lib.close()
