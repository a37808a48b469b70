"""The librarian's desk on a phone, in a real headless Chromium against a real waitress server.

Every test runs twice, JavaScript on and off, at 360×740, and checks that
nothing left 127.0.0.1 and no dialog opened. Every admin page is weighed
against the same 30 KB budget as the villagers' pages (HTML + CSS + JS on the
wire, compressed); the figures go to test-artifacts/admin-page-weights.json.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect, sync_playwright

from content.admin_keys import existing_setup_code
from content.ingest.run import import_paths
from content.store import writer_lock
from readpoint.app import create_app
from tests.admin_desk import NAME, PASSWORD
from tests.conftest import REPO, LiveServer
from tests.media import make_epub
from tests.phone_browser import CHROMIUM, CHROMIUM_ARGS, Phone
from tests.usb_sticks import Mounts, fill_stick

pytestmark = pytest.mark.slow  # a real browser: each test takes 5-10 s

BUDGET = 30 * 1024
WEIGHTS: dict[str, int] = {}
BOOKS = {"js": "Sổ tay chăn nuôi", "nojs": "Cẩm nang trồng rau"}


def _start_site(root, *, books: bool):
    """An app (with a few books and a librarian account, or empty) behind waitress; returns (app, server)."""
    app = create_app({"events_flush_seconds": 0, "page_size": 5, "usb_roots": str(root / "media")},
                     data_dir=root / "data")
    if books:
        src = root / "src"
        src.mkdir()
        for number, title in enumerate([*BOOKS.values(), "Nước sạch", "Trò chơi dân gian", "Lịch thời vụ",
                                        "Truyện cổ tích"]):
            make_epub(src / f"{number}.epub", title=title, language="vi", subjects=["Nông nghiệp"],
                      identifier=f"urn:uuid:b{number}", chapters=[("Một", f"<p>{title}: chương một.</p>")])
        import_paths(app.extensions["library"], [src])
        from content.catalog.librarians import Librarians

        Librarians(app.extensions["library"].catalog).create_first(NAME, PASSWORD)
    return app, LiveServer(app).start()


def _stop_site(app, server) -> None:
    """Stop the server and close the app."""
    server.stop()
    job = app.extensions.get("admin_import")
    if job is not None:
        job.wait(60)
    app.extensions["events"].flush()
    app.extensions["library"].close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The desk over a few books, a librarian account made, and mounted-stick cleanup."""
    root = tmp_path_factory.mktemp("desk-site")
    app, server = _start_site(root, books=True)
    yield app, server.url, root
    _stop_site(app, server)
    path = REPO / "test-artifacts" / "admin-page-weights.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(WEIGHTS, indent=1, sort_keys=True))


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (Debian's)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def javascript(request) -> bool:
    """JavaScript on or off."""
    return request.param


def _phone(browser, url: str, javascript: bool):
    """A fresh phone on ``url``."""
    return Phone(browser, url, javascript=javascript)


def _finish(phone: Phone) -> None:
    """Close the phone; nothing may have left the box, no dialog opened, no CSP error."""
    phone.close()
    assert phone.outside == [], phone.outside
    assert phone.dialogs == [], phone.dialogs
    assert not [e for e in phone.console_errors if "Content Security Policy" in e], phone.console_errors


@pytest.fixture
def phone(browser, site, javascript):
    """A phone on the shared desk."""
    device = _phone(browser, site[1], javascript)
    yield device
    _finish(device)


def weigh(phone: Phone, name: str, action) -> None:
    """A navigation's HTML+CSS+JS on the wire, held to the budget."""
    weight = phone.weigh(action)
    WEIGHTS[f"{name}-{'js' if phone.javascript else 'nojs'}"] = weight.text_bytes
    assert 0 < weight.text_bytes < BUDGET, (name, weight.files)
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360, name


def log_in(phone: Phone) -> None:
    """Log in through the login page."""
    page = phone.page
    phone.goto("/admin/")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    page.fill("input[name=name]", NAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.deskform button[type=submit]")
    expect(page.locator("h1")).to_have_text(f"Xin chào, {NAME}")


def test_setup_on_a_new_box_then_log_out_and_in(browser, tmp_path, javascript):
    app, server = _start_site(tmp_path, books=False)
    phone = _phone(browser, server.url, javascript)
    try:
        page = phone.page
        weigh(phone, "setup", lambda: phone.goto("/admin/"))
        expect(page.locator("h1")).to_have_text("Tạo tài khoản thủ thư")
        page.fill("input[name=code]", existing_setup_code(tmp_path / "data").lower())
        page.fill("input[name=name]", NAME)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=again]", PASSWORD)
        phone.screenshot("admin-01-setup")
        weigh(phone, "desk", lambda: page.click("button[type=submit]"))
        expect(page.locator("h1")).to_have_text(f"Xin chào, {NAME}")
        expect(page.locator(".figures").first).to_contain_text("không rõ")
        phone.screenshot("admin-02-desk")
        page.click(".desknav button")
        expect(page.locator("h1")).to_have_text("Đăng nhập")
        page.fill("input[name=name]", NAME)
        page.fill("input[name=password]", "sai mật khẩu")
        weigh(phone, "login", lambda: page.click("form.deskform button[type=submit]"))
        expect(page.locator(".notice.error")).to_have_text("Sai tên hoặc mật khẩu.")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.deskform button[type=submit]")
        expect(page.locator("h1")).to_have_text(f"Xin chào, {NAME}")
    finally:
        _finish(phone)
        _stop_site(app, server)


def _villager_finds(phone: Phone, words: str) -> int:
    """How many results a villager's search for ``words`` shows."""
    phone.goto("/search?q=" + words.replace(" ", "+"))
    return phone.page.locator(".hit").count()


def test_edit_hide_and_unhide(phone, javascript):
    page = phone.page
    title = BOOKS["js" if javascript else "nojs"]
    log_in(phone)
    weigh(phone, "books", lambda: page.click(".desknav a[href='/admin/books']"))
    page.fill("input[name=q]", title.lower())
    page.click(".deskfilter button")
    expect(page.locator(".desklist li")).to_have_count(1)
    weigh(phone, "book", lambda: page.click(f".desklist a:has-text('{title}')"))
    book_path = page.url.split("/admin", 1)[1]
    words = "muong lay" if javascript else "ban gioc"  # a new title each mode's search alone finds
    new_title = title + (" Mường Lay" if javascript else " Bản Giốc")
    page.fill("input[name=title]", new_title)
    page.fill("textarea[name=authors]", "Trạm khuyến nông")
    page.check("input[name=categories][value=children]")
    page.click("form.deskform button[type=submit]:has-text('Lưu')")
    expect(page.locator(".notice.ok")).to_have_text("Đã lưu.")
    expect(page.locator("h1")).to_have_text(new_title)
    phone.screenshot("admin-03-book")
    assert _villager_finds(phone, words) == 1
    phone.goto("/category/children")
    expect(page.locator(".card", has_text=new_title)).to_have_count(1)

    phone.goto("/admin" + book_path)
    page.click("button:has-text('Ẩn khỏi điện thoại')")
    expect(page.locator(".notice.ok")).to_have_text("Sách đã được ẩn khỏi điện thoại.")
    assert _villager_finds(phone, words) == 0
    phone.goto("/category/children")
    expect(page.locator(".card", has_text=new_title)).to_have_count(0)
    assert phone.goto(book_path.replace("/books/", "/book/")).status == 404

    phone.goto("/admin/books?status=hidden")
    expect(page.locator(".desklist li", has_text=new_title)).to_have_count(1)
    page.click(f".desklist a:has-text('{new_title}')")
    page.click("button:has-text('Hiện lại trên điện thoại')")
    expect(page.locator(".notice.ok")).to_have_text("Điện thoại đã thấy lại sách.")
    assert _villager_finds(phone, words) == 1
    phone.goto("/category/children")
    expect(page.locator(".card", has_text=new_title)).to_have_count(1)


@pytest.mark.slow
def test_import_from_usb_with_live_progress(phone, site, javascript):
    app, _url, root = site
    page = phone.page
    sticks = Mounts()
    try:
        stick = sticks.mount(root / "media" / ("JS" if javascript else "NOJS"))
        fill_stick(stick, tag=" (js)" if javascript else " (nojs)")
        log_in(phone)
        weigh(phone, "import", lambda: page.click(".desknav a[href='/admin/import']"))
        expect(page.locator(".sticks li")).to_contain_text("Sách điện tử (EPUB): 3")
        with writer_lock(root / "data"):  # the import waits for another writer: progress shows "Starting…"
            page.click("button:has-text('Nhập sách từ USB')")
            expect(page.locator(".notice.warn")).to_contain_text("Chưa được rút USB")
            assert page.locator("meta[http-equiv=refresh]").count() == 1
            phone.screenshot("admin-04-import-running")
        # no click: the page refreshes itself until the import is over
        expect(page.locator(".notice.ok")).to_contain_text("Có thể rút USB ra an toàn", timeout=90_000)
        expect(page.locator(".verdicts li.v-rejected")).to_contain_text("Không phải sách EPUB hợp lệ")
        expect(page.locator(".verdicts li.v-skipped")).to_contain_text("ghi-chu.txt")
        phone.screenshot("admin-05-import-done")
        weigh(phone, "import-run", lambda: page.click(".result a:has-text('Tất cả các tệp')"))
        expect(page.locator("h2").first).to_have_text("Các tệp không được nhập")
        weigh(phone, "imports", lambda: page.click(".crumbs a"))
    finally:
        job = app.extensions.get("admin_import")
        if job is not None:
            job.wait(60)
        sticks.close()


def test_stats_categories_and_poster(phone, site):
    page = phone.page
    for _ in range(3):
        phone.goto("/")
    log_in(phone)
    weigh(phone, "stats", lambda: page.click(".desknav a[href='/admin/stats']"))
    expect(page.locator("figure.chart svg")).to_have_count(4)
    expect(page.locator("a[download]")).to_have_attribute("href", "/admin/stats.csv?days=30")
    page.click(".periods a:has-text('365 ngày')")
    expect(page.locator(".periods a[aria-current]")).to_have_text("365 ngày")
    phone.screenshot("admin-06-stats")
    weigh(phone, "categories", lambda: page.click(".desknav a[href='/admin/categories']"))
    expect(page.locator(".deskcats li").last).to_contain_text("Khác")
    weigh(phone, "poster-form", lambda: page.click(".desknav a[href='/admin/poster']"))
    page.fill("input[name=ssid]", "ThuVien-BanMuong")
    page.fill("input[name=password]", "docsach2024")
    page.select_option("select[name=locale]", "th")
    weigh(phone, "poster", lambda: page.click("button:has-text('Tạo áp phích')"))
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.locator("svg.qr")).to_have_count(2)
    expect(page.locator(".steps li")).to_have_count(3)
    expect(page.locator(".steps li").first).to_contain_text("ThuVien-BanMuong")
    phone.screenshot("admin-07-poster")
