"""Importing from USB sticks in the browser, and the import history with every file's verdict.

The sticks are found as ``readpoint import --usb`` finds them
(:func:`content.ingest.usb.find_usb_sources`, the ``usb_roots`` setting), and
the import is that command, run by :class:`readpoint.import_runner.ImportJob`.
While it runs the page refreshes itself every few seconds (a ``<meta>``
refresh: no JavaScript needed).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from content.catalog import imports as history
from content.ingest.run import AUDIO_EXTENSIONS
from content.ingest.usb import find_usb_sources, scan_paths
from readpoint.import_runner import ImportJob
from readpoint.views.admin import bp
from readpoint.views.admin.verdicts import reason_text, verdict_name
from readpoint.views.common import library, setting

REFRESH_SECONDS = 2
COUNT_CACHE_SECONDS = 30
MAX_SHOWN_FILES = 1000
MAX_SHOWN_LOADED = 300
_start_lock = threading.Lock()


def _job() -> ImportJob | None:
    """The import this server started last, if any."""
    return current_app.extensions.get("admin_import")


def _drives() -> list[Path]:
    """The folders ``readpoint import --usb`` would import now."""
    return find_usb_sources([root for root in setting("usb_roots").split(":") if root])


def _kind_of(path: Path) -> str:
    """What a file on a stick is, for the counts: epub, pdf, audio or other."""
    suffix = path.suffix.lower()
    if suffix in (".epub", ".pdf"):
        return suffix[1:]
    return "audio" if suffix in AUDIO_EXTENSIONS else "other"


def _counts(drive: Path) -> dict[str, int]:
    """Files on a stick by kind (kept for a little while: walking a big stick takes time)."""
    try:
        info = os.stat(drive)
        identity = (str(drive), info.st_dev, info.st_ino, info.st_mtime_ns)
    except OSError:
        return {}
    cache = current_app.extensions.setdefault("admin_stick_counts", {})
    cached = cache.get(identity)
    if cached and time.monotonic() - cached[0] < COUNT_CACHE_SECONDS:
        return cached[1]
    counts = dict.fromkeys(("epub", "pdf", "audio", "other"), 0)
    candidates, _skipped = scan_paths([drive])
    for path in candidates:
        counts[_kind_of(path)] += 1
    if len(cache) > 16:
        cache.clear()
    cache[identity] = (time.monotonic(), counts)
    return counts


def _verdict_rows(import_id: int, verdicts: tuple[str, ...], *, limit: int = MAX_SHOWN_FILES) -> list[dict]:
    """Files of a run with these verdicts, with translated verdicts and reasons and the book's title."""
    catalog = library().catalog
    rows = []
    for verdict in verdicts:
        rows += history.verdicts_of(catalog, import_id, verdict=verdict, limit=limit)
    for row in rows:
        row["verdict_text"] = verdict_name(row["verdict"])
        row["reason_text"] = reason_text(row["reason"]) if row["reason"] else None
        book = catalog.get_book(row["book_id"]) if row["book_id"] else None
        row["title"] = book["title"] if book else None
    return rows


def _run(import_id: int) -> dict | None:
    """One run's row with its verdict counts so far."""
    run = history.get_run(library().catalog, import_id)
    if run is not None:
        run["verdicts"] = history.verdict_counts(library().catalog, import_id)
    return run


def _job_run(job: ImportJob) -> dict | None:
    """The history row of the run a job started (None until the child has opened it)."""
    runs = history.recent_runs(library().catalog, limit=50)
    mine = [run for run in runs if run["id"] > job.after_import_id]
    return _run(mine[-1]["id"]) if mine else None


def _latest_import_id() -> int:
    """The newest run's id (0 when there was none)."""
    runs = history.recent_runs(library().catalog, limit=1)
    return runs[0]["id"] if runs else 0


@bp.route("/import")
def import_page():
    """The sticks plugged in and what is on them, the running import's progress, the last runs."""
    job = _job()
    running = job is not None and job.running
    run = _job_run(job) if job is not None else None
    drives = [] if running else [{"path": drive, "counts": _counts(drive)} for drive in _drives()]
    return render_template(
        "admin/import.html", job=job, running=running, run=run, drives=drives,
        refresh=REFRESH_SECONDS if running else None,
        problems=_verdict_rows(run["id"], ("rejected", "skipped")) if run else [],
        history=history.recent_runs(library().catalog, limit=10),
    )


@bp.route("/import", methods=["POST"])
def import_start():
    """Start importing every stick plugged in (unless an import started here is still running)."""
    with _start_lock:
        job = _job()
        if job is not None and job.running:
            flash(_("An import is running already."))
            return redirect(url_for("admin.import_page"), 303)
        if not _drives():
            flash(_("No USB stick was found. Plug one in and wait a few seconds."))
            return redirect(url_for("admin.import_page"), 303)
        app = current_app
        job = ImportJob(app.config["DATA_DIR"], app.config["READPOINT"], _latest_import_id())
        app.extensions["admin_import"] = job.start()
    return redirect(url_for("admin.import_page"), 303)


@bp.route("/imports")
def imports():
    """The import history: every run with its counts."""
    return render_template("admin/imports.html", history=history.recent_runs(library().catalog, limit=200))


@bp.route("/imports/<int:import_id>")
def import_detail(import_id: int):
    """One run: every rejected and skipped file with its reason, then what was imported."""
    run = _run(import_id)
    if run is None:
        abort(404, description="No such import.")
    return render_template(
        "admin/import_run.html", run=run,
        problems=_verdict_rows(import_id, ("rejected", "skipped")),
        loaded=_verdict_rows(import_id, ("imported", "duplicate"), limit=MAX_SHOWN_LOADED),
    )
