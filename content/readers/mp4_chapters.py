"""Read the QuickTime chapter track of an MP4 audiobook (M4A/M4B).

iTunes, Apple Books and many converters do not write an audiobook's
chapters as a Nero ``chpl`` atom (the one mutagen reads) but as a *chapter
track*: a text track (handler ``text`` or ``sbtl``) that the audio track
names in a ``chap`` reference of its ``tref`` box. Each sample of that
track is one chapter. It starts where the durations of the samples before
it (``stts``, in the ``mdhd`` timescale of the text track) end, and its bytes
(found through ``stsc``, ``stsz`` and ``stco`` or ``co64``) are a 16-bit
big-endian length, the title (UTF-8, or UTF-16 after a byte-order mark),
then perhaps more atoms (``encd``, ``styl``), which are ignored.

:func:`read_chapter_track` walks the boxes with :mod:`struct` and treats the
file as hostile. It seeks from box to box, so it never reads ``mdat`` or
the audio track's sample tables. It checks every size against the box and
the file that hold it, and every count against :data:`MAX_CHAPTERS` and
the bytes of its table, before it reads or allocates anything. So no read
is bigger than one table of at most 10,000 entries (120 KB), and a title is
read up to :data:`MAX_TITLE_BYTES`.

Errors: a damaged chapter track (a box whose size runs past its parent or
the file, a count bigger than its table, a sample past the end of the
file, tables that disagree) raises ``_DamagedBoxes`` (a
``ValueError``) inside this module. :func:`read_chapter_track` logs it at
info level and returns no chapters: a file that plays is never rejected
for its chapter track. A title whose length prefix claims more bytes than
its sample holds is read as empty, and the chapter is kept.

The same box walk tells :mod:`content.readers.audio` whether a file's
top-level boxes run past its end (:func:`top_level_boxes_overrun`: a cut-off
download).

The edit list (``elst``) of the chapter track is not applied. Writers
start its first sample at 0 (ffmpeg stretches the first chapter back to 0).
"""

from __future__ import annotations

import codecs
import itertools
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["MAX_CHAPTERS", "MAX_TITLE_BYTES", "read_chapter_track", "top_level_boxes_overrun", "has_video_track"]

log = logging.getLogger(__name__)

MAX_CHAPTERS = 10_000  # entries of one sample table; more is a damaged file, not a book
MAX_TITLE_BYTES = 1024  # of one title; a longer one is cut
MAX_CHILDREN = 1_000  # boxes walked in one container (a movie holds a handful of tracks)
MAX_REFERENCES = 64  # track IDs read from one chap reference
CHAPTER_HANDLERS = (b"text", b"sbtl")


class _DamagedBoxes(ValueError):
    """Boxes contradict themselves or the file: a box on the way to the chapter track, or the track."""


@dataclass(frozen=True)
class _Box:
    """One box: its four-character type, and where its payload starts and ends in the file."""

    kind: bytes
    start: int
    end: int


@dataclass
class _Track:
    """The little a trak box says that is needed to find and read a chapter track."""

    track_id: int = 0
    handler: bytes = b""
    chapter_ids: tuple[int, ...] = ()
    timescale: int = 0
    sample_table: _Box | None = None


class _BoxReader:
    """Reads the boxes of one open MP4 file, checking every size against the file's."""

    def __init__(self, fileobj: BinaryIO) -> None:
        """A reader over ``fileobj``, which must be open for binary reading and seekable."""
        self.fileobj = fileobj
        self.size = fileobj.seek(0, 2)

    def whole_file(self) -> _Box:
        """The file itself, as the box that holds the top-level boxes."""
        return _Box(b"", 0, self.size)

    def children(self, parent: _Box, limit: int | None = MAX_CHILDREN) -> Iterator[_Box]:
        """The boxes inside ``parent``, in order; a size that lies raises _DamagedBoxes.

        A size of 0 means "to the end of the file" (which must then be the
        parent's end too), 1 a 64-bit size after the type. Fewer than 8 bytes
        left at the end of the parent are padding. More than ``limit`` boxes
        (None: no limit) is damage too.
        """
        offset = parent.start
        for _ in range(limit) if limit is not None else itertools.count():
            if offset + 8 > parent.end:
                return
            header = self.read_at(offset, min(16, parent.end - offset))
            size, kind = struct.unpack(">I4s", header[:8])
            header_size = 8
            if size == 1:
                if len(header) < 16:
                    raise _DamagedBoxes(f"box {kind!r} at {offset} is cut in its 64-bit size")
                size, header_size = struct.unpack(">Q", header[8:16])[0], 16
            elif size == 0:
                size = self.size - offset
            if size < header_size or offset + size > parent.end:
                raise _DamagedBoxes(f"box {kind!r} at {offset} claims {size} bytes: "
                                           f"not within its parent ({parent.start}-{parent.end})")
            yield _Box(kind, offset + header_size, offset + size)
            offset += size
        raise _DamagedBoxes(f"more than {MAX_CHILDREN} boxes in {parent.kind!r}")

    def child(self, parent: _Box, kind: bytes) -> _Box | None:
        """The first box of type ``kind`` inside ``parent``, or None."""
        return next((box for box in self.children(parent) if box.kind == kind), None)

    def read(self, box: _Box, length: int, at: int = 0) -> bytes:
        """``length`` bytes of ``box``'s payload from ``at``; _DamagedBoxes if the box is shorter."""
        if box.start + at + length > box.end:
            raise _DamagedBoxes(f"box {box.kind!r} is too short: {at + length} bytes needed")
        return self.read_at(box.start + at, length)

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes of the file at ``offset``; _DamagedBoxes past its end."""
        if offset + length > self.size:
            raise _DamagedBoxes(f"{length} bytes at {offset} are past the end of the file ({self.size})")
        self.fileobj.seek(offset)
        data = self.fileobj.read(length)
        if len(data) < length:  # the file shrank while it was being read
            raise _DamagedBoxes(f"the file ends at {offset + len(data)}")
        return data


def top_level_boxes_overrun(path: Path) -> bool:
    """Whether the file's top-level boxes claim more bytes than it has (a cut-off download).

    Every top-level box is walked: a fragmented file has thousands.
    """
    with open(path, "rb") as fileobj:
        reader = _BoxReader(fileobj)
        try:
            for _ in reader.children(reader.whole_file(), limit=None):
                pass
        except _DamagedBoxes:
            return True
    return False


def read_chapter_track(path: Path) -> list[tuple[float, str]]:
    """(start in seconds, raw title) of each chapter in the file's chapter track, in track order.

    An empty list when the file has no chapter track, or a damaged one
    (logged at info level). Titles are not cleaned; a title that cannot be
    read is ``""``.
    """
    try:
        with open(path, "rb") as fileobj:
            return _read_chapters(_BoxReader(fileobj))
    except _DamagedBoxes as error:
        log.info("ignoring the damaged chapter track of %s: %s", path, error)
        return []


def has_video_track(path: Path) -> bool:
    """Whether the file has a video track that is not chapter pictures (a film, not an audiobook).

    A damaged box structure counts as no video: the audio reader judges the
    file's audio on its own.
    """
    try:
        with open(path, "rb") as fileobj:
            reader = _BoxReader(fileobj)
            moov = reader.child(reader.whole_file(), b"moov")
            if moov is None:
                return False
            tracks = [_track(reader, box) for box in reader.children(moov) if box.kind == b"trak"]
    except _DamagedBoxes as error:
        log.info("cannot list the tracks of %s: %s", path, error)
        return False
    pictures = {track_id for track in tracks for track_id in track.chapter_ids}
    return any(track.handler == b"vide" and track.track_id not in pictures for track in tracks)


def _read_chapters(reader: _BoxReader) -> list[tuple[float, str]]:
    """The chapters of the file's chapter track ([] if it has none)."""
    moov = reader.child(reader.whole_file(), b"moov")
    if moov is None:
        return []
    tracks = [_track(reader, box) for box in reader.children(moov) if box.kind == b"trak"]
    track = _find_chapter_track(tracks)
    return _chapters(reader, track) if track is not None else []


def _track(reader: _BoxReader, trak: _Box) -> _Track:
    """The ID, chapter references, handler, timescale and sample table of one trak box."""
    track = _Track()
    for box in reader.children(trak):
        if box.kind == b"tkhd":
            track.track_id = _field_after_times(reader, box)
        elif box.kind == b"tref":
            track.chapter_ids = _chapter_references(reader, box)
        elif box.kind == b"mdia":
            _read_media(reader, box, track)
    return track


def _read_media(reader: _BoxReader, mdia: _Box, track: _Track) -> None:
    """Fills ``track``'s handler, timescale and sample table from its mdia box."""
    for box in reader.children(mdia):
        if box.kind == b"hdlr":  # version and flags, a QuickTime component type, the handler
            track.handler = reader.read(box, 4, at=8)
        elif box.kind == b"mdhd":
            track.timescale = _field_after_times(reader, box)
        elif box.kind == b"minf":
            track.sample_table = reader.child(box, b"stbl")


def _field_after_times(reader: _BoxReader, box: _Box) -> int:
    """The 32-bit field after the creation and modification times: tkhd's track ID, mdhd's timescale.

    The times are 32-bit in version 0 of the box, 64-bit in version 1.
    """
    at = 20 if reader.read(box, 1)[0] == 1 else 12
    return _uint32(reader.read(box, 4, at))


def _chapter_references(reader: _BoxReader, tref: _Box) -> tuple[int, ...]:
    """The track IDs named by the chap references of a tref box."""
    track_ids: list[int] = []
    for box in reader.children(tref):
        if box.kind == b"chap":
            count = min((box.end - box.start) // 4, MAX_REFERENCES)
            track_ids.extend(struct.unpack(f">{count}I", reader.read(box, 4 * count)))
    return tuple(track_ids)


def _find_chapter_track(tracks: list[_Track]) -> _Track | None:
    """The first text track that a track names as its chapters, or None.

    A chap reference may also name a video track (chapter pictures): it is passed over.
    """
    by_id = {track.track_id: track for track in tracks}
    for track in tracks:
        for track_id in track.chapter_ids:
            found = by_id.get(track_id)
            if found is not None and found.handler in CHAPTER_HANDLERS:
                return found
    return None


def _chapters(reader: _BoxReader, track: _Track) -> list[tuple[float, str]]:
    """(start in seconds, title) of each sample of a chapter track."""
    if track.timescale == 0 or track.sample_table is None:
        raise _DamagedBoxes("the chapter track has no timescale or no sample table")
    tables = {box.kind: box for box in reader.children(track.sample_table)}
    sizes = _sample_sizes(reader, _table(tables, b"stsz"))
    starts = _sample_starts(_entries(reader, _table(tables, b"stts"), "II"), len(sizes))
    if b"co64" in tables:
        chunk_offsets = [offset for (offset,) in _entries(reader, tables[b"co64"], "Q")]
    else:
        chunk_offsets = [offset for (offset,) in _entries(reader, _table(tables, b"stco"), "I")]
    offsets = _sample_offsets(chunk_offsets, _entries(reader, _table(tables, b"stsc"), "III"), sizes)
    return [(start / track.timescale, _title(reader, offset, size))
            for start, offset, size in zip(starts, offsets, sizes, strict=True)]


def _table(tables: dict[bytes, _Box], kind: bytes) -> _Box:
    """The sample-table box of type ``kind``; _DamagedBoxes if the chapter track lacks it."""
    if kind not in tables:
        raise _DamagedBoxes(f"the chapter track has no {kind!r} box")
    return tables[kind]


def _count(reader: _BoxReader, box: _Box, at: int) -> int:
    """The 32-bit entry count at ``at`` of a sample-table box, at most MAX_CHAPTERS."""
    count = _uint32(reader.read(box, 4, at))
    if count > MAX_CHAPTERS:
        raise _DamagedBoxes(f"{box.kind!r} claims {count} entries (at most {MAX_CHAPTERS} are read)")
    return count


def _entries(reader: _BoxReader, box: _Box, layout: str, at: int = 4) -> list[tuple[int, ...]]:
    """The entries of a sample-table box: a count at ``at`` (after version and flags), then the table.

    ``layout`` is the :mod:`struct` format of one big-endian entry. The
    table is read only once its size is known to fit in the box.
    """
    entry = struct.Struct(">" + layout)
    count = _count(reader, box, at)
    return list(entry.iter_unpack(reader.read(box, count * entry.size, at + 4)))


def _sample_sizes(reader: _BoxReader, stsz: _Box) -> list[int]:
    """The size of each sample: one size for all of them, or else a table (stsz)."""
    size = _uint32(reader.read(stsz, 4, at=4))
    if size:
        return [size] * _count(reader, stsz, at=8)
    return [entry[0] for entry in _entries(reader, stsz, "I", at=8)]


def _sample_starts(runs: list[tuple[int, ...]], count: int) -> list[int]:
    """The start of each of ``count`` samples, in track ticks, from stts runs of (samples, duration)."""
    starts: list[int] = []
    time = 0
    for samples, duration in runs:
        taken = min(samples, count - len(starts))
        starts.extend(time + duration * index for index in range(taken))
        time += duration * taken
    if len(starts) < count:
        raise _DamagedBoxes(f"stts gives the times of {len(starts)} samples out of {count}")
    return starts


def _sample_offsets(chunk_offsets: list[int], runs: list[tuple[int, ...]], sizes: list[int]) -> list[int]:
    """The file offset of each sample: a chunk holds samples one after the other.

    ``runs`` are stsc's (first chunk, samples per chunk, description):
    from its first chunk (numbered from 1) on, each chunk holds that many
    samples.
    """
    offsets: list[int] = []
    per_chunk, run = 0, 0
    for number, offset in enumerate(chunk_offsets, 1):
        while run < len(runs) and runs[run][0] <= number:
            per_chunk, run = runs[run][1], run + 1
        for size in sizes[len(offsets) : len(offsets) + per_chunk]:
            offsets.append(offset)
            offset += size
    if len(offsets) < len(sizes):
        raise _DamagedBoxes(f"stsc and stco place {len(offsets)} samples out of {len(sizes)}")
    return offsets


def _title(reader: _BoxReader, offset: int, size: int) -> str:
    """The title in the chapter sample of ``size`` bytes at ``offset`` ('' if it holds none)."""
    if offset + size > reader.size:
        raise _DamagedBoxes(f"a chapter sample at {offset} runs past the end of the file")
    head = reader.read_at(offset, min(size, 2 + MAX_TITLE_BYTES))
    if len(head) < 2:
        return ""
    length = struct.unpack(">H", head[:2])[0]
    if length > size - 2:  # the prefix claims more than the sample holds: no title to trust
        return ""
    return _decode(head[2 : 2 + length], complete=length <= MAX_TITLE_BYTES)


def _decode(raw: bytes, complete: bool) -> str:
    """Title bytes as text: UTF-16 after a byte-order mark, else UTF-8; bad bytes become U+FFFD.

    A title cut at MAX_TITLE_BYTES (``complete`` false) loses its last,
    partial character rather than ending in U+FFFD.
    """
    encoding = "utf-16" if raw[:2] in (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE) else "utf-8-sig"
    return codecs.getincrementaldecoder(encoding)("replace").decode(raw, final=complete)


def _uint32(data: bytes) -> int:
    """A 32-bit big-endian unsigned integer."""
    return int.from_bytes(data, "big")
