"""Generators of real media files for the test suite: EPUB, PDF, MP3, M4B, OGG, FLAC, images, zip bombs.

Every function writes a small, genuine file at ``path`` and returns ``path``.
The EPUB and zip writers work at the byte level on purpose, so tests can
also make broken variants (members that point nowhere, hostile names, lying
sizes). MP3 frames and ID3 tags are written by hand (silent MPEG-1 Layer III
frames play and decode fine), so the audio reader is not tested against
files written by its own library. M4B/OGG/FLAC need ``ffmpeg`` (Debian
package ``ffmpeg``); :data:`HAVE_FFMPEG` tells tests whether to skip. PDFs
use fpdf2 with DejaVu Sans (Debian package ``fonts-dejavu-core``) for
Vietnamese text, or a core font (Latin-1 only) without it.
"""

from __future__ import annotations

import html
import io
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

__all__ = [
    "HAVE_FFMPEG",
    "DEJAVU_SANS",
    "make_png",
    "make_jpeg",
    "make_epub",
    "epub_members",
    "write_raw_zip",
    "make_zip_bomb",
    "make_pdf",
    "make_mp3",
    "id3_tag",
    "make_m4b",
    "mp4_boxes",
    "make_apple_m4b",
    "make_ogg",
    "make_flac",
]

HAVE_FFMPEG = shutil.which("ffmpeg") is not None
DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_OBFUSCATION_IDPF = "http://www.idpf.org/2008/embedding"
FONT_OBFUSCATION_ADOBE = "http://ns.adobe.com/pdf/enc#RC"


# ---------------------------------------------------------------- images


def make_png(width: int = 60, height: int = 90, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A solid-colour RGB PNG, written with zlib only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        """A PNG chunk: length, type, data, CRC."""
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(colour) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def make_jpeg(width: int = 300, height: int = 450, colour: tuple[int, int, int] = (20, 90, 160)) -> bytes:
    """A JPEG with a gradient (so it is not trivially small), made with Pillow."""
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    for y in range(0, height, 8):
        for x in range(0, width, 8):
            image.putpixel((x, y), ((x * 3) % 256, (y * 5) % 256, 128))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


# ---------------------------------------------------------------- EPUB

_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="{opf}" media-type="application/oebps-package+xml"/></rootfiles>
</container>
"""

_CHAPTER = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="{lang}">
<head><title>{title}</title><style>p {{ margin: 0 }}</style></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


def _x(text: str) -> str:
    """Escapes text for XML content and attributes."""
    return html.escape(text, quote=True)


def _nav(entries: Sequence[tuple[str, str]], lang: str) -> str:
    """An EPUB 3 navigation document listing (title, href) entries."""
    items = "\n".join(f'<li><a href="{_x(href)}">{_x(title)}</a></li>' for title, href in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
            f'xmlns:epub="http://www.idpf.org/2007/ops" lang="{lang}"><head><title>Mục lục</title></head>'
            f'<body><nav epub:type="toc" id="toc"><h1>Mục lục</h1><ol>\n{items}\n</ol></nav></body></html>\n')


def _ncx(entries: Sequence[tuple[str, str]], title: str) -> str:
    """An EPUB 2 NCX listing (title, href) entries."""
    points = "\n".join(
        f'<navPoint id="np{i}" playOrder="{i}"><navLabel><text>{_x(t)}</text></navLabel>'
        f'<content src="{_x(href)}"/></navPoint>'
        for i, (t, href) in enumerate(entries, 1)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
            f'version="2005-1"><head></head><docTitle><text>{_x(title)}</text></docTitle>'
            f'<navMap>\n{points}\n</navMap></ncx>\n')


def _opf(*, version: int, metadata: str, manifest: Iterable[str], spine: Iterable[str], spine_toc: str,
         guide: str) -> str:
    """A package document from its parts."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" '
            f'version="{version}.0" unique-identifier="bookid">\n'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">'
            f'\n{metadata}</metadata>\n<manifest>\n' + "\n".join(manifest) + '\n</manifest>\n'
            f'<spine{spine_toc}>\n' + "\n".join(spine) + f'\n</spine>\n{guide}</package>\n')


def _metadata_xml(*, title: str, authors: Sequence[str], language: str, subjects: Sequence[str],
                  description: str, publisher: str, date: str, identifier: str, version: int,
                  cover_meta: bool) -> str:
    """The <metadata> content of a package document."""
    lines = [f'<dc:identifier id="bookid">{_x(identifier)}</dc:identifier>', f"<dc:title>{_x(title)}</dc:title>"]
    if language:
        lines.append(f"<dc:language>{_x(language)}</dc:language>")
    lines += [f'<dc:creator id="creator{i}">{_x(a)}</dc:creator>' for i, a in enumerate(authors)]
    lines += [f"<dc:subject>{_x(s)}</dc:subject>" for s in subjects]
    for tag, value in (("description", description), ("publisher", publisher), ("date", date)):
        if value:
            lines.append(f"<dc:{tag}>{_x(value)}</dc:{tag}>")
    if version >= 3:
        lines.append('<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>')
    if cover_meta:
        lines.append('<meta name="cover" content="cover-image"/>')
    return "\n".join(lines) + "\n"


def epub_members(
    *,
    title: str = "Sách mẫu",
    authors: Sequence[str] = ("Nguyễn Văn A",),
    language: str = "vi",
    chapters: Sequence[tuple[str, str]] = (("Chương 1", "<p>Nội dung chương một.</p>"),),
    cover: bytes | None = None,
    cover_style: str = "epub3",
    subjects: Sequence[str] = (),
    description: str = "",
    publisher: str = "",
    date: str = "",
    identifier: str = "urn:uuid:12345678-1234-5678-1234-567812345678",
    epub_version: int = 3,
    ncx: bool = True,
    nav: bool = True,
    opf_dir: str = "OEBPS",
    chapter_names: Sequence[str] | None = None,
    encryption_xml: str | None = None,
    container_xml: str | None = None,
    extra_files: dict[str, bytes | str] | None = None,
    omit: Iterable[str] = (),
    manifest_extra: Sequence[str] = (),
    spine_extra: Sequence[str] = (),
    opf_hook: Callable[[str], str] | None = None,
) -> list[tuple[str, bytes]]:
    """The (name, bytes) members of an EPUB, in order, mimetype first. See :func:`make_epub`."""
    prefix = f"{opf_dir}/" if opf_dir else ""
    names = list(chapter_names or [f"ch{i}.xhtml" for i in range(1, len(chapters) + 1)])
    container = container_xml or _CONTAINER.format(opf=f"{prefix}content.opf")
    files: dict[str, bytes | str] = {"mimetype": "application/epub+zip", "META-INF/container.xml": container}
    manifest, spine = [], []
    for i, ((chapter_title, body), name) in enumerate(zip(chapters, names, strict=False), 1):
        files[prefix + name] = _CHAPTER.format(lang=language, title=_x(chapter_title), body=body)
        manifest.append(f'<item id="ch{i}" href="{_x(name)}" media-type="application/xhtml+xml"/>')
        spine.append(f'<itemref idref="ch{i}"/>')
    entries = [(chapter_title, name) for (chapter_title, _), name in zip(chapters, names, strict=False)]
    if nav and epub_version >= 3:
        files[prefix + "nav.xhtml"] = _nav(entries, language)
        manifest.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
    if ncx:
        files[prefix + "toc.ncx"] = _ncx(entries, title)
        manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
    guide = ""
    if cover is not None:
        files[prefix + "images/cover.jpg"] = cover
        props = ' properties="cover-image"' if cover_style == "epub3" else ""
        item_id = "cover-image" if cover_style in ("epub3", "epub2") else "img1"
        href = "images/cover.jpg"
        if cover_style == "guide":
            files[prefix + "cover.xhtml"] = ('<html xmlns="http://www.w3.org/1999/xhtml"><body>'
                                             '<img src="images/cover.jpg" alt=""/></body></html>')
            manifest.append('<item id="coverpage" href="cover.xhtml" media-type="application/xhtml+xml"/>')
            guide = '<guide><reference type="cover" title="Cover" href="cover.xhtml"/></guide>\n'
        if cover_style == "filename":
            item_id = "picture"
        manifest.append(f'<item id="{item_id}" href="{href}" media-type="image/jpeg"{props}/>')
    metadata = _metadata_xml(title=title, authors=authors, language=language, subjects=subjects,
                             description=description, publisher=publisher, date=date, identifier=identifier,
                             version=epub_version, cover_meta=cover is not None and cover_style == "epub2")
    opf = _opf(version=epub_version, metadata=metadata, manifest=[*manifest, *manifest_extra],
               spine=[*spine, *(f'<itemref idref="{i}"/>' for i in spine_extra)],
               spine_toc=' toc="ncx"' if ncx else "", guide=guide)
    files[prefix + "content.opf"] = opf_hook(opf) if opf_hook else opf
    if encryption_xml is not None:
        files["META-INF/encryption.xml"] = encryption_xml
    files.update(extra_files or {})
    omitted = set(omit)
    return [(name, data.encode("utf-8") if isinstance(data, str) else data)
            for name, data in files.items() if name not in omitted]


def make_epub(path: Path, **options) -> Path:
    """Writes an EPUB built by hand with zipfile (mimetype first, stored) and returns ``path``.

    Options (all optional): ``title``, ``authors``, ``language``, ``chapters``
    as ``[(title, html_body), ...]``, ``cover`` (image bytes) with
    ``cover_style`` ``epub3`` (cover-image property), ``epub2`` (meta
    name=cover), ``guide`` (a guide reference to a cover page) or
    ``filename`` (only the file name says "cover"); ``subjects``,
    ``description``, ``publisher``, ``date``, ``identifier``,
    ``epub_version`` (2 or 3), ``ncx``, ``nav``, ``opf_dir``,
    ``chapter_names`` (file names of the chapters, e.g. uppercase or
    percent-encoded), ``encryption_xml``, ``container_xml``, ``extra_files``
    ``{name: bytes|str}``, ``omit`` (member names not to write, so the
    manifest points nowhere), ``manifest_extra`` and ``spine_extra`` (raw
    ``<item>`` lines and idrefs), ``opf_hook`` (a function rewriting the OPF
    text), ``compression`` (``zipfile.ZIP_DEFLATED`` by default).
    """
    compression = options.pop("compression", zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in epub_members(**options):
            method = zipfile.ZIP_STORED if name == "mimetype" else compression
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return path


def write_raw_zip(path: Path, members: Sequence[tuple[str, bytes, int, int, int]]) -> Path:
    """Writes a zip by hand from (name, compressed_data, method, crc32, declared_size) members.

    Nothing is checked, so the declared sizes and CRCs may lie.
    """
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in members:
        encoded = name.encode("utf-8")
        fields = (20, 0x800, method, 0, 0x5821, crc, len(data), size, len(encoded))
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, len(out))
        central += encoded
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields, 0) + encoded + data
    offset = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                                 len(central), offset, 0)
    Path(path).write_bytes(bytes(out))
    return path


def _deflate(data: bytes) -> bytes:
    """Raw deflate data as a zip member holds it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _zero_stream(size: int) -> tuple[bytes, int]:
    """Raw deflate data that inflates to ``size`` zero bytes (a multiple of 1 MiB), and its CRC-32.

    One MiB of zeros is compressed once with a full flush, which makes the
    block independent of what came before, and then repeated.
    """
    mebibyte = 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(mebibyte)) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = size // mebibyte
    crc, zeros = 0, bytes(mebibyte)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    return block * count + b"\x03\x00", crc  # b"\x03\x00": a final, empty fixed-Huffman block


def make_zip_bomb(path: Path, *, size: int = 1024 ** 3, declared_size: int | None = None,
                  member: str = "OEBPS/ch1.xhtml") -> Path:
    """An EPUB whose first chapter inflates to ``size`` zero bytes (1 GiB by default, ~1 MB on disk).

    ``declared_size`` makes the archive lie about that member's size, with
    the CRC of the first ``declared_size`` bytes: ``zipfile`` alone finds
    nothing wrong with such a member, but inflates all of it on ``read()``.
    """
    members = []
    for name, data in epub_members(chapter_names=[member.split("/", 1)[1]]):
        if name == member:
            stream, crc = _zero_stream(size)
            if declared_size is not None:
                size, crc = declared_size, zlib.crc32(bytes(declared_size))
            members.append((name, stream, zipfile.ZIP_DEFLATED, crc, size))
        elif name == "mimetype":
            members.append((name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data)))
        else:
            members.append((name, _deflate(data), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)))
    return write_raw_zip(path, members)


# ---------------------------------------------------------------- PDF


def make_pdf(path: Path, pages: Sequence[str] = ("Trang một.",), *, title: str = "", author: str = "",
             subject: str = "", keywords: str = "", user_password: str | None = None,
             owner_password: str | None = None, language: str = "", cover: bytes | None = None,
             aes: bool = False) -> Path:
    """A PDF with one text page per item of ``pages``; ``user_password`` encrypts it (RC4-128).

    ``owner_password`` alone makes a restrictions-only PDF that opens with an
    empty password; ``aes`` uses AES-128 instead of RC4 (needs the
    ``cryptography`` package). ``cover`` (JPEG bytes) fills page 1 before the
    text pages.
    """
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    if DEJAVU_SANS.exists():
        pdf.add_font("DejaVu", "", str(DEJAVU_SANS))
        pdf.set_font("DejaVu", size=12)
    else:
        pdf.set_font("Helvetica", size=12)
        pages = [p.encode("latin-1", "replace").decode("latin-1") for p in pages]
    pdf.set_title(title) if title else None
    pdf.set_author(author) if author else None
    pdf.set_subject(subject) if subject else None
    pdf.set_keywords(keywords) if keywords else None
    pdf.set_lang(language) if language else None
    if cover is not None:
        pdf.add_page()
        pdf.image(io.BytesIO(cover), x=0, y=0, w=pdf.w, h=pdf.h)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    if user_password is not None or owner_password is not None:
        pdf.set_encryption(owner_password=owner_password or "owner", user_password=user_password or "",
                           encryption_method=EncryptionMethod.AES_128 if aes else EncryptionMethod.RC4)
    pdf.output(str(path))
    return path


# ---------------------------------------------------------------- MP3

_MP3_FRAME_SIZE = 144  # MPEG-1 Layer III, 32 kbit/s, 32 kHz, mono, no padding
_MP3_FRAME_SECONDS = 1152 / 32000
_MP3_SIDE_INFO = 17  # bytes of side information in a mono MPEG-1 frame


def _silent_frame() -> bytearray:
    """One silent MPEG-1 Layer III frame (zero side info: no granule carries data)."""
    frame = bytearray(_MP3_FRAME_SIZE)
    frame[0:4] = bytes([0xFF, 0xFB, 0x18, 0xC4])  # 32 kbit/s, 32 kHz, mono, original
    return frame


def _xing_frame(frames: int, size: int) -> bytes:
    """A silent frame carrying a Xing header that declares ``frames`` frames and ``size`` bytes."""
    frame = _silent_frame()
    offset = 4 + _MP3_SIDE_INFO
    frame[offset : offset + 16] = b"Xing" + struct.pack(">III", 0x3, frames, size)
    return bytes(frame)


def _text_frame(frame_id: str, text: str, version: int, mislabelled: bool = False) -> bytes:
    """An ID3v2 text frame: UTF-8 for v2.4, UTF-16 with BOM for v2.3.

    ``mislabelled`` writes UTF-8 bytes under the Latin-1 encoding byte, as
    many old Vietnamese tools did.
    """
    if mislabelled:
        payload = b"\x00" + text.encode("utf-8")
    else:
        payload = b"\x03" + text.encode("utf-8") if version == 4 else b"\x01" + text.encode("utf-16")
    return _id3_frame(frame_id, payload, version)


def _id3_frame(frame_id: str, payload: bytes, version: int) -> bytes:
    """An ID3v2 frame header (synchsafe size in v2.4) followed by the payload."""
    size = _synchsafe(len(payload)) if version == 4 else struct.pack(">I", len(payload))
    return frame_id.encode("ascii") + size + b"\x00\x00" + payload


def _synchsafe(value: int) -> bytes:
    """A 28-bit integer in four 7-bit bytes, as ID3v2 sizes are written."""
    return bytes([(value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F])


def _chapter_frames(chapters: Sequence[tuple[str, float]], version: int) -> bytes:
    """ID3 CHAP frames (with a TIT2 sub-frame each) for consecutive (title, seconds) chapters."""
    frames, start = b"", 0
    for number, (title, seconds) in enumerate(chapters, 1):
        end = start + round(seconds * 1000)
        payload = (f"ch{number}".encode("ascii") + b"\x00" + struct.pack(">IIII", start, end, 0xFFFFFFFF, 0xFFFFFFFF)
                   + _text_frame("TIT2", title, version))
        frames += _id3_frame("CHAP", payload, version)
        start = end
    return frames


def id3_tag(*, title: str = "", album: str = "", artist: str = "", track: str = "", disc: str = "",
            cover: bytes | None = None, version: int = 4, mislabelled: bool = False,
            chapters: Sequence[tuple[str, float]] = ()) -> bytes:
    """An ID3v2.4 (UTF-8) or v2.3 (UTF-16) tag with the given text frames, a front cover, CHAP frames.

    ``mislabelled``: UTF-8 text marked as Latin-1 (see :func:`_text_frame`);
    ``chapters``: (title, seconds) pairs, one after the other.
    """
    frames = b"".join(
        _text_frame(frame_id, value, version, mislabelled)
        for frame_id, value in (("TIT2", title), ("TALB", album), ("TPE1", artist), ("TRCK", track),
                                ("TPOS", disc))
        if value
    )
    if cover is not None:
        mime = b"image/png" if cover.startswith(b"\x89PNG") else b"image/jpeg"
        frames += _id3_frame("APIC", b"\x00" + mime + b"\x00\x03" + b"\x00" + cover, version)
    frames += _chapter_frames(chapters, version)
    return b"ID3" + bytes([version, 0, 0]) + _synchsafe(len(frames)) + frames


def make_mp3(path: Path, seconds: float = 2.0, *, title: str = "", album: str = "", track: int | str = "",
             artist: str = "", disc: int | str = "", cover: bytes | None = None, id3_version: int | None = 4,
             xing: str | None = None, mislabelled: bool = False,
             chapters: Sequence[tuple[str, float]] = ()) -> Path:
    """A real, silent MP3 of about ``seconds`` seconds (4 KB/s) with an ID3v2 tag.

    ``id3_version`` 4 writes UTF-8 frames, 3 writes UTF-16, None no tag.
    ``xing``: None (plain CBR), ``"ok"`` (a correct Xing header), ``"zero"``
    (a broken one declaring 0 frames) or ``"huge"`` (declaring a million).
    ``mislabelled`` writes the tag's UTF-8 text under the Latin-1 marker;
    ``chapters`` adds ID3 CHAP frames for (title, seconds) pairs.
    """
    count = max(1, round(seconds / _MP3_FRAME_SECONDS))
    audio = bytes(_silent_frame()) * count
    if xing is not None:
        declared = {"ok": count, "zero": 0, "huge": 1_000_000}[xing]
        audio = _xing_frame(declared, (declared + 1) * _MP3_FRAME_SIZE) + audio
    tag = b""
    if id3_version is not None:
        tag = id3_tag(title=title, album=album, artist=artist, track=str(track), disc=str(disc), cover=cover,
                      version=id3_version, mislabelled=mislabelled, chapters=chapters)
    Path(path).write_bytes(tag + audio)
    return path


# ---------------------------------------------------------------- ffmpeg formats


def _ffmetadata(tags: dict[str, str], chapters: Sequence[tuple[str, float]]) -> str:
    """An FFMETADATA1 text with global tags and (title, seconds) chapters."""
    def escape(value: str) -> str:
        """A value escaped for FFMETADATA1."""
        return "".join("\\" + c if c in "=;#\\\n" else c for c in value)

    lines = [";FFMETADATA1"] + [f"{key}={escape(value)}" for key, value in tags.items() if value]
    start = 0
    for title, seconds in chapters:
        end = start + round(seconds * 1000)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}", f"title={escape(title)}"]
        start = end
    return "\n".join(lines) + "\n"


def _ffmpeg(path: Path, seconds: float, codec: list[str], tags: dict[str, str],
            chapters: Sequence[tuple[str, float]] = ()) -> Path:
    """Encodes ``seconds`` of silence with ffmpeg, with tags and chapters from an FFMETADATA file."""
    with tempfile.TemporaryDirectory() as scratch:
        metadata = Path(scratch) / "metadata.txt"
        metadata.write_text(_ffmetadata(tags, chapters), encoding="utf-8")
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
             "-i", str(metadata), "-t", f"{seconds:.3f}", "-map", "0:a", "-map_metadata", "1",
             "-map_chapters", "1", *codec, str(path)],
            check=True, capture_output=True,
        )
    return path


def make_m4b(path: Path, chapters: Sequence[tuple[str, float]] = (("Chương 1", 1.0), ("Chương 2", 1.0)), *,
             title: str = "Sách nói", artist: str = "Người đọc", album: str = "", faststart: bool = False) -> Path:
    """An AAC audiobook (M4B/M4A by the name of ``path``) with chapter atoms, via ffmpeg.

    ``chapters`` are (title, seconds); an empty list makes a file without
    chapters. ``faststart`` puts the moov atom before the audio.
    """
    seconds = sum(s for _, s in chapters) or 2.0
    movflags = ["-movflags", "+faststart"] if faststart else []
    return _ffmpeg(path, seconds, ["-c:a", "aac", "-b:a", "8k", *movflags],
                   {"title": title, "artist": artist, "album": album or title}, chapters)


_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"tref", b"edts", b"dinf"}


def mp4_boxes(data: bytes) -> list[tuple[str, int, int]]:
    """Every box of an MP4 file and of its containers as ``("moov/trak/tkhd", offset, size)``, in file order.

    The sizes are trusted: this is for files ffmpeg wrote, before a test
    mangles them. ``offset`` is where the box's header starts.
    """
    boxes = []

    def walk(start: int, end: int, parent: str) -> None:
        """Lists the boxes between ``start`` and ``end``, and those inside the containers among them."""
        offset = start
        while offset + 8 <= end:
            size, kind = struct.unpack(">I4s", data[offset : offset + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
            elif size == 0:
                size = end - offset
            name = parent + kind.decode("latin-1")
            boxes.append((name, offset, size))
            if kind in _MP4_CONTAINERS:
                walk(offset + header, offset + size, name + "/")
            offset += size

    walk(0, len(data), "")
    return boxes


def make_apple_m4b(path: Path, chapters: Sequence[tuple[str, float]] = (("Chương 1", 1.0), ("Chương 2", 1.0)),
                   **options) -> Path:
    """An audiobook whose chapters are in a QuickTime chapter track only, as iTunes and Apple Books write them.

    :func:`make_m4b` (``options`` are its own) makes ffmpeg write both a
    Nero ``chpl`` atom and a chapter track (a text track named by a
    ``chap`` reference in the audio track's ``tref`` box); the ``chpl`` box,
    found by walking the boxes, then becomes a ``free`` box of the same size.
    """
    make_m4b(path, chapters, **options)
    data = bytearray(Path(path).read_bytes())
    for name, offset, _ in mp4_boxes(bytes(data)):
        if name == "moov/udta/chpl":
            data[offset + 4 : offset + 8] = b"free"
    Path(path).write_bytes(bytes(data))
    return path


def make_ogg(path: Path, seconds: float = 1.0, *, title: str = "", album: str = "", artist: str = "",
             track: str = "", opus: bool = False, chapters: Sequence[tuple[str, float]] = ()) -> Path:
    """An Ogg Vorbis (or Opus) file of silence with Vorbis comments, via ffmpeg.

    ``chapters`` (title, seconds) become ``CHAPTERnnn`` comments (ffmpeg
    writes them for Opus only).
    """
    codec = ["-c:a", "libopus", "-b:a", "8k"] if opus else ["-c:a", "libvorbis", "-q:a", "0"]
    tags = {"title": title, "album": album, "artist": artist, "track": track}
    return _ffmpeg(path, seconds, codec, tags, chapters)


def make_flac(path: Path, seconds: float = 1.0, *, title: str = "", album: str = "", artist: str = "",
              track: str = "") -> Path:
    """A FLAC file of silence with Vorbis comments, via ffmpeg."""
    return _ffmpeg(path, seconds, ["-c:a", "flac"], {"title": title, "album": album, "artist": artist,
                                                     "track": track})
