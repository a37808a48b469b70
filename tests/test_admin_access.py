"""Who may use the librarian's desk: setup code, accounts, sessions, CSRF, rate limits, every route.

The route walk goes through ``app.url_map``: a route added later is covered
without touching this file, and it must refuse an anonymous request and a
forged CSRF token like the others.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner

from content.admin_keys import existing_setup_code
from readpoint.cli import cli
from readpoint.views.admin import MAX_HOURS, PUBLIC_ENDPOINTS
from tests.admin_desk import NAME, PASSWORD, csrf_of, log_in, post_form, set_up_account
from tests.media import make_epub


@pytest.fixture
def book_id(app, tmp_path):
    """One imported book."""
    from content.ingest.run import import_paths

    (tmp_path / "src").mkdir()
    make_epub(tmp_path / "src" / "lua.epub", title="Kỹ thuật trồng lúa", language="vi", subjects=["Nông nghiệp"])
    report = import_paths(app.extensions["library"], [tmp_path / "src"])
    return report.imported[0]["id"]


def _account_rows(data_dir):
    """The librarians table as stored."""
    with sqlite3.connect(data_dir / "catalog.sqlite3") as db:
        return db.execute("SELECT name, password_hash, session_epoch FROM librarians").fetchall()


def test_a_new_box_asks_for_its_setup_code_and_no_password_works(client, data_dir):
    code = existing_setup_code(data_dir)
    assert code and (data_dir / "keys" / "admin-setup-code").stat().st_mode & 0o777 == 0o600
    assert client.get("/admin/").headers["Location"].endswith("/admin/setup")
    assert client.get("/admin/login").headers["Location"].endswith("/admin/setup")
    page = client.get("/admin/setup")
    assert b'name="code"' in page.data
    for guess in ("admin", "", "0000-0000-0000", code[:-1] + "Z"):
        response = client.post("/admin/setup", data={"csrf_token": csrf_of(page.data), "code": guess,
                                                     "name": "x", "password": "p" * 8, "again": "p" * 8})
        assert response.status_code == 400
    assert _account_rows(data_dir) == []
    # typed with spaces and lower case, as a person copies a label
    response = client.post("/admin/setup", data={
        "csrf_token": csrf_of(page.data), "code": " " + code.lower().replace("-", " ") + " ",
        "name": NAME, "password": PASSWORD, "again": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/")
    assert NAME in client.get("/admin/").data.decode()
    [(name, stored, _epoch)] = _account_rows(data_dir)
    assert name == NAME and stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    assert existing_setup_code(data_dir) is None  # spent: it cannot make a second account
    assert client.get("/admin/setup").headers["Location"].endswith("/admin/login")


def test_setup_refuses_short_or_mismatched_passwords(client, data_dir):
    page = client.get("/admin/setup")
    base = {"csrf_token": csrf_of(page.data), "code": existing_setup_code(data_dir), "name": NAME}
    assert client.post("/admin/setup", data={**base, "password": "short", "again": "short"}).status_code == 400
    assert client.post("/admin/setup", data={**base, "password": PASSWORD, "again": PASSWORD + "x"}).status_code == 400
    assert _account_rows(data_dir) == []


def test_login_logout_and_wrong_passwords(app, client, data_dir):
    set_up_account(client, data_dir)
    assert client.get("/admin/books").status_code == 200
    post_form(client, "/admin/", "/admin/logout", {})
    assert client.get("/admin/books").status_code == 303
    assert log_in(client, password="wrong password").status_code == 400
    assert log_in(client, name="Someone", password=PASSWORD).status_code == 400
    response = log_in(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/books").status_code == 200


def test_login_goes_back_only_to_an_admin_page(client, data_dir):
    set_up_account(client, data_dir)
    post_form(client, "/admin/", "/admin/logout", {})
    assert client.get("/admin/stats?days=7").headers["Location"].endswith("/admin/login?next=/admin/stats?days%3D7")
    for target, expected in (("/admin/stats?days=7", "/admin/stats?days=7"), ("//evil.example/admin/", "/admin/"),
                             ("/search?q=x", "/admin/")):
        page = client.get("/admin/login")
        response = client.post("/admin/login", data={"csrf_token": csrf_of(page.data), "name": NAME,
                                                     "password": PASSWORD, "next": target})
        assert response.headers["Location"] == expected
        post_form(client, "/admin/", "/admin/logout", {})


def test_wrong_logins_are_rate_limited(client, data_dir):
    set_up_account(client, data_dir)
    post_form(client, "/admin/", "/admin/logout", {})
    for _ in range(5):
        assert log_in(client, password="not the password").status_code == 400
    refused = log_in(client)  # even the right password must wait now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get("/admin/books").status_code == 303


def test_wrong_setup_codes_are_rate_limited(client, data_dir):
    page = client.get("/admin/setup")
    form = {"csrf_token": csrf_of(page.data), "name": NAME, "password": PASSWORD, "again": PASSWORD}
    for _ in range(5):
        assert client.post("/admin/setup", data={**form, "code": "AAAA-BBBB-CCCC"}).status_code == 400
    response = client.post("/admin/setup", data={**form, "code": existing_setup_code(data_dir)})
    assert response.status_code == 429
    assert _account_rows(data_dir) == []


def test_the_session_cookie_is_signed_httponly_strict_and_only_for_admin_pages(client, data_dir):
    response = set_up_account(client, data_dir)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("readpoint_admin=") and "HttpOnly" in cookie
    assert "Path=/admin" in cookie and "SameSite=Strict" in cookie and "Expires=" in cookie
    key = data_dir / "keys" / "admin-session.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    assert client.get("/").headers.get("Set-Cookie") is None


def test_sessions_end_after_the_longest_time_and_when_idle(app, client, data_dir):
    set_up_account(client, data_dir)
    with client.session_transaction() as session:
        session["since"] = int(time.time()) - MAX_HOURS * 3600 - 1
    assert client.get("/admin/books").status_code == 303
    log_in(client)
    assert client.get("/admin/books").status_code == 200
    app.permanent_session_lifetime = timedelta(seconds=1)
    assert client.get("/admin/books").status_code == 200  # each request renews an idle session
    time.sleep(2.2)
    assert client.get("/admin/books").status_code == 303


def test_a_forged_session_cookie_is_refused(app, client, data_dir):
    set_up_account(client, data_dir)
    other = app.test_client()
    forged = client.get_cookie("readpoint_admin", path="/admin").value
    forged = forged[:-3] + ("AAA" if not forged.endswith("AAA") else "BBB")
    other.set_cookie("readpoint_admin", forged, path="/admin")
    assert other.get("/admin/books").status_code == 303


def test_cli_setup_code_and_reset_password(app, client, data_dir):
    runner = CliRunner()
    result = runner.invoke(cli, ["admin", "setup-code", "--data", str(data_dir)])
    assert result.exit_code == 0 and result.output.strip() == existing_setup_code(data_dir)
    result = runner.invoke(cli, ["admin", "reset-password", "--data", str(data_dir)])
    assert result.exit_code == 1 and "no librarian account" in result.output
    set_up_account(client, data_dir)
    result = runner.invoke(cli, ["admin", "setup-code", "--data", str(data_dir)])
    assert result.exit_code == 1 and "reset-password" in result.output
    new = "mật khẩu mới dài"
    result = runner.invoke(cli, ["admin", "reset-password", "--data", str(data_dir)],
                           input=f"short\n{new}\n{new}\n")  # a too short one is asked again
    assert result.exit_code == 0 and "at least 8 characters" in result.output, result.output
    assert client.get("/admin/books").status_code == 303  # the old session ended with the old password
    assert log_in(client).status_code == 400
    assert log_in(client, password=new).status_code == 303


def _url_for_rule(rule, book_id: str) -> str:
    """A concrete URL of a route (real values for its arguments)."""
    values = {"book_id": book_id, "category_id": "health", "import_id": "1", "code": "vi", "sha256": "0" * 64,
              "chapter": "1", "digest": "x", "name": "site.css", "term": "x", "part": "1"}
    path = rule.rule
    for argument in rule.arguments:
        path = path.replace(f"<{argument}>", values.get(argument, "x"))
        for converter in ("int", "path", "string"):
            path = path.replace(f"<{converter}:{argument}>", values.get(argument, "1"))
    return path


def _state(data_dir) -> tuple:
    """Everything an admin action could change."""
    with sqlite3.connect(data_dir / "catalog.sqlite3") as db:
        return tuple(db.execute(sql).fetchall() for sql in (
            "SELECT id, title, status FROM books ORDER BY id", "SELECT * FROM categories ORDER BY id",
            "SELECT * FROM featured", "SELECT name, password_hash, session_epoch FROM librarians",
            "SELECT count(*) FROM imports"))


def test_every_admin_route_refuses_anonymous_requests_and_forged_csrf(app, client, data_dir, book_id):
    admin_rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]
    assert len(admin_rules) >= 18
    set_up_account(client, data_dir)
    before = _state(data_dir)
    anonymous = app.test_client()
    checked = 0
    for rule in admin_rules:
        url = _url_for_rule(rule, book_id)
        assert url.startswith("/admin"), url
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            form = {"csrf_token": "forged", "status": "hidden", "confirm": "yes", "featured": "1", "title": "X",
                    "name_vi": "a", "name_th": "b", "name_en": "c", "move": "up", "code": "x", "name": NAME,
                    "password": PASSWORD, "again": PASSWORD, "ssid": "w"}
            response = anonymous.open(url, method=method, data=form if method == "POST" else None)
            if rule.endpoint in PUBLIC_ENDPOINTS:
                expected = (200, 303) if method == "GET" else (400,)
                assert response.status_code in expected, (method, url, response.status_code)
            elif method == "GET":
                assert response.status_code == 303, (url, response.status_code)
                assert "/admin/login" in response.headers["Location"]
                assert NAME.encode() not in response.data
            else:
                assert response.status_code == 403, (method, url, response.status_code)
            if method == "POST":  # logged in, but with a forged token or none
                assert client.post(url, data=form).status_code == 400, url
                del form["csrf_token"]
                assert client.post(url, data=form).status_code == 400, url
            checked += 1
    assert checked >= 19
    assert _state(data_dir) == before
    assert client.get("/admin/books").status_code == 200  # the real session still works


def test_villagers_pages_never_show_admin_links_or_set_its_cookie(app, client, data_dir, book_id):
    set_up_account(client, data_dir)  # a librarian is logged in on this same browser, even
    for path in ("/", "/category/farming", "/language/vi", f"/books/{book_id}", "/search?q=lua",
                 f"/read/{book_id}", "/no-such-page"):
        response = client.get(path)
        assert b"/admin" not in response.data, path
        assert "readpoint_admin" not in response.headers.get("Set-Cookie", ""), path
