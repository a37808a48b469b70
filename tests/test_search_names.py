"""Names, subjects and phrases: the right book first, and counts a brute-force scan agrees with.

Every query is typed three ways (with marks, without, decomposed NFD). The
collection holds decoys with the same words scattered over other fields (``Bến
Tre`` in a description and an author ``Đỗ ...`` for ``bến đò``), a name that runs
into the next author's (``Nguyễn Đặng Bảo`` then ``Nam Cao``), and the phrase with
other marks (``cạnh đồng mía`` for ``cánh đồng mía``).
"""

import json
import re
import unicodedata

import pytest

from content.catalog import Catalog
from content.search import SearchQuery, open_search_index

BOOKS = {
    # bến đò
    "ben_do": dict(title="Bến đò xưa", authors=["Hà Thị Mai"], description="Ký sự về làng ven sông."),
    "ben_do_text": dict(title="Tuyển tập truyện", authors=["Lò Văn Pọm"],
                        texts=["Mở đầu.", "Chiều chiều mẹ ra bến đò đón con về."]),
    "ben_tre": dict(title="Đời sống ở quê", authors=["Đỗ Văn Hùng"],
                    description="Chuyện một gia đình ở Bến Tre làm nghề dừa."),
    "do_ngang": dict(title="Đò ngang", authors=["Vi Văn Sáu"], description="Một bến nước nhỏ dưới chân núi."),
    "ben_do_marks": dict(title="Hoa bên đường", authors=["Lê Thị Hồng"], texts=["Em ngồi bên đỏ mặt vì ngượng."]),
    # đặng bảo nam
    "dang_bao_nam": dict(title="Mùa gặt trên núi", authors=["Đặng Bảo Nam"], description="Tập ký sự."),
    "dang_bao_nam_2": dict(title="Chuyện bản tôi", authors=["Hà Văn Thư", "Đặng Bảo Nam"]),
    "dang_scattered": dict(title="Bảo vệ rừng đầu nguồn", authors=["Đặng Thị Hoa"],
                           description="Kinh nghiệm của người dân Nam Định."),
    "dang_two_authors": dict(title="Thơ chọn lọc", authors=["Nguyễn Đặng Bảo", "Nam Cao"]),
    "bao_nam": dict(title="Ca dao chọn lọc", authors=["Bảo Nam"]),
    "bao_nam_title": dict(title="Thơ Bảo Nam", authors=["Lê Văn Tám"]),
    # chăn nuôi gia cầm (a subject)
    "chan_nuoi": dict(title="Sổ tay bà con", authors=["Tòng Văn Hặc"], subjects=["Chăn nuôi gia cầm"]),
    "chan_scattered": dict(title="Gia đình và cộng đồng", authors=["Trần Thị Cầm"],
                           subjects=["Văn hóa"], description="Chăn trâu, nuôi cá, làm vườn."),
    "chan_near": dict(title="Nuôi gà", subjects=["Gia cầm", "Chăn nuôi"]),
    # cánh đồng mía
    "canh_dong": dict(title="Cánh đồng mía quê em", authors=["Vi Thị Lan"]),
    "canh_dong_marks": dict(title="Làng bên sông", description="Nhà ở cạnh đồng mía của hợp tác xã."),
    "canh_scattered": dict(title="Cánh diều tuổi thơ", authors=["Lê Đồng"],
                           description="Trẻ con chơi trên bãi mía."),
    # nếp cái hoa vàng (only in a chapter of the right book)
    "nep_text": dict(title="Bếp nhà mình", texts=["Mẹ nấu xôi bằng gạo nếp cái hoa vàng thơm lừng."]),
    "nep_scattered": dict(title="Hoa vàng trên cỏ xanh", subjects=["Văn hóa"],
                          description="Cái nếp nhà, cái nết người."),
    "hidden_ben_do": dict(title="Bến đò ẩn", status="hidden"),
}

# (query with marks, the right books: they come first, in any order)
QUERIES = [
    ("bến đò", {"ben_do"}),
    ("đặng bảo nam", {"dang_bao_nam", "dang_bao_nam_2"}),
    ("Chăn nuôi gia cầm", {"chan_nuoi"}),
    ("cánh đồng mía", {"canh_dong"}),
    ("nếp cái hoa vàng", {"nep_text"}),
]


def fold(word):
    """A word without diacritics, ``đ`` as ``d``: written here, not taken from the engine."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).replace("đ", "d")


def words(text):
    """Lower-case NFC words of a text."""
    return re.findall(r"\w+", unicodedata.normalize("NFC", text or "").casefold())


def forms(query):
    """The query with marks, without marks, and decomposed."""
    return {"marks": query, "folded": " ".join(fold(w) for w in query.split()),
            "nfd": unicodedata.normalize("NFD", query)}


TYPED = [(text, book) for query, book in QUERIES for text in forms(query).values()]


def brute_force(catalog, query):
    """(books holding the words together, other books holding all the words) by scanning every book.

    Together: the words consecutive in one title, author, subject, publisher,
    description or chapter, compared with marks when the query has any.
    """
    exact = words(query)
    marked = any(fold(w) != w for w in exact)
    phrase = exact if marked else [fold(w) for w in exact]
    needed = {fold(w) for w in exact}
    together, also = set(), set()
    for row in catalog.db.query("SELECT * FROM books WHERE status = 'active'"):
        texts = [t for (t,) in catalog.db.execute("SELECT text FROM chapter_texts WHERE book_id = ?", [row["id"]])]
        meta = [words(f) for f in [row["title"], *json.loads(row["authors"] or "[]"),
                                   *json.loads(row["subjects"] or "[]"), row["publisher"], row["description"]]]
        bodies = [words(t) for t in texts]
        for field in meta + bodies:
            field = field if marked else [fold(w) for w in field]
            if any(field[i : i + len(phrase)] == phrase for i in range(len(field) - len(phrase) + 1)):
                together.add(row["id"])
        folded_meta = {fold(w) for field in meta for w in field}
        if needed <= folded_meta or any(needed <= {fold(w) for w in body} for body in bodies):
            also.add(row["id"])
    return together, also - together


@pytest.fixture(scope="module", params=["fts5", "whoosh"])
def corpus(request, tmp_path_factory):
    """(catalog, index) holding :data:`BOOKS`, for each engine."""
    data = tmp_path_factory.mktemp(request.param)
    catalog = Catalog(data / "catalog.sqlite3")
    index = open_search_index(request.param, data)
    with catalog.write():
        for key, spec in BOOKS.items():
            spec = dict(spec)
            texts = spec.pop("texts", [])
            row = dict(spec, id=key, sort_title=spec["title"].lower(), language="vi", format="epub")
            catalog.insert_book(row, files=[], chapters=[], texts=list(enumerate(texts)), categories=["culture"])
    index.rebuild(catalog)
    yield catalog, index
    index.close()
    catalog.close()


def search(corpus, text):
    """Every result of ``text`` (one page of 100)."""
    catalog, index = corpus
    return index.search(catalog, SearchQuery(text, per_page=100))


@pytest.mark.parametrize("text, right", TYPED, ids=[ascii(t) for t, _ in TYPED])
def test_the_right_book_comes_first(corpus, text, right):
    found = [hit.id for hit in search(corpus, text).results]
    assert set(found[: len(right)]) == right, found


@pytest.mark.parametrize("text, right", TYPED, ids=[ascii(t) for t, _ in TYPED])
def test_counts_agree_with_a_brute_force_scan(corpus, text, right):
    catalog, _ = corpus
    together, also = brute_force(catalog, text)
    results = search(corpus, text)
    found = [hit.id for hit in results.results]
    assert (results.total, results.also_total, results.also_total_exact) == (len(together), len(also), True)
    # Part one first, then part two, each book once.
    assert set(found[: len(together)]) == together
    assert set(found[len(together) :]) == also


def test_the_decoys_exist_and_are_only_in_part_two(corpus):
    for text, decoys in [
        ("bến đò", ["ben_tre", "do_ngang", "ben_do_marks"]),
        ("ben do", ["ben_tre", "do_ngang"]),
        ("đặng bảo nam", ["dang_scattered", "dang_two_authors"]),
        ("chan nuoi gia cam", ["chan_scattered", "chan_near"]),
        ("cánh đồng mía", ["canh_dong_marks", "canh_scattered"]),
        ("nep cai hoa vang", ["nep_scattered"]),
    ]:
        results = search(corpus, text)
        found = [hit.id for hit in results.results]
        part_two = found[results.total :]
        assert set(decoys) <= set(part_two), (text, found)


def test_marks_narrow_the_count(corpus):
    marked, folded = search(corpus, "bến đò"), search(corpus, "ben do")
    assert marked.total == 2 and folded.total == 3  # "bên đỏ" holds "ben do" folded
    assert marked.total + marked.also_total == folded.total + folded.also_total


def test_the_same_phrase_with_other_marks_follows_the_exact_ones(corpus):
    found = [hit.id for hit in search(corpus, "cánh đồng mía").results]
    assert found.index("canh_dong") < found.index("canh_dong_marks") < found.index("canh_scattered")


def test_words_near_each_other_outrank_words_in_separate_fields(corpus):
    found = [hit.id for hit in search(corpus, "chăn nuôi gia cầm").results]
    assert found.index("chan_nuoi") < found.index("chan_near") < found.index("chan_scattered")


def test_a_whole_author_name_lists_all_their_books_first(corpus):
    results = search(corpus, '"Đặng Bảo Nam"')
    assert {hit.id for hit in results.results[:2]} == {"dang_bao_nam", "dang_bao_nam_2"}
    assert (results.total, results.also_total) == (2, 0)


def test_a_phrase_in_a_chapter_outranks_the_words_scattered_in_metadata(corpus):
    found = [hit.id for hit in search(corpus, "gạo nếp").results]
    assert found == ["nep_text"]
    results = search(corpus, "nep cai hoa vang")
    assert [hit.id for hit in results.results] == ["nep_text", "nep_scattered"]
    assert results.results[0].chapter == 0


def test_hidden_books_are_counted_nowhere(corpus):
    results = search(corpus, "ben do")
    assert "hidden_ben_do" not in [hit.id for hit in results.results]


def test_a_whole_name_outranks_the_same_words_inside_a_longer_one(corpus):
    results = search(corpus, "bảo nam")
    found = [hit.id for hit in results.results]
    assert found[0] == "bao_nam"  # BM25 alone puts the title "Thơ Bảo Nam" first
    assert set(found[1:4]) == {"bao_nam_title", "dang_bao_nam", "dang_bao_nam_2"}
