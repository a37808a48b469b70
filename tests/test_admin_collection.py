"""Managing the collection from the desk: find, edit, hide, unhide, remove, feature; categories and "Khác".

Every change is checked where villagers see it: the book page, the listings,
the home page and search.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from content.ingest.run import import_paths
from tests.admin_desk import post_form, set_up_account
from tests.media import make_epub


@pytest.fixture
def desk(app, client, data_dir, tmp_path):
    """Three books (one in no category) and a logged-in librarian; returns ids by name."""
    src = tmp_path / "src"
    src.mkdir()
    make_epub(src / "lua.epub", title="Kỹ thuật trồng lúa nước", authors=["Nguyễn Văn An"], language="vi",
              subjects=["Nông nghiệp"], chapters=[("Một", "<p>Cày bừa kỹ trước khi gieo.</p>")])
    make_epub(src / "nuoc.epub", title="Clean water at home", language="en", subjects=["Health"],
              identifier="urn:uuid:nuoc")
    make_epub(src / "la.epub", title="Sách lạ không chủ đề", language="vi", subjects=[], identifier="urn:uuid:la")
    report = import_paths(app.extensions["library"], [src])
    set_up_account(client, data_dir)
    return {entry["path"].rsplit("/", 1)[-1][:-5]: entry["id"] for entry in report.imported}


def _text(response) -> str:
    """A response body as text."""
    return response.data.decode()


def _search_ids(client, query: str) -> list[str]:
    """Book ids a villager's search finds."""
    return [hit["id"] for hit in client.get("/api/search", query_string={"q": query}).json["results"]]


def _other_count(client) -> int:
    """The count the home page shows beside "Khác"."""
    match = re.search(r'/category/other"><img[^>]*><span>Khác</span><small>(\d+)</small>', _text(client.get("/")))
    return int(match.group(1)) if match else 0


def test_the_list_finds_any_book_by_title_without_tone_marks_or_by_author(client, desk):
    listing = _text(client.get("/admin/books"))
    assert all(f"/admin/books/{book_id}" in listing for book_id in desk.values())
    found = _text(client.get("/admin/books", query_string={"q": "ky thuat lua"}))
    assert desk["lua"] in found and desk["nuoc"] not in found
    assert desk["lua"] in _text(client.get("/admin/books", query_string={"q": "nguyễn"}))
    nothing = client.get("/admin/books", query_string={"q": "%"})
    assert nothing.status_code == 200 and desk["lua"] not in _text(nothing)


def test_edit_changes_what_phones_see_and_search_finds(client, desk):
    book = desk["lua"]
    response = post_form(client, f"/admin/books/{book}", f"/admin/books/{book}", {
        "title": "Trồng lúa trên ruộng bậc thang", "authors": "Nguyễn Văn An\nTrạm khuyến nông",
        "description": "Sách hướng dẫn mới.", "language": "vi", "categories": ["farming", "children"]})
    assert response.status_code == 303
    page = _text(client.get(f"/book/{book}"))
    assert "Trồng lúa trên ruộng bậc thang" in page and "Trạm khuyến nông" in page
    assert book in _search_ids(client, "ruong bac thang")
    assert book in _text(client.get("/category/children"))
    history = _text(client.get(f"/admin/books/{book}"))
    assert "librarian:Chị Lan" in history and "edit" in history


def test_a_bad_edit_changes_nothing(client, desk, data_dir):
    book = desk["lua"]
    for form in ({"title": " ", "language": "vi"}, {"title": "T", "language": "not a language!"},
                 {"title": "x" * 1001}):
        response = post_form(client, f"/admin/books/{book}", f"/admin/books/{book}", form)
        assert response.status_code == 400
    with sqlite3.connect(data_dir / "catalog.sqlite3") as db:
        assert db.execute("SELECT title, language FROM books WHERE id = ?", [book]).fetchone() == (
            "Kỹ thuật trồng lúa nước", "vi")
        assert db.execute("SELECT count(*) FROM catalog_changes WHERE op = 'edit'").fetchone()[0] == 0


def test_hide_and_unhide(client, desk):
    book = desk["lua"]
    assert book in _search_ids(client, "lua nuoc")
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/status", {"status": "hidden"})
    assert client.get(f"/book/{book}").status_code == 404
    assert book not in _text(client.get("/category/farming")) and book not in _text(client.get("/"))
    assert book not in _search_ids(client, "lua nuoc")
    hidden = _text(client.get("/admin/books", query_string={"status": "hidden"}))
    assert book in hidden and desk["nuoc"] not in hidden
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/status", {"status": "active"})
    assert client.get(f"/book/{book}").status_code == 200
    assert book in _text(client.get("/category/farming"))
    assert book in _search_ids(client, "lua nuoc")
    refused = post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/status", {"status": "deleted"})
    assert refused.status_code == 400


def test_remove_needs_the_box_ticked(client, desk, data_dir):
    book = desk["nuoc"]
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/remove", {})
    assert client.get(f"/book/{book}").status_code == 200
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/remove", {"confirm": "yes"})
    assert client.get(f"/book/{book}").status_code == 404
    assert client.get(f"/admin/books/{book}").status_code == 404
    assert book not in _search_ids(client, "clean water")


def test_the_featured_shelf_on_the_home_page(client, desk):
    book = desk["nuoc"]
    assert _text(client.get("/")).split("<h2>", 2)[1].find(f"/book/{book}") == -1
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/featured", {"featured": "1"})
    home = _text(client.get("/"))
    shelf = home.split("<h2>", 2)[1]
    assert f"/book/{book}" in shelf and desk["lua"] not in shelf
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/status", {"status": "hidden"})
    assert f"/book/{book}" not in _text(client.get("/"))  # a hidden book leaves the shelf too
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/status", {"status": "active"})
    post_form(client, f"/admin/books/{book}", f"/admin/books/{book}/featured", {"featured": "0"})
    assert _text(client.get("/")).split("<h2>", 2)[1].find(f"/book/{book}") == -1


def test_books_in_no_category_are_under_khac_and_counted(client, desk):
    assert _other_count(client) == 1
    assert desk["la"] in _text(client.get("/category/other"))
    post_form(client, f"/admin/books/{desk['lua']}", f"/admin/books/{desk['lua']}",
              {"title": "Kỹ thuật trồng lúa nước", "authors": "Nguyễn Văn An", "language": "vi", "categories": []})
    assert _other_count(client) == 2
    other = _text(client.get("/category/other"))
    assert desk["la"] in other and desk["lua"] in other and "2 cuốn sách" in other
    post_form(client, f"/admin/books/{desk['la']}", f"/admin/books/{desk['la']}/status", {"status": "hidden"})
    assert _other_count(client) == 1


def test_categories_create_rename_icon_and_order(client, desk):
    response = post_form(client, "/admin/categories", "/admin/categories",
                         {"name_vi": "Chăn nuôi", "name_th": "ปศุสัตว์", "name_en": "Livestock", "icon": "farming"})
    assert response.status_code == 303
    page = _text(client.get("/admin/categories"))
    assert 'id="c-livestock"' in page
    order = re.findall(r'<li id="c-([a-z-]+)"', page)
    assert order[-2:] == ["livestock", "other"]  # added at the end, "Khác" stays last
    post_form(client, "/admin/categories", "/admin/categories/livestock", {"move": "up"})
    order = re.findall(r'<li id="c-([a-z-]+)"', _text(client.get("/admin/categories")))
    assert order[-3:] == ["livestock", "language", "other"]
    post_form(client, "/admin/categories", "/admin/categories/livestock",
              {"name_vi": "Chăn nuôi gia súc", "name_th": "ปศุสัตว์", "name_en": "Livestock", "icon": "health"})
    post_form(client, f"/admin/books/{desk['la']}", f"/admin/books/{desk['la']}",
              {"title": "Sách lạ không chủ đề", "language": "vi", "categories": ["livestock"]})
    home = _text(client.get("/"))
    assert "Chăn nuôi gia súc" in home and "icons/health.svg" in home.split("Chăn nuôi gia súc")[0][-200:]
    client.set_cookie("lang", "en")
    english = client.get("/category/livestock")
    assert "Livestock" in _text(english)
    refused = post_form(client, "/admin/categories", "/admin/categories", {"name_vi": "Chỉ một tên", "icon": "law"})
    assert refused.status_code == 400
    assert len(re.findall(r'<li id="c-', _text(client.get("/admin/categories")))) == len(order)
