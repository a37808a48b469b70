"""The search page and ``GET /api/search``: escaping, paging links, usage events, a real server."""

from __future__ import annotations

import html
import os
import re

import pytest
import requests

from tests.books import add_plain_book


@pytest.fixture
def books(app):
    """Three books in the app's library (ids by key)."""
    library = app.extensions["library"]
    return {
        "lua": add_plain_book(
            library, os.urandom(64), title="Kỹ thuật trồng lúa",
            texts=["Trang một.", "Cách trồng <b>lúa</b> nước & chăm sóc <script>alert(1)</script>"],
        )[0],
        "trau": add_plain_book(library, os.urandom(64), title="Nuôi trâu bò", categories=("farming",))[0],
        "thai": add_plain_book(library, os.urandom(64), title="ห้องสมุดประชาชน", language="th",
                               texts=["เด็กๆไปห้องสมุดเพื่ออ่านหนังสือ"])[0],
    }


def events(app, kind):
    """Details of the usage events of ``kind`` written so far."""
    app.extensions["events"].flush()
    catalog = app.extensions["library"].catalog
    return [row[0] for row in catalog.db.execute("SELECT detail FROM events WHERE kind = ?", [kind])]


def test_results_page_shows_escaped_highlighted_snippets(client, books):
    response = client.get("/search?q=lua+nuoc")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Kỹ thuật trồng lúa" in page
    assert f'href="/book/{books["lua"]}"' in page
    assert "&lt;b&gt;<mark>lúa</mark>&lt;/b&gt; <mark>nước</mark>" in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    assert 'value="lua nuoc"' in page  # the search box keeps the query


def test_results_page_without_a_query_is_a_form(client, books):
    response = client.get("/search")
    assert response.status_code == 200
    assert "<mark>" not in response.get_data(as_text=True)


def test_query_is_escaped_everywhere(client, books):
    response = client.get('/search?q=<img src=x onerror=alert(1)>"')
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_empty_search_is_recorded_with_its_term_only(app, client, books):
    client.get("/search?q=  Xyzzy   Plugh ")
    client.get("/search?q=trau")
    client.get("/search?q=xyzzy&page=2")  # paging is not another search
    assert events(app, "search_empty") == ["xyzzy plugh"]
    assert events(app, "search") == [""]


def test_suggestion_link_keeps_the_filters(client, books):
    page = client.get("/search?q=nuoi+trua&category=farming").get_data(as_text=True)
    assert "nuoi trau" in page
    assert "/search?q=nuoi+trau&amp;category=farming" in page


def test_pager_links_keep_the_query(app, client):
    library = app.extensions["library"]
    for number in range(25):
        add_plain_book(library, os.urandom(64), title=f"Trồng lúa tập {number}")
    page = client.get("/search?q=lua").get_data(as_text=True)
    assert 'href="/search?q=lua&amp;page=2"' in page
    second = client.get("/search?q=lua&page=2").get_data(as_text=True)
    assert second.count('class="hit"') == 5


def test_api_search_shape(client, books):
    data = client.get("/api/search?q=หนังสือ").get_json()
    assert data["query"] == "หนังสือ"
    assert data["total"] == 1 and data["page"] == 1 and data["suggestion"] is None
    (hit,) = data["results"]
    assert set(hit) >= {"id", "title", "authors", "language", "format", "categories", "snippet"}
    assert hit["id"] == books["thai"]
    assert "<mark>หนังสือ</mark>" in hit["snippet"]


def test_api_filters_paging_and_garbage(client, books):
    assert client.get("/api/search?q=lua&lang=th").get_json()["total"] == 0
    assert client.get("/api/search?q=trau&category=farming").get_json()["total"] == 1
    data = client.get("/api/search?q=lua&page=abc&per_page=xyz").get_json()
    assert (data["page"], data["per_page"], data["total"]) == (1, 20, 1)
    assert client.get("/api/search?q=lua&per_page=100000").get_json()["per_page"] == 100


@pytest.mark.parametrize("query", ['"', "NEAR(", "a" * 10_000, "*:^-", ""])
def test_api_hostile_queries_answer_empty(client, books, query):
    response = client.get("/api/search", query_string={"q": query})
    assert response.status_code == 200
    assert response.get_json()["results"] == []


def test_api_on_a_real_server(books, live_server):
    response = requests.get(f"{live_server.url}/api/search", params={"q": "NUÔI TRÂU"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert [hit["id"] for hit in response.json()["results"]] == [books["trau"]]


@pytest.fixture
def named(app):
    """Books by one author with a subject that names a category, and a decoy with the words apart."""
    library = app.extensions["library"]
    specs = {
        "nam1": dict(title="Mùa gặt trên núi", authors=["Đặng Bảo Nam"], subjects=["Nông nghiệp", "Ký sự"]),
        "nam2": dict(title="Chuyện bản tôi", authors=["Hà Văn Thư", "Đặng Bảo Nam"]),
        "decoy": dict(title="Bảo vệ rừng", authors=["Đặng Thị Hoa"], description="Người dân Nam Định."),
    }
    with library.catalog.write():
        for key, spec in specs.items():
            row = dict(spec, id=key, sort_title=spec["title"].lower(), format="epub", language="vi")
            library.catalog.insert_book(row, files=[], chapters=[], texts=[], categories=["culture"])
            library.search.index_book(library.catalog, key)
    return specs


@pytest.mark.parametrize("language, together, also, heading", [
    ("vi", "2 cuốn sách có các từ này liền nhau", "1 cuốn sách khác có nhắc đến đủ các từ",
     "Sách khác cũng nhắc đến đủ các từ"),
    ("th", "หนังสือ 2 เล่มที่มีคำเหล่านี้อยู่ติดกัน", "หนังสืออื่นอีก 1 เล่มที่กล่าวถึงทุกคำ",
     "หนังสืออื่นที่กล่าวถึงทุกคำ"),
    ("en", "2 books hold these words together", "1 more book mentions all the words",
     "Also mentioning all the words"),
])
def test_results_page_shows_both_parts_in_the_phones_language(client, named, language, together, also, heading):
    page = client.get("/search?q=dang+bao+nam", headers={"Accept-Language": language}).get_data(as_text=True)
    assert together in page and also in page
    before, _, after = page.partition(f'<h2 class="also">{heading}</h2>')
    assert "Mùa gặt trên núi" in before and "Chuyện bản tôi" in before and "Bảo vệ rừng" not in before
    assert "Bảo vệ rừng" in after and 'start="3"' in after


def test_api_counts_both_parts(client, named):
    data = client.get("/api/search?q=đặng bảo nam").get_json()
    assert (data["total"], data["also_total"], data["also_total_exact"]) == (2, 1, True)
    assert {hit["id"] for hit in data["results"][:2]} == {"nam1", "nam2"}
    assert data["results"][2]["id"] == "decoy"


def test_an_authors_name_links_to_all_their_books(client, named):
    page = client.get("/search?q=mua+gat").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Đặng Bảo Nam</a>', page).group(1)
    followed = client.get(html.unescape(link))
    data = client.get("/api" + html.unescape(link)).get_json()
    assert followed.status_code == 200
    assert {hit["id"] for hit in data["results"]} == {"nam1", "nam2"} and data["also_total"] == 0


def test_a_subject_links_to_its_category_or_to_a_search(client, named):
    page = client.get("/search?q=mua+gat").get_data(as_text=True)
    assert '<a href="/category/farming">Nông nghiệp</a>' in page
    link = re.search(r'<a href="([^"]+)">Ký sự</a>', page).group(1)
    assert client.get("/api" + html.unescape(link)).get_json()["results"][0]["id"] == "nam1"


def test_a_search_finding_only_scattered_words_is_not_recorded_as_empty(app, client, named):
    data = client.get("/api/search?q=bảo đặng").get_json()
    assert data["total"] == 0 and data["also_total"] == 3
    assert events(app, "search_empty") == [] and events(app, "search") == [""]
