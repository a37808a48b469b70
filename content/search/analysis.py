"""Text analysis for search: one pipeline for index and query time, whatever the engine.

The steps (DESIGN.md, "Search"):

1. Unicode NFC, so decomposed input (``n o ̂ n g``) becomes the same word as composed input.
2. Words are runs of letters, digits and combining marks (Unicode L, M, N). Marks are part
   of words: Thai vowel and tone marks never split a word, unlike ``\\w``.
3. Runs in scripts written without spaces (Thai, Lao, Khmer, Myanmar) are cut into words
   by ICU's dictionary word break iterator (``th`` locale).
4. Each word is case folded (the *exact* form, tones kept) and folded again into the
   *folded* form: Latin, Greek and Cyrillic diacritics removed, ``đ`` → ``d``. Thai, Tai
   Viet and other scripts keep their marks.
5. Tai Viet (Tai Dam) has no dictionary: words are the syllables as spaced in the text; a
   run that looks like several syllables written without spaces also yields the bigrams
   of its character clusters, so a syllable inside it can be found.

Engines receive pre-analysed strings (tokens joined by single spaces) from
:func:`index_streams`; queries and snippets use :func:`tokenize`, which keeps offsets.
ICU is imported here and nowhere else.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import icu

__all__ = [
    "ANALYSIS_VERSION",
    "MAX_TOKEN_CHARS",
    "Token",
    "normalize",
    "fold_token",
    "tokenize",
    "index_streams",
    "segment_words",
    "tai_viet_clusters",
    "tai_viet_bigrams",
    "looks_unspaced_tai_viet",
    "word_char_class",
    "fold_view",
    "folding_pattern",
]

# Bump whenever the tokens produced for a given text change: indexes built with
# another version are stale and get rebuilt.
ANALYSIS_VERSION = 2  # 2: exact streams aligned with folded ones; field boundaries

# Longer "words" are noise (base64, runs of digits from a PDF, a 10,000-character
# query): they are neither indexed nor searched for.
MAX_TOKEN_CHARS = 64

# Scripts written without spaces between words, segmented with ICU's dictionaries.
_DICTIONARY_SCRIPTS = "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"
_TAI_VIET = "\uaa80-\uaadf"
_SPECIAL_RE = re.compile(f"([{_DICTIONARY_SCRIPTS}]+)|([{_TAI_VIET}]+)")

# Tai Viet vowels written before the consonant they follow in speech: each one
# starts a syllable.
_TAI_VIET_PREVOWELS = frozenset("\uaab5\uaab6\uaab9\uaabb\uaabc")
_TAI_VIET_TONES = frozenset("\uaabf\uaac0\uaac1\uaac2")

# Letters with no Unicode decomposition that readers still type without their stroke.
_STROKE_FOLDS = str.maketrans({"đ": "d", "ð": "d", "ł": "l", "ø": "o", "ħ": "h", "ı": "i", "ŧ": "t"})

_local = threading.local()


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its exact (case folded) and folded forms and where it is in the NFC text.

    ``run`` numbers the run of word characters the token came from: the segments of
    one unspaced Thai run share it. ``grams`` holds the cluster bigrams of a Tai
    Viet run that looks unspaced (empty otherwise).
    """

    exact: str
    folded: str
    start: int
    end: int
    run: int
    script: str = "latin"  # "latin" (any spaced script), "dictionary" (Thai...), "taiviet"
    grams: tuple[str, ...] = ()


@functools.cache
def word_char_class() -> str:
    """The regex character class body (no brackets) of word characters.

    ``\\w`` (letters and digits, and the underscore, which callers replace by a space
    first) plus every combining mark (Unicode M), which ``\\w`` leaves out.
    """
    marks = icu.UnicodeSet("[[:M:]]")
    parts = ["\\w"]
    for low, high in marks.ranges():  # PyICU gives each range's ends as characters
        parts.append(re.escape(low) + ("-" + re.escape(high) if high != low else ""))
    return "".join(parts)


@functools.cache
def _word_re() -> re.Pattern:
    """Runs of word characters (in text whose underscores were replaced by spaces)."""
    return re.compile(f"[{word_char_class()}]+")


# A plain piece of text in NFC: one Latin word (a Latin letter or ASCII digit, then more
# of them or combining diacritics U+0300-U+036F), maybe with common punctuation around it.
# tokenize() finds that word and nothing else in it, so index_streams folds it directly.
# × and ÷ sit among the Latin letters but are not letters.
_LATIN_ALNUM = "0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_PLAIN_PUNCTUATION = re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~¡«»¿–—‘’“”…")  # not _
_PLAIN_PIECE_RE = re.compile(
    f"[{_PLAIN_PUNCTUATION}]*([{_LATIN_ALNUM}][{_LATIN_ALNUM}\u0300-\u036f]*)[{_PLAIN_PUNCTUATION}]*"
)


def normalize(text: str) -> str:
    """Unicode NFC (no case folding: offsets into the result stay those of the text shown)."""
    return unicodedata.normalize("NFC", text)


def _strip_marks(word: str) -> str:
    """Remove combining marks that sit on Latin, Greek or Cyrillic letters."""
    decomposed = unicodedata.normalize("NFD", word)
    kept = []
    base = 0
    for char in decomposed:
        if unicodedata.combining(char):
            if base < 0x0530 or 0x1E00 <= base <= 0x1FFF:
                continue
        else:
            base = ord(char)
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


# About 350 bytes an entry: 50,000 words (~17 MB) in each process that analyses text
# (the server and the importer's readers), not the ~70 MB that 200,000 would take.
@functools.lru_cache(maxsize=50_000)
def fold_token(word: str) -> tuple[str, str]:
    """``(exact, folded)`` forms of one NFC word: case folded, then diacritics removed.

    >>> fold_token("Đường")
    ('đường', 'duong')
    """
    exact = unicodedata.normalize("NFC", word.casefold())
    if exact.isascii():
        return exact, exact
    folded = _strip_marks(exact)
    return exact, folded if folded.isascii() else folded.translate(_STROKE_FOLDS)


def _break_iterator():
    """This thread's ICU word break iterator (they are not thread-safe)."""
    iterator = getattr(_local, "break_iterator", None)
    if iterator is None:
        iterator = icu.BreakIterator.createWordInstance(icu.Locale("th"))
        _local.break_iterator = iterator
    return iterator


def _utf16_to_index(text: str) -> list[int] | None:
    """Map UTF-16 code unit offsets to code point offsets; None when they are equal (BMP)."""
    if all(ord(char) < 0x10000 for char in text):
        return None
    mapping = []
    for index, char in enumerate(text):
        mapping.append(index)
        if ord(char) >= 0x10000:
            mapping.append(index)
    mapping.append(len(text))
    return mapping


def segment_words(text: str) -> list[tuple[int, int]]:
    """ICU word segments of ``text`` as (start, end) code point offsets, spaces included.

    ICU reports boundaries in UTF-16 code units; they are converted, so text with
    characters outside the BMP (emoji, math letters) gets correct offsets.
    """
    iterator = _break_iterator()
    iterator.setText(text)
    mapping = _utf16_to_index(text)
    segments = []
    start = iterator.first()
    for end in iterator:
        if mapping is None:
            segments.append((start, end))
        else:
            segments.append((mapping[start], mapping[end]))
        start = end
    return segments


def tai_viet_clusters(word: str) -> list[str]:
    """Split Tai Viet text into clusters: a base character with the marks that follow it."""
    clusters: list[str] = []
    for char in word:
        if clusters and unicodedata.category(char) == "Mn":
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def tai_viet_bigrams(word: str) -> tuple[str, ...]:
    """Bigrams of the clusters of a Tai Viet word (empty for a single cluster)."""
    clusters = tai_viet_clusters(word)
    return tuple(a + b for a, b in zip(clusters, clusters[1:]))


def looks_unspaced_tai_viet(word: str) -> bool:
    """Whether a Tai Viet run looks like more than one syllable written without spaces.

    A syllable is [pre-vowel] consonant [w] [vowels] [final consonant] [tone]. More
    than that is several syllables: a pre-vowel after the start, a tone mark followed
    by another letter, more than three consonants or more than five clusters.
    """
    clusters = tai_viet_clusters(word)
    if len(clusters) > 5:
        return True
    consonants = 0
    for index, cluster in enumerate(clusters):
        base = cluster[0]
        if index and base in _TAI_VIET_PREVOWELS:
            return True
        if "\uaa80" <= base <= "\uaaaf":
            consonants += 1
        if index < len(clusters) - 1 and any(char in _TAI_VIET_TONES for char in cluster):
            return True
    return consonants > 3


def _is_all_marks(text: str) -> bool:
    """Whether every character is a combining mark (a stray mark is not a word)."""
    return all(unicodedata.category(char).startswith("M") for char in text)


def _split_run(run: str) -> Iterator[tuple[str, int, int, str]]:
    """Cut one run of word characters into (word, start, end, script) by script."""
    position = 0
    for match in _SPECIAL_RE.finditer(run):
        if match.start() > position:
            yield run[position : match.start()], position, match.start(), "latin"
        if match.group(1):
            for start, end in segment_words(match.group(1)):
                yield match.group(1)[start:end], match.start() + start, match.start() + end, "dictionary"
        else:
            yield match.group(2), match.start(), match.end(), "taiviet"
        position = match.end()
    if position < len(run):
        yield run[position:], position, len(run), "latin"


def tokenize(text: str) -> list[Token]:
    """Every token of ``text`` (already NFC or not) with offsets into ``normalize(text)``."""
    text = normalize(text)
    tokens = []
    for run_index, match in enumerate(_word_re().finditer(text.replace("_", " "))):
        run = match.group()
        if run.isascii() or not _SPECIAL_RE.search(run):
            pieces: Iterator[tuple[str, int, int, str]] = iter([(run, 0, len(run), "latin")])
        else:
            pieces = _split_run(run)
        for word, start, end, script in pieces:
            if len(word) > MAX_TOKEN_CHARS or _is_all_marks(word):
                continue
            exact, folded = fold_token(word)
            grams = ()
            if script == "taiviet" and looks_unspaced_tai_viet(word):
                grams = tai_viet_bigrams(word)
            tokens.append(
                Token(exact, folded, match.start() + start, match.start() + end, run_index, script, grams)
            )
    return tokens


def index_streams(text: str) -> tuple[str, str]:
    """The two strings an engine indexes for ``text``: (folded stream, exact stream).

    The folded stream has every token's folded form in order, each Tai Viet run that
    looks unspaced followed by its cluster bigrams. The exact stream has the same
    tokens at the same positions in their exact form (tones kept), so a phrase typed
    with marks is matched as typed; it is empty when it would equal the folded stream
    (a text without a word with marks: no query with marks can match it).

    No token spans whitespace and NFC never acts across it (tests check both), so the
    text is cut at whitespace and each piece's streams are looked up in a cache of
    analysed pieces: books repeat a few thousand pieces tens of thousands of times.
    Lookups and joins run at C speed. Cutting the UTF-8 bytes is faster than cutting
    the string; ``surrogatepass`` carries lone surrogates through unchanged.
    """
    pieces = text.encode("utf-8", "surrogatepass").split()
    folded = "".join(map(_PIECES.folded.__getitem__, pieces))[:-1]  # drop the last space
    exact = "".join(map(_PIECES.exact.__getitem__, pieces))[:-1]
    return folded, "" if exact == folded else exact


class _StreamOfPiece(dict):
    """One stream of each piece in a :class:`_PieceCache`; a missing piece is analysed."""

    __slots__ = ("cache",)

    def __init__(self, cache: _PieceCache) -> None:
        """An empty stream filled by ``cache``."""
        super().__init__()
        self.cache = cache

    def __missing__(self, piece: bytes) -> str:
        """Analyse ``piece`` (the cache keeps both its streams) and give this stream."""
        self.cache.add(piece)
        return self[piece]


class _PieceCache:
    """The folded and exact streams of the pieces of text analysed lately, by UTF-8 piece.

    Each stream is kept with a space after it, or empty when it has no token, so
    joining the streams of a text's pieces with nothing between them gives single
    spaces. Kept between calls, as a library repeats one vocabulary book after book;
    emptied when it would hold more than about ``max_bytes`` of memory. Threads may
    share it: a piece another thread's emptying removed is simply analysed again.
    """

    def __init__(self, max_bytes: int) -> None:
        """An empty cache."""
        self.folded = _StreamOfPiece(self)
        self.exact = _StreamOfPiece(self)
        self.max_bytes = max_bytes
        self.size = 0

    def add(self, piece: bytes) -> None:
        """Analyse ``piece`` and keep its streams."""
        folded, exact = _piece_streams(piece.decode("utf-8", "surrogatepass"))
        cost = 300 + len(piece) + 2 * (len(folded) + len(exact))  # objects, dict slots, text
        if self.size + cost > self.max_bytes:
            self.folded.clear()
            self.exact.clear()
            self.size = 0
        self.size += cost
        self.folded[piece] = folded + " " if folded else ""
        self.exact[piece] = exact + " " if exact else ""


_PIECES = _PieceCache(max_bytes=16 * 2**20)


def _piece_streams(piece: str) -> tuple[str, str]:
    """:func:`index_streams` of one piece of text without whitespace.

    A plain piece, most of a book, is folded directly: its word is the one token
    :func:`tokenize` would find in it.
    """
    plain = _PLAIN_PIECE_RE.fullmatch(normalize(piece))
    if plain and len(plain[1]) <= MAX_TOKEN_CHARS:
        exact, folded = fold_token(plain[1])
        return folded, exact
    return _aligned_streams(piece)


def _aligned_streams(text: str) -> tuple[str, str]:
    """The folded and exact streams of ``text``, token for token (the exact one never emptied)."""
    folded_out: list[str] = []
    exact_out: list[str] = []
    for token in tokenize(text):
        folded_out.append(token.folded)
        folded_out.extend(token.grams)
        exact_out.append(token.exact)
        exact_out.extend(token.grams)
    return " ".join(folded_out), " ".join(exact_out)


def _word_by_word_streams(text: str) -> tuple[str, str]:
    """:func:`index_streams` of ``text`` from its :func:`tokenize` tokens, one by one."""
    folded, exact = _aligned_streams(text)
    return folded, "" if exact == folded else exact


@functools.cache
def _fold_view_table() -> dict[int, str]:
    """A translation table folding single characters without changing the text's length."""
    table: dict[int, str] = {}
    for code in list(range(0x41, 0x5B)) + list(range(0xC0, 0x530)) + list(range(0x1E00, 0x2000)):
        char = chr(code)
        if unicodedata.category(char)[0] != "L":
            continue
        folded = fold_token(char)[1]
        if len(folded) == 1 and folded != char:
            table[code] = folded
    return table


def fold_view(text: str) -> str:
    """Fold an NFC text character by character, keeping every offset (for snippets).

    Characters whose folded form is not a single character are left as they are.
    """
    return text.translate(_fold_view_table())


@functools.cache
def _folded_from() -> dict[str, str]:
    """For each folded character, every character :func:`fold_view` turns into it, itself first."""
    sources: dict[str, list[str]] = {}
    for code, folded in _fold_view_table().items():
        sources.setdefault(folded, [folded]).append(chr(code))
    return {folded: "".join(chars) for folded, chars in sources.items()}


@functools.lru_cache(maxsize=1024)
def folding_pattern(word: str) -> str:
    """A regex matching, in unfolded NFC text, what :func:`fold_view` would show as ``word``.

    ``lua`` becomes ``[lLĺĹ…][uUùÙ…][aAàÀ…]``: searching the text itself with it
    costs a fifth of folding the text first.
    """
    sources = _folded_from()
    parts = []
    for char in word:
        chars = sources.get(char)
        parts.append("[" + re.escape(chars) + "]" if chars else re.escape(char))
    return "".join(parts)
