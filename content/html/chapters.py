"""Render one chapter of a stored EPUB as safe HTML for the reader, and give out its images.

:func:`render_chapter` reads the chapter's member from the stored EPUB
(through :func:`content.readers.archive.open_safe_zip`: the store holds
accepted books, but the checks are cheap and a stored file is still input),
keeps the ``<body>``'s content, repairs what HTML parsers misread in XHTML
(self-closed ``<a id="x"/>``, ``xml:lang``, SVG cover images), rewrites
links and image sources with the caller's URL builders, sanitises it
(:mod:`content.html.sanitise`) and cuts it into phone-sized parts
(:mod:`content.html.parts`). The book's CSS is dropped: the reader uses ours.

:func:`read_resource` returns an image inside the EPUB with its media type;
nothing else in the archive (scripts, CSS, fonts, HTML) is ever served.

Errors: :class:`ChapterUnavailable` (a :class:`~content.errors.ContentError`)
when the chapter or image does not exist or cannot be read; a stored file
failing the archive checks raises :class:`~content.errors.RejectedFile`.
This module never imports Flask: URLs come from the callables passed in.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from content.errors import ContentError
from content.html.parts import DEFAULT_PART_BYTES, ids_in, split_html
from content.ingest.metadata import decode_markup
from content.readers.archive import SafeZip, join_member_path, open_safe_zip
from content.html.sanitise import ID_PREFIX, sanitise_html

__all__ = ["ChapterUnavailable", "RenderedChapter", "render_chapter", "read_resource", "IMAGE_TYPES"]

MAX_CHAPTER_BYTES = 16 * 1024 * 1024
MAX_RESOURCE_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml", ".bmp": "image/bmp",
}
_BODY = re.compile(r"<body\b([^>]*)>(.*?)(?:</body\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_LANG = re.compile(r"""\b(?:xml:)?lang\s*=\s*["']([A-Za-z0-9-]{1,35})["']""", re.IGNORECASE)
_VOID = "area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr"
_SELF_CLOSED = re.compile(rf"<(?!(?:{_VOID})\b)([a-zA-Z][\w:-]*)(\s[^<>]*?)?\s*/>")
_XML_LANG = re.compile(r"\bxml:lang\s*=", re.IGNORECASE)
_SVG_IMAGE = re.compile(
    r"<svg\b[^>]*>.*?<image\b[^>]*?\b(?:xlink:)?href\s*=\s*[\"']([^\"']+)[\"'].*?</svg\s*>",
    re.IGNORECASE | re.DOTALL,
)
_FRAGMENT_HREF = re.compile(r'href="#([^"]+)"')

ChapterUrl = Callable[[int, str], str]
"""``chapter_url(number, fragment)``: the reader URL of chapter ``number`` (1-based), at ``fragment``."""
ResourceUrl = Callable[[str], str]
"""``resource_url(member)``: the URL that serves the EPUB member (an image)."""


class ChapterUnavailable(ContentError):
    """The chapter or image asked for is not in the book, or cannot be read."""


@dataclass
class RenderedChapter:
    """One chapter ready for the reader: its safe HTML in parts, and where each id lives."""

    parts: list[str]
    lang: str = ""
    part_of_id: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Roughly the bytes this chapter holds in memory (for the cache's budget)."""
        return sum(len(part) for part in self.parts) * 2 + 64 * len(self.part_of_id)


def _repair_xhtml(markup: str) -> str:
    """What an HTML parser reads wrongly in XHTML: self-closed elements, xml:lang, SVG covers."""
    markup = _SVG_IMAGE.sub(lambda m: f'<img src="{m.group(1)}" alt="">', markup)
    markup = _SELF_CLOSED.sub(lambda m: f"<{m.group(1)}{m.group(2) or ''}></{m.group(1)}>", markup)
    return _XML_LANG.sub("lang=", markup)


def _body_and_lang(markup: str) -> tuple[str, str]:
    """The content of ``<body>`` (the whole text when there is none) and the document's language."""
    match = _BODY.search(markup)
    if match is None:
        head_lang = _LANG.search(markup[:4096])
        return markup, head_lang.group(1) if head_lang else ""
    body_lang = _LANG.search(match.group(1)) or _LANG.search(markup[: match.start()])
    return match.group(2), body_lang.group(1) if body_lang else ""


class _Links:
    """Rewrites the links and image sources of one chapter to reader and resource URLs."""

    def __init__(self, archive: SafeZip, member: str, spine: dict[str, int], chapter_url: ChapterUrl,
                 resource_url: ResourceUrl):
        """Links of ``member`` (in ``archive``); ``spine`` maps members to chapter numbers."""
        self.archive = archive
        self.base_dir = posixpath.dirname(member)
        self.member = member
        self.spine = spine
        self.chapter_url = chapter_url
        self.resource_url = resource_url

    def _target(self, value: str) -> str | None:
        """The archive member a relative URL names, or None (outside, remote, missing)."""
        path = join_member_path(self.base_dir, value)
        return self.archive.resolve(path) if path else None

    def __call__(self, tag: str, attribute: str, value: str) -> str | None:
        """The URL to write for ``value`` (see :data:`content.html.sanitise.UrlRewriter`)."""
        fragment = value.partition("#")[2]
        anchor = ID_PREFIX + fragment if fragment else ""
        if value.startswith("#"):
            return "#" + anchor if fragment else None
        target = self._target(value)
        if target is None:
            return None
        if tag == "a" and target in self.spine:
            if target == self.member:
                return "#" + anchor if anchor else None
            return self.chapter_url(self.spine[target], anchor)
        if posixpath.splitext(target)[1].lower() in IMAGE_TYPES:
            return self.resource_url(target)
        return None


def _spine_numbers(archive: SafeZip, hrefs: list[str]) -> dict[str, int]:
    """Archive member → 1-based chapter number (the first chapter that member starts)."""
    numbers: dict[str, int] = {}
    for number, href in enumerate(hrefs, 1):
        name = archive.resolve((href or "").partition("#")[0])
        if name:
            numbers.setdefault(name, number)
    return numbers


def _link_parts(parts: list[str], number: int, chapter_url: ChapterUrl) -> dict[str, int]:
    """Point in-chapter ``#id`` links at the right part; return id → part (1-based)."""
    part_of_id = {ident: index for index, part in enumerate(parts, 1) for ident in ids_in(part)}
    if len(parts) > 1:
        for index, part in enumerate(parts):
            def relink(match: re.Match, here: int = index + 1) -> str:
                """A same-part link as it is; a link to another part through the reader URL."""
                target = part_of_id.get(match.group(1), here)
                return match.group(0) if target == here else f'href="{chapter_url(number, match.group(1))}"'

            parts[index] = _FRAGMENT_HREF.sub(relink, part)
    return part_of_id


def render_chapter(epub_path: Path, hrefs: list[str], number: int, *, chapter_url: ChapterUrl,
                   resource_url: ResourceUrl, part_bytes: int = DEFAULT_PART_BYTES) -> RenderedChapter:
    """Chapter ``number`` (1-based) of the EPUB at ``epub_path``, whose chapters are at ``hrefs``."""
    if not 1 <= number <= len(hrefs) or not hrefs[number - 1]:
        raise ChapterUnavailable(f"no chapter {number}")
    with open_safe_zip(epub_path) as archive:
        member = archive.resolve(hrefs[number - 1].partition("#")[0])
        if member is None:
            raise ChapterUnavailable(f"chapter {number} points nowhere ({hrefs[number - 1]!r})")
        raw = archive.read(member, limit=MAX_CHAPTER_BYTES)
        body, lang = _body_and_lang(decode_markup(raw))
        links = _Links(archive, member, _spine_numbers(archive, hrefs), chapter_url, resource_url)
        safe = sanitise_html(_repair_xhtml(body), links)
    parts = split_html(safe, part_bytes)
    return RenderedChapter(parts=parts, lang=lang, part_of_id=_link_parts(parts, number, chapter_url))


def read_resource(epub_path: Path, member: str) -> tuple[bytes, str]:
    """The bytes and media type of an image inside the EPUB; ChapterUnavailable for anything else."""
    media_type = IMAGE_TYPES.get(posixpath.splitext(member)[1].lower())
    if media_type is None:
        raise ChapterUnavailable(f"not an image: {member!r}")
    with open_safe_zip(epub_path) as archive:
        name = archive.resolve(member)
        if name is None or join_member_path("", name) != name:
            raise ChapterUnavailable(f"no such member: {member!r}")
        if IMAGE_TYPES.get(posixpath.splitext(name)[1].lower()) != media_type:
            raise ChapterUnavailable(f"not an image: {name!r}")
        return archive.read(name, limit=MAX_RESOURCE_BYTES), media_type
