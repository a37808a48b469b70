"""What a villager's phone sees, in a real headless Chromium against a real waitress server.

Every test runs twice, JavaScript on and off, on a 360×740 viewport. Every
test also checks that no request left 127.0.0.1 and that no dialog opened.
Screenshots go to test-artifacts/screenshots/, page weights to
test-artifacts/page-weights.json.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from readpoint.app import create_app
from tests.conftest import REPO, LiveServer
from tests.phone_browser import CHROMIUM, CHROMIUM_ARGS, Phone
from tests.phone_library import build_phone_library

BUDGET = 30 * 1024
WEIGHTS: dict[str, int] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app over the phone library, behind a waitress server on 127.0.0.1."""
    root = tmp_path_factory.mktemp("phone-site")
    app = create_app({"events_flush_seconds": 0, "page_size": 4}, data_dir=root / "data")
    ids = build_phone_library(app.extensions["library"], root / "src")
    server = LiveServer(app).start()
    yield app, server.url, ids
    server.stop()
    app.extensions["events"].flush()
    app.extensions["library"].close()
    path = REPO / "test-artifacts" / "page-weights.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(WEIGHTS, indent=1, sort_keys=True))


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (Debian's, never a downloaded one)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def phone(request, browser, site):
    """A fresh phone, JavaScript on or off; afterwards nothing may have left the box."""
    _app, url, _ids = site
    device = Phone(browser, url, javascript=request.param)
    yield device
    device.close()
    assert device.outside == [], f"requests left 127.0.0.1: {device.outside}"
    assert device.dialogs == [], f"dialogs opened: {device.dialogs}"


def weigh(phone: Phone, name: str, action, *, exclude: str = "") -> None:
    """Measure a navigation's HTML+CSS+JS on the wire and hold it to the budget."""
    weight = phone.weigh(action)
    counted = sum(size for url, size in weight.files if not (exclude and exclude in url))
    WEIGHTS[f"{name}-{'js' if phone.javascript else 'nojs'}"] = counted
    assert 0 < counted < BUDGET, (name, weight.files)


def no_sideways_scroll(phone: Phone) -> None:
    """The page fits the phone's width."""
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360


def test_browse_read_next_back(phone, site):
    """home → category (paged) → book → chapter 2 → next → back, then home offers to continue."""
    _app, _url, ids = site
    page = phone.page
    weigh(phone, "home", lambda: phone.goto("/"))
    expect(page.locator("h2", has_text="Chủ đề")).to_be_visible()
    no_sideways_scroll(phone)
    phone.screenshot("01-home")

    weigh(phone, "category", lambda: page.click("a[href='/category/farming']"))
    expect(page.locator("h1")).to_contain_text("Nông nghiệp")
    assert page.locator(".grid .card").count() == 4
    page.click("a[rel=next]")
    expect(page.locator(".pager")).to_contain_text("Trang 2 / 2")
    phone.screenshot("02-category-page-2")
    page.click("a[rel=prev]")
    expect(page.locator(".pager")).to_contain_text("Trang 1 / 2")

    weigh(phone, "book", lambda: page.click("text=Kỹ thuật trồng lúa nước"))
    expect(page.locator("h1")).to_have_text("Kỹ thuật trồng lúa nước")
    expect(page.locator(".actions a[download]")).to_contain_text("KB")
    assert page.locator("h1").get_attribute("lang") == "vi"
    no_sideways_scroll(phone)
    phone.screenshot("03-book")

    weigh(phone, "chapter", lambda: page.click("text=Chương 2: Gieo mạ"))
    expect(page.locator("#text")).to_contain_text("Ngâm ủ hạt giống")
    picture = page.locator("#text img")
    expect(picture).to_have_attribute("src", re.compile(r"^/read/[0-9a-f]+/res/OEBPS/images/ruong\.png$"))
    page.wait_for_function("() => document.querySelector('#text img').complete")
    assert page.evaluate("document.querySelector('#text img').naturalWidth") == 600
    assert picture.bounding_box()["width"] <= 360
    no_sideways_scroll(phone)
    phone.screenshot("04-chapter-2")

    page.click("a[rel=next]")
    expect(page.locator("#text")).to_contain_text("Bón phân")
    assert page.url.endswith(f"/read/{ids['lua']}/3")
    page.go_back()
    expect(page.locator("#text")).to_contain_text("Ngâm ủ hạt giống")

    phone.goto("/")
    resume = page.locator(".resume a", has_text="Kỹ thuật trồng lúa nước")
    expect(resume).to_have_attribute("href", re.compile(rf"^/read/{ids['lua']}/[23]$"))


def test_reader_font_size_and_night_mode(phone, site):
    """A+ and night mode work with and without JavaScript and stick (cookies)."""
    _app, _url, ids = site
    page = phone.page
    phone.goto(f"/read/{ids['lua']}/1")
    expect(page.locator("#text")).to_have_class(re.compile(r"\bfs-3\b"))
    page.click("a[data-pref=fs]:has-text('A+')")
    expect(page.locator("#text")).to_have_class(re.compile(r"\bfs-4\b"))
    page.click("a[data-pref=theme]")
    expect(page.locator("html")).to_have_class("night")
    phone.screenshot("05-chapter-night-large")
    page.wait_for_timeout(200)  # the script's request setting the cookie
    phone.goto(f"/read/{ids['lua']}/1")
    expect(page.locator("#text")).to_have_class(re.compile(r"\bfs-4\b"))
    expect(page.locator("html")).to_have_class("night")
    phone.goto("/")
    expect(page.locator("html")).to_have_class("night")


def test_long_chapter_is_cut_in_parts_and_anchors_find_their_part(phone, site):
    """A one-file book is served in parts under the budget; an in-chapter link finds its part."""
    _app, _url, ids = site
    page = phone.page
    weigh(phone, "long-chapter", lambda: phone.goto(f"/read/{ids['long']}/1"))
    expect(page.locator(".readbar .where")).to_contain_text("trang 1/")
    page.click("text=Tới đoạn gần cuối")
    expect(page.locator("#b-gan-cuoi")).to_have_text("Đoạn gần cuối.")
    assert "part=" not in page.url and "to=b-gan-cuoi" in page.url


def test_hostile_epub_is_harmless(phone, site):
    """Scripts, handlers, javascript: links, iframes, remote images and styles are all gone."""
    _app, _url, ids = site
    page = phone.page
    phone.goto(f"/read/{ids['hostile']}/1")
    expect(page.locator("#text")).to_contain_text("Đoạn văn an toàn.")
    page.click("text=liên kết xấu")
    page.click("#b-start")
    found = page.evaluate("""() => {
        const text = document.getElementById('text');
        const bad = 'script, iframe, object, embed, form, input, style, link, svg, [style], [onclick], [onerror]';
        return {
            bad: text.querySelectorAll(bad).length,
            hrefs: [...text.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
            srcs: [...text.querySelectorAll('img[src]')].map(i => i.getAttribute('src')),
            pwned: window.__pwned || null,
            scripts: [...document.scripts].map(s => s.getAttribute('src')),
        };
    }""")
    assert found["bad"] == 0
    assert found["pwned"] is None
    assert all(href.startswith("#b-") for href in found["hrefs"]), found["hrefs"]
    assert found["srcs"] == [f"/read/{ids['hostile']}/res/OEBPS/images/pic.png"]
    assert all(src and src.startswith("/static/") for src in found["scripts"])
    assert not any("evil" in url for url in phone.outside)
    phone.screenshot("06-hostile")


@pytest.mark.parametrize("phone", [False], ids=["nojs"], indirect=True)
def test_audiobook_page_without_javascript(phone, site):
    """Chapters are links; each opens its own file in a plain <audio>."""
    _app, _url, ids = site
    page = phone.page
    weigh(phone, "listen", lambda: phone.goto(f"/listen/{ids['audio']}"))
    first = page.locator("audio").get_attribute("src")
    assert re.fullmatch(r"/files/[0-9a-f]{64}", first)
    expect(page.locator(".speed")).to_be_hidden()
    page.click(".tracks li:nth-child(2) a")
    assert page.url.endswith("?chapter=2")
    second = page.locator("audio").get_attribute("src")
    assert second != first and re.fullmatch(r"/files/[0-9a-f]{64}", second)
    phone.screenshot("07-listen")


@pytest.mark.parametrize("phone", [True], ids=["js"], indirect=True)
def test_audiobook_plays_on(phone, site):
    """It plays, a seek is served with 206, speed changes, and the next chapter starts by itself."""
    _app, _url, ids = site
    page = phone.page
    media = []
    page.on("response", lambda r: media.append((r.status, r.request.headers.get("range", "")))
            if "/files/" in r.url else None)
    weigh(phone, "listen", lambda: phone.goto(f"/listen/{ids['audio']}"))
    expect(page.locator(".speed")).to_be_visible()
    page.select_option(".speed select", "1.5")
    page.evaluate("document.querySelector('audio').play()")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.3", timeout=10_000)
    assert page.evaluate("document.querySelector('audio').playbackRate") == 1.5
    assert page.evaluate("navigator.mediaSession.metadata.title") == "Phần 1"
    page.evaluate("document.querySelector('audio').currentTime = 60")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 60.2", timeout=10_000)
    page.evaluate("const a = document.querySelector('audio'); a.currentTime = a.duration - 0.4")
    page.wait_for_function("() => document.querySelector('.tracks li:nth-child(2)').className === 'current'",
                           timeout=10_000)
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.2 && !document.querySelector('audio').paused",
                           timeout=10_000)
    assert page.url.endswith("?chapter=2")
    seeks = [rng for status, rng in media if status == 206 and re.fullmatch(r"bytes=[1-9]\d*-\d*", rng)]
    assert seeks, media  # a seek past what was loaded asked for a range, and got 206
    phone.screenshot("07-listen")
    stored = json.loads(page.evaluate(f"localStorage.getItem('rp:listen:{ids['audio']}')"))
    assert stored["chapter"] == 1


def test_pdf_reader(phone, site):
    """pdf.js draws the pages under our CSP; without JavaScript the hint to download shows."""
    _app, _url, ids = site
    page = phone.page
    weigh(phone, "pdf", lambda: phone.goto(f"/read/{ids['lich']}"), exclude="/pdfjs/")
    expect(page.locator(".readbar a[download]")).to_be_visible()
    if not phone.javascript:
        expect(page.locator("#pdf")).to_be_hidden()
        expect(page.locator(".fallback")).to_be_visible()
        phone.screenshot("08-pdf")
        return
    expect(page.locator("#pdf")).to_have_attribute("data-rendered", "1", timeout=15_000)
    expect(page.locator(".fallback")).to_be_hidden()
    expect(page.locator("#pdf .pages")).to_have_text("3")
    page.click("#pdf [data-go='1']")
    expect(page.locator("#pdf")).to_have_attribute("data-rendered", "2", timeout=15_000)
    drawn = page.evaluate("""() => {
        const c = document.querySelector('#pdf canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let dark = 0;
        for (let i = 0; i < d.length; i += 4) { if (d[i] < 128) dark++; }
        return dark;
    }""")
    assert drawn > 50  # the page's text was painted
    assert not [e for e in phone.console_errors if "Content Security Policy" in e], phone.console_errors
    phone.screenshot("08-pdf")


def test_language_switch(phone, site):
    """The footer switches to Thai and English on the same page; Thai books carry lang=th."""
    _app, _url, ids = site
    page = phone.page
    phone.goto(f"/book/{ids['thai']}")
    expect(page.locator("h1")).to_have_attribute("lang", "th")
    page.click(".langs a[lang=th]")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    assert page.url.endswith(f"/book/{ids['thai']}")
    expect(page.locator(".search button")).to_have_text("ค้นหา")
    expect(page.locator(".actions .primary")).to_have_text("อ่าน")
    phone.screenshot("09-book-thai")
    phone.goto("/")
    expect(page.locator("h2", has_text="หมวดหมู่")).to_be_visible()
    phone.screenshot("10-home-thai")
    page.click(".langs a[lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h2", has_text="Categories")).to_be_visible()
    phone.screenshot("11-home-english")


def test_search_from_every_page(phone, site):
    """The search form in the header finds a book typed without tone marks (the search engineer's page)."""
    app, _url, _ids = site
    if "search.search" not in app.view_functions and not any(
            rule.rule == "/search" for rule in app.url_map.iter_rules()):
        pytest.skip("/search is not there yet")
    page = phone.page
    phone.goto("/category/farming")
    page.fill(".search input[name=q]", "lua nuoc")
    weigh(phone, "search", lambda: page.press(".search input[name=q]", "Enter"))
    expect(page.locator("main")).to_contain_text("Kỹ thuật trồng lúa nước")
    expect(page.locator(".search input[name=q]")).to_have_value("lua nuoc")
    phone.screenshot("12-search")
