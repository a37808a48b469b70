"""Helpers for the librarian's desk tests: the CSRF token of a page, making the account, logging in."""

from __future__ import annotations

import re

from content.admin_keys import existing_setup_code

__all__ = ["NAME", "PASSWORD", "csrf_of", "set_up_account", "log_in", "post_form"]

NAME = "Chị Lan"
PASSWORD = "sách hay 2024"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: bytes | str) -> str:
    """The CSRF token in a page's first form."""
    text = html.decode() if isinstance(html, bytes) else html
    match = _CSRF_RE.search(text)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def set_up_account(client, data_dir, *, name: str = NAME, password: str = PASSWORD):
    """Create the first account through the setup page (as a librarian would); the client is logged in."""
    page = client.get("/admin/setup")
    assert page.status_code == 200
    response = client.post("/admin/setup", data={
        "csrf_token": csrf_of(page.data), "code": existing_setup_code(data_dir), "name": name,
        "password": password, "again": password,
    })
    assert response.status_code == 303, response.data
    return response


def log_in(client, *, name: str = NAME, password: str = PASSWORD):
    """Log in through the login page; returns the POST's response."""
    page = client.get("/admin/login")
    return client.post("/admin/login", data={"csrf_token": csrf_of(page.data), "name": name, "password": password})


def post_form(client, page_path: str, action: str, data: dict):
    """POST ``data`` to ``action`` with the CSRF token taken from ``page_path`` (as a form on it would)."""
    page = client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code)
    return client.post(action, data={"csrf_token": csrf_of(page.data), **data})
