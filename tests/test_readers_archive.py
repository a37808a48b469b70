"""Tests of content.readers.archive: hostile zips are refused before any parser sees them."""

import os
import subprocess
import sys
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest

from content.errors import RejectedFile
from content.readers.archive import DamagedMember, join_member_path, open_safe_zip
from tests.media import make_epub, make_zip_bomb, write_raw_zip

ROOT = Path(__file__).resolve().parent.parent

MEMORY_LIMITED_READ = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from pathlib import Path
from content.errors import RejectedFile
from content.readers.epub import read_epub
try:
    read_epub(Path(sys.argv[1]))
except RejectedFile as error:
    print("REJECTED:", error.reason)
else:
    print("ACCEPTED")
"""


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    """A stored (uncompressed) member for write_raw_zip."""
    return name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data)


def read_in_subprocess(path: Path) -> str:
    """What read_epub says about ``path`` in a Python limited to 1 GiB of address space."""
    result = subprocess.run([sys.executable, "-c", MEMORY_LIMITED_READ, str(path)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(("name", "reason"), [
    ("../evil.txt", "outside the book"),
    ("OEBPS/../../evil.txt", "outside the book"),
    ("/etc/passwd", "absolute path"),
    ("C:/Windows/evil.dll", "absolute path"),
    ("OEBPS\\evil.txt", "backslash"),
])
def test_unsafe_member_names_are_rejected(tmp_path, name, reason):
    path = write_raw_zip(tmp_path / "bad.epub", [stored("mimetype", b"application/epub+zip"), stored(name, b"x")])
    with pytest.raises(RejectedFile, match=reason):
        open_safe_zip(path)


def test_not_a_zip_empty_and_truncated(tmp_path):
    (tmp_path / "text.epub").write_text("just some text", encoding="utf-8")
    (tmp_path / "empty.epub").write_bytes(b"")
    whole = make_epub(tmp_path / "whole.epub").read_bytes()
    (tmp_path / "cut.epub").write_bytes(whole[: len(whole) // 2])
    expectations = {"text.epub": "not a valid EPUB: not a zip archive", "empty.epub": "empty",
                    "cut.epub": "damaged or truncated"}
    for name, reason in expectations.items():
        with pytest.raises(RejectedFile, match=reason):
            open_safe_zip(tmp_path / name)


def test_encrypted_members_are_rejected(tmp_path):
    name, data, method, crc, size = stored("OEBPS/ch1.xhtml", b"secret")
    path = tmp_path / "locked.epub"
    write_raw_zip(path, [(name, data, method, crc, size)])
    raw = bytearray(path.read_bytes())
    raw[6] |= 1  # general purpose flag, local header: encrypted
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 8] |= 1  # and in the central directory
    path.write_bytes(bytes(raw))
    with pytest.raises(RejectedFile, match="password"):
        open_safe_zip(path)


def test_too_many_members_are_rejected_before_listing(tmp_path):
    path = write_raw_zip(tmp_path / "many.epub", [stored(f"f{i}.txt", b"x") for i in range(50)])
    with pytest.raises(RejectedFile, match="50 files"):
        open_safe_zip(path, max_members=20)
    with open_safe_zip(path) as archive:
        assert len(archive.names) == 50


def test_declared_total_over_the_cap_is_rejected(tmp_path):
    path = make_zip_bomb(tmp_path / "bomb.epub", size=3 * 1024 * 1024)
    with pytest.raises(RejectedFile, match="too large: more than 2 MB"):
        open_safe_zip(path, max_uncompressed=2 * 1024 * 1024, max_ratio=10_000)


def test_high_compression_ratio_is_rejected(tmp_path):
    path = make_zip_bomb(tmp_path / "bomb.epub", size=8 * 1024 * 1024)
    with pytest.raises(RejectedFile, match="compressed more than 100:1"):
        open_safe_zip(path)


def test_lying_sizes_never_yield_more_than_declared(tmp_path):
    path = make_zip_bomb(tmp_path / "liar.epub", size=8 * 1024 * 1024, declared_size=1000)
    with zipfile.ZipFile(path) as plain:  # what the bounded reader protects against
        assert len(plain.read("OEBPS/ch1.xhtml")) == 1000
    with open_safe_zip(path) as archive:
        chunks = archive.iter_chunks("OEBPS/ch1.xhtml")
        with pytest.raises(RejectedFile, match="larger than it declares"):
            next(chunks)


def test_bad_crc_is_a_damaged_member(tmp_path):
    path = write_raw_zip(tmp_path / "crc.epub", [("a.txt", b"hello", zipfile.ZIP_STORED, 1234, 5)])
    with open_safe_zip(path) as archive:
        with pytest.raises(DamagedMember, match="damaged"):
            archive.read("a.txt")
        assert archive.damaged == {"a.txt"}


def test_reads_are_counted_against_the_cap(tmp_path):
    path = make_epub(tmp_path / "book.epub", chapters=[("A", "<p>" + "lúa " * 5000 + "</p>")])
    with open_safe_zip(path, max_uncompressed=40_000) as archive:
        archive.read("OEBPS/ch1.xhtml")
        assert archive.read("mimetype") == b"application/epub+zip"


def test_one_gibibyte_bomb_is_rejected_under_a_memory_limit(tmp_path):
    path = make_zip_bomb(tmp_path / "bomb.epub")
    assert path.stat().st_size < 2 * 1024 * 1024
    assert read_in_subprocess(path) == "REJECTED: too large: more than 200 MB when unpacked"


def test_one_gibibyte_bomb_with_lying_sizes_is_rejected_under_a_memory_limit(tmp_path):
    path = make_zip_bomb(tmp_path / "liar.epub", declared_size=100_000)
    expected = "REJECTED: unsafe archive: OEBPS/ch1.xhtml is larger than it declares (a zip bomb?)"
    assert read_in_subprocess(path) == expected


def test_resolve_tolerates_case_percent_encoding_and_nfd(tmp_path):
    nfd_name = unicodedata.normalize("NFD", "OEBPS/Chương 1.xhtml")
    path = write_raw_zip(tmp_path / "names.epub", [stored(nfd_name, b"a"), stored("OEBPS/CH2.XHTML", b"b")])
    with open_safe_zip(path) as archive:
        assert archive.resolve("OEBPS/Ch%C6%B0%C6%A1ng%201.xhtml") == nfd_name
        assert archive.resolve("oebps/ch2.xhtml") == "OEBPS/CH2.XHTML"
        assert archive.resolve("OEBPS/ch3.xhtml") is None


def test_resolve_finds_utf8_names_stored_without_the_utf8_flag(tmp_path):
    path = tmp_path / "legacy.epub"
    write_raw_zip(path, [stored("Sách.xhtml", b"a")])
    raw = bytearray(path.read_bytes())
    raw[7] &= ~0x08  # clear the UTF-8 flag (bit 11) in the local header...
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 9] &= ~0x08  # ...and in the central directory
    path.write_bytes(bytes(raw))
    with open_safe_zip(path) as archive:
        assert archive.names != ["Sách.xhtml"]  # zipfile decoded it as CP437
        assert archive.read(archive.resolve("Sách.xhtml")) == b"a"


@pytest.mark.parametrize(("base", "href", "expected"), [
    ("OEBPS", "text/ch1.xhtml#p2", "OEBPS/text/ch1.xhtml"),
    ("OEBPS/text", "../images/a.jpg", "OEBPS/images/a.jpg"),
    ("", "ch1.xhtml", "ch1.xhtml"),
    ("OEBPS", "../../etc/passwd", None),
    ("OEBPS", "http://example.com/x", None),
    ("OEBPS", "", None),
])
def test_join_member_path(base, href, expected):
    assert join_member_path(base, href) == expected
