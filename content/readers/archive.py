"""Open a zip archive (an EPUB) without trusting it.

Before any parsing library sees an archive, :func:`open_safe_zip` checks it:

* it is a zip at all, and not truncated (the central directory is readable);
* no more members than :data:`DEFAULT_MAX_MEMBERS` (counted from the end
  record before Python builds its member list);
* no member name with ``..``, an absolute path, a backslash or a drive
  letter (``C:``);
* no password-protected member;
* the declared uncompressed total is under ``max_uncompressed`` and no big
  member declares a compression ratio over ``max_ratio`` (zip bombs).

The declared sizes can lie, so :class:`SafeZip` also counts while reading:
a member that yields more bytes than it declared, or reads that add up to
more than the cap, raise :class:`~content.errors.RejectedFile` too. A member
that cannot be read (bad CRC, unknown compression) raises
:class:`DamagedMember`, which a reader may treat as a missing file; it is
also listed in :attr:`SafeZip.damaged`. Only after every member has been
read once through :class:`SafeZip` without error is it safe to hand the
file to a library that uses ``zipfile`` directly (``ZipFile.read`` inflates
a member completely before cutting it to its declared size).

Names are looked up leniently with :meth:`SafeZip.resolve` (percent-encoding,
case, Unicode normalisation, names stored in CP437 by old zip tools), since
real EPUBs get these wrong.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from content.errors import RejectedFile

__all__ = [
    "DEFAULT_MAX_UNCOMPRESSED",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_MEMBERS",
    "DamagedMember",
    "SafeZip",
    "open_safe_zip",
    "join_member_path",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DEFAULT_MAX_RATIO = 100
RATIO_CHECK_MIN_SIZE = 1024 * 1024  # small members may compress very well (a page of spaces)
DEFAULT_MAX_MEMBERS = 10_000
_CHUNK = 64 * 1024
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
# What zipfile and zlib raise on a damaged member or archive.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, OverflowError,
               ValueError, struct.error, NotImplementedError, RuntimeError)


class DamagedMember(RejectedFile):
    """One member of the archive cannot be decompressed (bad CRC, unsupported method)."""


def _megabytes(size: int) -> str:
    """``200 MB`` for a byte count, for librarians."""
    return f"{size / (1024 * 1024):,.0f} MB"


def _declared_member_count(fileobj: BinaryIO) -> int | None:
    """The number of members the end-of-central-directory record declares, if found."""
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(max(0, size - 65_557))
    tail = fileobj.read()
    position = tail.rfind(_EOCD)
    if position < 0 or len(tail) < position + 22:
        return None
    (count,) = struct.unpack("<H", tail[position + 10 : position + 12])
    locator = tail.rfind(_EOCD64_LOCATOR, 0, position)
    if count == 0xFFFF and locator >= 0 and len(tail) >= locator + 20:
        (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        fileobj.seek(record_offset)
        record = fileobj.read(56)
        if record[:4] == _EOCD64 and len(record) == 56:
            (count,) = struct.unpack("<Q", record[32:40])
    return count


def _unsafe_name_reason(name: str) -> str | None:
    """Why a member name is dangerous to extract or resolve, or None if it is fine."""
    if "\\" in name:
        return "a member name contains a backslash"
    if name.startswith("/") or _DRIVE_LETTER.match(name):
        return "a member name is an absolute path"
    if ".." in name.split("/"):
        return "a member name points outside the book (..)"
    return None


def _lookup_key(name: str) -> str:
    """The key names are compared by: percent-decoded, NFC, case-folded."""
    return unicodedata.normalize("NFC", unquote(name)).casefold()


def _utf8_name(info: zipfile.ZipInfo) -> str:
    """The member name as its author meant it: zip tools often store UTF-8 without the flag."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def join_member_path(base_dir: str, href: str) -> str | None:
    """The archive path of ``href`` relative to ``base_dir`` (fragment dropped), or None if outside."""
    href = href.split("#", 1)[0].strip()
    if not href or "://" in href or href.startswith(("data:", "mailto:")):
        return None
    path = posixpath.normpath(posixpath.join(base_dir, href) if not href.startswith("/") else href[1:])
    if path.startswith("../") or path in ("..", "."):
        return None
    return path


class SafeZip:
    """A zip archive whose names and declared sizes were checked; reads are bounded.

    Use :func:`open_safe_zip` to make one; close it (or use ``with``).
    ``fileobj`` is the open file, for a library that wants to read the
    archive itself after the checks.
    """

    def __init__(self, fileobj: BinaryIO, archive: zipfile.ZipFile, *, kind: str, max_uncompressed: int):
        self.fileobj = fileobj
        self.kind = kind
        self.max_uncompressed = max_uncompressed
        self._zip = archive
        self._file_size = fileobj.seek(0, os.SEEK_END)
        self._infos = {info.filename: info for info in archive.infolist() if not info.is_dir() or info.file_size}
        self.damaged: set[str] = set()
        self._keys: dict[str, str] = {}
        for real_name, info in self._infos.items():
            self._keys.setdefault(_lookup_key(_utf8_name(info)), real_name)
            self._keys.setdefault(_lookup_key(real_name), real_name)
        self._read_sizes: dict[str, int] = {}

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the archive and its file."""
        self._zip.close()
        self.fileobj.close()

    @property
    def names(self) -> list[str]:
        """The member names (files only), in archive order."""
        return list(self._infos)

    def resolve(self, name: str) -> str | None:
        """The member name that ``name`` designates, tolerating case, %-encoding and NFD, or None."""
        if name in self._infos:
            return name
        return self._keys.get(_lookup_key(name))

    def size(self, name: str) -> int:
        """The declared uncompressed size of a member."""
        return self._infos[name].file_size

    def iter_chunks(self, name: str) -> Iterator[bytes]:
        """Yields a member's bytes in chunks, never more than it declared or the archive cap allows.

        Decompression is done here, chunk by chunk, rather than by
        ``zipfile``: ``ZipFile.read`` inflates a whole member before cutting
        it to its declared size, so a member that lies about its size would
        be a zip bomb for it. Raises :class:`DamagedMember` for a bad CRC, a
        short member or an unsupported compression method, and
        RejectedFile when a member inflates past its declared size.
        """
        info = self._infos[name]
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self._damaged(name, f"compression method {info.compress_type}")
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        produced, crc = 0, 0
        try:
            for raw in self._raw_chunks(info):
                pending = raw
                while pending:
                    data, pending = (inflater.decompress(pending, _CHUNK), inflater.unconsumed_tail) \
                        if inflater else (pending, b"")
                    produced, crc = produced + len(data), zlib.crc32(data, crc)
                    self._account(name, produced, info.file_size)
                    yield data
        except zlib.error as error:
            raise self._damaged(name, str(error)) from error
        if produced != info.file_size or crc != info.CRC:
            raise self._damaged(name, "bad CRC or size")

    def _raw_chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's compressed bytes, located through its local header, in chunks."""
        if not 0 <= info.header_offset < self._file_size:
            raise self._damaged(info.filename, "offset outside the file")
        self.fileobj.seek(info.header_offset)
        header = self.fileobj.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise self._damaged(info.filename, "no local header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        position, left = info.header_offset + 30 + name_length + extra_length, info.compress_size
        if position + left > self._file_size:
            raise self._damaged(info.filename, "truncated")
        while left > 0:
            self.fileobj.seek(position)  # another reader may have moved the shared file position
            raw = self.fileobj.read(min(_CHUNK, left))
            if not raw:
                raise self._damaged(info.filename, "truncated")
            position, left = position + len(raw), left - len(raw)
            yield raw

    def _damaged(self, name: str, detail: str) -> DamagedMember:
        """The error for a member that cannot be read; remembers the member as damaged."""
        log.info("damaged member %r: %s", name, detail)
        self.damaged.add(name)
        return DamagedMember(f"not a valid {self.kind}: the zip archive is damaged ({name})")

    def read(self, name: str, *, limit: int | None = None) -> bytes:
        """A member's bytes (bounded); ``limit`` refuses members larger than that many bytes."""
        if limit is not None and self._infos[name].file_size > limit:
            raise RejectedFile(f"not a valid {self.kind}: {name} is too large ({_megabytes(limit)} at most)")
        return b"".join(self.iter_chunks(name))

    def _account(self, name: str, produced: int, declared: int) -> None:
        """Counts bytes read from a member; refuses lies about sizes and totals over the cap."""
        if produced > declared:
            raise RejectedFile(f"unsafe archive: {name[:80]} is larger than it declares (a zip bomb?)")
        self._read_sizes[name] = max(produced, self._read_sizes.get(name, 0))
        if sum(self._read_sizes.values()) > self.max_uncompressed:
            raise RejectedFile(f"too large: more than {_megabytes(self.max_uncompressed)} when unpacked")


def _check_members(archive: zipfile.ZipFile, *, kind: str, max_uncompressed: int, max_ratio: int) -> None:
    """Refuses unsafe names, encrypted members, a too large total and zip-bomb ratios."""
    total = 0
    for info in archive.infolist():
        reason = _unsafe_name_reason(info.filename)
        if reason:
            raise RejectedFile(f"unsafe archive: {reason} ({info.filename[:80]!r})")
        if info.flag_bits & 0x1:
            raise RejectedFile("protected by a password (encrypted zip archive)")
        total += info.file_size
        if total > max_uncompressed:
            raise RejectedFile(f"too large: more than {_megabytes(max_uncompressed)} when unpacked")
        if info.file_size > RATIO_CHECK_MIN_SIZE and info.file_size > max_ratio * max(info.compress_size, 1):
            raise RejectedFile(
                f"unsafe archive: {info.filename[:80]} is compressed more than {max_ratio}:1 (a zip bomb?)"
            )


def _open_zip(fileobj: BinaryIO, *, kind: str, max_members: int) -> zipfile.ZipFile:
    """A ``ZipFile`` over ``fileobj``, or RejectedFile saying why it is not a usable zip."""
    fileobj.seek(0)
    magic = fileobj.read(4)
    if not magic:
        raise RejectedFile(f"not a valid {kind}: the file is empty")
    try:
        count = _declared_member_count(fileobj)
        if count is not None and count > max_members:
            raise RejectedFile(f"unsafe archive: {count:,} files inside (at most {max_members:,})")
        return zipfile.ZipFile(fileobj)
    except _ZIP_ERRORS as error:
        log.info("not a zip: %s", error)
        if magic == b"PK\x03\x04":
            raise RejectedFile(f"not a valid {kind}: the zip archive is damaged or truncated") from error
        raise RejectedFile(f"not a valid {kind}: not a zip archive") from error


def open_safe_zip(
    path: Path,
    *,
    kind: str = "EPUB",
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_ratio: int = DEFAULT_MAX_RATIO,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> SafeZip:
    """Opens and checks the zip archive at ``path``; ``kind`` names the format in reasons.

    Raises :class:`~content.errors.RejectedFile` (not a zip, truncated,
    unsafe names, zip bomb, encrypted) and ``OSError`` if the file cannot be
    opened at all.
    """
    fileobj = open(path, "rb")  # noqa: SIM115 - owned by the SafeZip, closed on every failure below
    try:
        archive = _open_zip(fileobj, kind=kind, max_members=max_members)
        try:
            _check_members(archive, kind=kind, max_uncompressed=max_uncompressed, max_ratio=max_ratio)
        except RejectedFile:
            archive.close()
            raise
    except BaseException:
        fileobj.close()
        raise
    return SafeZip(fileobj, archive, kind=kind, max_uncompressed=max_uncompressed)
