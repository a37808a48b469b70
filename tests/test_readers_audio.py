"""Tests of content.readers.audio: real MP3s written by hand, M4B/OGG/FLAC written by ffmpeg."""

import random
import subprocess
from pathlib import Path

import pytest

from content.errors import FileVerdict, RejectedFile, SkippedFile
from content.readers.audio import AudioInfo, group_audiobooks, read_audio
from tests.media import HAVE_FFMPEG, id3_tag, make_flac, make_m4b, make_mp3, make_ogg, make_png

needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg (Debian package ffmpeg) is not installed")


@pytest.mark.parametrize("version", [4, 3])
def test_mp3_tags_in_utf8_and_utf16(tmp_path, version):
    cover = make_png()
    path = make_mp3(tmp_path / "01.mp3", 3.0, title="Chương một", album="Dế Mèn phiêu lưu ký", track="1/12",
                    artist="Tô Hoài", disc=2, cover=cover, id3_version=version)
    info = read_audio(path)
    assert info.media_type == "audio/mpeg"
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert (info.title, info.album, info.artist) == ("Chương một", "Dế Mèn phiêu lưu ký", "Tô Hoài")
    assert (info.track, info.disc) == (1, 2)
    assert info.cover == cover
    assert info.chapters == []


def test_id3_chapter_frames(tmp_path):
    chapters = [("Phần mở", 1.0), ("Phần chính", 2.0)]
    info = read_audio(make_mp3(tmp_path / "a.mp3", 3.0, title="Tập 1", chapters=chapters))
    assert [(c.title, c.start, c.duration) for c in info.chapters] == [("Phần mở", 0.0, 1.0), ("Phần chính", 1.0, 2.0)]
    assert [c.file_index for c in info.chapters] == [0, 0]


@needs_ffmpeg
def test_opus_chapter_comments(tmp_path):
    info = read_audio(make_ogg(tmp_path / "a.opus", 3.0, opus=True, chapters=[("Một", 1.0), ("Hai", 2.0)]))
    assert [(c.title, c.start) for c in info.chapters] == [("Một", 0.0), ("Hai", 1.0)]
    assert info.chapters[1].duration == pytest.approx(2.0, abs=0.05)


def test_utf8_tags_marked_latin1_are_repaired(tmp_path):
    info = read_audio(make_mp3(tmp_path / "a.mp3", 1.0, title="Sự tích trầu cau", mislabelled=True, id3_version=3))
    assert info.title == "Sự tích trầu cau"


@pytest.mark.parametrize("xing", ["ok", "zero", "huge"])
def test_duration_is_right_whatever_the_xing_header_says(tmp_path, xing):
    info = read_audio(make_mp3(tmp_path / "a.mp3", 4.0, xing=xing))
    assert info.duration == pytest.approx(4.0, abs=0.05)


def test_mp3_without_tags(tmp_path):
    info = read_audio(make_mp3(tmp_path / "bai-hat.mp3", 1.0, id3_version=None))
    assert (info.title, info.album, info.duration > 0.9) == ("", "", True)


def test_joined_mp3_files_count_every_part(tmp_path):
    first = make_mp3(tmp_path / "1.mp3", 2.0, title="Một", cover=make_png()).read_bytes()
    second = make_mp3(tmp_path / "2.mp3", 3.0, title="Hai", xing="ok").read_bytes()
    path = tmp_path / "joined.mp3"
    path.write_bytes(first + second + b"TAG" + bytes(125))  # and an ID3v1 tag at the end
    assert read_audio(path).duration == pytest.approx(5.0, abs=0.1)


def test_truncated_mp3_is_rejected(tmp_path):
    whole = make_mp3(tmp_path / "whole.mp3", 2.0, title="x").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 2 + 50])
    with pytest.raises(RejectedFile, match="truncated"):
        read_audio(path)


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty file"),
    (id3_tag(title="chỉ có thẻ"), "not a valid MP3: no audio frames found"),
    (b"this is not audio at all " * 40, "not a valid MP3"),
])
def test_broken_mp3_is_rejected(tmp_path, content, reason):
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    with pytest.raises(RejectedFile, match=reason):
        read_audio(path)


def test_non_audio_file_is_skipped(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Danh sách sách cần mua\n" * 20, encoding="utf-8")
    with pytest.raises(SkippedFile):
        read_audio(path)


@needs_ffmpeg
def test_m4b_chapters(tmp_path):
    path = make_m4b(tmp_path / "sach.m4b", [("Mở đầu", 1.0), ("Chương 1", 1.5), ("Chương 2", 0.5)],
                    title="Sách nói", artist="Người đọc")
    info = read_audio(path)
    assert info.media_type == "audio/mp4"
    assert info.title == "Sách nói" and info.artist == "Người đọc"
    assert info.duration == pytest.approx(3.0, abs=0.2)
    assert [c.title for c in info.chapters] == ["Mở đầu", "Chương 1", "Chương 2"]
    assert [c.start for c in info.chapters] == pytest.approx([0.0, 1.0, 2.5], abs=0.01)
    assert info.chapters[0].duration == pytest.approx(1.0, abs=0.01)


@needs_ffmpeg
@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_m4b_is_rejected(tmp_path, faststart):
    whole = make_m4b(tmp_path / "whole.m4b", [("A", 2.0), ("B", 2.0)], faststart=faststart).read_bytes()
    path = tmp_path / "cut.m4b"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(RejectedFile, match="not a valid M4B|truncated"):
        read_audio(path)


@needs_ffmpeg
def test_ogg_opus_and_flac(tmp_path):
    vorbis = read_audio(make_ogg(tmp_path / "a.ogg", 1.0, title="Ca dao", album="Dân ca", track="3"))
    opus = read_audio(make_ogg(tmp_path / "b.opus", 1.0, title="Hò kéo lưới", opus=True))
    flac = read_audio(make_flac(tmp_path / "c.flac", 1.0, title="Quan họ", artist="Bắc Ninh"))
    assert (vorbis.media_type, vorbis.title, vorbis.album, vorbis.track) == ("audio/ogg", "Ca dao", "Dân ca", 3)
    assert (opus.media_type, opus.title) == ("audio/ogg", "Hò kéo lưới")
    assert (flac.media_type, flac.title, flac.artist) == ("audio/flac", "Quan họ", "Bắc Ninh")
    assert all(i.duration == pytest.approx(1.0, abs=0.1) for i in (vorbis, opus, flac))


@needs_ffmpeg
def test_unsupported_audio_format_is_skipped(tmp_path):
    path = tmp_path / "a.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
                    "-t", "0.2", str(path)], check=True)
    with pytest.raises(SkippedFile, match="not supported"):
        read_audio(path)


def test_mangled_mp3s_end_in_a_verdict_never_a_crash(tmp_path):
    original = make_mp3(tmp_path / "good.mp3", 1.0, title="Bài", album="Tập", track=1, cover=make_png(),
                        xing="ok").read_bytes()
    rng = random.Random(11)
    outcomes = set()
    for attempt in range(80):
        data = bytearray(original)
        for _ in range(rng.randint(1, 10)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"m{attempt}.mp3"
        path.write_bytes(bytes(data[: rng.randrange(len(data) // 2, len(data) + 1)]))
        try:
            read_audio(path)
            outcomes.add("read")
        except FileVerdict as verdict:
            outcomes.add(verdict.verdict)
    assert outcomes == {"read", "rejected"}


def read_all(paths: list[Path]) -> list[tuple[Path, AudioInfo]]:
    """(path, info) pairs as the ingest loop hands them to group_audiobooks."""
    return [(path, read_audio(path)) for path in paths]


def test_files_sharing_an_album_in_a_folder_form_one_book(tmp_path):
    folder = tmp_path / "De Men"
    folder.mkdir()
    cover = make_png()
    paths = [
        make_mp3(folder / "b.mp3", 1.0, title="Chương 10", album="Dế Mèn", track=10, artist="Tô Hoài"),
        make_mp3(folder / "a.mp3", 2.0, title="Chương 2", album="Dế Mèn", track=2, artist="Tô Hoài", cover=cover),
        make_mp3(folder / "c.mp3", 1.0, title="Lời tựa", album="dế mèn", artist="Tô Hoài"),
        make_mp3(folder / "z.mp3", 1.0, title="Chương 1", album="Dế Mèn", track=1, artist="Tô Hoài"),
    ]
    [book] = group_audiobooks(read_all(paths))
    assert book.format == "audio"
    assert book.title == "Dế Mèn"
    assert book.authors == ["Tô Hoài"]
    assert [f.path.name for f in book.files] == ["z.mp3", "a.mp3", "b.mp3", "c.mp3"]
    assert {f.role for f in book.files} == {"chapter"}
    assert [c.title for c in book.chapters] == ["Chương 1", "Chương 2", "Chương 10", "Lời tựa"]
    assert [c.file_index for c in book.chapters] == [0, 1, 2, 3]
    assert all(c.start == 0 for c in book.chapters)
    assert book.chapters[1].duration == pytest.approx(2.0, abs=0.05)
    assert book.duration == pytest.approx(5.0, abs=0.1)
    assert book.cover == cover
    assert book.language == "vi"


def test_untracked_files_are_ordered_by_natural_name(tmp_path):
    paths = [make_mp3(tmp_path / f"phan {n}.mp3", 0.5, album="Truyện", id3_version=4) for n in (10, 2, 1)]
    [book] = group_audiobooks(read_all(paths))
    assert [c.title for c in book.chapters] == ["phan 1", "phan 2", "phan 10"]


def test_same_album_in_different_folders_makes_different_books(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    paths = [make_mp3(tmp_path / "one" / "1.mp3", 0.5, album="Tập 1"),
             make_mp3(tmp_path / "two" / "1.mp3", 0.5, album="Tập 1")]
    books = group_audiobooks(read_all(paths))
    assert len(books) == 2
    assert [b.files[0].path.parent.name for b in books] == ["one", "two"]


def test_lone_mp3_without_album_is_a_one_chapter_book(tmp_path):
    tagged = make_mp3(tmp_path / "x.mp3", 1.0, title="Sự tích cây khế")
    untagged = make_mp3(tmp_path / "chuyen_co_tich.mp3", 1.0, id3_version=None)
    books = group_audiobooks(read_all([tagged, untagged]))
    assert [b.title for b in books] == ["Sự tích cây khế", "chuyen co tich"]
    assert [len(b.chapters) for b in books] == [1, 1]
    assert books[0].files[0].role == "primary"
    assert books[0].chapters[0].file_index == 0 and books[0].chapters[0].start == 0


@needs_ffmpeg
def test_m4b_with_chapter_atoms_is_one_book_of_its_atoms(tmp_path):
    m4b = make_m4b(tmp_path / "sach.m4b", [("Mở đầu", 1.0), ("Chương 1", 1.0)], title="Sách nói", album="Bộ sách")
    mp3 = make_mp3(tmp_path / "other.mp3", 1.0, title="Khác", album="Bộ sách")
    books = group_audiobooks(read_all([m4b, mp3]))
    assert [b.title for b in books] == ["Sách nói", "Bộ sách"]
    assert [c.title for c in books[0].chapters] == ["Mở đầu", "Chương 1"]
    assert [(c.file_index, c.start) for c in books[0].chapters] == [(0, 0.0), (0, pytest.approx(1.0, abs=0.01))]
    assert books[0].files[0].role == "primary" and books[0].files[0].media_type == "audio/mp4"
