"""The audiobook player: a plain ``<audio>`` on ``/files/<sha256>`` and the chapter list.

``/listen/<id>?chapter=<n>`` works with JavaScript off: the chapter's file
with a ``#t=<start>`` media fragment, and every chapter a link. The page
script (``listen.js``) then plays on from chapter to chapter, sets the speed,
keeps the position in localStorage and drives the lock-screen controls.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from readpoint.positions import Position, position_for, remember
from readpoint.usage import record_event
from readpoint.views.common import book_or_404, file_url, library, small_number

__all__ = ["bp", "audio_chapters"]

bp = Blueprint("listen", __name__)


def audio_chapters(book_id: str) -> list[dict]:
    """The playable chapters of an audiobook: title, file URL, start and duration in seconds.

    A book whose reader found no chapters gets one per audio file.
    """
    catalog = library().catalog
    files = {row["sha256"]: row for row in catalog.files_of(book_id) if row["role"] in ("primary", "chapter")}
    chapters = []
    for row in catalog.chapters_of(book_id):
        if row["file_sha256"] in files:
            chapters.append({"title": row["title"], "sha256": row["file_sha256"], "start": row["start"] or 0.0,
                             "duration": row["duration"]})
    if not chapters:
        chapters = [{"title": row["name"], "sha256": sha, "start": 0.0, "duration": row["duration"]}
                    for sha, row in files.items()]
    for chapter in chapters:
        chapter["url"] = file_url(chapter["sha256"])
        chapter["media_type"] = files[chapter["sha256"]]["media_type"]
    return chapters


def _chosen_chapter(book_id: str, count: int) -> int:
    """The chapter asked for in ``?chapter=``, else this phone's, else the first."""
    asked = request.args.get("chapter")
    if asked is not None:
        number = small_number(asked)
        if number is None or not 1 <= number <= count:
            abort(404, description="No such chapter.")
        return number
    position = position_for(book_id)
    if position and position.kind == "l" and position.chapter <= count:
        return position.chapter
    return 1


@bp.route("/listen/<book_id>")
def player(book_id: str):
    """The player page of an audiobook."""
    book = book_or_404(book_id)
    if book["format"] != "audio":
        abort(404, description="This book is not an audiobook.")
    chapters = audio_chapters(book_id)
    if not chapters:
        abort(404, description="This audiobook has nothing to play.")
    number = _chosen_chapter(book_id, len(chapters))
    record_event("listen", book_id, str(number))
    response = Response(render_template("listen/player.html", book=book, chapters=chapters, number=number,
                                        current=chapters[number - 1]))
    remember(response, Position(book_id, "l", number))
    return response
