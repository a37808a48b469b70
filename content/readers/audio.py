"""Read audio files with mutagen, and group them into audiobooks.

:func:`read_audio` reads one file (MP3 with ID3 v2.3/2.4, M4A/M4B, Ogg
Vorbis, Ogg Opus, FLAC) into an :class:`AudioInfo`: tags, duration, embedded
cover and chapters (ID3 ``CHAP`` frames, Vorbis ``CHAPTERnnn`` comments, and
for M4A/M4B the Nero ``chpl`` atom, or else the QuickTime chapter track that
iTunes and Apple Books write, read by :mod:`content.readers.mp4_chapters`; a
damaged chapter track only loses the chapters). Verdicts:

* zero-byte, truncated (an MP3 that ends inside a frame, an MP4 whose
  atoms run past the end of the file), no audio frames, zero length →
  :class:`~content.errors.RejectedFile`;
* not audio at all, or an audio format readpoint does not serve →
  :class:`~content.errors.SkippedFile` (a ``.mp3`` that is not an MP3 is
  rejected, not skipped: it is a broken book, the librarian should know).

MP3 durations come from walking the MPEG frames, not from the Xing/VBRI
header (often wrong: zero or a million frames) or the first frame's bitrate
(wrong for VBR without a header). ID3 text written as Latin-1 but holding
UTF-8 bytes (common in Vietnamese MP3s) is repaired.

:func:`group_audiobooks` turns the infos of many files into books: files
in one folder sharing an album tag form one book whose chapters are its
files (ordered by disc, track number, then natural name order); a file
with chapter atoms is one book whose chapters are its atoms; any other
file is a one-chapter book titled from its title tag or file name. An
album's book is titled by the album, even when it has a single file.
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
from mutagen.aac import AAC
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, HeaderNotFoundError
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from content.errors import RejectedFile, SkippedFile
from content.ingest.metadata import clean_book, clean_text
from content.parsed import ParsedBook, ParsedChapter, ParsedFile
from content.readers.mp4_chapters import has_video_track, read_chapter_track, top_level_boxes_overrun

__all__ = ["AUDIO_EXTENSIONS", "AudioInfo", "read_audio", "group_audiobooks"]

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".mp3": "MP3", ".m4a": "M4A", ".m4b": "M4B", ".mp4": "M4A", ".aac": "M4A",
                    ".ogg": "OGG", ".oga": "OGG", ".opus": "Opus", ".flac": "FLAC"}
MAX_COVER_SIZE = 20 * 1024 * 1024
MAX_DURATION = 200 * 3600.0  # seconds; longer is a broken header, not a book
_MEDIA_TYPES = {MP3: "audio/mpeg", MP4: "audio/mp4", OggVorbis: "audio/ogg", OggOpus: "audio/ogg",
                FLAC: "audio/flac", AAC: "audio/aac"}
_MUTAGEN_ERRORS = (mutagen.MutagenError, struct.error, ValueError, IndexError, KeyError, TypeError,
                   EOFError, OverflowError, UnicodeError, AttributeError, AssertionError)


@dataclass
class AudioInfo:
    """What one audio file says about itself; ``duration`` in seconds, chapters from its atoms/frames."""

    media_type: str
    duration: float
    title: str = ""
    artist: str = ""
    album: str = ""
    album_artist: str = ""
    track: int | None = None
    disc: int | None = None
    date: str = ""
    description: str = ""
    language: str = ""
    genre: str = ""
    cover: bytes | None = None
    chapters: list[ParsedChapter] = field(default_factory=list)


# ---------------------------------------------------------------- MPEG frames

_BITRATES = {  # kbit/s by (MPEG-1?, layer), index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _frame_header(header: bytes) -> tuple[int, int, int] | None:
    """(frame length in bytes, samples, sample rate) of an MPEG audio frame header, or None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, 4 - ((header[1] >> 1) & 3)
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer if mpeg1 or layer == 1 else 2)][bitrate_index - 1] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate
    samples = 1152 if layer == 2 or mpeg1 else 576
    return samples // 8 * bitrate // rate + padding, samples, rate


def _skip_id3v2(fileobj: BinaryIO, offset: int = 0) -> int:
    """The offset after any ID3v2 tags found at ``offset``."""
    while True:
        fileobj.seek(offset)
        header = fileobj.read(10)
        if len(header) < 10 or header[:3] != b"ID3":
            return offset
        size = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
        offset += 10 + size + (10 if header[5] & 0x10 else 0)


def _first_frame(fileobj: BinaryIO, start: int) -> int | None:
    """Offset of the first frame that is followed by two more valid frames (within 1 MB of ``start``)."""
    fileobj.seek(start)
    window = fileobj.read(1024 * 1024 + 4)
    position = window.find(b"\xff")
    while 0 <= position < len(window) - 4:
        offset, valid = position, 0
        while valid < 3 and (parsed := _frame_header(window[offset : offset + 4])):
            offset, valid = offset + parsed[0], valid + 1
            if offset >= len(window):
                valid = 3  # the window ends inside the third frame: good enough
        if valid == 3:
            return start + position
        position = window.find(b"\xff", position + 1)
    return None


def _resync(fileobj: BinaryIO, offset: int, size: int) -> int | None:
    """Where frames start again after non-audio bytes at ``offset`` (None at the end of the audio)."""
    if size - offset <= 256:  # room for ID3v1 / APE / Lyrics tags only
        return None
    found = _first_frame(fileobj, _skip_id3v2(fileobj, offset))
    return found if found is not None and found > offset else None


@functools.lru_cache(maxsize=1024)
def _cached_frame_header(header: bytes) -> tuple[int, int, int] | None:
    """:func:`_frame_header`, remembered: a file repeats a handful of distinct headers."""
    return _frame_header(header)


def _mp3_duration(path: Path) -> float:
    """Seconds of audio, counted frame by frame; RejectedFile if there is none or it is cut.

    The first frame does not count when it holds a Xing/Info/VBRI header
    (it is silence written for the header's sake). The file is read in 1 MB
    blocks; frames are walked in memory.
    """
    with open(path, "rb") as fileobj:
        size = fileobj.seek(0, 2)
        offset = _first_frame(fileobj, _skip_id3v2(fileobj))
        if offset is None:
            raise RejectedFile("not a valid MP3: no audio frames found")
        fileobj.seek(offset)
        head = fileobj.read(64)
        skip_first = any(marker in head for marker in (b"Xing", b"Info", b"VBRI"))
        seconds, block, block_start = 0.0, b"", offset
        while True:
            if offset + 4 > block_start + len(block):
                fileobj.seek(offset)
                block, block_start = fileobj.read(1024 * 1024), offset
            position = offset - block_start
            parsed = _cached_frame_header(block[position : position + 4])
            if parsed is None:  # the end, an ID3v1/APE tag, junk, or the tag of a second file joined on
                offset = _resync(fileobj, offset, size)
                if offset is None:
                    break
                block = b""
                continue
            length, samples, rate = parsed
            if offset + length > size:
                raise RejectedFile("truncated: the MP3 file ends in the middle of its audio")
            if skip_first:
                skip_first = False
            else:
                seconds += samples / rate
            offset += length
    return seconds


# ---------------------------------------------------------------- tags


def _repair_latin1(text: str) -> str:
    """UTF-8 bytes that were decoded as Latin-1 (``Chæ°Æ¡ng`` → ``Chương``), else the text unchanged."""
    try:
        repaired = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return repaired if repaired != text else text


def _number(value: Any) -> int | None:
    """A track or disc number from ``"3/12"``, ``(3, 12)`` or ``3`` (None if absent or zero)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    match = re.match(r"\s*(\d{1,5})", str(value)) if value is not None else None
    return int(match.group(1)) or None if match else None


def _first(tags: Any, *keys: str, repair: bool = False) -> str:
    """The first non-empty value among ``keys`` of a tag mapping, as clean text.

    ``repair`` undoes UTF-8 read as Latin-1 (before cleaning, which would
    drop the C1 characters such text contains).
    """
    for key in keys:
        try:
            value = tags.get(key) if tags is not None else None
        except (ValueError, KeyError):
            continue
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is not None and getattr(value, "text", None) is not None:
            value = value.text[0] if value.text else None
        text = clean_text(_repair_latin1(str(value)) if repair else str(value)) if value is not None else ""
        if text:
            return text
    return ""


def _id3_chapters(tags: ID3) -> list[ParsedChapter]:
    """Chapters from ID3 CHAP frames, in start order."""
    chapters = []
    for frame in sorted(tags.getall("CHAP"), key=lambda f: f.start_time):
        title = _first(frame.sub_frames, "TIT2", repair=True) if frame.sub_frames else ""
        start, end = frame.start_time / 1000, frame.end_time / 1000
        chapters.append(ParsedChapter(title=title, file_index=0, start=start,
                                      duration=end - start if end > start else None))
    return chapters


def _read_id3(audio: MP3, info: AudioInfo) -> None:
    """Fills ``info`` from an MP3's ID3 tag."""
    tags = audio.tags
    if tags is None:
        return
    def text(*keys: str) -> str:
        """A text frame's value, with mislabelled UTF-8 repaired."""
        return _first(tags, *keys, repair=True)

    info.title, info.artist, info.album = text("TIT2"), text("TPE1"), text("TALB")
    info.album_artist, info.date, info.language = text("TPE2"), text("TDRC", "TYER"), text("TLAN")
    info.track, info.disc = _number(text("TRCK")), _number(text("TPOS"))
    info.genre = text("TCON")
    comments = tags.getall("COMM")
    info.description = clean_text(_repair_latin1(comments[0].text[0])) if comments and comments[0].text else ""
    pictures = sorted(tags.getall("APIC"), key=lambda p: p.type != 3)  # the front cover first
    info.cover = pictures[0].data if pictures else None
    info.chapters = _id3_chapters(tags)


def _read_mp4(path: Path, audio: MP4, info: AudioInfo) -> None:
    """Fills ``info`` from an MP4's ilst atoms and chapters: its chpl atom, else its chapter track."""
    tags = audio.tags or {}
    info.title, info.artist, info.album = _first(tags, "©nam"), _first(tags, "©ART"), _first(tags, "©alb")
    info.album_artist, info.date = _first(tags, "aART"), _first(tags, "©day")
    info.description = _first(tags, "desc", "ldes", "©cmt")
    info.genre = _first(tags, "©gen")
    info.track, info.disc = _number(tags.get("trkn")), _number(tags.get("disk"))
    covers = tags.get("covr") or []
    info.cover = bytes(covers[0]) if covers else None
    starts = [(c.start, c.title) for c in (audio.chapters or [])] or read_chapter_track(path)
    info.chapters = _timed_chapters(starts, info.duration)


def _timed_chapters(starts: list[tuple[float, str]], total: float) -> list[ParsedChapter]:
    """Chapters of one file from (start, title) pairs; durations run to the next start."""
    starts = sorted((s, t) for s, t in starts if 0 <= s < max(total, 0.001))
    ends = [s for s, _ in starts[1:]] + [total]
    return [ParsedChapter(title=clean_text(title), file_index=0, start=start, duration=max(0.0, end - start))
            for (start, title), end in zip(starts, ends, strict=True)]


def _vorbis_chapters(tags: Any, total: float) -> list[ParsedChapter]:
    """Chapters from ``CHAPTER001=00:01:02.500`` / ``CHAPTER001NAME=...`` comments."""
    starts = []
    for key in sorted(k for k in tags.keys() if re.fullmatch(r"chapter\d{1,3}", k, re.IGNORECASE)):
        match = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", _first(tags, key))
        if match:
            hours, minutes, seconds = match.groups()
            starts.append((int(hours) * 3600 + int(minutes) * 60 + float(seconds), _first(tags, key + "NAME")))
    return _timed_chapters(starts, total)


def _vorbis_cover(audio: Any) -> bytes | None:
    """The front cover of a FLAC (picture blocks) or Ogg file (METADATA_BLOCK_PICTURE comment)."""
    pictures = list(getattr(audio, "pictures", []) or [])
    encoded_pictures = audio.tags.get("metadata_block_picture", []) if audio.tags is not None else []
    for encoded in encoded_pictures:
        try:
            pictures.append(Picture(base64.b64decode(encoded)))
        except _MUTAGEN_ERRORS:  # binascii.Error is a ValueError
            continue
    pictures.sort(key=lambda p: p.type != 3)
    return pictures[0].data if pictures else None


def _read_vorbis(audio: Any, info: AudioInfo) -> None:
    """Fills ``info`` from Vorbis comments (Ogg Vorbis, Opus, FLAC)."""
    tags = audio.tags
    if tags is not None:
        info.title, info.artist, info.album = _first(tags, "title"), _first(tags, "artist"), _first(tags, "album")
        info.album_artist, info.date = _first(tags, "albumartist", "album artist"), _first(tags, "date")
        info.description = _first(tags, "description", "comment")
        info.language = _first(tags, "language")
        info.genre = _first(tags, "genre")
        info.track, info.disc = _number(_first(tags, "tracknumber")), _number(_first(tags, "discnumber"))
        info.chapters = _vorbis_chapters(tags, info.duration)
    info.cover = _vorbis_cover(audio)


# ---------------------------------------------------------------- one file


def _kind(path: Path) -> str:
    """The format name a librarian knows the file by (from its extension), or ''."""
    return AUDIO_EXTENSIONS.get(path.suffix.lower(), "")


def _open(path: Path) -> Any:
    """The mutagen file object; RejectedFile/SkippedFile when the file is empty, broken or not audio."""
    if path.stat().st_size == 0:
        raise RejectedFile("empty file (0 bytes)")
    kind = _kind(path)
    try:
        audio = mutagen.File(path)
    except HeaderNotFoundError as error:
        raise RejectedFile(f"not a valid {kind or 'MP3'}: no audio frames found") from error
    except _MUTAGEN_ERRORS as error:
        log.info("mutagen cannot read %s: %s", path, error)
        raise RejectedFile(f"not a valid {kind or 'audio file'}: damaged or truncated") from error
    if audio is None:
        if kind:
            raise RejectedFile(f"not a valid {kind}: the audio format is not recognised")
        raise SkippedFile("not a book or audio file readpoint can use")
    if type(audio) not in _MEDIA_TYPES:
        raise SkippedFile(f"audio format not supported ({type(audio).__name__}): use MP3, M4A/M4B, OGG or FLAC")
    if isinstance(audio, MP3) and audio.info.sketchy and kind != "MP3":
        raise SkippedFile("not a book or audio file readpoint can use")
    if isinstance(audio, MP4) and has_video_track(path):
        raise SkippedFile("a video, not an audiobook (the file has a video track)")
    return audio


def _duration(path: Path, audio: Any) -> float:
    """The file's duration in seconds, checked; RejectedFile when it has no audio or is cut."""
    if isinstance(audio, MP3):
        seconds = _mp3_duration(path)
    else:
        if isinstance(audio, MP4) and top_level_boxes_overrun(path):
            raise RejectedFile(f"truncated: the {_kind(path) or 'M4A'} file is shorter than its header says")
        seconds = float(audio.info.length or 0.0)
    if not math.isfinite(seconds) or seconds <= 0:
        raise RejectedFile(f"not a valid {_kind(path) or 'audio file'}: no audio (zero length)")
    return min(seconds, MAX_DURATION)


def read_audio(path: Path) -> AudioInfo:
    """Reads one audio file's tags, duration, cover and chapters.

    Raises :class:`~content.errors.RejectedFile` for empty, truncated or
    broken audio and :class:`~content.errors.SkippedFile` for files that are
    not audio readpoint serves.
    """
    path = Path(path)
    audio = _open(path)
    info = AudioInfo(media_type=_MEDIA_TYPES[type(audio)], duration=_duration(path, audio))
    try:
        if isinstance(audio, MP3):
            _read_id3(audio, info)
        elif isinstance(audio, MP4):
            _read_mp4(path, audio, info)
        else:
            _read_vorbis(audio, info)
    except _MUTAGEN_ERRORS as error:  # broken tags: the audio is still playable
        log.info("unreadable tags in %s: %s", path, error)
    if info.cover is not None and len(info.cover) > MAX_COVER_SIZE:
        info.cover = None
    return info


# ---------------------------------------------------------------- audiobooks


def _natural_key(path: Path) -> list[Any]:
    """Sort key putting ``2.mp3`` before ``10.mp3``."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", path.name)]


def _file_title(path: Path, info: AudioInfo) -> str:
    """The title tag, else the file name without extension."""
    return info.title or clean_text(path.stem.replace("_", " "))


def _book(members: list[tuple[Path, AudioInfo]], title: str) -> ParsedBook:
    """One audiobook from its files in order: each file's atoms, or the file itself, as chapters."""
    role = "primary" if len(members) == 1 else "chapter"
    files, chapters = [], []
    for index, (path, info) in enumerate(members):
        files.append(ParsedFile(path=path, media_type=info.media_type, role=role, duration=info.duration))
        own = info.chapters or [ParsedChapter(title=_file_title(path, info), start=0.0, duration=info.duration)]
        for number, chapter in enumerate(own, 1):
            chapters.append(ParsedChapter(title=chapter.title or f"{_file_title(path, info)} ({number})",
                                          file_index=index, start=chapter.start or 0.0,
                                          duration=chapter.duration))
    infos = [info for _, info in members]
    authors = [i.album_artist for i in infos if i.album_artist] or [i.artist for i in infos if i.artist]
    return clean_book(ParsedBook(
        format="audio",
        files=files,
        title=title,
        authors=authors,
        language=next((i.language for i in infos if i.language), ""),
        description=next((i.description for i in infos if i.description), ""),
        date=next((i.date for i in infos if i.date), ""),
        subjects=list(dict.fromkeys(i.genre for i in infos if i.genre)),
        chapters=chapters,
        cover=next((i.cover for i in infos if i.cover), None),
        duration=sum(i.duration for i in infos),
    ))


def _track_order(member: tuple[Path, AudioInfo]) -> tuple[int, int, list[Any]]:
    """Sort key of a file inside an audiobook: disc, track number (untracked last), natural name."""
    path, info = member
    return (info.disc or 0, info.track if info.track is not None else 1_000_000, _natural_key(path))


def group_audiobooks(infos: Iterable[tuple[Path, AudioInfo]]) -> list[ParsedBook]:
    """Audiobooks from read audio files (see the module docstring for the rules).

    Books come out in the order their first file came in.
    """
    groups: dict[object, list[tuple[Path, AudioInfo]]] = {}
    for position, (path, info) in enumerate(infos):
        path = Path(path)
        if info.album and not info.chapters:
            key: object = (path.parent, clean_text(info.album).casefold())
        else:
            key = position  # a book on its own
        groups.setdefault(key, []).append((path, info))
    books = []
    for key, members in groups.items():
        members.sort(key=_track_order)
        path, info = members[0]
        books.append(_book(members, info.album if isinstance(key, tuple) else _file_title(path, info)))
    return books
