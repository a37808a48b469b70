"""Plain text from the (X)HTML of a chapter: what search indexes and snippets show.

:func:`html_to_text` reads markup with regular expressions, cutting it where
Python 3.11's ``html.parser`` did (the parser it replaced, several times
slower), drops scripts, styles and the head, decodes entities and keeps one
paragraph per block element. :func:`normalize_spacing` is the clean-up every
text of :mod:`content.ingest.metadata` goes through: NFC, no invisible characters,
single spaces.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["html_to_text", "normalize_spacing"]

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption dd div dl dt figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIPPED_TAGS = frozenset(["script", "style", "head", "template", "title"])
_RAW_TEXT_TAGS = ("script", "style")  # their content is not markup: it runs to the end tag
# C0/C1 controls except tab and newline, soft hyphen, BOM: never part of text.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\ufeff]")
# html_to_text cuts a document where Python 3.11's html.parser did (the parser it replaced).
# The first pattern finds the next markup and reads the common tags whole: a name, quoted
# attributes without < or >, an optional "/" (a subset of what html.parser reads as a
# complete tag). Other markup is read one step at a time with the patterns after it,
# copied from html.parser and _markupbase.
_NEXT_MARKUP = re.compile(r"""
    <(?=[a-zA-Z/!?])                                    # (any other "<" is text)
    (?:
        ([a-zA-Z][a-zA-Z0-9]*)                          # 1: start tag name
        (?:[ \t\n\r\f]+[a-zA-Z_:][-a-zA-Z0-9_:.]*[ \t\n\r\f]*=[ \t\n\r\f]*(?:"[^"<>]*"|'[^'<>]*'))*
        [ \t\n\r\f]*(/?)>                               # 2: "/" of a self-closing tag
      | /([a-zA-Z][a-zA-Z0-9]*)[ \t\n\r\f]*>            # 3: end tag name
      |                                                 # any other markup: read step by step
    )""", re.VERBOSE)
_START_TAG_EXTENT = re.compile(r"""
    <([a-zA-Z][^\t\n\r\f />\x00]*)
    (?:[\s/]*
      (?:(?<=['"\s/])[^\s/>][^\s/=>]*
        (?:\s*=+\s*(?:'[^']*'|"[^"]*"|(?!['"])[^>\s]*)\s*)?
        (?:\s|/(?!>))*
      )*
    )?
    \s*""", re.VERBOSE)
_TAG_NAME = re.compile(r"([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*")
_ATTRIBUTE = re.compile(r"""
    (?<=['"\s/])[^\s/>][^\s/=>]*
    (?:\s*=+\s*(?:'[^']*'|"[^"]*"|(?!['"])[^>\s]*))?
    (?:\s|/(?!>))*""", re.VERBOSE)
_END_TAG = re.compile(r"</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>")
_COMMENT_END = re.compile(r"--\s*>")
_SECTION_KEYWORD = re.compile(r"[a-zA-Z][-_.a-zA-Z0-9]*\s*")
_SECTION_END = re.compile(r"]\s*]\s*>")
_MS_SECTION_END = re.compile(r"]\s*>")  # <![if !IE]> ... <![endif]>
_SECTION_ENDS = {"temp": _SECTION_END, "cdata": _SECTION_END, "ignore": _SECTION_END,
                 "include": _SECTION_END, "rcdata": _SECTION_END,
                 "if": _MS_SECTION_END, "else": _MS_SECTION_END, "endif": _MS_SECTION_END}
# The end of a script or style: html.parser looks for it case-insensitively but only
# accepts ASCII letters (its re.I pattern also matches "ſcript", then reads it as text).
_RAW_TEXT_ENDS = {tag: re.compile(rf"</\s*(?a:(?i:{tag}))\s*>") for tag in _RAW_TEXT_TAGS}
_INCOMPLETE_TAG_FOLLOWERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ=/")


def _decoded(text: str) -> str:
    """Text between tags as the reader sees it: entities decoded, line breaks made spaces."""
    return html.unescape(text).replace("\r", " ").replace("\n", " ")


class _TextScanner:
    """One pass over an HTML/XHTML document that keeps its text, one paragraph per block element.

    Markup is delimited as Python 3.11's html.parser delimits it, including its recovery
    from broken markup (an unclosed construct is text up to the next ">"), with three
    exceptions that keep the time linear in the length of any input, where html.parser
    could take quadratic time or raise:

    * nothing after the last ">" of a document is markup: it is all text, decoded
      (html.parser left ``<x`` of ``<x\\0`` undecoded);
    * an unknown ``<![`` section is skipped up to the next ">" like a comment
      (html.parser raised AssertionError);
    * start tags left open are read past their first ">" only until such readings may
      have covered the document's length plus a million characters (see
      :meth:`general_start_tag`).
    """

    def __init__(self, markup: str) -> None:
        self.markup = markup
        self.parts: list[str] = []
        self.open_skipped: dict[str, int] = {}  # script, style, head... elements still open
        self.hidden = False  # inside a skipped element: text is dropped
        self.raw_text_tag = ""  # a script or style just opened: its content is not markup
        self.next: dict[str, int] = {">": -1, '"': -1, "'": -1}  # see following()
        # Characters that start tags left open may still read past their ">" (see general_start_tag).
        self.open_tag_budget = len(markup) + 1_000_000
        self.absent: dict[re.Pattern, int] = {}  # pattern: position after which it never matches
        self.last_gt = markup.rfind(">")  # no markup can end after it

    def text(self) -> str:
        """The text of the whole document: paragraphs separated by "\\n", spacing not yet tidied."""
        position = 0
        while position < len(self.markup):
            position = self.read_from(position)
        return "".join(self.parts)

    def read_from(self, position: int) -> int:
        """Reads text and common tags from ``position`` up to markup that moves the reading on.

        Returns where to go on reading: after that markup, or the end of the document.
        """
        markup = self.markup
        append = self.parts.append
        hidden = self.hidden
        for found in _NEXT_MARKUP.finditer(markup, position):
            start, end = found.span()
            if start > position and not hidden:
                text = markup[position:start]
                append(_decoded(text) if "&" in text else text)
            kind = found.lastindex
            if kind == 2:  # a common start tag
                position = end
                tag = found[1].lower()
                if tag in _BLOCK_TAGS:
                    append("\n")
                elif tag in _SKIPPED_TAGS or tag == "body":
                    self.start_tag(tag, found[2] == "/")
                    if self.raw_text_tag:
                        return self.skip_raw_text(end)
                    hidden = self.hidden
            elif kind == 3:  # a common end tag
                position = end
                tag = found[3].lower()
                if tag in _BLOCK_TAGS:
                    append("\n")
                elif tag in _SKIPPED_TAGS:
                    self.end_tag(tag)
                    hidden = self.hidden
            elif start > self.last_gt:  # nothing can end this markup: the rest is text
                position = start
                break
            else:
                end = self.other_markup(start)
                return self.skip_raw_text(end) if self.raw_text_tag else end
        if not hidden:
            append(_decoded(markup[position:]))
        return len(markup)

    def start_tag(self, tag: str, self_closing: bool) -> None:
        """Opens a skipped element, starts a paragraph, or (``<body>``) shows the text again."""
        if self_closing:  # <br/>; a self-closing <script/> or <head/> opens nothing
            if tag in _BLOCK_TAGS:
                self.parts.append("\n")
            return
        if tag == "body":  # a missing </head> must not hide the whole book
            self.open_skipped.clear()
        if tag in _SKIPPED_TAGS:
            self.open_skipped[tag] = self.open_skipped.get(tag, 0) + 1
            if tag in _RAW_TEXT_TAGS:
                self.raw_text_tag = tag
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        self.hidden = any(self.open_skipped.values())

    def end_tag(self, tag: str) -> None:
        """Closes a skipped element or ends a paragraph."""
        if self.open_skipped.get(tag):
            self.open_skipped[tag] -= 1
            self.hidden = any(self.open_skipped.values())
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def skip_raw_text(self, position: int) -> int:
        """Drops the content of a script or style up to its end tag (or, if none, the document)."""
        tag, self.raw_text_tag = self.raw_text_tag, ""
        end = _RAW_TEXT_ENDS[tag].search(self.markup, position)
        if end is None:
            return len(self.markup)
        self.end_tag(tag)
        return end.end()

    def other_markup(self, start: int) -> int:
        """Reads the markup at ``start``, a "<" with a ">" somewhere after it; returns where it ends."""
        markup = self.markup
        kind = markup[start + 1]
        if kind == "/":
            end = self.general_end_tag(start)
        elif kind == "?":
            end = markup.find(">", start + 2) + 1
        elif kind != "!":
            end = self.general_start_tag(start)
        elif markup.startswith("<!--", start):
            close = self.search_from(_COMMENT_END, start + 4)
            end = close.end() if close else -1
        elif markup.startswith("<![", start):
            end = self.marked_section(start)
        else:  # a doctype or a bogus comment
            end = markup.find(">", start + 2) + 1
        if end < 0:  # unclosed: html.parser makes it text up to the next ">"
            end = markup.find(">", start + 1) + 1
            if not self.hidden:
                self.parts.append(_decoded(markup[start:end]))
        return end

    def general_start_tag(self, start: int) -> int:
        """Reads a start tag as html.parser does; returns its end, or -1 if it never closes.

        Only a quoted attribute value can hold a ">", so a tag without quotes before its
        first ">" is read up to there. A tag with quotes is read as far as html.parser
        reads it: for a tag left open (an unclosed quote) that may be to the end of the
        document, after which reading starts again just after the "<". Once such
        readings may have covered the document's length plus a million characters,
        tags with quotes also end at their first ">".
        """
        markup = self.markup
        limit = self.following(">", start) + 1
        quote = min(self.following('"', start), self.following("'", start))
        if quote < limit and self.open_tag_budget > 0:
            limit = len(markup)
        extent = _START_TAG_EXTENT.match(markup, start, limit)
        stop = extent.end()
        after = markup[stop] if stop < limit else ""
        if after == ">":
            end = stop + 1
        elif after == "/" and markup.startswith("/>", stop):
            end = stop + 2
        elif not after or after in _INCOMPLETE_TAG_FOLLOWERS:
            if limit == len(markup):
                self.open_tag_budget -= len(markup) - start
            return -1
        else:
            end = stop
        position = _TAG_NAME.match(markup, start + 1).end()
        while position < end and (attribute := _ATTRIBUTE.match(markup, position, limit)):
            position = attribute.end()
        closing = markup[position:end].strip()
        if closing not in (">", "/>"):  # html.parser keeps such a tag as text, undecoded
            if not self.hidden:
                self.parts.append(markup[start:end])
            return end
        tag = extent.group(1).lower()
        if tag in _BLOCK_TAGS or tag in _SKIPPED_TAGS or tag == "body":
            self.start_tag(tag, closing == "/>")
        return end

    def general_end_tag(self, start: int) -> int:
        """Reads an end tag (or what html.parser takes for a bogus comment); returns its end."""
        markup = self.markup
        if found := _END_TAG.match(markup, start):
            self.end_tag(found.group(1).lower())
            return found.end()
        if name := _TAG_NAME.match(markup, start + 2):
            self.end_tag(name.group(1).lower())
            return markup.find(">", name.end()) + 1
        if markup.startswith("</>", start):
            return start + 3
        return markup.find(">", start + 2) + 1

    def marked_section(self, start: int) -> int:
        """Skips a ``<![CDATA[...]]>`` or ``<![if ...]>`` section; returns its end, or -1."""
        markup = self.markup
        keyword = _SECTION_KEYWORD.match(markup, start + 3)
        if keyword and keyword.end() == len(markup):
            return -1
        close = _SECTION_ENDS.get(keyword.group().strip().lower()) if keyword else None
        if close is None:  # html.parser raises AssertionError; HTML skips it as a comment
            return markup.find(">", start + 2) + 1
        found = self.search_from(close, start + 3)
        return found.end() if found else -1

    def following(self, character: str, position: int) -> int:
        """Where the first ``character`` at or after ``position`` is (the document's length if none).

        Each character is looked for again only once ``position`` has passed it, so
        that asking at growing positions costs one reading of the document.
        """
        if self.next[character] < position:
            found = self.markup.find(character, position)
            self.next[character] = len(self.markup) if found < 0 else found
        return self.next[character]

    def search_from(self, pattern: re.Pattern, position: int) -> re.Match | None:
        """``pattern.search`` from ``position``, not repeated once it has found nothing."""
        if position >= self.absent.get(pattern, len(self.markup) + 1):
            return None
        found = pattern.search(self.markup, position)
        if found is None:
            self.absent[pattern] = position
        return found


def normalize_spacing(text: str, paragraph_separator: str) -> str:
    """NFC, no invisible characters, single spaces, non-empty paragraphs joined."""
    paragraphs = []
    for line in unicodedata.normalize("NFC", text).replace("\r", "\n").split("\n"):
        # A printable line (no control, format or space character but " ") without a double
        # space only needs its ends trimmed: checking that is much faster than splitting it.
        if line.isprintable() and "  " not in line:
            line = line.strip(" ")
        else:
            # Split-and-join collapses the same whitespace as re's \s (str.isspace: Unicode's
            # White_Space) and is several times faster than a regular expression.
            line = " ".join(_INVISIBLE.sub("", line).split())
        if line:
            paragraphs.append(line)
    return paragraph_separator.join(paragraphs)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML/XHTML document or fragment: paragraphs separated by ``\\n``.

    Scripts, styles and the head are dropped; entities are decoded; the result
    is NFC with whitespace collapsed inside each paragraph. Line breaks in the
    markup are spaces: only block elements (``<p>``, ``<br/>``...) break lines.
    """
    # Line breaks act as spaces inside markup too, so replacing them first changes nothing else.
    markup = markup.replace("\r", " ").replace("\n", " ")
    return normalize_spacing(_TextScanner(markup).text(), "\n")
