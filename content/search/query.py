"""What a reader asks for (:class:`SearchQuery`) and what the engines make of it (:class:`ParsedQuery`).

A query is an AND of clauses. A clause is one word, a word that analysis cut into
several tokens (an unspaced Thai run: its segments must be adjacent), or a quoted
phrase. Nothing in the text is syntax but double quotes: ``OR``, ``NEAR(``, ``*``,
``-`` and ``:`` are words or separators, so no input can break an engine's query
language. Queries are capped (:data:`MAX_QUERY_CHARS`, :data:`MAX_CLAUSES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from content.search.analysis import Token, normalize, tai_viet_bigrams, tokenize

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_CLAUSES",
    "MAX_PER_PAGE",
    "MAX_PAGE",
    "DEFAULT_BUDGET_SECONDS",
    "SearchQuery",
    "Clause",
    "ParsedQuery",
    "parse_query",
]

MAX_QUERY_CHARS = 200
MAX_CLAUSES = 10
MAX_PER_PAGE = 100
MAX_PAGE = 500
DEFAULT_BUDGET_SECONDS = 2.0

# ASCII and typographic double quotes (phones turn " into “ and ”).
_QUOTES_RE = re.compile("[\"\u201c\u201d\u201e\u201f\u00ab\u00bb]")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


@dataclass(frozen=True)
class SearchQuery:
    """One search: the words typed, optional filters and the page wanted.

    ``budget`` is the most time, in seconds, the engine may spend (None: the
    engine's default). Out-of-range values are clamped by :meth:`clamped`, never
    refused: a query string comes straight from a phone.
    """

    text: str
    lang: str | None = None
    format: str | None = None
    category: str | None = None
    page: int = 1
    per_page: int = 20
    budget: float | None = None

    def clamped(self) -> SearchQuery:
        """This query with page, per_page and filters brought within bounds."""
        lang = (self.lang or "").strip().lower() or None
        if lang and not _LANG_RE.match(lang):
            lang = "-invalid-"  # a language no book has: an empty result, not an error
        return replace(
            self,
            text=self.text or "",
            lang=lang,
            format=(self.format or "").strip().lower() or None,
            category=(self.category or "").strip() or None,
            page=min(max(int(1 if self.page is None else self.page), 1), MAX_PAGE),
            per_page=min(max(int(20 if self.per_page is None else self.per_page), 1), MAX_PER_PAGE),
        )


@dataclass(frozen=True)
class Clause:
    """Tokens that must all match, adjacent and in order when there are several."""

    tokens: tuple[Token, ...]
    quoted: bool = False

    @property
    def is_syllable(self) -> bool:
        """Whether the clause is one Tai Viet word (syllable or unspaced run)."""
        return len(self.tokens) == 1 and self.tokens[0].script == "taiviet"

    @property
    def stream(self) -> tuple[str, ...]:
        """The folded tokens as the index holds them (Tai Viet bigrams included in phrases)."""
        if self.is_syllable:
            return (self.tokens[0].folded,)
        out: list[str] = []
        for token in self.tokens:
            out.append(token.folded)
            out.extend(token.grams)
        return tuple(out)

    @property
    def exact_stream(self) -> tuple[str, ...]:
        """:attr:`stream` with each token in its exact form (tones kept), as typed."""
        if self.is_syllable:
            return (self.tokens[0].exact,)
        out: list[str] = []
        for token in self.tokens:
            out.append(token.exact)
            out.extend(token.grams)
        return tuple(out)

    @property
    def marked(self) -> tuple[str, ...]:
        """Exact forms of the tokens typed with marks (tones): looked up to rank exact matches."""
        return tuple(token.exact for token in self.tokens if token.exact != token.folded)

    @property
    def alternative(self) -> tuple[str, ...]:
        """For one Tai Viet word: its cluster bigrams, a phrase found inside unspaced runs."""
        if self.is_syllable:
            return tai_viet_bigrams(self.tokens[0].folded)
        return ()


@dataclass(frozen=True)
class ParsedQuery:
    """The clauses of a query, its NFC text, and the tokens to highlight."""

    text: str
    clauses: tuple[Clause, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        """Whether nothing searchable is left (empty, punctuation only, absurd)."""
        return not self.clauses

    @property
    def has_marks(self) -> bool:
        """Whether any word was typed with tone marks or diacritics."""
        return any(clause.marked for clause in self.clauses)

    @property
    def adjacency(self) -> tuple[str, ...]:
        """The whole query as one phrase, to rank adjacent words first (empty if one clause)."""
        if len(self.clauses) < 2:
            return ()
        return tuple(token for clause in self.clauses for token in clause.stream)

    @property
    def exact_adjacency(self) -> tuple[str, ...]:
        """:attr:`adjacency` in exact forms (tones kept): the whole query as typed."""
        if len(self.clauses) < 2:
            return ()
        return tuple(token for clause in self.clauses for token in clause.exact_stream)

    @property
    def tokens(self) -> tuple[Token, ...]:
        """Every token of every clause, in order."""
        return tuple(token for clause in self.clauses for token in clause.tokens)


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the text between pairs of quotes; an unclosed quote runs to the end."""
    marks = [match.start() for match in _QUOTES_RE.finditer(text)]
    if len(marks) % 2:
        marks.append(len(text))
    return list(zip(marks[::2], marks[1::2]))


def parse_query(text: str) -> ParsedQuery:
    """Analyse a query exactly as documents are analysed, and group its tokens into clauses."""
    text = normalize(text or "")[:MAX_QUERY_CHARS]
    spans = _quoted_spans(text)
    clauses: list[Clause] = []
    current: list[Token] = []
    current_key: tuple | None = None
    for token in tokenize(text):
        span = next((s for s in spans if s[0] < token.start < s[1]), None)
        key = ("quoted", span) if span else ("run", token.run)
        if key != current_key and current:
            clauses.append(Clause(tuple(current), quoted=current_key[0] == "quoted"))
            current = []
        current_key = key
        current.append(token)
    if current:
        clauses.append(Clause(tuple(current), quoted=current_key[0] == "quoted"))
    return ParsedQuery(text=text, clauses=tuple(clauses[:MAX_CLAUSES]))
