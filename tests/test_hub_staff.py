"""The hub's staff pages: accounts, sessions, CSRF, rate limits, the fleet and publishing.

The access tests run on SQLite and PostgreSQL; the browser test drives Debian's
Chromium through Playwright against the hub on a real waitress server.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time

import pytest

from content.catalog.librarians import hash_password
from sync.hub.hub import code_hash
from tests.conftest import REPO, LiveServer
from tests.media import make_epub
from tests.sync_world import READPOINT

NAME = "Chị Hoa"
PASSWORD = "thư viện tỉnh 2026"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module's tests."""
    from tests.postgres_server import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    """An initialised hub on each storage with one staff account, its clock movable."""
    from sync.hub.hub import Hub, init_hub

    init_hub(tmp_path / "hub")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"hub_{secrets.token_hex(6)}")
        (tmp_path / "hub" / "readpoint.toml").write_text(f'hub_database_url = "{url}"\n')
    state = {"offset": 0}
    instance = Hub(tmp_path / "hub", clock=lambda: time.time() + state["offset"])
    instance.move_clock = lambda seconds: state.__setitem__("offset", state["offset"] + seconds)
    assert instance.storage.add_staff(NAME, hash_password(PASSWORD))
    yield instance
    instance.close()


@pytest.fixture
def web(hub):
    """Flask's test client over the hub's app."""
    from sync.hub.app import create_app

    return english(create_app(hub).test_client())


def english(client):
    """``client`` asking for English pages (a browser set to English)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def csrf_of(html: bytes) -> str:
    """The CSRF token of a page's first form."""
    match = _CSRF.search(html.decode())
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(web, name: str = NAME, password: str = PASSWORD):
    """POST the login form (with the page's CSRF token); the response."""
    page = web.get("/staff/login")
    return web.post("/staff/login", data={"csrf_token": csrf_of(page.data), "name": name, "password": password})


def add_box(hub, name: str, status: dict | None = None) -> str:
    """Enroll a box directly in storage (and give it a status); its device id."""
    code = secrets.token_hex(6)
    hub.storage.add_code(code_hash(code), name, 3600)
    device_id = secrets.token_hex(8)
    hub.storage.enroll(code_hash(code), device_id, f"key-{device_id}")
    if status is not None:
        hub.storage.set_status(device_id, status)
    return device_id


STAFF_PAGES = [("GET", "/staff/"), ("GET", "/staff/releases"), ("POST", "/staff/releases/publish"),
               ("POST", "/staff/groups/assign"), ("GET", "/staff/groups"), ("POST", "/staff/groups/policy"),
               ("POST", "/staff/logout")]


def test_nothing_is_reachable_without_logging_in(web):
    for method, path in STAFF_PAGES:
        response = web.open(path, method=method)
        if method == "GET":
            assert response.status_code == 303 and "/staff/login" in response.headers["Location"], path
        elif path != "/staff/logout":
            assert response.status_code == 403, path
    assert web.get("/staff/login").status_code == 200
    # no default account: the usual guesses fail, and a wrong password for a real name too
    for name, password in (("admin", "admin"), ("staff", "password"), (NAME, "wrong password")):
        assert log_in(web, name, password).status_code == 400
    assert web.get("/staff/").status_code == 303


def test_csrf_is_enforced_and_rate_limits_apply(web, hub):
    assert web.post("/staff/login", data={"name": NAME, "password": PASSWORD}).status_code == 400
    assert log_in(web).status_code == 303
    assert web.post("/staff/releases/publish", data={"next_number": "1"}).status_code == 400
    assert web.post("/staff/releases/publish", data={"csrf_token": "forged", "next_number": "1"}).status_code == 400
    assert hub.storage.latest_release() is None
    from sync.hub.app import create_app

    other = english(create_app(hub).test_client())
    codes = [log_in(other, NAME, f"wrong {i}").status_code for i in range(6)]
    assert codes == [400] * 5 + [429]
    assert log_in(other).status_code == 429  # even the right password waits now


def test_pages_speak_vietnamese_by_default_and_switch(hub):
    from sync.hub.app import create_app

    client = create_app(hub).test_client()  # no Accept-Language: Vietnamese
    assert log_in(client, NAME, "sai").data.decode().count("Sai tên hoặc mật khẩu") == 1
    assert log_in(client).status_code == 303
    assert "Các điểm đọc" in client.get("/staff/").data.decode()
    switched = client.get("/staff/language/th?next=/staff/releases")
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/staff/releases")
    assert "รุ่นที่เผยแพร่" in client.get("/staff/releases").data.decode()
    assert client.get("/staff/language/xx").status_code == 404
    evil = client.get("/staff/language/en?next=//evil.example/staff/")
    assert evil.headers["Location"].endswith("/staff/") and "evil" not in evil.headers["Location"]


def test_a_new_password_ends_open_sessions(web, hub):
    assert log_in(web).status_code == 303
    assert web.get("/staff/").status_code == 200
    assert hub.storage.set_staff_password(NAME, hash_password("another password"))
    assert web.get("/staff/").status_code == 303


def test_fleet_shows_every_box_and_stale_ones_stand_out(web, hub):
    fresh = add_box(hub, "Tả Van", {"applied_release": 0, "disk_free_bytes": 3 * 2**30, "clock_offset_seconds": 4,
                                    "app_version": "0.9.1", "errors": ["GET /v1/time: no answer"]})
    hub.move_clock(-10 * 86400)
    old = add_box(hub, "Bản Hồ", {"applied_release": 0, "clock_offset_seconds": -900, "errors": []})
    hub.move_clock(10 * 86400)
    never = add_box(hub, "Lao Chải")
    assert log_in(web).status_code == 303
    page = web.get("/staff/").data.decode()
    rows = {m.group(2): m.group(1) for m in re.finditer(r'<tr class="(\w*)" data-device="(\w+)"', page)}
    assert rows == {fresh: "", old: "stale", never: "stale"}
    assert '<strong id="stale-count">2</strong>' in page
    assert "0.9.1" in page and "3.0 GB" in page and "GET /v1/time: no answer" in page
    assert 'badge off">off</span> -900 s' in page and 'badge ok">ok</span> +4 s' in page
    only = web.get("/staff/?stale=1").data.decode()
    assert fresh not in only and old in only and never in only
    assert old not in web.get("/staff/?stale=1&stale_days=20").data.decode()


def test_groups_of_boxes(web, hub):
    school = add_box(hub, "Trường Tả Van", {"applied_release": 0})
    market = add_box(hub, "Chợ Sa Pa", {"applied_release": 0})
    assert log_in(web).status_code == 303
    page = web.get("/staff/")
    token = csrf_of(page.data)
    assert web.post("/staff/groups/assign", data={"device": school, "group": "Trường học"}).status_code == 400
    moved = web.post("/staff/groups/assign", data={"csrf_token": token, "device": school, "group": " Trường  học "})
    assert moved.status_code == 303
    assert hub.storage.groups() == [{"name": "Trường học", "boxes": 1}]
    only = web.get("/staff/?group=Trường học").data.decode()
    assert school in only and market not in only
    assert "<p>1 boxes" in only and "<p>2 boxes" in web.get("/staff/").data.decode()  # counts of the group
    assert web.post("/staff/groups/assign", data={"csrf_token": token, "group": "x"}).status_code == 400
    web.post("/staff/groups/assign", data={"csrf_token": token, "device": school, "group": ""})
    assert hub.storage.groups() == [{"name": "Trường học", "boxes": 0}]


def test_group_sync_windows_and_budgets(web, hub):
    box = add_box(hub, "Trường Tả Van", {"applied_release": 0})
    hub.storage.set_group([box], "Trường học")
    assert log_in(web).status_code == 303
    page = web.get("/staff/groups")
    token = csrf_of(page.data)
    form = {"group": "Trường học", "start": "22:00", "end": "05:00", "run_mb": "200", "month_mb": "2048"}
    assert web.post("/staff/groups/policy", data=form).status_code == 400  # no CSRF token
    assert web.post("/staff/groups/policy", data={"csrf_token": token, **form}).status_code == 303
    assert hub.storage.device_policy(box) == {"group": "Trường học", "window": [1320, 300], "run_budget_mb": 200,
                                              "month_budget_mb": 2048}
    shown = web.get("/staff/groups").data.decode()
    assert 'value="22:00"' in shown and 'value="05:00"' in shown and 'value="2048"' in shown
    for bad in ({"start": "25:00"}, {"end": ""}, {"run_mb": "-1"}, {"group": "Không có"}):
        answer = web.post("/staff/groups/policy", data={"csrf_token": token, **form, **bad})
        assert answer.status_code == 400, bad
    assert hub.storage.device_policy(box)["window"] == [1320, 300]  # unchanged by the refused forms
    cleared = {"csrf_token": token, "group": "Trường học", "start": "", "end": "", "run_mb": "", "month_mb": ""}
    assert web.post("/staff/groups/policy", data=cleared).status_code == 303
    assert hub.storage.device_policy(box)["window"] is None


def test_draft_and_publish(web, hub, tmp_path):
    make_epub(tmp_path / "a.epub", title="Trồng lúa nương")
    hub.add([tmp_path / "a.epub"])
    assert log_in(web).status_code == 303
    page = web.get("/staff/releases")
    assert "Trồng lúa nương" in page.data.decode() and "Publish release 1" in page.data.decode()
    stale = web.post("/staff/releases/publish", data={"csrf_token": csrf_of(page.data), "next_number": "2"})
    assert stale.status_code == 409 and hub.storage.latest_release() is None
    done = web.post("/staff/releases/publish", data={"csrf_token": csrf_of(page.data), "next_number": "1"})
    assert done.status_code == 303
    assert hub.storage.latest_release()["books"] == 1
    after = web.get(done.headers["Location"]).data.decode()
    assert "Release 1 is published" in after and "Nothing is staged" in after
    again = web.post("/staff/releases/publish", data={"csrf_token": csrf_of(page.data), "next_number": "2"})
    assert again.status_code == 409 and hub.storage.latest_release()["number"] == 1


@pytest.mark.slow
def test_add_staff_command(tmp_path):
    from sync.hub.hub import init_hub

    init_hub(tmp_path / "hub")

    def add(*extra, text="một mật khẩu dài\nmột mật khẩu dài\n"):
        return subprocess.run([*READPOINT, "hub", "add-staff", "--data", str(tmp_path / "hub"), *extra],
                              cwd=REPO, input=text, capture_output=True, text=True, timeout=60)

    made = add("--name", "Anh Tú")
    assert made.returncode == 0, made.stderr
    assert add("--name", "Anh Tú").returncode == 1  # taken
    assert add("--name", "Chị Mai", text="ngắn\nngắn\n").returncode == 1  # too short
    assert add("--name", "Chị Mai", "--reset").returncode == 1  # no such account
    from sync.hub.hub import Hub

    hub = Hub(tmp_path / "hub")
    try:
        assert hub.storage.staff("Anh Tú")["password_hash"].startswith("scrypt$")
        assert hub.storage.staff("Chị Mai") is None
        box = add_box(hub, "Tả Van")
    finally:
        hub.close()
    group = [*READPOINT, "hub", "group", "--data", str(tmp_path / "hub")]
    assert subprocess.run([*group, "Huyện Sa Pa", box], cwd=REPO, capture_output=True, timeout=60).returncode == 0
    assert subprocess.run([*group, "Huyện Sa Pa", "0123456789abcdef"], cwd=REPO, capture_output=True,
                          timeout=60).returncode == 1
    hub = Hub(tmp_path / "hub")
    try:
        assert hub.storage.groups() == [{"name": "Huyện Sa Pa", "boxes": 1}]
    finally:
        hub.close()


@pytest.mark.slow
def test_staff_in_a_desktop_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    from sync.hub.app import create_app
    from sync.hub.hub import Hub, init_hub
    from tests.phone_browser import CHROMIUM, CHROMIUM_ARGS

    init_hub(tmp_path / "hub")
    hub = Hub(tmp_path / "hub")
    hub.storage.add_staff(NAME, hash_password(PASSWORD))
    box = add_box(hub, "Tả Van", {"applied_release": 0, "clock_offset_seconds": 1, "errors": []})
    hub.storage.set_group([box], "Huyện Sa Pa")
    make_epub(tmp_path / "a.epub", title="Nuôi ong")
    hub.add([tmp_path / "a.epub"])
    server = LiveServer(create_app(hub)).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US").new_page()
            page.goto(server.url + "/staff/releases")
            assert "/staff/login" in page.url
            page.fill("#name", NAME)
            page.fill("#password", "not it")
            page.click("button[type=submit]")
            assert page.locator("[role=alert]").inner_text() == "Wrong name or password."
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            assert page.url.endswith("/staff/releases")  # back where the login was asked for
            assert "Nuôi ong" in page.locator("#draft").inner_text()
            page.click("text=Publish release 1")
            assert page.locator("[role=status]").inner_text() == "Release 1 is published and signed."
            page.click("text=Fleet")
            assert "Tả Van" in page.locator("#fleet").inner_text()
            page.click("header >> text=Groups")
            page.fill("input[name=start]", "22:00")
            page.fill("input[name=end]", "05:00")
            page.fill("input[name=run_mb]", "200")
            page.click("text=Save")
            assert page.url.endswith("/staff/groups")
            assert page.input_value("input[name=start]") == "22:00"
            assert hub.storage.device_policy(box)["window"] == [1320, 300]
            page.click("text=Tiếng Việt")
            assert page.locator("h1").inner_text() == "Nhóm"  # the same page, in Vietnamese
            page.click("text=Đăng xuất")
            page.goto(server.url + "/staff/")
            assert "/staff/login" in page.url
            browser.close()
        assert hub.storage.latest_release()["number"] == 1
    finally:
        server.stop()
        hub.close()
