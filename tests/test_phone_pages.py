"""The phone pages over HTTP: readers, player, preferences, positions, usage events, assets, locales."""

from __future__ import annotations

import gzip
import re
from http.cookies import SimpleCookie

import pytest
import requests

from readpoint.app import create_app
from readpoint.formatting import bookdate, duration, filesize, number
from tests.conftest import LiveServer
from tests.phone_library import build_phone_library

PAGES = ["/", "/category/farming", "/language/vi", "/book/{lua}", "/book/{lich}", "/book/{audio}",
         "/read/{lua}/1", "/read/{lua}/contents", "/read/{lich}", "/listen/{audio}", "/read/{long}/1?part=2"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app over the phone library (module-wide: importing it once keeps the tests fast)."""
    root = tmp_path_factory.mktemp("pages")
    app = create_app({"events_flush_seconds": 0, "page_size": 4}, data_dir=root / "data")
    ids = build_phone_library(app.extensions["library"], root / "src")
    yield app, ids
    app.extensions["events"].flush()
    app.extensions["library"].close()


@pytest.fixture
def client(site):
    """A fresh test client (its own cookies) over the module's app."""
    return site[0].test_client()


@pytest.fixture(scope="module")
def server(site):
    """The module's app behind a real waitress server."""
    running = LiveServer(site[0]).start()
    yield running
    running.stop()


def events(app) -> list[dict]:
    """Every usage event written so far (the buffer flushed first)."""
    app.extensions["events"].flush()
    return [dict(row) for row in app.extensions["library"].catalog.db.query("SELECT * FROM events ORDER BY seq")]


def test_every_page_is_html_in_the_layout_with_security_headers(site, client):
    app, ids = site
    for path in PAGES:
        response = client.get(path.format(**ids))
        assert response.status_code == 200, path
        assert response.mimetype == "text/html"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        html = response.get_data(as_text=True)
        assert '<form class="search"' in html and 'class="langs"' in html
        assert "<script>" not in html and " style=" not in html, path  # nothing inline for the CSP to block


def test_titles_and_text_carry_their_language(site, client):
    _app, ids = site
    html = client.get(f"/book/{ids['thai']}").get_data(as_text=True)
    assert '<h1 lang="th">ห้องสมุดชุมชน</h1>' in html
    chapter = client.get(f"/read/{ids['thai']}/1").get_data(as_text=True)
    assert re.search(r'<article id="text" class="text fs-3" lang="th"', chapter)


def test_reader_navigation_and_errors(site, client):
    _app, ids = site
    first = client.get(f"/read/{ids['lua']}/1").get_data(as_text=True)
    assert f'rel="next" href="/read/{ids["lua"]}/2"' in first and 'rel="prev"' not in first
    last = client.get(f"/read/{ids['lua']}/3").get_data(as_text=True)
    assert f'rel="prev" href="/read/{ids["lua"]}/2?part=last"' in last and 'rel="next"' not in last
    for path in (f"/read/{ids['lua']}/0", f"/read/{ids['lua']}/4", f"/read/{ids['lich']}/1",
                 f"/read/{ids['lua']}/1?part=2", f"/read/{ids['lua']}/1?part=x", f"/listen/{ids['lua']}",
                 "/read/nosuchbook/1", f"/read/{ids['lua']}/contents/x"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/read/{ids['audio']}").headers["Location"].endswith(f"/listen/{ids['audio']}")


def test_long_chapter_parts(site, client):
    _app, ids = site
    base = f"/read/{ids['long']}/1"
    first = client.get(base).get_data(as_text=True)
    parts = int(re.search(r"trang 1/(\d+)", first).group(1))
    assert parts >= 3 and f'rel="next" href="{base}?part=2"' in first
    last = client.get(base + "?part=last").get_data(as_text=True)
    assert f"trang {parts}/{parts}" in last and f'rel="next" href="/read/{ids["long"]}/2"' in last
    assert f'id="b-gan-cuoi"' in client.get(base + "?to=b-gan-cuoi").get_data(as_text=True)
    assert client.get(base + f"?part={parts + 1}").status_code == 404
    previous = client.get(f"/read/{ids['long']}/2").get_data(as_text=True)
    assert f'rel="prev" href="{base}?part=last"' in previous


def test_chapters_come_from_the_cache_after_the_first_time(site, client):
    app, ids = site
    cache = app.extensions["chapter_cache"]
    client.get(f"/read/{ids['health']}/2")
    hits, misses = cache.hits, cache.misses
    for _ in range(3):
        assert client.get(f"/read/{ids['health']}/2").status_code == 200
    assert (cache.hits, cache.misses) == (hits + 3, misses)


def test_book_images_are_served_and_nothing_else(site, client):
    _app, ids = site
    base = f"/read/{ids['lua']}/res/"
    image = client.get(base + "OEBPS/images/ruong.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    etag = image.headers["ETag"]
    assert client.get(base + "OEBPS/images/ruong.png", headers={"If-None-Match": etag}).status_code == 304
    hostile = f"/read/{ids['hostile']}/res/"
    for path in (hostile + "OEBPS/evil.js", hostile + "OEBPS/style.css", hostile + "OEBPS/ch1.xhtml",
                 hostile + "META-INF/container.xml", hostile + "OEBPS/../../catalog.sqlite3",
                 hostile + "%2e%2e/%2e%2e/etc/passwd.png", base + "OEBPS/images/none.png",
                 f"/read/{ids['lich']}/res/x.png"):
        assert client.get(path).status_code == 404, path


def test_positions_are_remembered_per_phone(site, client):
    _app, ids = site
    client.get(f"/read/{ids['lua']}/2")
    client.get(f"/listen/{ids['audio']}?chapter=2")
    assert client.get(f"/read/{ids['lua']}").headers["Location"].endswith(f"/read/{ids['lua']}/2")
    assert "Phần 2" in client.get(f"/listen/{ids['audio']}").get_data(as_text=True).split('class="now"')[1][:300]
    home = client.get("/").get_data(as_text=True)
    assert home.index(f"/listen/{ids['audio']}?chapter=2") < home.index(f"/read/{ids['lua']}/2")
    book = client.get(f"/book/{ids['lua']}").get_data(as_text=True)
    assert "Đọc tiếp (chương 2)" in book
    other = client.application.test_client()
    assert "resume" not in other.get("/").get_data(as_text=True)  # another phone knows nothing of it
    other.set_cookie("pos", "garbage~x.y.z.w~" + ids["lua"] + ".r.99999999.1")
    assert other.get("/").status_code == 200
    assert other.get(f"/read/{ids['lua']}").headers["Location"].endswith("/1")


def _cookie(response, name: str) -> str | None:
    """The value a response sets for cookie ``name``."""
    for header in response.headers.getlist("Set-Cookie"):
        jar = SimpleCookie(header)
        if name in jar:
            return jar[name].value
    return None


def test_preferences_by_plain_links(site, client):
    _app, ids = site
    back = f"/read/{ids['lua']}/1"
    response = client.get(f"/prefs?fs=5&back={back}")
    assert response.status_code == 302 and response.headers["Location"] == back
    assert _cookie(response, "fs") == "5"
    client.get("/prefs?theme=night&back=/")
    page = client.get(back).get_data(as_text=True)
    assert 'class="text fs-5"' in page and '<html lang="vi" class="night">' in page
    assert client.get("/prefs?fs=2&js=1").status_code == 204
    for bad in ("fs=9", "fs=x", "theme=pink"):
        assert client.get(f"/prefs?{bad}").status_code == 400
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
                   "javascript:alert(1)"):
        assert client.get("/prefs", query_string={"fs": "3", "back": target}).headers["Location"] == "/"
        assert client.get("/lang/th", query_string={"next": target}).headers["Location"] == "/"


def test_language_from_cookie_or_accept_language(site, client):
    _app, ids = site
    thai = client.get("/", headers={"Accept-Language": "th-TH,th;q=0.9"}).get_data(as_text=True)
    assert '<html lang="th"' in thai and "หมวดหมู่" in thai
    english = client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
    assert "Categories" in english
    assert "Chủ đề" in client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    switched = client.get(f"/lang/en?next=/book/{ids['lua']}")
    assert switched.headers["Location"] == f"/book/{ids['lua']}" and _cookie(switched, "lang") == "en"
    assert "Download" in client.get(f"/book/{ids['lua']}", headers={"Accept-Language": "th"}).get_data(as_text=True)


def test_numbers_sizes_and_dates_follow_the_locale(site):
    app, _ids = site
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        assert (number(1234567), filesize(1572864), filesize(2000)) == ("1.234.567", "1,5 MB", "2 KB")
        assert bookdate("2021-03-15") == "15 thg 3, 2021" and bookdate("2019") == "2019"
    with app.test_request_context(headers={"Accept-Language": "th"}):
        assert (number(1234567), filesize(1572864)) == ("1,234,567", "1.5 MB")
    assert (duration(59), duration(3723), duration(None)) == ("0:59", "1:02:03", "")


def test_error_pages_are_in_the_layout_and_translated(site, client):
    response = client.get("/book/nosuchbook")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Không tìm thấy trang này" in html and '<form class="search"' in html
    thai = client.get("/read/nosuch/1", headers={"Accept-Language": "th"}).get_data(as_text=True)
    assert "ไม่พบหน้านี้" in thai
    api = client.get("/api/books/nosuchbook")
    assert api.get_json()["error"]["status"] == 404


def test_user_text_is_escaped(site, client):
    response = client.get('/language/<img src=x onerror="alert(1)">')
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<img src=x" not in html and '&lt;img src=x onerror=&#34;alert(1)&#34;&gt;' in html


def test_usage_events_say_what_not_who(site, client):
    app, ids = site
    before = len(events(app))
    client.get(f"/book/{ids['health']}", headers={"User-Agent": "Phone/1.0", "X-Forwarded-For": "10.0.0.7"})
    client.get(f"/read/{ids['health']}/1")
    client.get(f"/read/{ids['lich']}")
    client.get(f"/listen/{ids['audio']}?chapter=1")
    files = app.extensions["library"].catalog.files_of(ids["health"])
    client.get(f"/files/{files[0]['sha256']}?download=1")
    new = events(app)[before:]
    assert [(e["kind"], e["book_id"]) for e in new] == [
        ("view", ids["health"]), ("read", ids["health"]), ("read", ids["lich"]), ("listen", ids["audio"]),
        ("download", ids["health"])]
    assert set(new[0]) == {"seq", "at", "kind", "book_id", "detail"}
    assert all(e["detail"] in ("", "1") for e in new)
    assert not any("Phone/1.0" in str(e) or "10.0.0.7" in str(e) or "127.0.0.1" in str(e) for e in new)


def test_most_read_shelf_counts_reading_and_is_cached(site, client):
    app, ids = site
    for _ in range(5):
        client.get(f"/read/{ids['thai']}/1")
    events(app)
    app.extensions["most_read_cache"].clear()
    home = client.get("/").get_data(as_text=True)
    shelf = home.split("Được đọc nhiều", 1)[1]
    assert shelf.index(f"/book/{ids['thai']}") < shelf.index("</section>")
    for _ in range(10):
        client.get(f"/read/{ids['nong-1']}/1")
    events(app)
    again = client.get("/").get_data(as_text=True).split("Được đọc nhiều", 1)[1]
    assert f"/book/{ids['nong-1']}" not in again.split("</section>")[0]  # the minute has not passed


def test_home_shelves_follow_the_catalog(site, client):
    app, ids = site
    catalog = app.extensions["library"].catalog
    assert "Clean water at home" in client.get("/").get_data(as_text=True)
    with catalog.write() as db:
        db.execute("UPDATE books SET status = 'hidden' WHERE id = ?", [ids["health"]])
    try:
        assert "Clean water at home" not in client.get("/").get_data(as_text=True)
    finally:
        with catalog.write() as db:
            db.execute("UPDATE books SET status = 'active' WHERE id = ?", [ids["health"]])
    assert "Clean water at home" in client.get("/").get_data(as_text=True)


def test_pdf_page_loads_vendored_pdfjs_with_a_download_fallback(site, client):
    _app, ids = site
    html = client.get(f"/read/{ids['lich']}").get_data(as_text=True)
    assert re.search(r'<script src="/static/[0-9a-f]{12}/pdfjs/pdf\.min\.js" defer>', html)
    assert re.search(r'data-worker="/static/[0-9a-f]{12}/pdfjs/pdf\.worker\.min\.js"', html)
    assert re.search(r'<a class="button download" href="/files/[0-9a-f]{64}\?download=1" download>', html)


def test_static_text_assets_go_out_gzipped(site, server):
    _app, _ids = site
    home = requests.get(server.url + "/", timeout=10).text
    css = re.search(r'href="(/static/[0-9a-f]{12}/site\.css)"', home).group(1)
    worker = "/static/{}/pdfjs/pdf.worker.min.js".format(
        re.search(r"/static/([0-9a-f]{12})/pdfjs/pdf\.worker", requests.get(
            server.url + f"/read/{_ids['lich']}", timeout=10).text).group(1))
    for path in (css, worker):
        packed = requests.get(server.url + path, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
        raw_bytes = packed.raw.read(decode_content=False)
        assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
        assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        plain = requests.get(server.url + path, headers={"Accept-Encoding": "identity"}, timeout=10)
        assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
        assert gzip.decompress(raw_bytes) == plain.content and len(raw_bytes) < len(plain.content) / 2
        etag = packed.headers["ETag"]
        again = requests.get(server.url + path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag},
                             timeout=10)
        assert again.status_code == 304
    refused = requests.get(server.url + css, headers={"Accept-Encoding": "gzip;q=0"}, timeout=10)
    assert "Content-Encoding" not in refused.headers


def test_every_page_is_under_30_kb_on_the_wire(site, server):
    """HTML + CSS + JS of each page, gzip as a phone asks for it (pdf.js apart: see the PDF reader)."""
    _app, ids = site
    session = requests.Session()
    for path in PAGES:
        page = session.get(server.url + path.format(**ids), headers={"Accept-Encoding": "gzip"}, stream=True,
                           timeout=10)
        packed = page.raw.read(decode_content=False)
        total = len(packed)
        text = gzip.decompress(packed).decode("utf-8")
        for asset in re.findall(r'(?:href|src)="(/static/[0-9a-f]{12}/[^"]+\.(?:css|js))"', text):
            if "/pdfjs/" in asset:
                continue
            response = session.get(server.url + asset, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
            total += len(response.raw.read(decode_content=False))
        assert total < 30 * 1024, (path, total)



def test_pages_are_kept_until_the_catalog_changes(site, client):
    """With events buffered (as in production), a page is rendered once; any commit renders it again."""
    from content.catalog import connect

    app, ids = site
    recorder = app.extensions["events"]
    recorder.flush()
    recorder.flush_seconds, saved = 3600, recorder.flush_seconds
    pages, homes = app.extensions["chapter_pages"], app.extensions["home_pages"]
    try:
        client.get(f"/read/{ids['thai']}/2")
        client.get("/")
        before = (pages.hits, pages.misses, homes.hits, homes.misses)
        for _ in range(3):
            assert "เด็กๆ ชอบนิทาน" in client.get(f"/read/{ids['thai']}/2").get_data(as_text=True)
            assert "ห้องสมุดชุมชน" in client.get("/").get_data(as_text=True)
        assert (pages.hits, pages.misses, homes.hits, homes.misses) == (
            before[0] + 3, before[1], before[2] + 3, before[3])
        other = connect(app.extensions["library"].catalog.path)  # another process or thread writing
        other.execute("UPDATE books SET title = 'Thư viện làng' WHERE id = ?", [ids["thai"]])
        other.close()
        assert "Thư viện làng" in client.get(f"/read/{ids['thai']}/2").get_data(as_text=True)
        assert "Thư viện làng" in client.get("/").get_data(as_text=True)
    finally:
        recorder.flush_seconds = saved
        with app.extensions["library"].catalog.write() as db:
            db.execute("UPDATE books SET title = 'ห้องสมุดชุมชน' WHERE id = ?", [ids["thai"]])


def test_chapters_inside_one_audio_file_start_at_their_time(app, tmp_path):
    """An M4B's chapters are one file; each chapter link starts the player at its own second."""
    from content.ingest.run import import_paths
    from tests.media import make_m4b

    make_m4b(tmp_path / "truyen.m4b", [("Mở đầu", 1.5), ("Giữa", 1.5), ("Kết", 1.0)], title="Truyện ngắn")
    book_id = import_paths(app.extensions["library"], [tmp_path / "truyen.m4b"]).imported[0]["id"]
    client = app.test_client()
    first = client.get(f"/listen/{book_id}").get_data(as_text=True)
    sources = re.findall(r'data-src="(/files/[0-9a-f]{64})" data-start="([\d.]+)"', first)
    assert len(sources) == 3 and len({src for src, _ in sources}) == 1
    assert [float(start) for _, start in sources] == pytest.approx([0.0, 1.5, 3.0], abs=0.05)
    second = client.get(f"/listen/{book_id}?chapter=2").get_data(as_text=True)
    assert re.search(rf'<audio controls preload="metadata" src="{sources[0][0]}#t=1\.5\d*">', second)
    assert "Chương 2 / 3" in second and "<strong lang=" in second
