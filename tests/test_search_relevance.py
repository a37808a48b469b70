"""Relevance: what real queries must find, and in which order, on both engines.

The books are made here through ``Catalog.insert_book``; each engine is fed the way
writers will feed it (FTS5 inside the catalog transaction, Whoosh after commit).
"""

import unicodedata

import pytest

from content.catalog import Catalog
from content.search import SearchQuery, open_search_index

BOOKS = {
    "nong_nghiep": dict(
        title="Nông nghiệp sạch cho mọi nhà", language="vi", format="epub", categories=["farming"],
        description="Hướng dẫn trồng rau an toàn cho gia đình.",
        texts=["Chương một. Đất tốt và phân bón hữu cơ giúp rau lớn nhanh."],
    ),
    "nang_nong": dict(
        title="Những ngày nắng nóng", language="vi", format="epub", categories=["culture"],
        description="Truyện ngắn về mùa hè nóng bức ở làng quê.",
    ),
    "nong_thon": dict(
        title="Nông thôn mới", language="vi", format="pdf", categories=["culture"],
        description="Xây dựng làng xã văn minh.",
    ),
    "lua_adjacent": dict(
        title="Sổ tay nhà nông", language="vi", format="epub", categories=["farming"],
        texts=["Kỹ thuật trồng lúa nước ở đồng bằng sông Hồng cần nhiều công chăm sóc."],
    ),
    "lua_apart": dict(
        title="Chuyện làng tôi", language="vi", format="epub", categories=["culture"],
        texts=[
            "Mùa này lúa chín vàng khắp cánh đồng, lúa trĩu bông. Chiều chiều trẻ em ra sông "
            "tắm, nước mát lắm, nước trong veo."
        ],
    ),
    "duong": dict(
        title="Đường về bản", authors=["Đỗ Văn Đức"], language="vi-VN", format="epub",
        categories=["culture"], description="Ký sự miền núi.",
    ),
    "thai_library": dict(
        title="ห้องสมุดประชาชน", language="th", format="epub", categories=["culture"],
        texts=["เด็กๆไปห้องสมุดเพื่ออ่านหนังสือทุกวัน"],
    ),
    "thai_rice": dict(
        title="เกษตรกรรมยั่งยืน", language="th", format="pdf", categories=["farming"],
        texts=["การปลูกข้าวในนาต้องใช้น้ำมาก"],
    ),
    "taiviet_spaced": dict(
        title="ꪼꪒꪣ ꪹꪀꪷꪉ", language="blt", format="epub", categories=["language"],
        texts=["ꪀꪱꪉ ꪙꪾ ꪹꪣꪉ ꪎꪲꪉ"],
    ),
    "taiviet_unspaced": dict(
        title="ꪜꪮꪉ", language="blt", format="pdf", categories=["language"],
        texts=["ꪎꪲꪉꪀꪱꪉꪙꪾꪹꪣꪉꪕꪮꪥ"],
    ),
    "hidden": dict(
        title="Bí kíp mật mã về lúa nước", language="vi", format="epub", status="hidden",
        texts=["lúa nước lúa nước khoai lang"],
    ),
    "withdrawn": dict(
        title="Sách rút về lúa nước", language="vi", format="epub", status="withdrawn",
    ),
    "chickens": dict(
        title="Raising Chickens", language="en", format="pdf", categories=["farming"],
        texts=["A chicken coop needs feed, water and shade."],
    ),
    "health": dict(
        title="Sức khỏe bà mẹ và trẻ em", language="vi", format="pdf", categories=["health"],
        texts=["Tiêm chủng vắc xin đầy đủ cho trẻ dưới một tuổi."],
    ),
    "law": dict(
        title="Luật đất đai 2013", language="vi", format="pdf", categories=["law"],
        texts=["Quyền sử dụng đất của hộ gia đình."],
    ),
    "children": dict(
        title="Dế Mèn phiêu lưu ký", authors=["Tô Hoài"], language="vi", format="audio",
        categories=["children"],
    ),
    "body_only": dict(
        title="Tuyển tập truyện ngắn", language="vi", format="epub", categories=["culture"],
        texts=["Chương hai", "Bà nội luộc khoai lang cho cả nhà ăn sáng."],
    ),
    "trau_title": dict(
        title="Nuôi trâu bò", language="vi", format="epub", categories=["farming"],
        texts=["Chọn giống tốt."],
    ),
    "trau_body": dict(
        title="Ghi chép đồng quê", language="vi", format="epub", categories=["culture"],
        texts=["Con trâu đi trước, cái cày theo sau. Trâu ơi ta bảo trâu này, trâu ra ngoài ruộng."],
    ),
}


def _insert(catalog, key, spec):
    """Insert one book of :data:`BOOKS`."""
    spec = dict(spec)
    texts = spec.pop("texts", [])
    categories = spec.pop("categories", [])
    row = dict(spec, id=key, sort_title=spec["title"].lower())
    catalog.insert_book(row, files=[], chapters=[], texts=list(enumerate(texts)), categories=categories)


@pytest.fixture(scope="module", params=["fts5", "whoosh"])
def corpus(request, tmp_path_factory):
    """(catalog, index) holding :data:`BOOKS`, for each engine."""
    data = tmp_path_factory.mktemp(request.param)
    catalog = Catalog(data / "catalog.sqlite3")
    index = open_search_index(request.param, data)
    for key, spec in BOOKS.items():
        with catalog.write():
            _insert(catalog, key, spec)
            if index.in_catalog_transaction:
                index.index_book(catalog, key)
        if not index.in_catalog_transaction:
            index.index_book(catalog, key)
    yield catalog, index
    catalog.close()


def ids(corpus, text, **filters):
    """Ids of the books found for ``text``, in order."""
    catalog, index = corpus
    results = index.search(catalog, SearchQuery(text, per_page=100, **filters))
    assert results.total + results.also_total == len(results.results)
    return [hit.id for hit in results.results]


NFD = unicodedata.normalize("NFD", "Nông nghiệp")

# (query, filters, check, books): check is "top" (first hit), "only" (exactly these, any
# order), "has" (among the hits), "before" (first book above the second), "none".
CASES = [
    ("nong nghiep", {}, "top", ["nong_nghiep"]),
    ("NÔNG NGHIỆP", {}, "top", ["nong_nghiep"]),
    (NFD, {}, "top", ["nong_nghiep"]),
    ("Nông Nghiệp", {}, "top", ["nong_nghiep"]),
    ("nóng", {}, "before", ["nang_nong", "nong_thon"]),
    ("nông", {}, "before", ["nong_thon", "nang_nong"]),
    ("nong", {}, "has", ["nang_nong", "nong_thon", "nong_nghiep", "lua_adjacent"]),
    ("duong ve ban", {}, "top", ["duong"]),
    ("đường về bản", {}, "top", ["duong"]),
    ("ĐƯỜNG", {}, "has", ["duong"]),
    ("do van duc", {}, "top", ["duong"]),
    ("lua nuoc", {}, "before", ["lua_adjacent", "lua_apart"]),
    ("lúa nước", {}, "before", ["lua_adjacent", "lua_apart"]),
    ('"lua nuoc"', {}, "only", ["lua_adjacent"]),
    ("lua", {}, "only", ["lua_adjacent", "lua_apart"]),
    ("ห้องสมุด", {}, "has", ["thai_library"]),
    ("หนังสือ", {}, "only", ["thai_library"]),
    ("ข้าว", {}, "only", ["thai_rice"]),
    ("ปลูกข้าว", {}, "only", ["thai_rice"]),
    ("น้ำ", {}, "only", ["thai_rice"]),
    ("ꪀꪱꪉ", {}, "only", ["taiviet_spaced", "taiviet_unspaced"]),
    ("ꪼꪒꪣ", {}, "only", ["taiviet_spaced"]),
    ("ꪹꪣꪉ", {}, "only", ["taiviet_spaced", "taiviet_unspaced"]),
    ("ꪹꪣꪉ ꪎꪲꪉ", {}, "before", ["taiviet_spaced", "taiviet_unspaced"]),
    ("khoai lang", {}, "only", ["body_only"]),
    ("KHOAI", {}, "only", ["body_only"]),
    ("tiem chung vac xin", {}, "only", ["health"]),
    ("vắc xin", {}, "only", ["health"]),
    ("chicken", {}, "only", ["chickens"]),
    ("CHICKENS", {}, "only", ["chickens"]),
    ("trâu", {}, "before", ["trau_title", "trau_body"]),
    ("trau", {}, "before", ["trau_title", "trau_body"]),
    ("xyzzy", {}, "none", []),
    ("nong nghiep xyzzy", {}, "none", []),
    ("lua", {"lang": "th"}, "none", []),
    ("lua", {"category": "farming"}, "only", ["lua_adjacent"]),
    ("suc khoe", {"format": "pdf"}, "only", ["health"]),
    ("suc khoe", {"format": "epub"}, "none", []),
    ("de men", {}, "top", ["children"]),
    ("to hoai", {}, "only", ["children"]),
    ("phiêu LƯU", {}, "only", ["children"]),
    ("dat dai", {}, "top", ["law"]),
    ("2013", {}, "only", ["law"]),
    ("mật mã", {}, "none", []),
    ("rút", {}, "none", []),
    ("nông thôn mới", {}, "top", ["nong_thon"]),
    ("mua he nong buc", {}, "only", ["nang_nong"]),
    ("ban", {"lang": "vi"}, "only", ["duong"]),
    ("ban", {"lang": "vi-vn"}, "only", ["duong"]),
    ("ban", {"lang": "en"}, "none", []),
]


@pytest.mark.parametrize("text, filters, check, books", CASES, ids=[f"{c[0]}|{c[1]}" for c in CASES])
def test_relevance(corpus, text, filters, check, books):
    found = ids(corpus, text, **filters)
    if check == "top":
        assert found and found[0] == books[0], found
    elif check == "only":
        assert sorted(found) == sorted(books)
    elif check == "has":
        assert set(books) <= set(found), found
    elif check == "before":
        assert books[0] in found and books[1] in found, found
        assert found.index(books[0]) < found.index(books[1]), found
    else:
        assert found == []


def test_there_are_at_least_forty_queries():
    assert len(CASES) >= 40


def test_inactive_books_are_never_found(corpus):
    everything = set()
    for text in ("lua nuoc", "mat ma", "khoai lang", "sach", "rut"):
        everything |= set(ids(corpus, text))
    assert "hidden" not in everything and "withdrawn" not in everything


def test_body_match_snippet_comes_from_the_matching_chapter(corpus):
    catalog, index = corpus
    (hit,) = index.search(catalog, SearchQuery("khoai lang")).results
    assert hit.chapter == 1
    assert "<mark>khoai</mark> <mark>lang</mark>" in hit.snippet_html


def test_thai_snippet_marks_the_word_inside_an_unspaced_sentence(corpus):
    catalog, index = corpus
    (hit,) = index.search(catalog, SearchQuery("หนังสือ")).results
    assert ("หนังสือ", True) in hit.snippet


def test_misspelling_gets_a_suggestion_that_finds_books(corpus):
    catalog, index = corpus
    results = index.search(catalog, SearchQuery("nong nghiepp"))
    assert results.total == 0
    assert results.suggestion == "nong nghiep"
    assert index.search(catalog, SearchQuery(results.suggestion)).total >= 1


def test_a_query_that_finds_something_has_no_suggestion(corpus):
    catalog, index = corpus
    assert index.search(catalog, SearchQuery("nong nghiep")).suggestion is None
