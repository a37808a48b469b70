"""Name and phrase queries with known answers, planted in the generated search corpus.

Each planted query has one right book (the phrase in its title, an author's or a
subject's whole name, or its text) and decoys holding the same words scattered over
other fields (``Bến Tre`` in a description and an author ``Đỗ ...`` for ``bến đò``).
:func:`report` asks the server for each query typed with marks, without and
decomposed (NFD), and prints the right book's rank and the counts beside a
brute-force scan of the catalog:

- *together*: books where the query's words follow each other in one field (title,
  one author, one subject, publisher, description) or one chapter, compared with
  marks when the query has any, folded otherwise;
- *all words*: books whose metadata, or one of whose chapters, holds every word (folded).

Used by ``bench/search.py --names``.
"""

from __future__ import annotations

import json
import re
import unicodedata

from content.catalog import Catalog

__all__ = ["PLANTED", "QUERIES", "plant", "brute_force", "forms", "report"]

# (id, title, authors, subjects, description, chapter texts)
PLANTED = [
    ("planted-ben-do", "Bến đò", ["Hà Thị Mai"], ["Văn hóa"], "Ký sự về một làng ven sông.", []),
    ("planted-dang-bao-nam", "Mùa gặt trên núi", ["Đặng Bảo Nam"], ["Văn hóa"],
     "Tập ký sự về bản làng vùng cao.", []),
    ("planted-chan-nuoi", "Sổ tay của bà con", ["Lò Văn Pọm"], ["Chăn nuôi gia cầm"],
     "Những điều cần biết.", []),
    ("planted-canh-dong", "Ghi chép mùa mía", ["Vi Thị Lan"], ["Nông nghiệp"],
     "Ghi chép của một cán bộ khuyến nông.",
     ["Sáng sớm, cả bản ra cánh đồng mía ở chân núi, mía năm nay tốt lắm."]),
]
DECOYS = [
    ("decoy-ben-tre-{n}", "Đời sống ở quê", ["Đỗ Văn Hùng"], ["Văn hóa"],
     "Chuyện một gia đình ở Bến Tre làm nghề dừa.", []),
    ("decoy-dang-{n}", "Bảo vệ rừng đầu nguồn", ["Đặng Văn Lâm"], ["Pháp luật"],
     "Kinh nghiệm của người dân Nam Định.", []),
    ("decoy-chan-{n}", "Gia đình và cộng đồng", ["Trần Thị Cầm"], ["Văn hóa"],
     "Chăn trâu, nuôi cá, làm vườn.", []),
    ("decoy-canh-{n}", "Cánh diều tuổi thơ", ["Lê Đồng"], ["Thiếu nhi"],
     "Trẻ con chơi trên bãi mía.", []),
    ("decoy-canh-marks-{n}", "Làng bên sông", ["Phạm Văn Tú"], ["Văn hóa"],
     "Nhà ở cạnh đồng mía của hợp tác xã.", []),
]
DECOY_COPIES = 5

# (query with marks, the right book's id)
QUERIES = [
    ("bến đò", "planted-ben-do"),
    ("đặng bảo nam", "planted-dang-bao-nam"),
    ("chăn nuôi gia cầm", "planted-chan-nuoi"),
    ("cánh đồng mía", "planted-canh-dong"),
]


def _row(book_id: str, title: str, authors: list[str], subjects: list[str], description: str) -> dict:
    """A catalog row for a planted book."""
    return {"id": book_id, "title": title, "sort_title": title.lower(), "authors": authors,
            "subjects": subjects, "description": description, "language": "vi", "format": "epub"}


def plant(catalog: Catalog) -> None:
    """Insert the planted books and their decoys (search entries are built by the index's rebuild)."""
    with catalog.write():
        for book_id, title, authors, subjects, description, texts in PLANTED:
            catalog.insert_book(_row(book_id, title, authors, subjects, description), files=[],
                                chapters=[], texts=list(enumerate(texts)), categories=["culture"])
        for copy in range(DECOY_COPIES):
            for book_id, title, authors, subjects, description, texts in DECOYS:
                catalog.insert_book(_row(book_id.format(n=copy), title, authors, subjects, description),
                                    files=[], chapters=[], texts=list(enumerate(texts)),
                                    categories=["culture"])


def fold(word: str) -> str:
    """A word without diacritics, ``đ`` as ``d`` (a brute-force fold, not the engine's)."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).replace("đ", "d")


def words(text: str) -> list[str]:
    """Lower-case NFC words of a text."""
    return re.findall(r"\w+", unicodedata.normalize("NFC", text or "").casefold())


def forms(query: str) -> dict[str, str]:
    """The query typed with marks, without them, and decomposed."""
    return {"marks": query, "folded": " ".join(fold(w) for w in query.split()),
            "nfd": unicodedata.normalize("NFD", query)}


def _holds(sequence: list[str], phrase: list[str]) -> bool:
    """Whether ``phrase`` occurs in ``sequence`` as consecutive items."""
    size = len(phrase)
    return any(sequence[i : i + size] == phrase for i in range(len(sequence) - size + 1))


def brute_force(catalog: Catalog, queries: list[str]) -> dict[str, tuple[int, int]]:
    """``{query: (books holding it together, books holding all its words)}`` by scanning every book."""
    parsed = {}
    for query in queries:
        exact = words(query)
        marked = any(fold(w) != w for w in exact)
        parsed[query] = (exact if marked else [fold(w) for w in exact], marked, {fold(w) for w in exact})
    counts = {query: [0, 0] for query in queries}
    db = catalog.db
    chapters: dict[str, list[str]] = {}
    for book_id, text in db.execute("SELECT book_id, text FROM chapter_texts"):
        chapters.setdefault(book_id, []).append(text)
    for book_id, title, authors, subjects, publisher, description in db.execute(
        "SELECT id, title, authors, subjects, publisher, description FROM books WHERE status = 'active'"
    ):
        fields = [title, *json.loads(authors or "[]"), *json.loads(subjects or "[]"), publisher, description]
        meta = [words(f) for f in fields]
        bodies = [words(t) for t in chapters.get(book_id, [])]
        meta_folded = {fold(w) for field in meta for w in field}
        for query, (phrase, marked, needed) in parsed.items():
            def seq(items: list[str]) -> list[str]:
                """A field's words as the phrase is compared."""
                return items if marked else [fold(w) for w in items]

            together = any(_holds(seq(field), phrase) for field in meta + bodies)
            every = needed <= meta_folded or any(needed <= {fold(w) for w in body} for body in bodies)
            counts[query][0] += together
            counts[query][1] += every
    return {query: (together, every) for query, (together, every) in counts.items()}


def _rank(session, url: str, query: str, book_id: str) -> tuple[int | None, dict]:
    """The 1-based position of ``book_id`` in the results (first 5 pages of 100), and page 1."""
    first = None
    for page in range(1, 6):
        data = session.get(url, params={"q": query, "per_page": 100, "page": page}, timeout=60).json()
        first = first or data
        ids = [hit["id"] for hit in data["results"]]
        if book_id in ids:
            return (page - 1) * 100 + ids.index(book_id) + 1, first
        if len(ids) < 100:
            break
    return None, first


def report(catalog: Catalog, base_url: str) -> list[dict]:
    """Rank of the right book and counts, per query and form, with the brute-force counts."""
    import requests

    typed = {q: forms(q) for q, _ in QUERIES}
    expected = brute_force(catalog, [text for f in typed.values() for text in f.values()])
    rows = []
    with requests.Session() as session:
        for query, book_id in QUERIES:
            for form, text in typed[query].items():
                rank, data = _rank(session, base_url + "/api/search", text, book_id)
                together, every = expected[text]
                rows.append({
                    "query": query, "form": form, "rank": rank, "total": data["total"],
                    "also": data.get("also_total"), "also_exact": data.get("also_total_exact"),
                    "brute_together": together, "brute_also": every - together,
                })
    return rows
