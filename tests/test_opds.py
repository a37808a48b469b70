"""The OPDS catalogs as a reader app sees them, over a real waitress server on 127.0.0.1.

The box holds the starter collection (EPUBs in Vietnamese, Thai and Tai Viet,
a PDF, an MP3 audiobook) plus an M4B audiobook with chapters inside one file.
Every feed reachable from ``/opds`` is crawled and checked against the OPDS
1.2 RelaxNG schema (lxml) and parsed by feedparser; every document reachable
from ``/opds/v2`` is checked against the published OPDS 2.0 / Readium JSON
schemas (jsonschema). Every link in every feed is fetched and must answer 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import feedparser
import pytest
import requests
from lxml import etree

from content.ingest.run import import_paths
from readpoint.app import create_app
from readpoint.starter import STARTER_DIR
from tests.conftest import LiveServer
from tests.media import make_epub, make_m4b
from webpub_manifest_parser.opds2 import OPDS2FeedParserFactory
from webpub_manifest_parser.rwpm import RWPMManifestParserFactory

from tests.opds_schemas import (
    OPDS2_FEED, OPDS2_PUBLICATION, READIUM_PUBLICATION, opds1_schema, opds2_validator, schema_files,
)

ATOM = "{http://www.w3.org/2005/Atom}"
ATOM_FEED_TYPES = ("application/atom+xml",)
OPDS2_TYPES = ("application/opds+json", "application/opds-publication+json", "application/audiobook+json")
PAGE_SIZE = 5


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The starter collection and an M4B audiobook behind waitress; yields (app, base URL, session)."""
    root = tmp_path_factory.mktemp("opds-site")
    app = create_app({"events_flush_seconds": 0, "page_size": PAGE_SIZE}, data_dir=root / "data")
    library = app.extensions["library"]
    extra = root / "extra"
    extra.mkdir()
    make_m4b(extra / "truyen-co.m4b", [("Chương một: Cây khế", 1.0), ("Chương hai: Chim ăn khế", 1.5)],
             title="Truyện cổ: Cây khế", artist="Bà kể chuyện")
    assert not import_paths(library, [STARTER_DIR, extra]).rejected
    server = LiveServer(app).start()
    session = requests.Session()
    yield app, server.url, session
    session.close()
    server.stop()
    app.extensions["events"].flush()
    library.close()


def get(site, path: str, **headers) -> requests.Response:
    """GET a path (or an absolute URL) of the test server (the whole body read, the connection kept)."""
    _app, base, session = site
    response = session.get(path if path.startswith(base) else base + path, headers=headers, timeout=30)
    response.content  # noqa: B018 - read the body so the connection can be reused
    return response


def atom_links(document: etree._Element) -> Iterator[etree._Element]:
    """Every atom:link in a feed or entry document."""
    yield from document.iter(f"{ATOM}link")


def crawl_opds1(site) -> dict[str, bytes]:
    """Every OPDS 1.2 document reachable from /opds through Atom links: path → body."""
    found: dict[str, bytes] = {}
    todo = ["/opds"]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        response = get(site, path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].startswith("application/atom+xml"), path
        found[path] = response.content
        for link in atom_links(etree.fromstring(response.content)):
            if link.get("type", "").startswith(ATOM_FEED_TYPES) and link.get("href") not in found:
                todo.append(link.get("href"))
    return found


@pytest.fixture(scope="module")
def opds1(site) -> dict[str, bytes]:
    """The crawled OPDS 1.2 catalog."""
    return crawl_opds1(site)


def test_vendored_schemas_are_json_and_licensed():
    files = schema_files()
    assert len(files) >= 15
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))
    folder = files[0].parents[2]
    for name in ("opds1/LICENSE.atom", "opds1/LICENSE.opds", "opds2/LICENSE.opds", "opds2/LICENSE.readium"):
        assert (folder / name).read_text().strip()


def test_the_catalog_reaches_every_kind_of_feed(opds1, site):
    app = site[0]
    catalog = app.extensions["library"].catalog
    paths = set(opds1)
    assert {"/opds", "/opds/new", "/opds/popular", "/opds/categories", "/opds/languages"} <= paths
    for category in catalog.categories():
        if category["books"]:
            assert f"/opds/category/{category['id']}" in paths
    for row in catalog.languages():
        assert f"/opds/language/{row['language']}" in paths
    pages = -(-catalog.count_books() // PAGE_SIZE)
    assert pages > 2 and f"/opds/new?page={pages}" in paths and f"/opds/new?page={pages + 1}" not in paths
    books = [path for path in paths if path.startswith("/opds/book/")]
    assert len(books) == catalog.count_books()


def test_every_opds1_document_is_valid_against_the_relaxng_schema(opds1):
    schema = opds1_schema()
    for path, body in opds1.items():
        document = etree.fromstring(body)
        assert schema.validate(document), (path, str(schema.error_log))


def test_the_schema_refuses_a_broken_feed():
    """The validator is not a rubber stamp: a feed without id and updated, or a bad link, fails."""
    schema = opds1_schema()
    no_id = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    assert not schema.validate(etree.fromstring(no_id))
    bad_link = (b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>x</title>'
                b'<updated>2024-01-01T00:00:00Z</updated><link href="a b" rel="self"/></feed>')
    assert not schema.validate(etree.fromstring(bad_link))


def test_feedparser_reads_every_feed_and_entry(opds1):
    for path, body in opds1.items():
        parsed = feedparser.parse(body)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        document = etree.fromstring(body)
        entries = document.findall(f"{ATOM}entry") if document.tag == f"{ATOM}feed" else [document]
        if document.tag == f"{ATOM}feed":
            assert parsed.feed.title and len(parsed.entries) == len(entries), path
        for entry in parsed.entries:
            assert entry.title and entry.id
            if "/opds/book/" in path or entry.id.startswith("urn:readpoint:book:"):
                acquisitions = [link for link in entry.links if "acquisition" in link.rel]
                assert acquisitions and all(int(link.length) > 0 for link in acquisitions), (path, entry.title)


def test_entries_carry_metadata_images_and_an_acquisition_link_per_file(opds1, site):
    app = site[0]
    catalog = app.extensions["library"].catalog
    for book in catalog.list_books(limit=100):
        document = etree.fromstring(opds1[f"/opds/book/{book['id']}"])
        links = list(atom_links(document))
        acquisitions = [link for link in links if link.get("rel") == "http://opds-spec.org/acquisition/open-access"]
        files = [row for row in catalog.files_of(book["id"]) if row["role"] in ("primary", "chapter")]
        assert sorted((link.get("type"), int(link.get("length"))) for link in acquisitions) == \
            sorted((row["media_type"], row["size"]) for row in files)
        rels = {link.get("rel") for link in links}
        assert "http://opds-spec.org/image/thumbnail" in rels and "http://opds-spec.org/image" in rels
        assert document.findtext(f"{ATOM}title") == book["title"]
        assert document.findtext("{http://purl.org/dc/terms/}language") == book["language"]
        assert [a.findtext(f"{ATOM}name") for a in document.findall(f"{ATOM}author")] == book["authors"]
        assert {c.get("term") for c in document.findall(f"{ATOM}category")} == set(catalog.get_book(book["id"])["categories"])
        if book["description"]:
            assert document.findtext(f"{ATOM}summary")
    audio = next(b for b in catalog.list_books(limit=100) if b["title"].startswith("Nghe để khỏe"))
    entry = etree.fromstring(opds1[f"/opds/book/{audio['id']}"])
    types = [link.get("type") for link in atom_links(entry) if "acquisition" in (link.get("rel") or "")]
    assert types == ["audio/mpeg"] * 3


def test_every_link_answers_200_with_the_type_and_size_it_announces(opds1, site):
    checked: dict[str, requests.Response] = {}
    for body in opds1.values():
        for link in atom_links(etree.fromstring(body)):
            href = link.get("href")
            if href not in checked:
                checked[href] = get(site, href)
            response = checked[href]
            assert response.status_code == 200, href
            if link.get("length"):
                assert len(response.content) == int(link.get("length")), href
            if href.startswith(("/files/", "/thumbs/")):
                assert response.headers["Content-Type"].split(";")[0] == link.get("type"), href
    kinds = {urlsplit(href).path.split("/")[1] for href in checked}
    assert {"opds", "files", "thumbs", "book"} <= kinds


def opensearch_template(site) -> str:
    """The search URL template from the OpenSearch description the root links to."""
    root = etree.fromstring(get(site, "/opds").content)
    href = next(link.get("href") for link in atom_links(root) if link.get("rel") == "search")
    response = get(site, href)
    assert response.headers["Content-Type"].startswith("application/opensearchdescription+xml")
    description = etree.fromstring(response.content)
    url = description.find("{http://a9.com/-/spec/opensearch/1.1/}Url")
    assert url.get("type").startswith("application/atom+xml")
    return url.get("template")


@pytest.mark.parametrize(("terms", "title"), [
    ("lua ruong bac thang", "Trồng lúa trên ruộng bậc thang"),  # Vietnamese typed without tone marks
    ("มะขาม", "ฝนกับเมล็ดมะขาม"),  # Thai, inside an unspaced title
    ("ꪀꪰꪉ", "Bảng chữ Thái Việt (Tai Viet): làm quen với các chữ cái"),  # a Tai Viet syllable in the text
])
def test_opensearch_finds_books_with_the_box_s_own_analysis(site, terms, title):
    template = opensearch_template(site)
    assert "{searchTerms}" in template and template.startswith(site[1])
    response = get(site, template.replace("{searchTerms}", quote(terms)).removeprefix(site[1]))
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    assert opds1_schema().validate(document), str(opds1_schema().error_log)
    assert title in [entry.findtext(f"{ATOM}title") for entry in document.findall(f"{ATOM}entry")]
    assert not feedparser.parse(response.content).bozo


def test_feeds_are_kept_answer_304_and_follow_the_catalog(site):
    app = site[0]
    first = get(site, "/opds/new")
    again = get(site, "/opds/new")
    assert first.content == again.content and first.headers["ETag"] == again.headers["ETag"]
    assert get(site, "/opds/new", **{"If-None-Match": first.headers["ETag"]}).status_code == 304
    catalog = app.extensions["library"].catalog
    book = catalog.list_books(limit=1)[0]
    original = book["title"]
    hostile = 'Sách <b>"đặc biệt"</b> & \x01\x0b ký tự \ufffe'
    with catalog.write() as db:
        db.execute("UPDATE books SET title = ?, description = ?, updated_at = ? WHERE id = ?",
                   [hostile, "Dòng một\x00\nDòng <hai>", "2030-01-01T00:00:00+00:00", book["id"]])
    try:
        changed = get(site, "/opds/new")
        assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
        document = etree.fromstring(changed.content)
        assert opds1_schema().validate(document), str(opds1_schema().error_log)
        titles = [entry.findtext(f"{ATOM}title") for entry in document.findall(f"{ATOM}entry")]
        assert 'Sách <b>"đặc biệt"</b> & ký tự' in titles
        publication = get(site, f"/opds/v2/book/{book['id']}").json()
        assert publication["metadata"]["title"] == 'Sách <b>"đặc biệt"</b> & ký tự'
    finally:
        with catalog.write() as db:
            db.execute("UPDATE books SET title = ? WHERE id = ?", [original, book["id"]])


@pytest.mark.parametrize("path", [
    "/opds/category/no-such", "/opds/new?page=99", "/opds/language/xx", "/opds/book/0000000000000000",
    "/opds/v2/category/no-such", "/opds/v2/new?page=99", "/opds/v2/book/nope",
])
def test_what_is_not_there_is_404(site, path):
    assert get(site, path).status_code == 404


def test_garbage_paging_and_search_are_answered_not_refused(site):
    assert get(site, "/opds/new?page=abc").status_code == 200
    assert get(site, "/opds/search?q=" + quote('"OR NEAR( * -:')).status_code == 200
    assert get(site, "/opds/v2/search").status_code == 200


# -- OPDS 2.0 -----------------------------------------------------------------

def crawl_opds2(site) -> dict[str, dict]:
    """Every OPDS 2.0 document reachable from /opds/v2 (feeds, publications, manifests): path → JSON."""
    found: dict[str, dict] = {}
    todo = ["/opds/v2"]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        response = get(site, path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].split(";")[0] in OPDS2_TYPES, path
        found[path] = document = response.json()
        for link in document_links(document):
            assert link["href"].startswith(site[1] + "/"), link  # OPDS 2.0 links are absolute
            href = link["href"].removeprefix(site[1])
            if link.get("type") in OPDS2_TYPES and not link.get("templated") and href not in found:
                todo.append(href)
    return found


def document_links(document: dict) -> Iterator[dict]:
    """Every Link Object in an OPDS 2.0 document (feed links, navigation, publications' links and images)."""
    yield from document.get("links", [])
    yield from document.get("navigation", [])
    yield from document.get("images", [])
    yield from document.get("readingOrder", [])
    for publication in document.get("publications", []):
        yield from document_links(publication)


@pytest.fixture(scope="module")
def opds2(site) -> dict[str, dict]:
    """The crawled OPDS 2.0 catalog."""
    return crawl_opds2(site)


def test_opds2_has_the_same_feeds(opds1, opds2):
    feeds1 = {path.removeprefix("/opds") for path in opds1 if not path.startswith("/opds/book/")}
    feeds2 = {path.removeprefix("/opds/v2") for path in opds2 if "/book/" not in path}
    assert feeds1 == feeds2


def test_every_opds2_document_is_valid_against_the_published_schemas(opds2):
    feed, publication, manifest = (opds2_validator(url) for url in (OPDS2_FEED, OPDS2_PUBLICATION, READIUM_PUBLICATION))
    counts = {"feed": 0, "publication": 0, "manifest": 0}
    for path, document in opds2.items():
        if path.endswith("/manifest.json"):
            manifest.validate(document)
            counts["manifest"] += 1
        elif "/book/" in path:
            publication.validate(document)
            counts["publication"] += 1
        else:
            feed.validate(document)
            counts["feed"] += 1
        for item in document.get("publications", []):
            publication.validate(item)
            if "readingOrder" in item:
                manifest.validate(item)  # an audiobook in a feed is a whole Readium manifest too
    assert counts["feed"] > 10 and counts["publication"] > 10 and counts["manifest"] == 2


def test_the_json_schemas_refuse_broken_documents():
    publication = opds2_validator(OPDS2_PUBLICATION)
    good = {"metadata": {"title": "x", "language": "vi"},
            "links": [{"rel": "http://opds-spec.org/acquisition/open-access", "href": "/f", "type": "application/epub+zip"}],
            "images": [{"href": "/t.jpg", "type": "image/jpeg"}]}
    publication.validate(good)
    for broken in ({**good, "images": []}, {**good, "links": [{"rel": "self", "href": "/x"}]},
                   {**good, "metadata": {"title": "x", "language": "not a tag!"}}):
        assert list(publication.iter_errors(broken)), broken
    assert list(opds2_validator(OPDS2_FEED).iter_errors({"metadata": {"title": "x"}, "links": []}))


def test_a_real_opds2_client_library_parses_every_feed_and_manifest(opds2):
    """Palace's OPDS 2.0 / Readium parser (a library system's importer) reads them all without an error."""
    feeds = manifests = 0
    for path, document in opds2.items():
        if path.endswith("/manifest.json"):
            result = RWPMManifestParserFactory().create().parse_json(document)
            assert result.errors == [], (path, result.errors)
            chapters = result.root.reading_order.links
            assert [(c.type, c.title) for c in chapters] == \
                [(c["type"], c["title"]) for c in document["readingOrder"]]
            assert all(c.duration > 0 for c in chapters)
            manifests += 1
        elif "/book/" not in path:
            result = OPDS2FeedParserFactory().create().parse_json(document)
            assert result.errors == [], (path, result.errors)
            assert len(result.root.publications or []) == len(document.get("publications", []))
            assert len(result.root.navigation.links if result.root.navigation else []) == \
                len(document.get("navigation", []))
            feeds += 1
    assert feeds > 10 and manifests == 2


def test_audiobooks_are_publications_with_a_reading_order_of_chapters(opds2, site):
    audiobooks = {path: doc for path, doc in opds2.items()
                  if "/book/" in path and not path.endswith("manifest.json") and "readingOrder" in doc}
    titles = {doc["metadata"]["title"]: doc for doc in audiobooks.values()}
    assert set(titles) == {"Nghe để khỏe: Phòng bệnh tiêu chảy", "Truyện cổ: Cây khế"}
    mp3 = titles["Nghe để khỏe: Phòng bệnh tiêu chảy"]
    assert [item["type"] for item in mp3["readingOrder"]] == ["audio/mpeg"] * 3
    assert all(item["title"] and item["duration"] > 0 for item in mp3["readingOrder"])
    assert mp3["metadata"]["conformsTo"] == "https://readium.org/webpub-manifest/profiles/audiobook"
    assert mp3["metadata"]["duration"] == pytest.approx(sum(i["duration"] for i in mp3["readingOrder"]), abs=0.01)
    m4b = titles["Truyện cổ: Cây khế"]
    order = m4b["readingOrder"]
    assert [item["title"] for item in order] == ["Chương một: Cây khế", "Chương hai: Chim ăn khế"]
    assert order[0]["type"] in ("audio/mp4", "audio/x-m4b", "audio/m4b")
    assert order[0]["duration"] == pytest.approx(1.0, abs=0.1) and order[1]["duration"] == pytest.approx(1.5, abs=0.25)  # AAC pads the end
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/files/[0-9a-f]{64}#t=1(\.\d+)?", order[1]["href"]), order[1]
    manifest_link = next(link for link in m4b["links"] if link["type"] == "application/audiobook+json")
    assert get(site, manifest_link["href"]).json()["readingOrder"] == order


def test_every_opds2_link_answers_200(opds2, site):
    checked = set()
    for document in opds2.values():
        for link in document_links(document):
            href = link["href"].split("#")[0].removeprefix(site[1])
            if link.get("templated"):
                href = href.replace("{?query}", "?query=" + quote("lúa"))
            if href in checked:
                continue
            checked.add(href)
            assert get(site, href).status_code == 200, href
    assert any(href.startswith("/opds/v2/search?query=") for href in checked)


def test_opds2_search_uses_the_box_s_analysis(site):
    document = get(site, "/opds/v2/search?query=" + quote("phong benh tieu chay")).json()
    opds2_validator(OPDS2_FEED).validate(document)
    titles = [p["metadata"]["title"] for p in document["publications"]]
    assert "Rửa tay sạch, phòng bệnh tiêu chảy" in titles
    assert document["metadata"]["numberOfItems"] >= len(titles) > 0


def test_every_page_tells_reader_apps_where_the_catalog_is(site):
    html = get(site, "/").text
    link = re.search(r'<link rel="alternate" href="([^"]+)" type="application/atom\+xml;profile=opds-catalog[^"]*"', html)
    assert link and link.group(1) == "/opds"


def test_listings_lead_up_to_their_list(opds1, opds2):
    def up1(path):
        return next(link.get("href") for link in atom_links(etree.fromstring(opds1[path])) if link.get("rel") == "up")

    def up2(path):
        return next(link["href"] for link in opds2[path]["links"] if link["rel"] == "up")

    assert up1("/opds/category/health") == "/opds/categories" and up1("/opds/language/th") == "/opds/languages"
    assert up1("/opds/new") == "/opds" and up1("/opds/categories") == "/opds"
    assert up2("/opds/v2/category/health").endswith("/opds/v2/categories")
