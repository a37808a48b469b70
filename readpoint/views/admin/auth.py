"""The first librarian account (with the box's setup code), logging in and out."""

from __future__ import annotations

import logging

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from content.admin_keys import remove_setup_code, setup_code_matches
from content.catalog.librarians import MAX_NAME, MAX_PASSWORD, MIN_PASSWORD, AccountError
from readpoint.views.admin import bp, current_librarian, librarians, log_in
from content.attempts import AttemptLimiter
from readpoint.views.common import local_path

log = logging.getLogger(__name__)


def _limiter() -> AttemptLimiter:
    """The app's limiter of failed attempts."""
    return current_app.extensions["admin_attempts"]


def _client() -> str:
    """The address attempts are counted against (kept in memory only)."""
    return request.remote_addr or "unknown"


def _too_many(template: str, wait: int, **context):
    """The form again, saying how long to wait, as a 429 with Retry-After."""
    minutes = max(1, -(-wait // 60))
    error = _("Too many wrong tries. Wait %(minutes)s minutes, then try again.", minutes=minutes)
    page = render_template(template, error=error, **context)
    return page, 429, {"Retry-After": str(wait)}


def _next_page() -> str:
    """Where to go after logging in: ``next`` if it is an admin page of this site, else the desk."""
    target = local_path(request.values.get("next"))
    if target and target.startswith(request.script_root + "/admin/"):
        return target
    return url_for("admin.index")


def _new_account_problem(name: str, password: str, again: str) -> str | None:
    """What is wrong with the name and passwords typed for a new account (translated), or None."""
    if not name.strip() or len(name.strip()) > MAX_NAME:
        return _("Type a name of 1 to %(count)s characters.", count=MAX_NAME)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return _("The password needs at least %(count)s characters.", count=MIN_PASSWORD)
    if password != again:
        return _("The two passwords differ.")
    return None


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Make the first librarian account: setup code, name, password twice."""
    if librarians().any():
        return redirect(url_for("admin.login"), 303)
    if request.method == "GET":
        return render_template("admin/setup.html", error=None, name="")
    name = request.form.get("name", "")[:100]
    wait = _limiter().wait_seconds(_client())
    if wait:
        return _too_many("admin/setup.html", wait, name=name)
    data_dir = current_app.config["DATA_DIR"]
    if not setup_code_matches(data_dir, request.form.get("code", "")):
        _limiter().failed(_client())
        log.warning("a wrong setup code was typed")
        return render_template("admin/setup.html", name=name,
                               error=_("This is not the box's setup code.")), 400
    password, again = request.form.get("password", ""), request.form.get("again", "")
    problem = _new_account_problem(name, password, again)
    if problem:
        return render_template("admin/setup.html", name=name, error=problem), 400
    try:
        account = librarians().create_first(name, password)
    except AccountError:  # made meanwhile by another request
        return redirect(url_for("admin.login"), 303)
    remove_setup_code(data_dir)
    _limiter().succeeded(_client())
    log.info("librarian account %r created", account["name"])
    log_in(account)
    return redirect(url_for("admin.index"), 303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with name and password."""
    if not librarians().any():
        return redirect(url_for("admin.setup"), 303)
    if request.method == "GET":
        if current_librarian() is not None:
            return redirect(_next_page(), 303)
        return render_template("admin/login.html", error=None, name="", next=request.args.get("next", ""))
    name = request.form.get("name", "")[:100]
    context = {"name": name, "next": request.form.get("next", "")}
    wait = _limiter().wait_seconds(_client())
    if wait:
        return _too_many("admin/login.html", wait, **context)
    account = librarians().authenticate(name, request.form.get("password", ""))
    if account is None:
        _limiter().failed(_client())
        log.warning("failed librarian login")
        return render_template("admin/login.html", error=_("Wrong name or password."), **context), 400
    _limiter().succeeded(_client())
    log_in(account)
    return redirect(_next_page(), 303)


@bp.route("/logout", methods=["POST"])
def logout():
    """End this session."""
    session.clear()
    return redirect(url_for("admin.login"), 303)
