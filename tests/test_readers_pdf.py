"""Tests of content.readers.pdf on real PDFs generated with fpdf2 (tests.media.make_pdf)."""

import random
import unicodedata

import pytest

from content.errors import FileVerdict, RejectedFile
from content.readers.pdf import read_pdf
from tests.media import DEJAVU_SANS, make_jpeg, make_pdf

needs_unicode_font = pytest.mark.skipif(not DEJAVU_SANS.exists(), reason="fonts-dejavu-core is not installed")


@needs_unicode_font
def test_metadata_and_text_per_page(tmp_path):
    path = make_pdf(tmp_path / "lua.pdf", ["Nông nghiệp Việt Nam là nền tảng.", "Trang thứ hai về lúa nước."],
                    title="Kỹ thuật trồng lúa", author="Viện Lúa; Trần Văn C", subject="Hướng dẫn nông dân",
                    keywords="lúa, nông nghiệp; kỹ thuật")
    book = read_pdf(path)
    assert book.format == "pdf"
    assert book.files[0].media_type == "application/pdf" and book.files[0].path == path
    assert book.title == "Kỹ thuật trồng lúa"
    assert book.authors == ["Viện Lúa", "Trần Văn C"]
    assert book.description == "Hướng dẫn nông dân"
    assert book.subjects == ["lúa", "nông nghiệp", "kỹ thuật"]
    assert book.language == "vi"  # guessed from the text
    assert [c.title for c in book.chapters] == ["Trang 1", "Trang 2"]
    assert book.chapters[0].text == "Nông nghiệp Việt Nam là nền tảng."
    assert unicodedata.is_normalized("NFC", book.chapters[1].text)
    assert book.cover is None


def test_declared_language_and_title_fallback(tmp_path):
    path = make_pdf(tmp_path / "so_tay-nong_dan.pdf", ["Plain text"], language="en-US")
    book = read_pdf(path)
    assert book.title == "so tay nong dan"
    assert book.language == "en"


def test_word_processor_titles_are_cleaned(tmp_path):
    path = make_pdf(tmp_path / "a.pdf", ["x"], title="Microsoft Word - Bao cao nam.docx")
    assert read_pdf(path).title == "Bao cao nam"


def test_text_is_extracted_from_the_first_pages_only(tmp_path):
    path = make_pdf(tmp_path / "long.pdf", ["one", "two", "three"])
    book = read_pdf(path, max_text_pages=2)
    assert [c.text for c in book.chapters] == ["one", "two", ""]


def test_cover_from_a_full_page_image(tmp_path):
    path = make_pdf(tmp_path / "cover.pdf", ["Text after the cover"], cover=make_jpeg(400, 600))
    book = read_pdf(path)
    assert book.cover is not None and book.cover.startswith(b"\xff\xd8\xff")
    assert len(book.chapters) == 2


def test_password_protected_pdf_is_rejected(tmp_path):
    with pytest.raises(RejectedFile, match="^protected by a password$"):
        read_pdf(make_pdf(tmp_path / "secret.pdf", ["secret"], user_password="matkhau"))


@pytest.mark.parametrize("aes", [False, True])
def test_owner_password_only_pdf_opens(tmp_path, aes):
    book = read_pdf(make_pdf(tmp_path / "restricted.pdf", ["Open text"], owner_password="owner", aes=aes))
    assert book.chapters[0].text == "Open text"


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "not a valid PDF: the file is empty"),
    (b"<html>not a pdf</html>", "not a valid PDF: no PDF header"),
    (b"%PDF-1.7\n1 0 obj garbage", "not a valid PDF: the file is damaged or truncated"),
])
def test_broken_files_are_rejected(tmp_path, content, reason):
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(RejectedFile, match=reason):
        read_pdf(path)


def test_truncated_pdf_is_rejected(tmp_path):
    whole = make_pdf(tmp_path / "whole.pdf", ["page one", "page two"]).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(RejectedFile, match="not a valid PDF"):
        read_pdf(path)


def test_mangled_pdfs_end_in_a_verdict_never_a_crash(tmp_path):
    original = make_pdf(tmp_path / "good.pdf", ["Trang một", "Trang hai"], title="Sách").read_bytes()
    rng = random.Random(7)
    outcomes = set()
    for attempt in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"m{attempt}.pdf"
        if rng.random() < 0.3:
            del data[rng.randrange(len(data) // 2, len(data)) :]
        path.write_bytes(bytes(data))
        try:
            read_pdf(path)
            outcomes.add("read")
        except FileVerdict as verdict:
            outcomes.add(verdict.verdict)
    assert outcomes == {"read", "rejected"}
