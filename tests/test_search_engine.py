"""The search index's life with the catalog, hostile queries, paging and the time budget."""

import time

import pytest

from content.catalog import Catalog
from content.errors import SearchError
from content.search import SearchQuery, open_search_index
from content.search.results import snippet_html

ENGINES = ["fts5", "whoosh"]


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    """(catalog, index) over an empty catalog, for each engine."""
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = open_search_index(request.param, tmp_path)
    yield catalog, index
    index.close()
    catalog.close()


def add(catalog, index, book_id, title, texts=(), index_it=True, **fields):
    """Insert a book and index it the way writers do (FTS5 inside the transaction)."""
    row = dict(id=book_id, title=title, sort_title=title.lower(), format="epub", language="vi")
    row.update(fields)
    categories = row.pop("categories", ["farming"])
    with catalog.write():
        catalog.insert_book(row, files=[], chapters=[], texts=list(enumerate(texts)), categories=categories)
        if index_it and index.in_catalog_transaction:
            index.index_book(catalog, book_id)
    if index_it and not index.in_catalog_transaction:
        index.index_book(catalog, book_id)


def found(catalog, index, text, **options):
    """Ids found for ``text``."""
    return [hit.id for hit in index.search(catalog, SearchQuery(text, **options)).results]


# -- staying in step with the catalog -----------------------------------------


def test_rebuild_indexes_what_was_never_indexed(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa", index_it=False)
    add(catalog, index, "b", "Nuôi cá", index_it=False)
    assert index.is_stale(catalog)
    assert any("missing" in p for p in index.problems(catalog))
    assert found(catalog, index, "lua") == []
    assert index.rebuild(catalog) == 2
    assert not index.is_stale(catalog)
    assert index.problems(catalog) == []
    assert found(catalog, index, "lua") == ["a"]


def test_an_empty_catalog_is_not_stale(engine):
    catalog, index = engine
    assert not index.is_stale(catalog)
    assert index.problems(catalog) == []
    assert index.search(catalog, SearchQuery("lua")).total == 0


def test_books_indexed_one_by_one_are_not_stale(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa")
    assert not index.is_stale(catalog)
    assert index.problems(catalog) == []


def test_a_changed_book_is_stale_until_refreshed(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa")
    with catalog.write() as db:
        db.execute("UPDATE books SET title = 'Nuôi gà', updated_at = '2099-01-01T00:00:00+00:00' WHERE id = 'a'")
    assert index.is_stale(catalog)
    assert any("changed since they were indexed" in p for p in index.problems(catalog))
    assert index.refresh(catalog) == 1
    assert not index.is_stale(catalog)
    assert found(catalog, index, "nuoi ga") == ["a"]
    assert found(catalog, index, "trong lua") == []


def test_hidden_book_is_removed_by_index_book(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa")
    with catalog.write():
        catalog.db.execute("UPDATE books SET status = 'hidden' WHERE id = 'a'")
        if index.in_catalog_transaction:
            index.index_book(catalog, "a")
    if not index.in_catalog_transaction:
        index.index_book(catalog, "a")
    assert found(catalog, index, "lua") == []
    assert index.problems(catalog) == []


def test_remove_book(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa", ["lúa nước"])
    add(catalog, index, "b", "Trồng lúa mì")
    index.remove_book(catalog, "a")
    assert found(catalog, index, "lua") == ["b"]
    index.remove_book(catalog, "nothing-here")  # no error


def test_rebuild_drops_books_no_longer_active(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa")
    add(catalog, index, "b", "Trồng lúa mì")
    with catalog.write():
        catalog.delete_book("b")
    assert index.rebuild(catalog) == 1
    assert found(catalog, index, "lua") == ["a"]
    assert index.problems(catalog) == []


def test_fts5_rolls_back_with_the_catalog(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = open_search_index("fts5", tmp_path)
    with pytest.raises(RuntimeError):
        with catalog.write():
            add(catalog, index, "a", "Trồng lúa")
            raise RuntimeError("power cut")
    assert catalog.get_book("a") is None
    assert found(catalog, index, "lua") == []
    assert index.problems(catalog) == []


def test_fts5_follows_deletes_and_hiding_without_being_told(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = open_search_index("fts5", tmp_path)
    add(catalog, index, "a", "Trồng lúa", ["lúa nước"])
    add(catalog, index, "b", "Trồng lúa mì", ["lúa mì"])
    with catalog.write():
        catalog.delete_book("a")
        catalog.db.execute("UPDATE books SET status = 'withdrawn' WHERE id = 'b'")
    assert found(catalog, index, "lua") == []
    assert catalog.db.execute("SELECT count(*) FROM search_body").fetchone()[0] == 0
    assert index.problems(catalog) == []


def test_fts5_reports_another_analysis_version(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = open_search_index("fts5", tmp_path)
    add(catalog, index, "a", "Trồng lúa")
    with catalog.write() as db:
        db.execute("UPDATE search_state SET analysis_version = 0")
    assert index.is_stale(catalog)
    assert any("analysis version 0" in p for p in index.problems(catalog))
    assert index.refresh(catalog) == 1
    assert not index.is_stale(catalog)


def test_whoosh_index_missing_on_disk(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = open_search_index("whoosh", tmp_path)
    add(catalog, index, "a", "Trồng lúa", index_it=False)
    assert index.is_stale(catalog)
    assert index.problems(catalog) == [f"the search index {tmp_path / 'index'} is missing"]
    assert index.search(catalog, SearchQuery("lua")).total == 0
    index.rebuild(catalog)
    assert (tmp_path / "index").is_dir()
    assert found(catalog, index, "lua") == ["a"]
    index.close()


def test_unknown_engine_is_a_named_error(tmp_path):
    with pytest.raises(SearchError, match="unknown search engine"):
        open_search_index("lucene", tmp_path)


# -- what users type ------------------------------------------------------------

HOSTILE = [
    "",
    "   ",
    '"',
    '""',
    '"unclosed phrase',
    "*",
    "lua*",
    "NEAR(lua nuoc)",
    "lua OR nuoc",
    "lua AND",
    "NOT lua",
    "-lua",
    "title:lua",
    "{title}: lua",
    "^lua",
    "lua + - : ^ ( ) [ ] { } ~ ' \\",
    "a" * 10_000,
    "lúa " * 3_000,
    "!@#$%^&*()_+=<>?/|",
    "\x00\x01\x02 lúa",
    "<script>alert(1)</script>",
    "'; DROP TABLE books; --",
    "\ud83d\udca9 🐃🌾",
    "ﷺ ‮ lúa",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(engine, text):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa nước", ["lúa nước ở đồng bằng"])
    started = time.monotonic()
    results = index.search(catalog, SearchQuery(text))
    assert time.monotonic() - started < 2
    assert results.total + results.also_total == len(results.results) <= 1
    assert catalog.get_book("a") is not None


def test_query_syntax_words_are_plain_words(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa OR nuôi cá")
    add(catalog, index, "b", "Trồng lúa")
    assert found(catalog, index, "lua OR") == ["a"]
    assert sorted(found(catalog, index, "lua*")) == ["a", "b"]


def test_paging_and_total(engine):
    catalog, index = engine
    for number in range(45):
        add(catalog, index, f"b{number:02d}", f"Trồng lúa tập {number}")
    pages = [index.search(catalog, SearchQuery("lua", page=page, per_page=20)) for page in (1, 2, 3, 4)]
    assert [r.total for r in pages] == [45, 45, 45, 45]
    assert [len(r.results) for r in pages] == [20, 20, 5, 0]
    assert pages[0].pages == 3
    seen = [hit.id for r in pages for hit in r.results]
    assert len(seen) == len(set(seen)) == 45


def test_page_and_per_page_are_clamped(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa")
    results = index.search(catalog, SearchQuery("lua", page=-3, per_page=100_000))
    assert (results.page, results.per_page, results.total) == (1, 100, 1)
    assert index.search(catalog, SearchQuery("lua", per_page=0)).per_page == 1


def test_unknown_filters_find_nothing(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa")
    assert found(catalog, index, "lua", lang="not a language") == []
    assert found(catalog, index, "lua", category="nope") == []
    assert found(catalog, index, "lua", format="'; --") == []


def test_snippets_are_escaped_and_marked(engine):
    catalog, index = engine
    add(catalog, index, "a", "Sách", ["<script>alert('x')</script> & trồng lúa <b>nước</b>"])
    (hit,) = index.search(catalog, SearchQuery("lua")).results
    assert "<script" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html
    assert "<mark>lúa</mark>" in hit.snippet_html
    assert "&lt;b&gt;nước&lt;/b&gt;" in hit.snippet_html
    assert hit.to_json()["snippet"] == hit.snippet_html


def test_long_chapter_snippet_is_a_short_window_around_the_match(engine):
    catalog, index = engine
    text = "Mở đầu. " + "chữ " * 3000 + "Cách trồng lúa nước cho năng suất cao. " + "hết " * 3000
    add(catalog, index, "a", "Sách dài", [text])
    (hit,) = index.search(catalog, SearchQuery("lua nuoc")).results
    plain = "".join(part for part, _ in hit.snippet)
    assert len(plain) < 300
    assert plain.startswith("…") and plain.endswith("…")
    assert [part for part, is_match in hit.snippet if is_match] == ["lúa", "nước"]


def test_snippet_html_escapes_segments():
    assert snippet_html([("a<b", False), ("lúa & co", True)]) == "a&lt;b<mark>lúa &amp; co</mark>"


def test_results_json_shape(engine):
    catalog, index = engine
    add(catalog, index, "a", "Trồng lúa", ["lúa nước"], authors=["Nguyễn Văn A"])
    data = index.search(catalog, SearchQuery("lua")).to_json()
    assert list(data) == ["query", "total", "page", "per_page", "results", "suggestion", "timed_out",
                          "also_total", "also_total_exact"]
    assert (data["total"], data["also_total"], data["also_total_exact"]) == (1, 0, True)
    (hit,) = data["results"]
    assert {k: hit[k] for k in ("id", "title", "authors", "language", "format", "categories")} == {
        "id": "a", "title": "Trồng lúa", "authors": ["Nguyễn Văn A"], "language": "vi",
        "format": "epub", "categories": ["farming"],
    }


def test_suggestion_uses_the_closest_known_word(engine):
    catalog, index = engine
    add(catalog, index, "a", "Kỹ thuật nuôi trâu")
    add(catalog, index, "b", "Nuôi trâu bò")
    results = index.search(catalog, SearchQuery("nuoi trua"))
    assert results.total == 0
    assert results.suggestion == "nuoi trau"
    assert index.search(catalog, SearchQuery("qqqqqqqq")).suggestion is None


# -- the time budget --------------------------------------------------------------

WORDS = "lúa nước trồng cây của và những người dân làng bản đường đi học sách báo trâu bò gà".split()


@pytest.fixture(scope="module", params=ENGINES)
def big(request, tmp_path_factory):
    """(catalog, index) of 1,200 books full of the same common words, searcher warmed up."""
    data = tmp_path_factory.mktemp("big")
    catalog = Catalog(data / "catalog.sqlite3")
    index = open_search_index(request.param, data)
    with catalog.write():
        for number in range(1200):
            words = [WORDS[(number * 7 + i * 3) % len(WORDS)] for i in range(60)]
            catalog.insert_book(
                {"id": f"b{number:04d}", "title": " ".join(words[:5]), "sort_title": "x",
                 "format": "epub", "language": "vi", "description": " ".join(words[5:])},
                files=[], chapters=[], texts=[(0, " ".join(words * 3))], categories=["farming"],
            )
    index.rebuild(catalog)
    index.search(catalog, SearchQuery("trâu"))  # a server answers more than one query
    yield catalog, index
    index.close()
    catalog.close()


def test_a_tiny_budget_returns_promptly_with_timed_out(big):
    catalog, index = big
    started = time.monotonic()
    index.search(catalog, SearchQuery("lua nuoc cua", budget=30))
    assert time.monotonic() - started > 0.001  # the query does take longer than the budget below
    started = time.monotonic()
    results = index.search(catalog, SearchQuery("lua nuoc cua", budget=0.001))
    elapsed = time.monotonic() - started
    assert results.timed_out
    assert elapsed < 0.5
    assert results.suggestion is None


def test_the_same_query_with_time_finishes(big):
    catalog, index = big
    results = index.search(catalog, SearchQuery("lua nuoc cua", budget=30))
    assert not results.timed_out
    assert results.total == 0  # the three words are never side by side
    assert (results.also_total, results.also_total_exact) == (200, False)  # more than 200
    assert len(results.results) == 20


def test_snippets_mark_whole_words_only():
    from content.search.query import parse_query
    from content.search.snippets import make_snippet, match_pattern

    pattern = match_pattern(parse_query("an"))
    segments = make_snippet("Bán cơm an toàn, ăn ngon; AN.", pattern)
    assert [text for text, is_match in segments if is_match] == ["an", "ăn", "AN"]
