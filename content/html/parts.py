"""Cut a long sanitised HTML fragment into parts a phone can load, at element boundaries.

Some EPUBs hold a whole book in one spine document; one page of 1 MB is too
much for a cheap phone on the box's Wi-Fi. :func:`split_html` cuts the
fragment written by :func:`content.html.sanitise.sanitise_html` (well-formed,
``<`` in text escaped, only allow-listed tags) between sibling elements, never
inside a paragraph, list or table: the containers that are open at a cut
(``div``, ``section``...) are closed at the end of one part and opened again,
without their ``id``, at the start of the next.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_PART_BYTES", "split_html", "ids_in"]

DEFAULT_PART_BYTES = 48 * 1024
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_ID = re.compile(r'\sid="([^"]*)"')
_VOID = frozenset({"br", "hr", "img", "wbr", "col"})
# Containers a cut may pass through: closing and reopening them changes nothing visible.
_CUTTABLE = frozenset({"div", "section", "article", "aside", "header", "footer", "nav", "blockquote",
                       "center", "hgroup", "figure"})


def ids_in(fragment: str) -> list[str]:
    """The ``id`` values in a sanitised fragment, in order."""
    return _ID.findall(fragment)


def _reopen(stack: list[tuple[str, str]]) -> str:
    """The start tags of the open containers, ids removed (an id lives in one part only)."""
    return "".join(_ID.sub("", start) for _name, start in stack)


def _close(stack: list[tuple[str, str]]) -> str:
    """The end tags closing the open containers, innermost first."""
    return "".join(f"</{name}>" for name, _start in reversed(stack))


def split_html(fragment: str, max_bytes: int = DEFAULT_PART_BYTES) -> list[str]:
    """``fragment`` as one or more parts of about ``max_bytes`` (UTF-8) each; never an empty list."""
    if len(fragment.encode("utf-8")) <= max_bytes:
        return [fragment]
    parts: list[str] = []
    stack: list[tuple[str, str]] = []
    start = 0  # where the current part's own text begins in fragment
    prefix = ""  # reopened containers at the head of the current part
    size = 0
    position = 0
    for match in _TAG.finditer(fragment):
        size += len(fragment[position:match.end()].encode("utf-8"))
        position = match.end()
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID:
            pass
        elif closing:
            if stack and stack[-1][0] == name:
                stack.pop()
        else:
            stack.append((name, match.group(0)))
            continue
        at_boundary = all(open_name in _CUTTABLE for open_name, _ in stack)
        if size >= max_bytes and at_boundary and name not in _VOID:
            parts.append(prefix + fragment[start:position] + _close(stack))
            prefix, start, size = _reopen(stack), position, 0
    tail = fragment[start:]
    # A tail of nothing but end tags was already closed at the last cut.
    if not parts or _TAG.sub("", tail).strip() or "<img" in tail:
        parts.append(prefix + tail)
    return parts
