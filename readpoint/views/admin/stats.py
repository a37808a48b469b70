"""What is read: the desk's front page, the statistics page with its charts, and their CSV.

Every figure comes from the daily counts of :mod:`content.catalog.usage_stats`
(brought up to date from the usage log first), the capacity figures of
:mod:`readpoint.capacity`, the disk, and the sync state.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _

from content.catalog import usage_stats
from content.catalog.collection import Collection
from content.catalog.imports import recent_runs
from readpoint.capacity import wifi_stations
from readpoint.views.admin import bp
from readpoint.views.admin.charts import bar_chart
from readpoint.views.common import library, setting

PERIODS = (7, 30, 90, 365)
DEFAULT_PERIOD = 30
CHART_KINDS = ("read", "listen", "download")
CSV_KINDS = usage_stats.DAY_KINDS
HOURS_SHOWN = 48
SYNC_RESULT_WORDS = ("result", "error", "status", "message")
# Longest a page waits for old events to be counted (a backlog after an upgrade); the rest comes later.
ROLL_UP_BUDGET_SECONDS = 2.0


def _offset() -> int:
    """Hours from UTC to the box's local time."""
    return setting("utc_offset_hours")


def _today() -> date:
    """The box's local date."""
    return usage_stats.local_now(_offset()).date()


def _period() -> int:
    """Days the page covers: the ``days`` argument if it is one of :data:`PERIODS`."""
    try:
        days = int(request.args.get("days", DEFAULT_PERIOD))
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def _days(days: int) -> list[str]:
    """The last ``days`` local dates, oldest first, as ISO text."""
    today = _today()
    return [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]


def _capacity() -> dict:
    """Phones on the Wi-Fi now, phones this hour, the home page's p95 over the last hour."""
    samples, p95 = current_app.extensions["home_times"].summary()
    _hour, phones = current_app.extensions["phone_counter"].current()
    return {"stations": wifi_stations(), "phones_this_hour": phones, "home_samples": samples, "home_p95": p95}


def _disk() -> dict:
    """Used, free and total bytes of the disk holding the data directory; ``full`` while writes fail for want of space."""
    usage = shutil.disk_usage(current_app.config["DATA_DIR"])
    full = current_app.extensions["events"].disk_full or usage.free == 0
    return {"total": usage.total, "used": usage.used, "free": usage.free, "full": full,
            "percent": round(100 * usage.used / usage.total) if usage.total else 0}


def _sync() -> dict | None:
    """The last sync as the page shows it: when, stage, release, and any result or error column."""
    row = usage_stats.last_sync(library().catalog)
    if row is None:
        return None
    extra = {name: value for name, value in row.items()
             if any(word in name for word in SYNC_RESULT_WORDS) and value not in (None, "")}
    return {"at": row.get("updated_at"), "stage": row.get("stage"), "release": row.get("applied_release"),
            "extra": extra}


def _roll_up() -> int:
    """Bring the daily counts up to date (buffered events first), within a time budget; return what is left."""
    current_app.extensions["events"].flush()
    current_app.extensions["phone_counter"].flush()
    catalog = library().catalog
    usage_stats.roll_up(catalog, _offset(), budget_seconds=ROLL_UP_BUDGET_SECONDS)
    return usage_stats.pending(catalog)


@bp.route("/")
def index():
    """The desk's front page: the collection, the box's capacity and disk, the last import and sync."""
    catalog = library().catalog
    return render_template(
        "admin/index.html", counts=Collection(catalog).status_counts(), capacity=_capacity(),
        disk=_disk(), sync=_sync(), last_import=(recent_runs(catalog, limit=1) or [None])[0],
    )


@bp.route("/stats")
def stats():
    """Reads, listens and downloads per day, top books, searches not found, phones per hour."""
    behind = _roll_up()
    catalog = library().catalog
    period = _period()
    days = _days(period)
    counts = usage_stats.daily_counts(catalog, days[0], days[-1])
    names = {"read": _("Reads per day"), "listen": _("Listens per day"), "download": _("Downloads per day")}
    charts = []
    for kind in CHART_KINDS:
        values = [counts.get(day, {}).get(kind, 0) for day in days]
        charts.append({"kind": kind, "name": names[kind], "total": sum(values),
                       "svg": bar_chart(values, label=names[kind], first=days[0][5:], last=days[-1][5:], css=kind)})
    now = usage_stats.local_now(_offset()).replace(minute=0, second=0, microsecond=0)
    hours = [(now - timedelta(hours=back)).strftime("%Y-%m-%d %H") for back in range(HOURS_SHOWN - 1, -1, -1)]
    per_hour = usage_stats.phones_per_hour(catalog, hours[0])
    this_hour, phones_now = current_app.extensions["phone_counter"].current()
    per_hour[this_hour] = max(per_hour.get(this_hour, 0), phones_now)
    phone_values = [per_hour.get(hour, 0) for hour in hours]
    today = _today()
    return render_template(
        "admin/stats.html", period=period, periods=PERIODS, charts=charts,
        searches=sum(counts.get(day, {}).get("search", 0) for day in days),
        views=sum(counts.get(day, {}).get("view", 0) for day in days),
        top_week=usage_stats.top_books(catalog, (today - timedelta(days=6)).isoformat()),
        top_month=usage_stats.top_books(catalog, (today - timedelta(days=29)).isoformat()),
        missed=usage_stats.missed_terms(catalog, (today - timedelta(days=period - 1)).isoformat()),
        phones_chart=bar_chart(phone_values, label=_("Phones active per hour"), first=hours[0][5:] + "h",
                               last=hours[-1][11:] + "h", css="phones"),
        busiest=max(phone_values, default=0),
        capacity=_capacity(), disk=_disk(), sync=_sync(), behind=behind,
    )


@bp.route("/stats.csv")
def stats_csv():
    """The period's figures per day as CSV: day, one column per kind of event, busiest hour's phones."""
    _roll_up()
    catalog = library().catalog
    days = _days(_period())
    counts = usage_stats.daily_counts(catalog, days[0], days[-1])
    busiest = usage_stats.busiest_hours_by_day(catalog, days[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", *CSV_KINDS, "phones_busiest_hour"])
    for day in days:
        writer.writerow([day, *(counts.get(day, {}).get(kind, 0) for kind in CSV_KINDS), busiest.get(day, 0)])
    name = f"readpoint-usage-{days[0]}-{days[-1]}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
