"""The readers: EPUB chapters rendered on the box, the PDF reader, the reader's preferences.

``/read/<id>`` opens a book where this phone left it (EPUB) or the pdf.js
reader (PDF); ``/read/<id>/<n>`` is chapter ``n`` (1-based; ``?part=`` for
long chapters cut in parts, ``?to=<id>`` picks the part holding an anchor);
``/read/<id>/contents`` the table of contents; ``/read/<id>/res/<member>``
an image from inside the EPUB; ``/prefs`` sets font size and night mode from
plain links. Rendered chapters come from an in-memory LRU
(:mod:`readpoint.chapter_cache`), so a chapter page is a few catalog lookups
and a template.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from markupsafe import Markup

from content.html.chapters import ChapterUnavailable, RenderedChapter, read_resource, render_chapter
from content.errors import ContentError
from readpoint.chapter_cache import ChapterCache, chapter_cache
from readpoint.fragment_cache import FragmentCache, page_key
from readpoint.positions import Position, font_step, night_mode, position_for, remember, set_preference
from readpoint.usage import record_event
from readpoint.views.common import book_or_404, library, local_path, small_number

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("reader", __name__)
RESOURCE_CACHE = "public, max-age=86400"


@bp.record_once
def _set_up_app(state) -> None:
    """Every app serving the reader gets its own chapter cache, and templates see night mode."""
    state.app.extensions["chapter_cache"] = ChapterCache()
    state.app.extensions["chapter_pages"] = FragmentCache(max_bytes=8 * 1024 * 1024)
    state.app.jinja_env.globals["night_mode"] = night_mode


def _primary_sha(book_id: str) -> str:
    """The sha256 of a book's main file (the EPUB or PDF), or 404."""
    for row in library().catalog.files_of(book_id):
        if row["role"] == "primary":
            return row["sha256"]
    abort(404)


def _chapter_url(book_id: str):
    """The chapter-URL builder for :func:`render_chapter` (anchors as ``?to=`` and ``#``)."""

    def chapter_url(number: int, anchor: str) -> str:
        """``/read/<id>/<n>``, with ``?to=<anchor>#<anchor>`` when the link has one."""
        if anchor:
            return url_for("reader.chapter", book_id=book_id, chapter=number, to=anchor) + "#" + anchor
        return url_for("reader.chapter", book_id=book_id, chapter=number)

    return chapter_url


def _rendered(book_id: str, sha: str, hrefs: list[str], number: int) -> RenderedChapter:
    """Chapter ``number`` of the book, from the cache or rendered now; 404 if it cannot be."""

    def render() -> RenderedChapter:
        """Render the chapter from the stored EPUB."""
        return render_chapter(
            library().store.path_for(sha), hrefs, number,
            chapter_url=_chapter_url(book_id),
            resource_url=lambda member: url_for("reader.resource", book_id=book_id, member=member),
        )

    try:
        return chapter_cache().get_or_render((sha, number), render)
    except ChapterUnavailable as error:
        abort(404, description=str(error))
    except (ContentError, OSError) as error:
        log.warning("cannot render chapter %s of %s: %s", number, book_id, error)
        abort(404, description="This chapter cannot be shown.")


def _part_number(rendered: RenderedChapter) -> int:
    """The part asked for: ``?to=<anchor>``, ``?part=last`` or ``?part=<n>`` (default 1)."""
    count = len(rendered.parts)
    anchor = request.args.get("to", "")
    if anchor in rendered.part_of_id:
        return rendered.part_of_id[anchor]
    asked = request.args.get("part", "1")
    if asked == "last":
        return count
    number = small_number(asked)
    if number is None or not 1 <= number <= count:
        abort(404, description="No such page.")
    return number


def _neighbours(book_id: str, number: int, part: int, parts: int, chapters: int) -> tuple:
    """The URLs of the previous and next page (part or chapter), None at either end."""
    if part > 1:
        previous = url_for("reader.chapter", book_id=book_id, chapter=number, part=part - 1)
    elif number > 1:
        previous = url_for("reader.chapter", book_id=book_id, chapter=number - 1, part="last")
    else:
        previous = None
    if part < parts:
        following = url_for("reader.chapter", book_id=book_id, chapter=number, part=part + 1)
    elif number < chapters:
        following = url_for("reader.chapter", book_id=book_id, chapter=number + 1)
    else:
        following = None
    return previous, following


def _chapter_page(book_id: str, chapter: int) -> tuple[str, int]:
    """The HTML of a chapter page and the part it shows (404 for what is not there)."""
    book = book_or_404(book_id)
    if book["format"] != "epub":
        abort(404, description="This book has no chapters to read here.")
    chapters = library().catalog.chapters_of(book_id)
    if not 1 <= chapter <= len(chapters):
        abort(404, description="No such chapter.")
    rendered = _rendered(book_id, _primary_sha(book_id), [c["href"] or "" for c in chapters], chapter)
    part = _part_number(rendered)
    previous, following = _neighbours(book_id, chapter, part, len(rendered.parts), len(chapters))
    html = render_template(
        "reader/chapter.html",
        book=book, number=chapter, count=len(chapters), title=chapters[chapter - 1]["title"],
        part=part, parts=len(rendered.parts), html=Markup(rendered.parts[part - 1]),
        text_lang=rendered.lang or book["language"] or "und",
        previous=previous, following=following, font=font_step(),
    )
    return html, part


@bp.route("/read/<book_id>/<int:chapter>")
def chapter(book_id: str, chapter: int):
    """One chapter (or one part of a long one) of an EPUB, server-rendered and sanitised.

    The whole page is kept (:mod:`readpoint.fragment_cache`) for the same URL,
    UI language, font size and theme until the catalog changes: a phone turning
    pages costs a lookup, not a render.
    """
    pages: FragmentCache = current_app.extensions["chapter_pages"]
    html, part = pages.get(page_key(font_step()), lambda: _chapter_page(book_id, chapter))
    record_event("read", book_id, str(chapter))
    response = Response(html, mimetype="text/html")
    remember(response, Position(book_id, "r", chapter, part))
    return response


@bp.route("/read/<book_id>")
def open_book(book_id: str):
    """Open a book: an EPUB where this phone left it, a PDF in the pdf.js reader."""
    book = book_or_404(book_id)
    if book["format"] == "audio":
        return redirect(url_for("listen.player", book_id=book_id))
    if book["format"] == "epub":
        position = position_for(book_id)
        if position and position.kind == "r":
            return redirect(url_for("reader.chapter", book_id=book_id, chapter=position.chapter,
                                    part=position.part if position.part > 1 else None))
        return redirect(url_for("reader.chapter", book_id=book_id,
                                chapter=library().catalog.first_text_chapter(book_id)))
    sha = _primary_sha(book_id)
    size = next(f["size"] for f in library().catalog.files_of(book_id) if f["sha256"] == sha)
    record_event("read", book_id)
    response = Response(render_template("reader/pdf.html", book=book, sha=sha, size=size))
    remember(response, Position(book_id, "p"))
    return response


@bp.route("/read/<book_id>/contents")
def contents(book_id: str):
    """The table of contents of an EPUB, this phone's chapter marked."""
    book = book_or_404(book_id)
    if book["format"] != "epub":
        abort(404)
    position = position_for(book_id)
    return render_template(
        "reader/contents.html", book=book, chapters=library().catalog.chapters_of(book_id),
        current=position.chapter if position and position.kind == "r" else None,
    )


@bp.route("/read/<book_id>/res/<path:member>")
def resource(book_id: str, member: str):
    """An image from inside an EPUB (nothing else in the archive is ever served)."""
    book = book_or_404(book_id)
    if book["format"] != "epub" or len(member) > 1024:
        abort(404)
    sha = _primary_sha(book_id)
    etag = hashlib.sha256(f"{sha}/{member}".encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"', "Cache-Control": RESOURCE_CACHE})
    try:
        data, media_type = read_resource(library().store.path_for(sha), member)
    except ChapterUnavailable:
        abort(404)
    except (ContentError, OSError) as error:
        log.warning("cannot read %r from %s: %s", member, book_id, error)
        abort(404)
    response = Response(data, mimetype=media_type)
    response.headers.update({"ETag": f'"{etag}"', "Cache-Control": RESOURCE_CACHE})
    if media_type == "image/svg+xml":
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response



@bp.route("/prefs")
def preferences():
    """Set the reader's font size (``fs``) and night mode (``theme``) and go back.

    ``?js=1`` (the page script) answers 204 instead of redirecting.
    """
    back = local_path(request.args.get("back")) or url_for("home.index")
    response = Response(status=204) if request.args.get("js") == "1" else redirect(back)
    if not set_preference(response, font=request.args.get("fs"), theme=request.args.get("theme")):
        abort(400, description="Unknown preference.")
    return response
