"""Clean-up of book metadata and text: what every reader's output goes through.

Readers hand over what the file says; this module turns it into what the
catalog stores: Unicode NFC (decomposed input breaks every tokenizer), no
HTML tags or entities, no control characters, collapsed whitespace,
BCP 47 language codes, de-duplicated authors and subjects. It also guesses a
language from the script of a text when a file declares none.

:func:`clean_book` applies all of it to a :class:`~content.parsed.ParsedBook`
and refuses absurd metadata (a title over 1,000 characters) with
:class:`~content.errors.RejectedFile`.

Only the standard library is used here. Chapter markup becomes text in
:mod:`content.html.text` (:func:`html_to_text` is re-exported here).
"""

from __future__ import annotations

import codecs
import dataclasses
import html
import logging
import re
import unicodedata

from content.errors import RejectedFile
from content.html.text import html_to_text, normalize_spacing
from content.parsed import ParsedBook, ParsedChapter

__all__ = [
    "MAX_TITLE_LENGTH",
    "clean_text",
    "clean_description",
    "clean_paragraphs",
    "clean_date",
    "html_to_text",
    "decode_markup",
    "guess_language",
    "normalize_language",
    "check_title",
    "clean_book",
]

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 1000
MAX_FIELD_LENGTH = 500  # authors, publisher, subjects: longer is noise, cut it
MAX_DESCRIPTION_LENGTH = 20_000
MAX_LIST_ITEMS = 50

_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]{0,2000}|!--.{0,2000}?--)>", re.DOTALL)

def clean_paragraphs(text: str) -> str:
    """Plain text (not HTML) as NFC lines: spaces collapsed, invisible characters and blank lines dropped."""
    return normalize_spacing(text or "", "\n")


def clean_text(value: object) -> str:
    """One line of clean text: NFC, no tags, entities decoded, whitespace collapsed.

    ``None`` becomes ``""``; anything else is converted with ``str``.
    """
    if value is None:
        return ""
    text = str(value)
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", text)
    text = html.unescape(text)
    return normalize_spacing(text.replace("\n", " "), " ")


def clean_description(value: object) -> str:
    """A description as plain-text paragraphs separated by blank lines (HTML is converted)."""
    if not value:
        return ""
    text = str(value)
    if _TAG.search(text):
        text = html_to_text(text)
    else:  # plain text: its line breaks are the paragraphs
        text = normalize_spacing(html.unescape(text), "\n")
    text = text.replace("\n", "\n\n")
    return text[:MAX_DESCRIPTION_LENGTH]


_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?")


def clean_date(value: object) -> str:
    """A publication date as ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` ('' if none is found).

    Accepts ISO dates with times (``2019-05-01T00:00:00Z``), PDF dates
    (``D:20190501...``) and any text starting with a year.
    """
    text = clean_text(value)
    match = _PDF_DATE.match(text) or _ISO_DATE.match(text)
    if not match:
        return ""
    year, month, day = match.groups()
    if not 1000 <= int(year) <= 2999:  # 0101-01-01 is Calibre's "unknown"
        return ""
    parts = [year]
    if month and 1 <= int(month) <= 12:
        parts.append(f"{int(month):02d}")
        if day and 1 <= int(day) <= 31:
            parts.append(f"{int(day):02d}")
    return "-".join(parts)


_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?([A-Za-z0-9._-]{1,40})""", re.IGNORECASE)


def _declared_encoding(head: bytes) -> str | None:
    """The encoding an XML declaration or an HTML ``<meta charset>`` names, if Python knows it."""
    match = _XML_ENCODING.match(head.lstrip()) or _META_CHARSET.search(head)
    if not match:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None


def decode_markup(raw: bytes) -> str:
    """Text of an XML/HTML file whose encoding is unknown: BOM, then UTF-8, then the declared one.

    UTF-8 comes before the declared encoding because files often declare one
    encoding and are written in another; Windows-1258 (Vietnamese) is the
    last resort, with undecodable bytes replaced.
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(encoding, "replace")
    if raw.startswith((b"<\x00?\x00", b"<\x00!\x00")):
        return raw.decode("utf-16-le", "replace")
    if raw.startswith((b"\x00<\x00?", b"\x00<\x00!")):
        return raw.decode("utf-16-be", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_encoding(raw[:2048])
    if declared and declared != "utf-8":
        try:
            return raw.decode(declared)
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1258", "replace")


# Letters only Vietnamese uses among Latin-script languages (ă đ ơ ư ĩ ũ and the
# Latin Extended Additional vowels with a tone mark: ạ ả ấ ầ ... ỹ).
_VIETNAMESE_LETTERS = re.compile("[ăđơưĩũĂĐƠƯĨŨ\u1ea0-\u1ef9]")
_MARKED_LATIN = re.compile("[àáâãèéêìíòóôõùúýăđơưĩũ\u1ea0-\u1ef9]", re.IGNORECASE)
_ENGLISH_WORDS = frozenset(
    "the and of to in is that for it with on as was are be this by from at or an have not".split()
)
_SCRIPTS = (  # (first, last, language)
    (0x0E00, 0x0E7F, "th"),
    (0xAA80, 0xAADF, "blt"),
    (0x0E80, 0x0EFF, "lo"),
    (0x1780, 0x17FF, "km"),
)


def _script_counts(text: str) -> tuple[dict[str, int], int]:
    """How many letters of each non-Latin script we know, and how many Latin letters."""
    counts = {language: 0 for *_, language in _SCRIPTS}
    latin = 0
    for char in text:
        code = ord(char)
        if code < 0x0250 and char.isalpha():
            latin += 1
            continue
        for first, last, language in _SCRIPTS:
            if first <= code <= last:
                counts[language] += 1
                break
    return counts, latin


def _guess_latin_language(text: str) -> str:
    """``vi`` or ``en`` for Latin-script text when the evidence is clear, else ``''``."""
    words = re.findall(r"[^\W\d_]+", text.casefold())
    if not words:
        return ""
    if _VIETNAMESE_LETTERS.search(text):
        marked = sum(1 for word in words if _MARKED_LATIN.search(word))
        if len(words) <= 3 or marked / len(words) >= 0.2:
            return "vi"
    english = sum(1 for word in words if word in _ENGLISH_WORDS)
    if len(words) >= 5 and english / len(words) >= 0.12:
        return "en"
    return ""


def guess_language(text: str) -> str:
    """A BCP 47 code guessed from the script of ``text``, or ``''`` when unsure.

    Thai script → ``th``, Tai Viet → ``blt`` (Tai Dam), Lao → ``lo``,
    Khmer → ``km``; Latin script with Vietnamese letters → ``vi``; Latin text
    full of common English words → ``en``; anything else → ``''``.
    """
    text = unicodedata.normalize("NFC", text or "")[:20_000]
    counts, latin = _script_counts(text)
    language, count = max(counts.items(), key=lambda item: item[1])
    if count and count >= latin:
        return language
    return _guess_latin_language(text) if latin else ""


_LANGUAGE_ALIASES = {
    "vie": "vi", "vietnamese": "vi", "tiếng việt": "vi", "tieng viet": "vi",
    "tha": "th", "thai": "th", "ไทย": "th", "ภาษาไทย": "th",
    "eng": "en", "english": "en", "tiếng anh": "en",
    "fra": "fr", "fre": "fr", "french": "fr", "deu": "de", "ger": "de", "german": "de",
    "lao": "lo", "khm": "km", "zho": "zh", "chi": "zh", "chinese": "zh", "jpn": "ja",
    "kor": "ko", "spa": "es", "rus": "ru", "tai dam": "blt", "tày đăm": "blt", "thái đen": "blt",
}
_NO_LANGUAGE = frozenset(["und", "mul", "zxx", "mis", "unknown", "none", "n/a", "xx"])
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|\d{3}))?(?:-.*)?$")


def normalize_language(code: object) -> str:
    """A BCP 47 language tag as the catalog stores it, or ``''`` if ``code`` is not one.

    ISO 639-2/3 codes and common names map to the two-letter code
    (``vie``/``Vietnamese`` → ``vi``, ``tha`` → ``th``); the region is
    dropped (``en-US`` → ``en``, ``vi_VN`` → ``vi``) because the library
    filters by written language, but a script subtag is kept
    (``zh-hant-tw`` → ``zh-Hant``).
    """
    text = clean_text(code).casefold().replace("_", "-")
    text = _LANGUAGE_ALIASES.get(text, text)
    match = _LANGUAGE_TAG.match(text)
    if not match or match.group(1) in _NO_LANGUAGE:
        return ""
    primary, script = _LANGUAGE_ALIASES.get(match.group(1), match.group(1)), match.group(2)
    return f"{primary}-{script.title()}" if script else primary


def check_title(title: str) -> None:
    """Refuses a title longer than :data:`MAX_TITLE_LENGTH` characters (absurd metadata)."""
    if len(title) > MAX_TITLE_LENGTH:
        raise RejectedFile(
            f"absurd metadata: the title is {len(title):,} characters long (at most {MAX_TITLE_LENGTH:,})"
        )


def _clean_list(values: list[str], *, split: bool = False) -> list[str]:
    """Cleaned, non-empty, case-insensitively de-duplicated values in their first order."""
    seen: set[str] = set()
    result = []
    for value in values:
        parts = re.split(r"\s*;\s*|\s+&\s+", str(value)) if split else [value]
        for part in parts:
            text = clean_text(part)[:MAX_FIELD_LENGTH]
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                result.append(text)
    return result[:MAX_LIST_ITEMS]


def _title_from_file(book: ParsedBook) -> str:
    """A title made from the first file's name: ``bai_hoc-so.1.epub`` → ``bai hoc so.1``."""
    if not book.files:
        return ""
    return clean_text(re.sub(r"[_]+|(?<=\w)-(?=\w)", " ", book.files[0].path.stem))


def _clean_chapter(chapter: ParsedChapter) -> ParsedChapter:
    """A chapter with a clean title and NFC text."""
    return dataclasses.replace(
        chapter,
        title=clean_text(chapter.title)[:MAX_FIELD_LENGTH],
        text=unicodedata.normalize("NFC", chapter.text),
    )


def _language_sample(book: ParsedBook, title: str, description: str) -> str:
    """Text to guess a language from: title, description and the start of the chapters."""
    sample = [title, description]
    for chapter in book.chapters:
        if sum(map(len, sample)) > 5000:
            break
        sample.append(chapter.text[:2000])
    return "\n".join(sample)


def clean_book(book: ParsedBook) -> ParsedBook:
    """A copy of ``book`` with every metadata field cleaned (idempotent).

    The title falls back to the file name; a title over 1,000 characters
    raises :class:`RejectedFile`. The language is normalised, or guessed from
    the text when the file declares none.
    """
    title = clean_text(book.title)
    check_title(title)
    title = title or _title_from_file(book)
    description = clean_description(book.description)
    chapters = [_clean_chapter(chapter) for chapter in book.chapters]
    language = normalize_language(book.language)
    if not language:
        language = guess_language(_language_sample(book, title, description))
    return dataclasses.replace(
        book,
        title=title,
        authors=_clean_list(book.authors, split=True),
        language=language,
        description=description,
        publisher=clean_text(book.publisher)[:MAX_FIELD_LENGTH],
        date=clean_date(book.date),
        subjects=_clean_list(book.subjects),
        identifiers=_clean_list(book.identifiers),
        chapters=chapters,
    )
