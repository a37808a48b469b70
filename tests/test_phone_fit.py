"""What a villager's phone shows today: every page fits a 320 and 360 px screen, taps are big enough.

Real Chromium (Debian's) against a real waitress server, JavaScript on and
off. The library is the phone test library plus a book with a very long title
(read, so it sits in "Continue") and the starter collection's Tai Viet book,
whose first spine item is a page holding only the cover image.
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from content.ingest.run import import_paths
from readpoint.app import create_app
from readpoint.starter import STARTER_DIR
from tests.conftest import LiveServer
from tests.media import make_epub
from tests.phone_browser import CHROMIUM, CHROMIUM_ARGS, Phone
from tests.phone_library import build_phone_library

LONG_TITLE = ("Sổ tay hướng dẫn kỹ thuật chăm sóc cây lúa nước, ngô, sắn và các loại rau màu trên ruộng bậc thang "
              "vùng núi phía Bắc cho bà con các dân tộc thiểu số") + "Khôngdấucáchnàotrongchuỗidàinàycả" * 3
TAI_VIET = "2a1ce237b1792473"  # bang-chu-thai-viet.epub of the starter collection
TAP = 44


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app over the phone library, a long-titled book and the Tai Viet book, behind waitress."""
    root = tmp_path_factory.mktemp("phone-fit")
    app = create_app({"events_flush_seconds": 0, "page_size": 4}, data_dir=root / "data")
    library = app.extensions["library"]
    ids = build_phone_library(library, root / "src")
    extra = root / "extra"
    extra.mkdir()
    make_epub(extra / "long.epub", title=LONG_TITLE, authors=["Trạm khuyến nông huyện " * 4], language="vi",
              subjects=["Nông nghiệp"], identifier="urn:uuid:long-title",
              chapters=[("Chương một " * 12, "<p>Làm đất.</p>"), ("Chương hai", "<p>Gieo mạ.</p>")])
    shutil.copy(STARTER_DIR / "bang-chu-thai-viet.epub", extra)
    report = import_paths(library, [extra])
    assert not report.rejected
    ids.update({("long" if "long" in e["path"] else "taiviet"): e["id"] for e in report.imported})
    assert ids["taiviet"] == TAI_VIET
    server = LiveServer(app).start()
    yield app, server.url, ids
    server.stop()
    app.extensions["events"].flush()
    library.close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_phone(browser, site, *, javascript: bool, width: int = 360) -> Phone:
    """A fresh phone on the test server."""
    return Phone(browser, site[1], javascript=javascript, width=width)


def fits(phone: Phone, path: str) -> None:
    """After loading ``path``, nothing is wider than the screen."""
    response = phone.goto(path)
    assert response.status < 500, path
    phone.page.wait_for_timeout(50)
    widths = phone.page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(widths) <= phone.width, (path, phone.width, widths)


@pytest.mark.slow
@pytest.mark.parametrize("width", [320, 360])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_no_page_is_wider_than_the_screen(browser, site, width, javascript):
    """Every page type, after reading a long-titled book and listening, fits the screen."""
    _app, _url, ids = site
    phone = open_phone(browser, site, javascript=javascript, width=width)
    try:
        for path in (f"/read/{TAI_VIET}/6", f"/read/{ids['lich']}", f"/listen/{ids['audio']}",
                     f"/read/{ids['long']}/1"):  # "Continue" shows the last three
            fits(phone, path)
        phone.goto("/")
        expect(phone.page.locator(".resume .title").first).to_be_visible()
        assert phone.page.locator(".resume .title", has_text=LONG_TITLE[:40]).count() == 1
        if width == 360:
            phone.screenshot(f"20-home-continue-{width}")
        for path in ("/", "/category/farming", "/category/farming?page=2", "/language/vi", f"/book/{ids['long']}",
                     f"/book/{ids['lich']}", f"/book/{ids['audio']}", f"/book/{TAI_VIET}", f"/read/{ids['long']}/contents",
                     f"/read/{ids['lua']}/2", f"/read/{ids['long']}/2", "/search?q=lua", "/search?q=" + "x" * 150,
                     "/no/such/page"):
            fits(phone, path)
    finally:
        phone.close()
    assert phone.outside == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_header_and_footer_tap_targets_are_at_least_44_px(browser, site, javascript):
    _app, _url, ids = site
    phone = open_phone(browser, site, javascript=javascript)
    try:
        for path in ("/", f"/read/{ids['lua']}/1"):
            phone.goto(path)
            boxes = phone.page.evaluate("""() => [...document.querySelectorAll(
                    'header a, header button, header input, footer a, footer button, .prefs a')]
                .map(e => { const r = e.getBoundingClientRect(); return [e.textContent.trim() || e.name, r.width, r.height]; })""")
            assert len(boxes) >= 7, boxes
            small = [box for box in boxes if box[1] < TAP or box[2] < TAP]
            assert small == [], (path, small)
    finally:
        phone.close()


def test_tai_viet_font_is_served_and_loaded_only_where_tai_viet_is(browser, site):
    phone = open_phone(browser, site, javascript=True)
    fonts = []
    phone.page.on("response", lambda r: fonts.append((r.status, r.url)) if ".woff2" in r.url else None)
    try:
        phone.goto("/")
        phone.goto(f"/book/{TAI_VIET}")
        phone.page.wait_for_load_state("networkidle")
        assert fonts == []
        assert phone.page.locator("link[href*='tai-viet']").count() == 0
        phone.goto(f"/read/{TAI_VIET}/6")
        phone.page.wait_for_function("document.fonts.status === 'loaded'")
        phone.page.wait_for_load_state("networkidle")
        assert [status for status, _url in fonts] == [200] and "/static/" in fonts[0][1]
        loaded = phone.page.evaluate("""() => [...document.fonts]
            .filter(f => f.family.replace(/"/g, '') === 'Noto Sans Tai Viet' && f.status === 'loaded').length""")
        assert loaded == 1
        assert phone.page.evaluate("document.fonts.check('16px \"Noto Sans Tai Viet\"', '\\uaa80')")
        phone.screenshot("21-tai-viet")
    finally:
        phone.close()
    assert phone.outside == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_read_starts_at_the_first_chapter_with_text(browser, site, javascript):
    phone = open_phone(browser, site, javascript=javascript)
    try:
        phone.goto(f"/book/{TAI_VIET}")
        phone.page.click(".actions a.primary")
        assert re.search(rf"/read/{TAI_VIET}/2$", phone.page.url), phone.page.url
        assert len(phone.page.locator("#text").inner_text().strip()) > 50
        phone.goto(f"/book/{TAI_VIET}")
        expect(phone.page.locator(".actions a", has_text="Từ đầu")).to_have_attribute(
            "href", f"/read/{TAI_VIET}/2")
    finally:
        phone.close()


@pytest.mark.parametrize("width", [320, 360])
def test_pdf_opens_fitted_to_the_width_and_hides_the_hint_unless_it_fails(browser, site, width):
    _app, _url, ids = site
    phone = open_phone(browser, site, javascript=True, width=width)
    page = phone.page
    try:
        phone.goto(f"/read/{ids['lich']}")
        expect(page.locator("#pdf")).to_have_attribute("data-rendered", "1", timeout=15_000)
        expect(page.locator(".fallback")).to_be_hidden()
        sheet, canvas = page.evaluate("""() => [document.querySelector('#pdf .sheet').clientWidth,
            document.querySelector('#pdf canvas').getBoundingClientRect().width]""")
        assert abs(canvas - sheet) <= 1 and sheet <= width and sheet > width * 0.8, (sheet, canvas)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        phone.close()
    broken = open_phone(browser, site, javascript=True, width=width)
    try:
        broken.context.route("**/files/**", lambda route: route.fulfill(status=500, body="no"))
        broken.goto(f"/read/{ids['lich']}")
        expect(broken.page.locator(".fallback")).to_be_visible(timeout=15_000)
        expect(broken.page.locator(".fallback")).to_contain_text("tải về")
        expect(broken.page.locator("#pdf")).to_be_hidden()
    finally:
        broken.close()


def test_books_without_a_cover_get_covers_that_tell_them_apart(browser, site):
    app, _url, _ids = site
    catalog = app.extensions["library"].catalog
    coverless = [b for b in catalog.list_books(category="farming", limit=50) if not b["cover_sha256"]]
    assert len(coverless) >= 4
    phone = open_phone(browser, site, javascript=False)
    try:
        covers = {}
        for page_number in (1, 2):
            phone.goto(f"/category/farming?page={page_number}")
            for card in phone.page.locator(".card").all():
                title = card.locator(".title").inner_text()
                generated = card.locator(".cover.gen")
                if generated.count():
                    covers[title] = (generated.locator(".gen-title").inner_text(),
                                     generated.locator("img").get_attribute("src"))
        assert {book["title"] for book in coverless} <= set(covers)
        for title, (on_cover, _src) in covers.items():
            assert on_cover.rstrip("…. ") and title.startswith(on_cover.rstrip("…. ")[:30])
        assert len({src for _title, src in covers.values()}) == len(covers)  # each its own picture
        with_cover = catalog.list_books(category="farming", limit=50)
        real = next(b for b in with_cover if b["cover_sha256"])
        assert real["title"] not in covers
        phone.screenshot("22-generated-covers")
    finally:
        phone.close()


def test_only_pages_with_tai_viet_text_link_the_font(site):
    app, _url, ids = site
    client = app.test_client()
    with_tai_viet = client.get(f"/read/{TAI_VIET}/6").get_data(as_text=True)
    link = re.search(r'<link rel="stylesheet" href="(/fonts/tai-viet-[0-9a-f]{12}\.css)">\s*</head>', with_tai_viet)
    assert link, with_tai_viet[:600]
    for path in ("/", f"/book/{TAI_VIET}", f"/read/{ids['lua']}/1", "/search?q=lua"):
        assert "tai-viet" not in client.get(path).get_data(as_text=True), path
    css = client.get(link.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css" and "immutable" in css.headers["Cache-Control"]
    font_url = re.search(r'url\("([^"]+)"\)', css.get_data(as_text=True)).group(1)
    assert "unicode-range:U+AA80-AADF" in css.get_data(as_text=True)
    font = client.get(font_url)
    assert font.status_code == 200 and font.mimetype == "font/woff2" and font.data[:4] == b"wOF2"
    font.close()
    assert client.get("/fonts/tai-viet-000000000000.css").status_code == 404


def test_first_text_chapter_skips_a_cover_only_page(site):
    app, _url, ids = site
    catalog = app.extensions["library"].catalog
    assert catalog.first_text_chapter(TAI_VIET) == 2
    assert catalog.first_text_chapter(ids["lua"]) == 1
    assert catalog.first_text_chapter("no-such-book") == 1
