"""Snippets: a short window of a chapter's text around the query's words, matches marked.

Matching runs on a folded view of the text that keeps every offset
(:func:`content.search.analysis.fold_view`), so ``lua nuoc`` marks ``lúa nước``
in the original text without analysing the whole chapter again.
"""

from __future__ import annotations

import re
import time

from content.search.analysis import fold_view, normalize, word_char_class
from content.search.query import ParsedQuery
from content.search.results import Segment

__all__ = ["SNIPPET_CHARS", "match_pattern", "make_snippet"]

SNIPPET_CHARS = 220
_MAX_MATCHES = 300
_CHUNK_CHARS = 2048
_SNAP_CHARS = 24
_SPACE_RE = re.compile(r"\s+")


def match_pattern(parsed: ParsedQuery) -> re.Pattern | None:
    """A regex finding the query's folded tokens in a :func:`fold_view` of a text."""
    spaced = sorted({t.folded for t in parsed.tokens if t.script == "latin"}, key=len, reverse=True)
    unspaced = sorted({t.folded for t in parsed.tokens if t.script != "latin"}, key=len, reverse=True)
    parts = []
    if spaced:
        word = word_char_class()
        alternatives = "|".join(map(re.escape, spaced))
        parts.append(f"(?<![{word}])(?:{alternatives})(?![{word}])")
    if unspaced:
        parts.append("|".join(map(re.escape, unspaced)))
    return re.compile("|".join(parts)) if parts else None


def _best_anchor(matches: list[re.Match], width: int) -> int:
    """Index of the match whose window holds the most distinct matched words."""
    best, best_count = 0, 0
    for index, match in enumerate(matches):
        seen = set()
        for other in matches[index:]:  # matches are in text order: stop past the window
            if other.start() >= match.start() + width:
                break
            seen.add(other.group())
        if len(seen) > best_count:
            best, best_count = index, len(seen)
    return best


def _window(text: str, anchor: int, width: int) -> tuple[int, int]:
    """(start, end) of a window around ``anchor``, snapped to spaces where one is near."""
    start = max(0, anchor - width // 4)
    if start:
        space = text.find(" ", start, start + _SNAP_CHARS)
        start = space + 1 if space != -1 and space < anchor else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", end - _SNAP_CHARS, end)
        end = space if space > anchor else end
    return start, end


def _clean(text: str) -> str:
    """Collapse runs of white space (line breaks in PDF text) to one space."""
    return _SPACE_RE.sub(" ", text)


def _matches(view: str, pattern: re.Pattern | None) -> list[re.Match]:
    """The first matches of ``pattern`` in a folded view."""
    if pattern is None:
        return []
    matches = []
    for match in pattern.finditer(view):
        matches.append(match)
        if len(matches) >= _MAX_MATCHES:
            break
    return matches


def _first_chunk_with_matches(text: str, pattern: re.Pattern | None, width: int, deadline: float | None):
    """(offset, NFC chunk, matches) of the first chunk of ``text`` where the query matches.

    Folding a whole long chapter costs more than the search itself: chunks are folded
    one after the other until one matches (the first chunk if none does, or if the
    ``time.monotonic()`` ``deadline`` passes first).
    """
    for offset in range(0, len(text), _CHUNK_CHARS):
        if deadline is not None and offset and time.monotonic() >= deadline:
            break
        chunk = normalize(text[offset : offset + _CHUNK_CHARS + width])
        matches = _matches(fold_view(chunk).replace("_", " "), pattern)
        if matches:
            return offset, chunk, matches
    return 0, normalize(text[: _CHUNK_CHARS + width]), []


def make_snippet(text: str, pattern: re.Pattern | None, width: int = SNIPPET_CHARS, *,
                 deadline: float | None = None) -> tuple[Segment, ...]:
    """Segments ``(text, is_match)`` of a window of ``text``; its start if nothing matches by ``deadline``."""
    text = text or ""
    if not text.strip():
        return ()
    offset, chunk, matches = _first_chunk_with_matches(text, pattern, width, deadline)
    anchor = matches[_best_anchor(matches, width)].start() if matches else 0
    start, end = _window(chunk, anchor, width)
    segments: list[Segment] = [("…", False)] if offset + start else []
    position = start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        if match.start() > position:
            segments.append((_clean(chunk[position : match.start()]), False))
        if segments and segments[-1][1] and match.start() == position:
            segments[-1] = (segments[-1][0] + chunk[match.start() : match.end()], True)  # ห้อง|สมุด
        else:
            segments.append((chunk[match.start() : match.end()], True))
        position = match.end()
    if end > position:
        segments.append((_clean(chunk[position:end]), False))
    if end < len(chunk) or offset + _CHUNK_CHARS + width < len(text):
        segments.append(("…", False))
    return tuple(segments)
