"""/files/<sha256> against a real waitress server: Range, ETag, 304, 404, traversal."""

from __future__ import annotations

import hashlib
import http.client
import os

import pytest
import requests

from tests.books import add_plain_book

BODY = os.urandom(200_000)


@pytest.fixture
def served(app, live_server):
    """A live server with one stored book; returns (server, sha256)."""
    library = app.extensions["library"]
    _book_id, sha = add_plain_book(library, BODY)
    return live_server, sha


def test_whole_file_with_strong_etag_and_immutable_cache(served):
    server, sha = served
    response = requests.get(f"{server.url}/files/{sha}", timeout=10)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == sha
    assert response.headers["ETag"] == f'"{sha}"'
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "application/pdf"
    assert "Content-Security-Policy" in response.headers


def test_range_requests(served):
    server, sha = served
    url = f"{server.url}/files/{sha}"
    r = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(BODY)}"
    assert r.content == BODY[100:200]
    r = requests.get(url, headers={"Range": "bytes=-50"}, timeout=10)
    assert r.status_code == 206 and r.content == BODY[-50:]
    r = requests.get(url, headers={"Range": "bytes=199990-"}, timeout=10)
    assert r.status_code == 206 and r.content == BODY[199990:]
    r = requests.get(url, headers={"Range": "bytes=0-999999999"}, timeout=10)
    assert r.status_code == 206 and r.content == BODY
    r = requests.get(url, headers={"Range": f"bytes={len(BODY)}-"}, timeout=10)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{len(BODY)}"


def test_if_range_with_other_etag_sends_everything(served):
    server, sha = served
    r = requests.get(f"{server.url}/files/{sha}",
                     headers={"Range": "bytes=0-9", "If-Range": '"other"'}, timeout=10)
    assert r.status_code == 200 and len(r.content) == len(BODY)
    r = requests.get(f"{server.url}/files/{sha}",
                     headers={"Range": "bytes=0-9", "If-Range": f'"{sha}"'}, timeout=10)
    assert r.status_code == 206 and r.content == BODY[:10]


def test_not_modified(served):
    server, sha = served
    r = requests.get(f"{server.url}/files/{sha}", headers={"If-None-Match": f'"{sha}"'}, timeout=10)
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["ETag"] == f'"{sha}"'


def test_head_has_length_and_no_body(served):
    server, sha = served
    r = requests.head(f"{server.url}/files/{sha}", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(BODY))


@pytest.mark.parametrize(
    "path",
    [
        "/files/" + "0" * 64,  # well-formed, unknown
        "/files/abc",  # malformed
        "/files/" + "A" * 64,  # upper case is not our naming
        "/files/../catalog.sqlite3",
        "/files/..%2Fcatalog.sqlite3",
        "/files/%2e%2e%2fcatalog.sqlite3",
        "/files/..%2F..%2F..%2Fetc%2Fpasswd",
        "/files//etc/passwd",
        "/thumbs/../catalog.sqlite3",
        "/static/x/../../../readpoint/app.py",
    ],
)
def test_unknown_malformed_and_traversal_are_404(served, path):
    server, _sha = served
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)  # raw path: no client-side normalisation
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status in (404, 400), path
    assert b"SQLite format" not in body and b"root:" not in body and b"create_app" not in body


def test_json_error_shape_under_api(served):
    server, _sha = served
    r = requests.get(f"{server.url}/api/books/nope", timeout=10)
    assert r.status_code == 404
    assert r.json() == {"error": {"status": 404, "message": r.json()["error"]["message"]}}
    assert r.json()["error"]["message"]


def test_html_error_page_in_layout(served):
    server, _sha = served
    r = requests.get(f"{server.url}/book/nope", timeout=10)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert '<form class="search"' in r.text and "404" in r.text
