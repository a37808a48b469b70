"""Tests of content.readers.audio (and mp4_chapters): real MP3s written by hand, M4B/OGG/FLAC by ffmpeg."""

import codecs
import json
import logging
import random
import struct
import subprocess
import time
import tracemalloc
import unicodedata
from pathlib import Path

import pytest

from content.errors import FileVerdict, RejectedFile, SkippedFile
from content.ingest.run import import_paths
from content.library import Library
from content.readers.audio import AudioInfo, group_audiobooks, read_audio
from content.readers.mp4_chapters import read_chapter_track
from tests.media import (
    HAVE_FFMPEG,
    id3_tag,
    make_apple_m4b,
    make_flac,
    make_m4b,
    make_mp3,
    make_ogg,
    make_png,
    mp4_boxes,
)

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


# ---------------------------------------------------------------- QuickTime chapter tracks

# An NFD title (as old tools write them), a long one, an empty one.
APPLE_CHAPTERS = [(unicodedata.normalize("NFD", "Mở đầu"), 1.0), ("Chương 1: Dế Mèn ra đời", 1.5), ("", 0.5),
                  ("Chương 3", 1.0)]


def box_names(path: Path) -> list[str]:
    """The paths of the boxes of an MP4 file (``moov/trak/tref/chap``...)."""
    return [name for name, _, _ in mp4_boxes(path.read_bytes())]


def text_track_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """The boxes of the one text track of an MP4 by path under its trak, ``{"mdia/minf/stbl/stsz": (offset, size)}``.

    ``offset`` is where a box's header starts.
    """
    tracks: list[dict[str, tuple[int, int]]] = []
    for name, offset, size in mp4_boxes(data):
        if name == "moov/trak":
            tracks.append({})
        elif name.startswith("moov/trak/"):
            tracks[-1][name.removeprefix("moov/trak/")] = (offset, size)
    [text] = [track for track in tracks if data[track["mdia/hdlr"][0] + 16 : track["mdia/hdlr"][0] + 20] == b"text"]
    return text


def put_uint32(path: Path, offset: int, value: int) -> None:
    """Overwrites the 32-bit big-endian integer at ``offset`` of the file."""
    data = bytearray(path.read_bytes())
    data[offset : offset + 4] = struct.pack(">I", value)
    path.write_bytes(bytes(data))


def rewrite_sample(path: Path, index: int, sample: bytes) -> None:
    """Replaces the start of chapter sample ``index`` by ``sample``; a free box fills the rest of its size.

    ffmpeg writes the chapter track's samples in one chunk, so they follow
    each other from the chunk's offset.
    """
    data = bytearray(path.read_bytes())
    boxes = text_track_boxes(bytes(data))
    stsz, stco = boxes["mdia/minf/stbl/stsz"][0], boxes["mdia/minf/stbl/stco"][0]
    count, first_chunk = struct.unpack(">II", data[stco + 12 : stco + 20])
    sizes = struct.unpack(f">{index + 1}I", data[stsz + 20 : stsz + 24 + 4 * index])
    assert count == 1 and sizes[index] >= len(sample) + 8
    offset = first_chunk + sum(sizes[:index])
    padding = sizes[index] - len(sample)
    data[offset : offset + sizes[index]] = sample + struct.pack(">I4s", padding, b"free") + bytes(padding - 8)
    path.write_bytes(bytes(data))


def ffprobe_chapters(path: Path) -> list[tuple[float, str]]:
    """(start, title) of each chapter that ffmpeg's own reader finds in the file."""
    output = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
                            check=True, capture_output=True, text=True).stdout
    return [(float(c["start_time"]), c.get("tags", {}).get("title", "")) for c in json.loads(output)["chapters"]]


@needs_ffmpeg
@pytest.mark.parametrize(("name", "faststart"), [("sach.m4b", False), ("sach.m4b", True), ("sach.m4a", False)])
def test_chapter_track_gives_the_chapters_chpl_gives(tmp_path, name, faststart):
    (tmp_path / "nero").mkdir()
    nero = make_m4b(tmp_path / "nero" / name, APPLE_CHAPTERS, faststart=faststart)
    apple = make_apple_m4b(tmp_path / name, APPLE_CHAPTERS, faststart=faststart)
    assert "moov/udta/chpl" in box_names(nero)  # ffmpeg writes both: a chpl atom and ...
    assert "moov/trak/tref/chap" in box_names(nero)  # ... a chapter track
    assert "moov/udta/chpl" not in box_names(apple) and "moov/udta/free" in box_names(apple)
    titles = ["Mở đầu", "Chương 1: Dế Mèn ra đời", "", "Chương 3"]
    probed = ffprobe_chapters(apple)  # the chapters are still in the file: the test is not vacuous
    assert [unicodedata.normalize("NFC", title) for _, title in probed] == titles
    assert [start for start, _ in probed] == pytest.approx([0.0, 1.0, 2.5, 3.0], abs=0.01)
    expected, got = read_audio(nero), read_audio(apple)
    assert [c.title for c in got.chapters] == [c.title for c in expected.chapters] == titles
    assert all(unicodedata.is_normalized("NFC", c.title) for c in got.chapters)
    assert [c.start for c in got.chapters] == pytest.approx([c.start for c in expected.chapters], abs=0.05)
    assert [c.start for c in got.chapters] == pytest.approx([0.0, 1.0, 2.5, 3.0], abs=0.05)
    assert [c.duration for c in got.chapters] == pytest.approx([c.duration for c in expected.chapters], abs=0.05)
    assert sum(c.duration for c in got.chapters) == pytest.approx(got.duration, abs=0.05)  # the last runs to the end
    [nero_book], [apple_book] = group_audiobooks([(nero, expected)]), group_audiobooks([(apple, got)])
    assert [c.title for c in apple_book.chapters] == [c.title for c in nero_book.chapters]
    assert apple_book.chapters[2].title == "Sách nói (3)"  # an empty title, as for chpl


@needs_ffmpeg
@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE], ids=["big-endian", "little-endian"])
def test_utf16_chapter_titles(tmp_path, bom):
    path = make_apple_m4b(tmp_path / "a.m4b", [("Phần mở đầu của cuốn sách", 1.0), ("Chương 1", 1.0)])
    encoded = bom + "Mở đầu".encode("utf-16-be" if bom == codecs.BOM_UTF16_BE else "utf-16-le")
    rewrite_sample(path, 0, struct.pack(">H", len(encoded)) + encoded)
    assert [title for _, title in ffprobe_chapters(path)] == ["Mở đầu", "Chương 1"]
    assert [c.title for c in read_audio(path).chapters] == ["Mở đầu", "Chương 1"]


@needs_ffmpeg
def test_damaged_titles_keep_their_chapters(tmp_path):
    path = make_apple_m4b(tmp_path / "a.m4b", [("Chương một", 1.0), ("Chương hai", 1.0), ("Chương ba", 1.0)],
                          title="Sách nói")
    rewrite_sample(path, 0, struct.pack(">H", 5) + b"Ch\xc6A\xff")  # invalid UTF-8
    rewrite_sample(path, 1, struct.pack(">H", 1000) + "Chương".encode())  # a length bigger than the sample
    info = read_audio(path)
    assert [c.title for c in info.chapters] == ["Ch\ufffdA\ufffd", "", "Chương ba"]
    assert [c.start for c in info.chapters] == pytest.approx([0.0, 1.0, 2.0], abs=0.05)
    [book] = group_audiobooks([(path, info)])
    assert book.chapters[1].title == "Sách nói (2)"


@needs_ffmpeg
@pytest.mark.parametrize(("handler", "found"), [(b"sbtl", True), (b"vide", False)])
def test_chapter_track_handler(tmp_path, handler, found):
    path = make_apple_m4b(tmp_path / "a.m4b", [("Một", 1.0), ("Hai", 1.0)])
    data = bytearray(path.read_bytes())
    hdlr = text_track_boxes(bytes(data))["mdia/hdlr"][0]
    data[hdlr + 16 : hdlr + 20] = handler  # a chap reference may name a picture track too: not chapters
    path.write_bytes(bytes(data))
    assert [c.title for c in read_audio(path).chapters] == (["Một", "Hai"] if found else [])


@needs_ffmpeg
@pytest.mark.parametrize("size", ["zero", "64-bit"])
def test_moov_sizes_0_and_64_bit_are_followed(tmp_path, size):
    path = make_apple_m4b(tmp_path / "a.m4b", [("Một", 1.0), ("Hai", 1.0)])  # moov is the last box
    data = path.read_bytes()
    [(_, moov, moov_size)] = [box for box in mp4_boxes(data) if box[0] == "moov"]
    if size == "zero":  # "to the end of the file"
        header = struct.pack(">I4s", 0, b"moov")
    else:  # size 1, then the size in 64 bits: the box grows by 8 bytes, the offsets before it stay
        header = struct.pack(">I4sQ", 1, b"moov", moov_size + 8)
    path.write_bytes(data[:moov] + header + data[moov + 8 :])
    assert [title for _, title in ffprobe_chapters(path)] == ["Một", "Hai"]
    assert [(title, start) for start, title in read_chapter_track(path)] == [("Một", 0.0), ("Hai", 1.0)]
    assert [c.title for c in read_audio(path).chapters] == ["Một", "Hai"]


@needs_ffmpeg
@pytest.mark.slow
@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_copies_give_all_or_no_chapters(tmp_path, faststart):
    whole = make_apple_m4b(tmp_path / "whole.m4b", [("Một", 1.0), ("Hai", 1.0), ("Ba", 1.0)], faststart=faststart)
    chapters = read_chapter_track(whole)
    assert [title for _, title in chapters] == ["Một", "Hai", "Ba"]
    data, path, outcomes = whole.read_bytes(), tmp_path / "cut.m4b", set()
    for length in range(len(data)):
        path.write_bytes(data[:length])
        found = read_chapter_track(path)
        assert found in ([], chapters)
        outcomes.add(len(found))
        if length % 25 == 0:
            try:
                assert len(read_audio(path).chapters) <= 3
            except FileVerdict:
                pass
    assert outcomes == ({0, 3} if faststart else {0})  # the chapter track is in moov, its titles early in mdat


def _hostile(data: bytes, variant: str) -> tuple[int, int]:
    """(offset, 32-bit value) that makes ``variant`` of an Apple-style M4B's chapter track."""
    text = text_track_boxes(data)
    stts, stsz = text["mdia/minf/stbl/stts"][0], text["mdia/minf/stbl/stsz"][0]
    return {
        "stsz count 2^31": (stsz + 16, 2**31),
        "stsz sample size past the end": (stsz + 20, 2**32 - 1),
        "stts count 2^32-1": (stts + 12, 2**32 - 1),
        "stco offset past the end": (text["mdia/minf/stbl/stco"][0] + 16, len(data) + 1000),
        "stts size past the end": (stts, 2**32 - 16),
        "chap box of size 0": (next(o for name, o, _ in mp4_boxes(data) if name == "moov/trak/tref/chap"), 0),
        "mdhd timescale 0": (text["mdia/mdhd"][0] + 20, 0),
    }[variant]


@needs_ffmpeg
@pytest.mark.parametrize("variant", ["stsz count 2^31", "stsz sample size past the end", "stts count 2^32-1",
                                     "stco offset past the end", "stts size past the end", "chap box of size 0",
                                     "mdhd timescale 0"])
def test_hostile_chapter_tracks_give_no_chapters(tmp_path, caplog, variant):
    path = make_apple_m4b(tmp_path / "a.m4b", [("Một", 1.0), ("Hai", 1.0)])
    put_uint32(path, *_hostile(path.read_bytes(), variant))
    tracemalloc.start()
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="content.readers.mp4_chapters"):
        chapters = read_chapter_track(path)
    elapsed, (_, peak) = time.perf_counter() - started, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert chapters == []
    assert elapsed < 1.0 and peak < 1_000_000
    assert "ignoring the damaged chapter track" in caplog.text
    info = read_audio(path)  # the file still plays: it is read, without chapters
    assert info.chapters == [] and info.duration == pytest.approx(2.0, abs=0.2)


@needs_ffmpeg
def test_import_of_an_apple_audiobook_keeps_its_chapters(tmp_path):
    (tmp_path / "usb").mkdir()
    make_apple_m4b(tmp_path / "usb" / "de-men.m4b", [("Mở đầu", 1.0), ("Chương 1", 1.5), ("Chương 2", 0.5)],
                   title="Dế Mèn phiêu lưu ký", artist="Tô Hoài")
    library = Library(tmp_path / "data")
    try:
        [entry] = import_paths(library, [tmp_path / "usb"]).imported
        chapters = library.catalog.chapters_of(entry["id"])
    finally:
        library.close()
    assert [c["title"] for c in chapters] == ["Mở đầu", "Chương 1", "Chương 2"]
    assert [c["start"] for c in chapters] == pytest.approx([0.0, 1.0, 2.5], abs=0.05)
    assert [c["duration"] for c in chapters[:2]] == pytest.approx([1.0, 1.5], abs=0.05)
    assert len({c["file_sha256"] for c in chapters}) == 1


@needs_ffmpeg
def test_mangled_chapter_tracks_never_raise(tmp_path):
    original = make_apple_m4b(tmp_path / "good.m4b", [("Một", 1.0), ("Hai", 1.0)]).read_bytes()
    [(_, moov, _)] = [box for box in mp4_boxes(original) if box[0] == "moov"]
    rng = random.Random(7)
    outcomes = set()
    for attempt in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(moov, len(data))] = rng.choice([0, 1, 0xFF, rng.randrange(256)])
        path = tmp_path / f"m{attempt}.m4b"
        path.write_bytes(bytes(data))
        outcomes.add(len(read_chapter_track(path)))
        try:
            outcomes.add(f"read with {len(read_audio(path).chapters)}")
        except FileVerdict as verdict:
            outcomes.add(verdict.verdict)
    assert {0, 2} <= outcomes
