"""Hostile and odd inputs found in a QA pass: each was a 500, a traceback, a broken link or lost data."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from urllib.parse import unquote

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

from content.ingest.run import import_paths
from content.http_ranges import parse_range
from tests.conftest import REPO
from tests.media import make_epub, make_mp3, make_pdf

READPOINT = [sys.executable, "-m", "readpoint.cli"]
SUPERSCRIPT_TWO = "%C2%B2"  # "²": str.isdigit() says yes, int() says no
HUGE = "9" * 5000  # more digits than int() converts


@pytest.fixture
def books(app, tmp_path):
    """An EPUB (two chapters) and a two-file audiobook imported into the app's library; their ids."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_epub(folder / "sach.epub", title="Sách thử", chapters=[("Một", "<p>Một.</p>"), ("Hai", "<p>Hai.</p>")])
    album = folder / "album"
    album.mkdir()
    for track in (1, 2):
        make_mp3(album / f"{track:02d}.mp3", 1.0, title=f"Phần {track}", album="Truyện", track=track)
    report = import_paths(app.extensions["library"], [folder])
    assert not report.rejected, report.rejected
    return {entry["format"]: entry["id"] for entry in report.imported}


@pytest.mark.parametrize("number", [SUPERSCRIPT_TWO, HUGE])
def test_odd_numbers_in_the_reader_and_player_are_404_not_500(client, books, number):
    """``?part=`` and ``?chapter=`` of "²" or 5,000 digits: no such page, not a server error."""
    assert client.get(f"/read/{books['epub']}/1?part={number}").status_code == 404
    assert client.get(f"/listen/{books['audio']}?chapter={number}").status_code == 404
    assert client.get(f"/listen/{books['audio']}?chapter=2").status_code == 200


def test_font_size_of_superscript_two_is_refused_and_ignored_in_a_cookie(client, books):
    """``/prefs?fs=²`` is an unknown preference (400); an ``fs=²`` cookie means the default size."""
    assert client.get(f"/prefs?fs={SUPERSCRIPT_TWO}").status_code == 400
    client.set_cookie("fs", "\u00b2")
    page = client.get(f"/read/{books['epub']}/1")
    assert page.status_code == 200
    assert "Một." in page.get_data(as_text=True)


def test_a_range_with_thousands_of_digits_is_not_a_500(live_server, books, app):
    """``bytes=0-<5,000 digits>`` means "to the end"; ``bytes=<5,000 digits>-`` is past the end."""
    sha = app.extensions["library"].catalog.files_of(books["epub"])[0]["sha256"]
    url = f"{live_server.url}/files/{sha}"
    whole = requests.get(url, timeout=10)
    to_end = requests.get(url, headers={"Range": f"bytes=0-{HUGE}"}, timeout=10)
    assert to_end.status_code == 206 and to_end.content == whole.content
    past = requests.get(url, headers={"Range": f"bytes={HUGE}-"}, timeout=10)
    assert past.status_code == 416
    assert requests.get(url, headers={"Range": f"bytes=-{HUGE}"}, timeout=10).status_code == 206


def test_parse_range_reads_leading_zeros_and_huge_positions():
    """Leading zeros are not "huge"; positions past any file are clamped or unsatisfiable."""
    assert parse_range("bytes=5-" + "0" * 30 + "9", 100) == (5, 9)
    assert parse_range("bytes=0-" + HUGE, 100) == (0, 99)
    assert parse_range("bytes=" + HUGE + "-", 100) == "unsatisfiable"


def test_every_link_works_under_an_awkward_url_prefix(app, books):
    """Mounted under ``/thư viện/a b``, every page's links, scripts, styles and icons stay under it and answer."""
    prefix = "/thư viện/a b"
    wsgi = DispatcherMiddleware(Response("outside the app", 404), {prefix.encode().decode("latin-1"): app.wsgi_app})
    client = Client(wsgi)
    pages = [f"{prefix}/", f"{prefix}/book/{books['epub']}", f"{prefix}/read/{books['epub']}/1",
             f"{prefix}/listen/{books['audio']}", f"{prefix}/search?q=s%C3%A1ch", f"{prefix}/nowhere"]
    links = set()
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        links.update(m.replace("&amp;", "&") for m in re.findall(r'(?:href|src|data-src)="(/[^"#]*)"', body))
    assert any("/static/" in link for link in links)
    for link in sorted(links):
        assert unquote(link).startswith(prefix + "/"), link
        assert client.get(link).status_code in (200, 206, 302), link


def test_static_text_has_one_charset_and_missing_assets_are_not_remembered(client, app):
    """``text/css; charset=utf-8`` (not twice); a request for a missing asset adds nothing to the hash cache."""
    page = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/[^"]+/site\.css)"', page).group(1)
    assert client.get(css).headers["Content-Type"] == "text/css; charset=utf-8"
    before = len(app.extensions["asset_hashes"])
    for n in range(20):
        assert client.get(f"/static/0123456789ab/missing-{n}.css").status_code == 404
    assert len(app.extensions["asset_hashes"]) == before


def run_cli(*args, data_dir):
    """Run ``readpoint`` in a subprocess; return the CompletedProcess."""
    command = [*READPOINT, *map(str, args), "--data", str(data_dir)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_import_of_files_whose_names_are_not_utf8(tmp_path):
    """A stick written by an old Windows: ``s\\xe1ch.epub`` is imported, its verdicts recorded, no traceback."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_epub(folder / os.fsdecode(b"s\xe1ch.epub"), title="Sách")
    make_pdf(folder / os.fsdecode(b"t\xe0i li\xea\xf5u.pdf"), ["Trang một."], title="Tài liệu")
    (folder / os.fsdecode(b"h\xf6ng.epub")).write_bytes(b"PK not really")
    result = run_cli("import", folder, data_dir=tmp_path / "data")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1  # the broken one is rejected
    assert result.stdout.startswith("imported 2, duplicates 0, rejected 1")
    db = sqlite3.connect(tmp_path / "data" / "catalog.sqlite3")
    names = sorted(row[0] for row in db.execute("SELECT name FROM files WHERE role = 'primary'"))
    verdicts = db.execute("SELECT count(*) FROM import_files").fetchone()[0]
    db.close()
    assert names == ["s\ufffdch.epub", "t\ufffdi li\ufffd\ufffdu.pdf"]
    assert verdicts == 3


@pytest.fixture
def stocked_data(tmp_path):
    """A data directory with two imported books; its path and how many files its store holds."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_epub(folder / "a.epub", title="Một")
    make_pdf(folder / "b.pdf", ["Trang."], title="Hai")
    data = tmp_path / "data"
    assert run_cli("import", folder, data_dir=data).returncode == 0
    for extra in ("catalog.sqlite3-wal", "catalog.sqlite3-shm"):
        (data / extra).unlink(missing_ok=True)
    return data, len(list((data / "store").glob("*/*")))


def test_a_catalog_cut_to_zero_bytes_is_refused_and_the_books_kept(stocked_data):
    """Opening a 0-byte catalog as a new one would remove every stored book as an orphan."""
    data, stored = stocked_data
    (data / "catalog.sqlite3").write_bytes(b"")
    for command in ("check", "reindex"):
        result = run_cli(command, data_dir=data)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("Error: the catalog")
    assert len(list((data / "store").glob("*/*"))) == stored
    assert (data / "catalog.sqlite3").stat().st_size == 0


def test_a_deleted_catalog_is_refused_and_the_books_kept(stocked_data):
    """A missing catalog beside a full store is a loss to restore, not a new library to clean."""
    data, stored = stocked_data
    (data / "catalog.sqlite3").unlink()
    result = run_cli("check", data_dir=data)
    assert result.returncode == 1 and "missing" in result.stderr and "Traceback" not in result.stderr
    assert len(list((data / "store").glob("*/*"))) == stored
    assert not (data / "catalog.sqlite3").exists()


def test_check_and_serve_on_a_damaged_catalog_give_one_line_and_remove_nothing(stocked_data):
    """Garbage over the catalog's pages: a one-line error or problem, never a traceback, never a deleted book."""
    data, stored = stocked_data
    catalog = data / "catalog.sqlite3"
    raw = bytearray(catalog.read_bytes())
    raw[4096 * 2:] = bytes(len(raw) - 4096 * 2)  # every page after the second zeroed
    catalog.write_bytes(bytes(raw))
    result = run_cli("check", data_dir=data)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(list((data / "store").glob("*/*"))) == stored
    served = subprocess.run([*READPOINT, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert served.returncode == 1 and "Traceback" not in served.stderr, served.stderr
    assert served.stderr.strip().splitlines()[-1].startswith("Error:")
    assert len(list((data / "store").glob("*/*"))) == stored



def test_a_pipe_given_to_import_is_skipped_as_what_it_is(tmp_path):
    """A FIFO named like a book is skipped as "not a file or folder", not "no such file"; nothing blocks."""
    pipe = tmp_path / "pipe.epub"
    os.mkfifo(pipe)
    result = run_cli("import", "--json", pipe, data_dir=tmp_path / "data")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert '"reason": "not a file or folder (a pipe or device)"' in result.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its permissions")
def test_a_folder_that_cannot_be_read_is_reported(tmp_path):
    """A folder without read permission is a skipped entry with the reason, not silently left out."""
    locked = tmp_path / "in" / "locked"
    locked.mkdir(parents=True)
    locked.chmod(0)
    try:
        result = run_cli("import", "--json", tmp_path / "in", data_dir=tmp_path / "data")
    finally:
        locked.chmod(0o755)
    assert '"reason": "folder could not be read (Permission denied)"' in result.stdout
