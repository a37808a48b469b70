"""The librarian's desk: ``/admin/...`` pages to manage the collection, import from USB and see what is read.

One blueprint, its routes split by subject: :mod:`.auth` (first account,
log in and out), :mod:`.books`, :mod:`.categories`, :mod:`.imports`,
:mod:`.stats`, :mod:`.poster`. Every page is server-rendered and works
without JavaScript.

Access (checked in :func:`_guard` before every admin request):

- no default account or password: while the box has no librarian account,
  every admin page leads to the setup page, which asks for the box's setup code
  (:mod:`content.admin_keys`; printed in the server's log and by
  ``readpoint admin setup-code``);
- a session is a Flask cookie signed with a key made on this box (``keys/``,
  0600), sent only under ``/admin``, ending after :data:`IDLE_HOURS` without
  use and :data:`MAX_HOURS` after logging in, and with a new password;
- every POST carries the session's CSRF token (:func:`csrf_token`);
- failed logins and setup codes are rate-limited per address and in all
  (:class:`content.attempts.AttemptLimiter`).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from datetime import timedelta

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from content.admin_keys import session_key, setup_code
from content.catalog.librarians import Librarians
from content.attempts import AttemptLimiter
from readpoint.views.common import library

__all__ = ["bp", "csrf_token", "librarians", "current_librarian", "IDLE_HOURS", "MAX_HOURS"]

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

IDLE_HOURS = 2
MAX_HOURS = 12
PUBLIC_ENDPOINTS = frozenset({"admin.setup", "admin.login"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"


class AdminSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie sent only to ``/admin`` pages (under any URL prefix)."""

    def get_cookie_path(self, app) -> str:
        """``<script root>/admin``: villagers' pages never receive the librarian's cookie."""
        return request.script_root + bp.url_prefix


@bp.record_once
def _set_up_app(state) -> None:
    """Give the app this box's session key and cookie rules; log the setup code while there is no account."""
    app = state.app
    data_dir = app.config["DATA_DIR"]
    app.secret_key = session_key(data_dir)
    app.session_interface = AdminSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="readpoint_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=IDLE_HOURS),
    )
    app.extensions["admin_attempts"] = AttemptLimiter()
    # Globals, not a context processor: the admin templates' imported macros need them too.
    app.jinja_env.globals.update(csrf_token=csrf_token, librarian=lambda: g.get("librarian"))
    if not Librarians(app.extensions["library"].catalog).any():
        log.info("no librarian account yet: open /admin/ on the box's Wi-Fi and enter the setup code %s",
                    setup_code(data_dir))


def librarians() -> Librarians:
    """The librarian accounts of this app's catalog."""
    return Librarians(library().catalog)


def csrf_token() -> str:
    """This session's CSRF token, made on first use (every admin form carries it)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    """Whether this POST carries the session's CSRF token."""
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def current_librarian() -> dict | None:
    """The librarian logged in on this request's session, or None (expired, ended, or never)."""
    if "librarian" in g:
        return g.librarian
    found = None
    librarian_id, epoch, since = session.get("uid"), session.get("epoch"), session.get("since", 0)
    if isinstance(librarian_id, int) and isinstance(since, int) and time.time() - since < MAX_HOURS * 3600:
        account = librarians().get(librarian_id)
        if account is not None and account["session_epoch"] == epoch:
            found = account
    g.librarian = found
    return found


def log_in(account: dict) -> None:
    """Start a new session for ``account`` (a new CSRF token too: nothing carries over)."""
    session.clear()
    session.permanent = True
    session.update(uid=account["id"], epoch=account["session_epoch"], since=int(time.time()))
    csrf_token()


@bp.before_request
def _guard():
    """Refuse every admin request that is not logged in, and every POST without the CSRF token."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.method not in SAFE_METHODS and not _csrf_ok():
            abort(400, description="The form has expired: open the page again.")
        return None
    if current_librarian() is None:
        if request.method not in SAFE_METHODS:
            abort(403, description="Log in first.")
        if not librarians().any():
            return redirect(url_for("admin.setup"), 303)
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")), 303)
    if request.method not in SAFE_METHODS and not _csrf_ok():
        abort(400, description="The form has expired: open the page again.")
    return None


@bp.after_request
def _private(response):
    """Admin pages are never stored by a browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# The routes, by subject (imported for their effect on ``bp``).
from readpoint.views.admin import auth, books, categories, imports, poster, stats  # noqa: E402,F401
