"""Where this phone was reading or listening, and how it likes to read: cookies, no account.

``pos`` holds the last few books as ``<book id>.<kind>.<chapter>.<part>``
entries joined by ``~``, most recent first; kind ``r`` is the EPUB reader,
``p`` the PDF reader, ``l`` the audiobook player. The reader and player pages
write it on the server, so resuming works with JavaScript off; the page's
script keeps finer positions (scroll, seconds) in the phone's localStorage.
Nothing in these cookies identifies the phone: the server never logs them.

``fs`` is the reader's font size step (1-5) and ``theme`` is ``night`` for
night mode, set by :func:`set_preference` from plain links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Response, request

__all__ = [
    "Position", "read_positions", "remember", "position_for", "font_step", "night_mode",
    "set_preference", "FONT_STEPS", "DEFAULT_FONT_STEP", "COOKIE_YEAR",
]

POSITIONS_COOKIE = "pos"
MAX_POSITIONS = 8
FONT_STEPS = range(1, 6)
DEFAULT_FONT_STEP = 3
COOKIE_YEAR = 365 * 24 * 3600
_ENTRY = re.compile(r"([0-9A-Za-z_-]{1,64})\.([rpl])\.(\d{1,5})\.(\d{1,4})")


@dataclass(frozen=True)
class Position:
    """One book's place on this phone."""

    book_id: str
    kind: str  # "r" EPUB reader, "p" PDF reader, "l" audiobook player
    chapter: int = 1
    part: int = 1

    def encode(self) -> str:
        """The cookie form of this position."""
        return f"{self.book_id}.{self.kind}.{self.chapter}.{self.part}"


def read_positions() -> list[Position]:
    """The positions in this request's cookie, most recent first (garbage ignored)."""
    positions = []
    for entry in request.cookies.get(POSITIONS_COOKIE, "").split("~")[:MAX_POSITIONS]:
        match = _ENTRY.fullmatch(entry)
        if match:
            book_id, kind, chapter, part = match.groups()
            positions.append(Position(book_id, kind, max(int(chapter), 1), max(int(part), 1)))
    return positions


def position_for(book_id: str) -> Position | None:
    """This phone's position in one book, if it has one."""
    return next((p for p in read_positions() if p.book_id == book_id), None)


def remember(response: Response, position: Position) -> None:
    """Put ``position`` first in the cookie of ``response`` (one entry per book)."""
    kept = [p for p in read_positions() if p.book_id != position.book_id]
    value = "~".join(p.encode() for p in [position, *kept][:MAX_POSITIONS])
    response.set_cookie(POSITIONS_COOKIE, value, max_age=COOKIE_YEAR, samesite="Lax", httponly=True)


def font_step() -> int:
    """The reader's font size step for this phone."""
    value = request.cookies.get("fs", "")
    return int(value) if _is_font_step(value) else DEFAULT_FONT_STEP


def _is_font_step(value: str) -> bool:
    """Whether ``value`` names a font step ("²" and "٣" pass ``isdigit`` but are not one)."""
    return value in {str(step) for step in FONT_STEPS}


def night_mode() -> bool:
    """Whether this phone asked for night mode."""
    return request.cookies.get("theme") == "night"


def set_preference(response: Response, *, font: str | None, theme: str | None) -> bool:
    """Set the font-size and theme cookies from query values; False if a value is not allowed."""
    if font is not None:
        if not _is_font_step(font):
            return False
        response.set_cookie("fs", font, max_age=COOKIE_YEAR, samesite="Lax", httponly=True)
    if theme is not None:
        if theme not in ("day", "night"):
            return False
        response.set_cookie("theme", theme, max_age=COOKIE_YEAR, samesite="Lax", httponly=True)
    return True
