"""Numbers, sizes, durations, dates and language names as the phone's UI language writes them.

Template filters: ``number`` (``1.234`` in Vietnamese, ``1,234`` in Thai and
English), ``filesize`` (``1,5 MB``), ``duration`` (``1:02:03``) and
``bookdate`` (a full ISO date in the locale's medium form; a bare year or a
date we cannot read is shown as it is). ``language_name(code)`` names a
book language in the UI language.
"""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import format_date, format_decimal

from readpoint.i18n import current_locale, display_language

__all__ = ["init_app", "number", "filesize", "duration", "bookdate", "language_name"]

KB = 1024
MB = 1024 * 1024


def number(value: int | float) -> str:
    """A count in the UI locale's digits grouping."""
    return format_decimal(value)


def filesize(size: int | None) -> str:
    """A download size in KB or MB, one decimal for MB, in the UI locale."""
    size = size or 0
    if size < MB:
        return f"{format_decimal(max(1, round(size / KB)))} KB"
    return f"{format_decimal(size / MB, format='#,##0.0')} MB"


def duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss`` for an audio length (empty for an unknown one)."""
    if seconds is None or seconds < 0:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bookdate(value: str | None) -> str:
    """A book's publication date for display: full dates per locale, anything else as is."""
    if not value:
        return ""
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return format_date(parsed, "medium")


def language_name(code: str | None) -> str:
    """A book language's name in the UI language (the code itself when unknown)."""
    if not code:
        return ""
    return display_language(code, current_locale()) or code


def init_app(app: Flask) -> None:
    """Register the filters and the helper with Jinja."""
    app.jinja_env.filters.update(number=number, filesize=filesize, duration=duration, bookdate=bookdate)
    app.jinja_env.globals["language_name"] = language_name
