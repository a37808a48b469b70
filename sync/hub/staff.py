"""The staff pages of the hub: ``/staff/...``, server-rendered, for provincial library staff.

Vietnamese, Thai and English (the box's Babel catalogs in ``kiosk-ui/translations``;
a switcher link sets a cookie under ``/staff``). Pages: the fleet (every box: name, group, last seen, applied release and lag,
app version, disk free, clock health, last errors; boxes not seen for
:data:`STALE_DAYS` days stand out) and the releases (what is staged for the
next release, publishing it, the recent releases).

Access, as the librarian's desk on the box (the framework-free pieces are
shared: :func:`content.catalog.librarians.hash_password` and friends for scrypt
hashes, :class:`content.attempts.AttemptLimiter`, :func:`content.admin_keys.session_key`):

- no default account or password: accounts are made on the hub's machine with
  ``readpoint hub add-staff``; until one exists the login page says so;
- a session is a signed cookie (key made on the hub, ``keys/admin-session.key``,
  0600) sent only under ``/staff``, ending :data:`IDLE_HOURS` after last use,
  :data:`MAX_HOURS` after logging in, and with a new password;
- every POST carries the session's CSRF token;
- failed logins are rate-limited per address and in all.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from content.admin_keys import session_key
from content.attempts import AttemptLimiter
from content.catalog.librarians import MAX_NAME, check_password
from sync.errors import SyncError

__all__ = ["bp", "install", "STALE_DAYS", "IDLE_HOURS", "MAX_HOURS", "PAGE_SIZE"]

log = logging.getLogger(__name__)

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")

IDLE_HOURS = 2
MAX_HOURS = 12
STALE_DAYS = 7
PAGE_SIZE = 100
CLOCK_OK_SECONDS = 120
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_ENDPOINTS = frozenset({"staff.login", "staff.language"})
LOCALES = ("vi", "th", "en")
LOCALE_NAMES = {"vi": "Tiếng Việt", "th": "ภาษาไทย", "en": "English"}
LANG_COOKIE = "staff_lang"


class StaffSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie goes only to ``/staff`` pages (the boxes' API never sees it)."""

    def get_cookie_path(self, app) -> str:
        """``<script root>/staff``."""
        return request.script_root + bp.url_prefix


def install(app, hub) -> None:
    """Register the staff pages on the hub's app, with this hub's session key."""
    app.secret_key = session_key(hub.dir)
    app.session_interface = StaffSessionInterface()
    app.config.update(SESSION_COOKIE_NAME="readpoint_staff", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=timedelta(hours=IDLE_HOURS))
    app.extensions["staff_attempts"] = AttemptLimiter()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(hub.settings["ui_dir"]) / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    Babel(app, locale_selector=_locale)
    app.jinja_env.globals.update(csrf_token=csrf_token, staff_name=lambda: (g.get("staff") or {}).get("name"),
                                 STAFF_LOCALES=LOCALE_NAMES, current_staff_locale=lambda: str(get_locale() or "vi"))
    app.register_blueprint(bp)


def _locale() -> str:
    """The staff pages' language: the switcher's cookie, else the browser's, else Vietnamese."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or "vi"


def _hub():
    """The open hub."""
    return current_app.extensions["hub"]


def csrf_token() -> str:
    """This session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    """Whether this POST carries the session's CSRF token."""
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def current_staff() -> dict | None:
    """The account logged in on this request's session, or None."""
    if "staff" in g:
        return g.staff
    found = None
    name, epoch, since = session.get("staff"), session.get("epoch"), session.get("since", 0)
    if isinstance(name, str) and isinstance(since, int) and time.time() - since < MAX_HOURS * 3600:
        account = _hub().storage.staff(name)
        if account is not None and account["session_epoch"] == epoch:
            found = account
    g.staff = found
    return found


@bp.before_request
def _guard():
    """Refuse every staff request not logged in, and every POST without the CSRF token."""
    if request.endpoint not in PUBLIC_ENDPOINTS and current_staff() is None:
        if request.method not in SAFE_METHODS:
            abort(403, description=_("Log in first."))
        return redirect(url_for("staff.login", next=request.full_path.rstrip("?")), 303)
    if request.method not in SAFE_METHODS and not _csrf_ok():
        abort(400, description=_("The form has expired: open the page again."))
    return None


@bp.after_request
def _private(response):
    """Staff pages are never stored by a browser or a proxy, nor framed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.errorhandler(HTTPException)
def _error_page(error: HTTPException):
    """Errors of staff pages as a page, not the API's JSON."""
    return render_template("staff/error.html", code=error.code, message=error.description), error.code


def _next_page() -> str:
    """Where to go after logging in: ``next`` if it is a staff page, else the fleet."""
    target = request.values.get("next", "")
    if target.startswith(request.script_root + "/staff/") and "//" not in target and "\\" not in target:
        return target
    return url_for("staff.fleet")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with name and password."""
    hub = _hub()
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_next_page(), 303)
        return render_template("staff/login.html", error=None, name="", next=request.args.get("next", ""))
    limiter: AttemptLimiter = current_app.extensions["staff_attempts"]
    client = request.remote_addr or "unknown"
    name = " ".join(request.form.get("name", "").split())[:MAX_NAME]
    context = {"name": name, "next": request.form.get("next", "")}
    wait = limiter.wait_seconds(client)
    if wait:
        minutes = max(1, -(-wait // 60))
        error = _("Too many wrong tries. Wait %(minutes)s minutes, then try again.", minutes=minutes)
        page = render_template("staff/login.html", error=error, **context)
        return page, 429, {"Retry-After": str(wait)}
    account = hub.storage.staff(name) if name else None
    if not check_password(account["password_hash"] if account else None, request.form.get("password", "")):
        limiter.failed(client)
        log.warning("failed staff login")
        return render_template("staff/login.html", error=_("Wrong name or password."), **context), 400
    limiter.succeeded(client)
    session.clear()
    session.permanent = True
    session.update(staff=account["name"], epoch=account["session_epoch"], since=int(time.time()))
    csrf_token()
    log.info("staff %r logged in", account["name"])
    return redirect(_next_page(), 303)


@bp.route("/logout", methods=["POST"])
def logout():
    """End this session."""
    session.clear()
    return redirect(url_for("staff.login"), 303)


@bp.get("/language/<code>")
def language(code: str):
    """Switch the staff pages' language (a cookie under /staff), back to the page it was asked from."""
    if code not in LOCALES:
        abort(404)
    response = redirect(_next_page(), 303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path=request.script_root + bp.url_prefix,
                        httponly=True, samesite="Strict")
    return response


MAX_GROUP = 60


def clean_group(name: str) -> str | None:
    """A group name as stored (spaces collapsed, at most :data:`MAX_GROUP` characters), or None if empty."""
    name = " ".join(name.split())[:MAX_GROUP]
    return name or None


@bp.post("/groups/assign")
def assign_group():
    """Put the ticked boxes into a group (made if new), or out of any group with an empty name."""
    hub = _hub()
    devices = [d for d in request.form.getlist("device") if d][:1000]
    if not devices:
        abort(400, description=_("Tick the boxes to move first."))
    group = clean_group(request.form.get("group", ""))
    hub.storage.set_group(devices, group)
    log.info("staff %r moved %d boxes to group %r", g.staff["name"], len(devices), group)
    return redirect(url_for("staff.fleet", group=group) if group else url_for("staff.fleet"), 303)


def _minutes(text: str) -> int | None:
    """``HH:MM`` as minutes after midnight, None if it is not a time."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes = int(parts[0]), int(parts[1])
    return hours * 60 + minutes if hours < 24 and minutes < 60 else None


def _megabytes(text: str) -> int | None:
    """A budget in MB (empty: 0, no limit), None if it is not a whole number up to 10^7."""
    text = text.strip() or "0"
    return int(text) if text.isdigit() and int(text) <= 10**7 else None


@bp.get("/groups")
def groups():
    """Every group with its sync window and budgets, each editable."""
    return render_template("staff/groups.html", groups=_hub().storage.groups(policies=True), error=None)


@bp.post("/groups/policy")
def group_policy():
    """Set one group's sync window and byte budgets (delivered to its boxes in their next sync)."""
    hub = _hub()
    group = clean_group(request.form.get("group", ""))
    start_text, end_text = request.form.get("start", ""), request.form.get("end", "")
    start, end = _minutes(start_text), _minutes(end_text)
    run_mb, month_mb = _megabytes(request.form.get("run_mb", "")), _megabytes(request.form.get("month_mb", ""))
    window = None
    problem = None
    if start_text.strip() or end_text.strip():
        if start is None or end is None:
            problem = _("Type the window as two times like 22:00 and 05:00, or leave both empty.")
        else:
            window = [start, end]
    if run_mb is None or month_mb is None:
        problem = _("Type the budgets as whole megabytes (0 or empty: no limit).")
    if problem is None and (group is None or not hub.storage.set_group_policy(group, window, run_mb, month_mb)):
        problem = _("There is no such group.")
    if problem:
        return render_template("staff/groups.html", groups=hub.storage.groups(policies=True), error=problem), 400
    log.info("staff %r set the sync policy of group %r", g.staff["name"], group)
    return redirect(url_for("staff.groups"), 303)


def hhmm(minutes: int | None) -> str:
    """Minutes after midnight as ``HH:MM`` ('' for None)."""
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


bp.add_app_template_filter(hhmm, "hhmm")


def _box_row(box: dict, latest: int, now: int, stale_before: int) -> dict:
    """What the fleet table shows of one box."""
    status = box["status"]
    seen = box["last_sync_at"]
    offset = status.get("clock_offset_seconds")
    if not isinstance(offset, int):
        clock = ("unknown", _("unknown"), _("by USB") if status.get("via") == "bundle" else _("not reported"))
    elif abs(offset) <= CLOCK_OK_SECONDS:
        clock = ("ok", _("ok"), f"{offset:+d} s")
    else:
        clock = ("off", _("off"), f"{offset:+d} s")
    free = status.get("disk_free_bytes")
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    return {
        "device_id": box["device_id"], "name": box["name"], "group": box.get("group") or "",
        "last_seen": time.strftime("%Y-%m-%d %H:%M", time.gmtime(seen)) if seen else _("never"),
        "days_unseen": (now - seen) // 86400 if seen else None, "stale": seen is None or seen < stale_before,
        "via": status.get("via", "network") if seen else "",
        "applied": box["applied_release"], "lag": max(latest - box["applied_release"], 0),
        "app_version": str(status.get("app_version") or "?"),
        "disk_free": f"{free / 2**30:.1f} GB" if isinstance(free, int) else "?",
        "clock": clock, "errors": [str(e)[:300] for e in errors[-3:]],
    }


@bp.get("/")
def fleet():
    """Every box, those not seen for ``stale_days`` (default :data:`STALE_DAYS`) first and marked."""
    hub = _hub()
    stale_days = request.args.get("stale_days", STALE_DAYS, type=int)
    stale_days = min(max(stale_days or STALE_DAYS, 1), 3650)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stale_only = request.args.get("stale") == "1"
    group = clean_group(request.args.get("group", ""))
    now = hub.storage.now()
    stale_before = now - stale_days * 86400
    boxes, total, stale_count = hub.storage.fleet(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                                                  stale_before=stale_before, stale_only=stale_only, group=group)
    latest = hub.storage.latest_release()
    latest_number = latest["number"] if latest else 0
    shown_total = stale_count if stale_only else total
    return render_template(
        "staff/fleet.html", boxes=[_box_row(b, latest_number, now, stale_before) for b in boxes],
        total=total, stale_count=stale_count, stale_days=stale_days, stale_only=stale_only, page=page,
        pages=max(1, -(-shown_total // PAGE_SIZE)), latest=latest_number, group=group,
        groups=hub.storage.groups())


@bp.get("/releases")
def releases():
    """The draft of the next release (staged changes) and the recent releases."""
    hub = _hub()
    changes, staged = hub.storage.staged_changes()
    latest = hub.storage.latest_release()
    return render_template("staff/releases.html", changes=changes, staged=staged,
                           next_number=(latest["number"] if latest else 0) + 1,
                           releases=hub.storage.releases(), published=request.args.get("published", type=int),
                           error=None)


@bp.post("/releases/publish")
def publish():
    """Publish the staged changes as the next release (signed, as ``readpoint hub publish``)."""
    hub = _hub()
    expected = request.form.get("next_number", type=int)
    latest = hub.storage.latest_release()
    if expected != (latest["number"] if latest else 0) + 1:
        abort(409, description=_("Someone published meanwhile: open the page again and check the draft."))
    if not hub.storage.staged_changes(limit=1)[1]:
        abort(409, description=_("Nothing is staged: there is nothing to publish."))
    try:
        summary = hub.publish()
    except SyncError as error:
        abort(409, description=str(error))
    log.info("staff %r published release %d", g.staff["name"], summary["release"])
    return redirect(url_for("staff.releases", published=summary["release"]), 303)


def fmt_time(seconds: int | None) -> str:
    """Unix seconds as ``YYYY-MM-DD HH:MM`` UTC."""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(seconds)) if seconds else ""


bp.add_app_template_filter(fmt_time, "hubtime")
