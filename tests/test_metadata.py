"""Tests of content.ingest.metadata: text clean-up, language guessing and clean_book."""

import unicodedata
from pathlib import Path

import pytest

from content.errors import RejectedFile
from content.ingest.metadata import (
    clean_book,
    clean_date,
    clean_description,
    clean_paragraphs,
    clean_text,
    decode_markup,
    guess_language,
    html_to_text,
    normalize_language,
)
from content.parsed import ParsedBook, ParsedChapter, ParsedFile


def nfd(text: str) -> str:
    """The decomposed form of ``text``, as macOS and some tools write it."""
    return unicodedata.normalize("NFD", text)


def test_clean_text_makes_nfc_and_strips_markup():
    raw = nfd("  <b>Nông</b>&nbsp;nghiệp \n\t Việt&amp;Nam\u00ad ")
    assert nfd("Nông") != "Nông"
    assert clean_text(raw) == "Nông nghiệp Việt&Nam"
    assert clean_text(None) == ""
    assert clean_text("a < b and c > d") == "a < b and c > d"


def test_clean_description_keeps_paragraphs():
    html = "<div><p>Một  cuốn\nsách.</p><p>Hai&#x20AC;</p><script>alert(1)</script></div>"
    assert clean_description(html) == "Một cuốn sách.\n\nHai€"
    assert clean_description("Dòng một\nDòng hai") == "Dòng một\n\nDòng hai"
    assert clean_description("") == ""


def test_html_to_text_skips_head_scripts_and_styles():
    html = ("<html><head><title>T</title><style>p{}</style></head><body><h1>Chương</h1>"
            "<p>Lúa <i>nước</i><br/>xanh</p><script>var x = '<p>no</p>';</script></body></html>")
    assert html_to_text(html) == "Chương\nLúa nước\nxanh"


def test_html_to_text_survives_a_missing_head_end_tag():
    assert html_to_text("<html><head><title>T</title><body><p>Nội dung</p>") == "Nội dung"


def test_clean_paragraphs_drops_blank_lines_and_controls():
    assert clean_paragraphs("a\x00b  c\r\n\n\n d ") == "ab c\nd"


@pytest.mark.parametrize(("raw", "expected"), [
    ("2019-05-01T00:00:00+00:00", "2019-05-01"),
    ("D:20190501120000+07'00'", "2019-05-01"),
    ("2019", "2019"),
    ("2019-13", "2019"),
    ("0101-01-01T00:00:00+00:00", ""),
    ("không rõ", ""),
])
def test_clean_date(raw, expected):
    assert clean_date(raw) == expected


def test_decode_markup_handles_boms_declarations_and_bad_utf8():
    text = "<p>Tiếng Việt</p>"
    assert decode_markup(text.encode("utf-8")) == text
    assert decode_markup(text.encode("utf-16")) == text
    assert decode_markup(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    declared = '<?xml version="1.0" encoding="windows-1258"?><p>Vi\xeat</p>'
    assert "Viêt" in decode_markup(declared.encode("cp1258"))
    latin = '<?xml version="1.0" encoding="iso-8859-1"?><p>caf\xe9</p>'.encode("latin-1")
    assert "café" in decode_markup(latin)
    assert "caf" in decode_markup(b"<p>caf\xe9 \x81</p>")  # undeclared, not UTF-8: no exception


@pytest.mark.parametrize(("text", "expected"), [
    ("Nông nghiệp Việt Nam", "vi"),
    (nfd("Đất nước tôi có nhiều cánh đồng lúa xanh"), "vi"),
    ("ห้องสมุดประชาชน", "th"),
    ("ꪼꪕ ꪎꪳ ꪅꪴ ꪻꪍꪣ", "blt"),
    ("The history of the rice farmers and the river", "en"),
    ("Le café est très bon à Paris", ""),
    ("", ""),
    ("12345 !!!", ""),
])
def test_guess_language(text, expected):
    assert guess_language(text) == expected


@pytest.mark.parametrize(("code", "expected"), [
    ("vie", "vi"), ("VI", "vi"), ("vi_VN", "vi"), ("en-US", "en"), ("tha", "th"), ("Vietnamese", "vi"),
    ("blt", "blt"), ("zh-hant-tw", "zh-Hant"), ("und", ""), ("Unknown", ""), ("12", ""), ("", ""), (None, ""),
])
def test_normalize_language(code, expected):
    assert normalize_language(code) == expected


def make_book(**fields) -> ParsedBook:
    """A ParsedBook of one EPUB file named like a librarian's download."""
    fields.setdefault("files", [ParsedFile(Path("/media/usb/truyen_co-tich.epub"), "application/epub+zip")])
    return ParsedBook(format="epub", **fields)


def test_clean_book_falls_back_to_file_name_and_guesses_language():
    book = clean_book(make_book(title="  ", chapters=[ParsedChapter("c", text="Ngày xửa ngày xưa có một cô Tấm")]))
    assert book.title == "truyen co tich"
    assert book.language == "vi"


def test_clean_book_cleans_and_deduplicates():
    book = clean_book(make_book(
        title=nfd("<i>Truyện</i> Kiều"),
        authors=["Nguyễn Du", " nguyễn du ", "Tô Hoài; Nam Cao", ""],
        subjects=["Thơ", "thơ", "Văn học"],
        language="vie",
        date="1820-01-01T00:00:00Z",
        description="<p>Một</p><p>Hai</p>",
        chapters=[ParsedChapter(nfd(" Hồi  1 "), text=nfd("Trăm năm"))],
    ))
    assert book.title == "Truyện Kiều"
    assert book.authors == ["Nguyễn Du", "Tô Hoài", "Nam Cao"]
    assert book.subjects == ["Thơ", "Văn học"]
    assert book.language == "vi"
    assert book.date == "1820-01-01"
    assert book.description == "Một\n\nHai"
    assert book.chapters[0].title == "Hồi 1"
    assert book.chapters[0].text == "Trăm năm"
    assert clean_book(book) == book  # idempotent


def test_clean_book_rejects_absurd_titles():
    with pytest.raises(RejectedFile, match="title"):
        clean_book(make_book(title="x" * 1001))
    assert len(clean_book(make_book(title="x" * 1000)).title) == 1000


def _old_normalize_spacing(text: str, separator: str) -> str:
    """The regular-expression spacing this module used before split-and-join (the reference)."""
    import re

    from content.html.text import _INVISIBLE

    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text).replace("\r", "\n"))
    lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n"))
    return separator.join(line for line in lines if line)


def test_spacing_collapses_every_unicode_space_as_before():
    from content.html.text import normalize_spacing

    spaces = "".join(chr(code) for code in range(0x110000) if chr(code).isspace())
    samples = [
        f"a{spaces}b\n{spaces}\n c",
        "  Lúa \t nước \r\n\r\n xanh\u00a0\u00a0lắm \u2028 mới\u3000\u3000 ",
        "x\x1c\x1dy\x85z\u200bw\u00ad\ufeffv",
        "\n\n \n",
        "",
        " Lúa nước xanh \n\n mùa gặt\n \n  \nhai  dấu cách\n\ue000 riêng \U000e0001\n\ud800",
        nfd(" Nông nghiệp ") + "\n" + nfd("Việt\u00adNam  "),
    ] + [f"{char}a{char}{char}b{char}\n{char}" for char in spaces]
    for text in samples:
        for separator in ("\n", " "):
            assert normalize_spacing(text, separator) == _old_normalize_spacing(text, separator)


def test_printable_characters_are_neither_spaces_nor_invisible():
    # normalize_spacing only trims a printable line without a double space, which is
    # right only while no printable character but " " is a space or an invisible one.
    from content.html.text import _INVISIBLE

    printable = "".join(char for char in map(chr, range(0x110000)) if char.isprintable() and char != " ")
    assert not _INVISIBLE.search(printable)
    assert not any(char.isspace() for char in printable)


def test_html_to_text_keeps_paragraphs_with_unusual_spaces():
    html = "<p>Lúa\u00a0 nước\u2003\txanh</p>\n<p>  </p><div>mùa\u2028gặt</div>"
    assert html_to_text(html) == "Lúa nước xanh\nmùa gặt"
