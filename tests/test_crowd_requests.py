"""Odd requests and junk floods against a real waitress server: no 500, headers right, memory bounded."""

from __future__ import annotations

import logging
import os
import random
import string

import pytest
import requests

from content.ingest.run import import_paths
from readpoint.fragment_cache import FragmentCache
from tests.books import add_plain_book
from tests.crowd import SECURITY_HEADERS, get, raw_request, rss_mb
from tests.media import make_epub


@pytest.fixture
def books(app, tmp_path):
    """An EPUB with two chapters and a PDF in the app's library: {format: id}, and the PDF's sha256."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_epub(folder / "sach.epub", title="Sách thử", chapters=[("Một", "<p>Một.</p>"), ("Hai", "<p>Hai.</p>")])
    report = import_paths(app.extensions["library"], [folder])
    assert not report.rejected, report.rejected
    ids = {entry["format"]: entry["id"] for entry in report.imported}
    ids["pdf"], ids["pdf_sha"] = add_plain_book(app.extensions["library"], os.urandom(5000))
    return ids


def _asset_digest(app) -> str:
    """The current hash in site.css's URL."""
    with app.test_request_context():
        from readpoint.assets import asset_url

        return asset_url("site.css").split("/")[2]


ODD_PATHS = [
    "/static/x/site.css%00",
    "/static/x/" + "a" * 300,
    "/static/x/" + "a/" * 2000 + "site.css",
    "/static/x/%2e%2e/%2e%2e/etc/passwd",
    "/%zz",
    "/%C0%AF",
    "/?page=99999999999999999999999",
    "/search?q=%00&page=-5&per_page=abc",
    "/search?q=" + "ư" * 3000,
    "/api/search?q=x&per_page=99999999999999999999",
    "/read/x/99999999999999999999",
    "/lang/vi?next=//evil.example/",
    "/prefs?fs=%C2%B2&back=/%09/evil.example",
    "/files/" + "0" * 64 + "?download=1",
]


def test_odd_paths_are_never_a_500_and_carry_the_security_headers(live_server, books):
    for path in ODD_PATHS:
        status, headers, _body = get(live_server.port, path)
        assert status < 500, path
        for name in SECURITY_HEADERS:
            assert headers[name], (path, name)


ODD_HEADERS = [
    "Host: " + "h" * 5000,
    "Host: bad host with spaces",
    "Cookie: pos=" + "\xff" * 100 + "; lang=zz; fs=\xb2; theme=" + "n" * 3000,
    "Accept-Language: ;q=abc, vi;q=2, *;q=-1",
    "Accept-Encoding: gzip;q=x, br;q=",
    "If-None-Match: " + '"' * 50,
    "Range: bytes=--",
    "Range: bytes=5-1,0-0,-",
]


def test_odd_headers_are_never_a_500(live_server, books):
    for header in ODD_HEADERS:
        for path in ("/", f"/files/{books['pdf_sha']}", "/nothing-here", "/api/books/nope"):
            status, headers, _body = get(live_server.port, path, header)
            assert status < 500, (path, header)
            assert headers["Content-Security-Policy"], (path, header)


def test_waitress_own_errors_carry_the_security_headers(live_server):
    for request, expected in (
        (b"GET / HTTP/1.1\r\nHost: box\r\nContent-Length: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: box\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: box\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 400),
    ):
        status, headers, _body = raw_request(live_server.port, request)
        assert status == expected
        for name in SECURITY_HEADERS:
            assert headers[name], (expected, name)


def test_header_details(live_server, books):
    status, headers, _ = get(live_server.port, "/", method="POST")
    assert status == 405 and set(headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    status, headers, _ = get(live_server.port, "//category//farming?x=1", "Host: evil.example")
    assert status == 308 and headers["Location"] == "/category/farming?x=1"
    status, headers, _ = get(live_server.port, f"/files/{books['pdf_sha']}", "Range: bytes=999999-")
    assert status == 416 and headers["Content-Range"] == "bytes */5000"
    assert "max-age" not in headers.get("Cache-Control", "")


def test_a_deep_static_path_costs_little_and_logs_nothing(live_server, caplog):
    caplog.set_level(logging.INFO)
    deep = "/static/x/" + "../" * 3000 + "site.css"
    status, _headers, _body = get(live_server.port, deep)
    assert status == 404
    assert sum(len(record.getMessage()) for record in caplog.records) < 2000


def test_static_spellings_are_refused_before_any_work(live_server, app):
    digest = _asset_digest(app)
    assert get(live_server.port, f"/static/{digest}/site.css")[0] == 200
    for spelling in ("./site.css", "icons/../site.css", ".//site.css", "site.css/", "SITE.CSS", "site.css%00",
                     "%2e/site.css", "icons/%2e%2e/site.css"):
        status = get(live_server.port, f"/static/{digest}/{spelling}", "Accept-Encoding: gzip")[0]
        assert status in (308, 404), spelling
    assert set(app.extensions.get("asset_gzip", {})) <= {"site.css"}
    assert set(app.extensions["asset_hashes"]) <= set(app.extensions["asset_files"])


def _junk(length: int) -> str:
    """A random query-string-safe text."""
    return "".join(random.choices(string.ascii_letters + string.digits, k=length))


def test_junk_query_strings_share_one_cache_entry_and_are_not_echoed(live_server, app, books):
    epub = books["epub"]
    with requests.Session() as session:
        for _ in range(30):
            junk = _junk(2000)
            for path in ("/", f"/read/{epub}/1", "/category/farming"):
                response = session.get(f"{live_server.url}{path}?{junk}=1&utm={junk}", timeout=10)
                assert response.status_code == 200
                assert junk not in response.text  # the page links to itself in one canonical spelling
    # keyed by the canonical URL (second in a page key): the junk made no key of its own
    assert {key[1] for key in app.extensions["home_pages"].keys()} == {"/"}
    assert {key[1] for key in app.extensions["chapter_pages"].keys()} == {f"/read/{epub}/1"}


@pytest.mark.slow
def test_memory_stays_bounded_under_a_flood_of_junk_urls(live_server, app, books):
    epub = books["epub"]
    digest = _asset_digest(app)

    def flood(count: int) -> None:
        with requests.Session() as session:
            for number in range(count):
                junk = _junk(20_000)
                session.get(f"{live_server.url}/?{junk}", timeout=10)
                session.get(f"{live_server.url}/read/{epub}/1?part=1&to={junk}", timeout=10)
                session.get(f"{live_server.url}/search?q={junk[:50]}&page={number}", timeout=10)
                session.get(f"{live_server.url}/static/{digest}/{'./' * (number % 50)}site.css", timeout=10)
                session.get(f"{live_server.url}/book/{junk[:60]}", cookies={"pos": junk}, timeout=10)

    flood(40)  # warm: templates compiled, caches filled to their steady size
    before = rss_mb()
    flood(200)
    grown = rss_mb() - before
    print(f"RSS grew {grown:.1f} MB")
    assert grown < 25, f"the process grew by {grown:.0f} MB under 1,000 junk requests"
    for name in ("home_pages", "home_fragments", "chapter_pages", "gzip_memo"):
        cache: FragmentCache = app.extensions[name]
        assert cache.bytes <= cache.max_bytes, name
    assert {key[1] for key in app.extensions["home_pages"].keys()} == {"/"}
