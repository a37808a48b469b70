"""Build the readpoint starter collection (content/starter/) from the sources in starter-src/.

How to run (from the repository root):

    .venv/bin/python starter-src/build.py              # everything
    .venv/bin/python starter-src/build.py --no-audio   # keep the existing audiobook folder
    .venv/bin/python starter-src/verify.py             # check what was built

Needs Python 3.11 with Pillow, fpdf2 and mutagen; the Debian packages fonts-dejavu-core (the PDF
font, DejaVuSans) and, for the audiobook only, espeak-ng and lame.

Sources (all UTF-8, NFC):
- books/*.md      one EPUB each: a front matter block (key: value lines between "---" lines),
                  then chapters ("# Title") made of paragraphs, "## " subheadings, "- " bullet
                  lists, "1. " numbered lists, "> " notes, "| a | b |" tables (first row is the
                  header) and **bold** runs.
- pdf/*.md        one PDF each, same syntax; every chapter is one page, "@ Label: 4-5, 9" lines
                  draw a twelve-month calendar bar.
- audio/*.md      one audiobook folder each; every chapter becomes one MP3 spoken by espeak-ng.

The output is deterministic: fixed dates in the EPUB zips, the PDF and the tags, sorted member
order, covers drawn from a hash of the slug. The same sources and tool versions give the same bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import html
import io
import logging
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import uuid
import zipfile
from pathlib import Path

log = logging.getLogger("starter.build")

SOURCE_DIR = Path(__file__).resolve().parent
REPO_DIR = SOURCE_DIR.parent
DEFAULT_OUT = REPO_DIR / "content" / "starter"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

#: Every generated file carries this date: the collection's release, not the build time.
RELEASE_DATE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
ZIP_DATE = (2025, 1, 1, 0, 0, 0)
PUBLISHER = "readpoint"
CREATOR = "readpoint contributors"
RIGHTS = "CC0 1.0 Universal (Public Domain Dedication): https://creativecommons.org/publicdomain/zero/1.0/"
AUDIO_ARTIST = "Thư viện cộng đồng readpoint"

#: The category names the importer maps (dc:subject must be exactly one of these).
CATEGORIES = {
    "Nông nghiệp": "farming",
    "Sức khỏe": "health",
    "Pháp luật": "law",
    "Thiếu nhi": "children",
    "Văn hóa": "culture",
    "Ngôn ngữ": "language",
}

#: Words of the generated pages, per book language.
LABELS = {
    "vi": {"contents": "Mục lục", "cover": "Bìa", "about": "Về cuốn sách này",
           "license": ("Cuốn sách này do những người đóng góp cho dự án readpoint viết và được "
                       "tặng vào phạm vi công cộng theo CC0 1.0: ai cũng được sao chép, in, "
                       "sửa, dịch và chia sẻ mà không cần xin phép."),
           "check": ("Thông tin trong sách là hướng dẫn chung. Khi có việc cụ thể, hãy hỏi cán bộ "
                     "ở xã, trạm y tế hoặc người có chuyên môn ở địa phương.")},
    "th": {"contents": "สารบัญ", "cover": "ปก", "about": "เกี่ยวกับหนังสือเล่มนี้",
           "license": ("หนังสือเล่มนี้เขียนโดยผู้ร่วมพัฒนาโครงการ readpoint และมอบเป็นสมบัติสาธารณะ"
                       "ตาม CC0 1.0 ทุกคนคัดลอก พิมพ์ แก้ไข แปล และแบ่งปันได้โดยไม่ต้องขออนุญาต"),
           "check": ("ข้อมูลในหนังสือนี้เป็นคำแนะนำทั่วไป หากมีปัญหาเฉพาะ "
                     "โปรดสอบถามเจ้าหน้าที่สาธารณสุขหรือผู้รู้ในท้องถิ่น")},
}

#: A run of Tai Viet text (letters, marks, spaces between them, dotted circles shown with marks).
TAI_VIET = re.compile("(?:\u25cc?[\uaa80-\uaadf]+\u25cc?)+(?:[ \u00a0]+(?:\u25cc?[\uaa80-\uaadf]+\u25cc?)+)*")


class SourceError(Exception):
    """A source file does not follow the format described in the module docstring."""


# --------------------------------------------------------------------------------------------
# Sources


@dataclasses.dataclass
class Chapter:
    """One chapter: its title and its blocks, each a (kind, payload) pair."""

    title: str
    blocks: list[tuple[str, object]]


@dataclasses.dataclass
class Source:
    """A parsed source file: front matter and chapters."""

    path: Path
    meta: dict[str, str]
    chapters: list[Chapter]

    @property
    def slug(self) -> str:
        return self.meta["slug"]


def read_source(path: Path) -> Source:
    """Parse one source file (front matter, then chapters) into a Source."""
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SourceError(f"{path}: no front matter")
    end = lines.index("---", 1)
    meta = {}
    for line in lines[1:end]:
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    for key in ("slug", "title", "language", "subject", "description"):
        if not meta.get(key):
            raise SourceError(f"{path}: front matter lacks {key}")
    if meta["subject"] not in CATEGORIES:
        raise SourceError(f"{path}: unknown subject {meta['subject']!r}")
    return Source(path, meta, parse_chapters(lines[end + 1:], path))


def parse_chapters(lines: list[str], path: Path) -> list[Chapter]:
    """Split body lines into chapters of blocks."""
    chapters: list[Chapter] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            chapters[-1].blocks.append(("p", " ".join(paragraph)))
            paragraph.clear()

    for raw in lines:
        line = raw.rstrip()
        if line.startswith("# "):
            flush()
            chapters.append(Chapter(line[2:].strip(), []))
            continue
        if not line.strip():
            flush()
            continue
        if not chapters:
            raise SourceError(f"{path}: text before the first chapter: {line!r}")
        blocks = chapters[-1].blocks
        kind, payload = classify(line)
        if kind == "p":
            paragraph.append(payload)
            continue
        flush()
        if kind in ("ul", "ol", "table", "calendar") and blocks and blocks[-1][0] == kind:
            blocks[-1][1].append(payload)
        elif kind in ("ul", "ol", "table", "calendar"):
            blocks.append((kind, [payload]))
        else:
            blocks.append((kind, payload))
    flush()
    if not chapters:
        raise SourceError(f"{path}: no chapters")
    return chapters


def classify(line: str) -> tuple[str, object]:
    """Tell what one non-blank body line is."""
    stripped = line.strip()
    if stripped.startswith("## "):
        return "h2", stripped[3:].strip()
    if stripped.startswith("- "):
        return "ul", stripped[2:].strip()
    match = re.match(r"\d+\.\s+(.*)", stripped)
    if match:
        return "ol", match.group(1)
    if stripped.startswith("> "):
        return "note", stripped[2:].strip()
    if stripped.startswith("|") and stripped.endswith("|"):
        return "table", [cell.strip() for cell in stripped[1:-1].split("|")]
    if stripped.startswith("@ "):
        label, _, months = stripped[2:].rpartition(":")
        return "calendar", (label.strip(), parse_months(months))
    return "p", stripped


def parse_months(spec: str) -> list[int]:
    """'4-5, 9' -> [4, 5, 9]; ranges may wrap the year end ('11-2')."""
    months: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        start, stop = int(first), int(last or first)
        month = start
        while True:
            months.append(month)
            if month == stop:
                break
            month = month % 12 + 1
    return sorted(set(months))


def ascii_slug(text: str) -> str:
    """A file-name slug: Vietnamese folded to ASCII ('Chương một' -> 'chuong-mot')."""
    text = text.replace("đ", "d").replace("Đ", "D")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


# --------------------------------------------------------------------------------------------
# Covers


PALETTES = {
    "Nông nghiệp": ((222, 238, 214), (86, 140, 64), (46, 94, 38), (241, 200, 82)),
    "Sức khỏe": ((226, 242, 246), (42, 150, 170), (22, 96, 120), (250, 250, 250)),
    "Pháp luật": ((232, 234, 244), (50, 68, 128), (28, 38, 80), (205, 160, 60)),
    "Thiếu nhi": ((255, 244, 206), (244, 164, 60), (110, 170, 80), (236, 90, 70)),
    "Văn hóa": ((246, 230, 220), (168, 52, 48), (60, 40, 40), (236, 196, 80)),
    "Ngôn ngữ": ((236, 228, 244), (110, 70, 150), (60, 36, 90), (240, 200, 90)),
}


def draw_cover(subject: str, seed_text: str, size: tuple[int, int] = (600, 800)) -> bytes:
    """A cover JPEG of simple shapes in the category's colours, varied by a hash of seed_text."""
    from PIL import Image, ImageDraw

    rng = random.Random(hashlib.sha256(seed_text.encode()).digest())
    background, main, dark, accent = PALETTES[subject]
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, height // 9], fill=dark)
    draw.rectangle([0, height - height // 12, width, height], fill=dark)
    motif = {
        "Nông nghiệp": draw_terraces, "Sức khỏe": draw_drops, "Pháp luật": draw_document,
        "Thiếu nhi": draw_sun_hills, "Văn hóa": draw_brocade, "Ngôn ngữ": draw_letters,
    }[subject]
    motif(draw, rng, size, main, dark, accent)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60, optimize=True, progressive=False)
    return buffer.getvalue()


def draw_terraces(draw, rng, size, main, dark, accent):
    """Curved bands like rice terraces on a hillside, with a sun."""
    width, height = size
    cx = rng.randint(width // 4, 3 * width // 4)
    draw.ellipse([cx - 50, 130, cx + 50, 230], fill=accent)
    for band in range(9):
        top = 280 + band * 52
        shade = tuple(max(0, c - band * 6) for c in main)
        draw.ellipse([-200 - band * 30, top, width + 200 + band * 30, top + 360], fill=shade,
                     outline=dark, width=4)


def draw_drops(draw, rng, size, main, dark, accent):
    """A large water drop inside a circle, and small drops around."""
    width, height = size
    cx, cy = width // 2, height // 2
    draw.ellipse([cx - 190, cy - 190, cx + 190, cy + 190], fill=accent, outline=main, width=10)
    draw.polygon([(cx, cy - 140), (cx - 90, cy + 20), (cx + 90, cy + 20)], fill=main)
    draw.ellipse([cx - 92, cy - 40, cx + 92, cy + 130], fill=main)
    for _ in range(7):
        x, y = rng.randint(40, width - 40), rng.randint(110, height - 90)
        if abs(x - cx) < 220 and abs(y - cy) < 220:
            continue
        draw.ellipse([x - 14, y - 14, x + 14, y + 14], fill=dark)


def draw_document(draw, rng, size, main, dark, accent):
    """A paper sheet with lines of 'text' and a round seal."""
    width, height = size
    draw.rectangle([130, 170, width - 130, height - 130], fill=(255, 255, 255), outline=dark, width=6)
    for row in range(10):
        y = 230 + row * 36
        draw.rectangle([170, y, width - 170 - rng.randint(0, 140), y + 12], fill=main)
    draw.ellipse([width - 290, height - 320, width - 170, height - 200], outline=accent, width=12)


def draw_sun_hills(draw, rng, size, main, dark, accent):
    """A sun, two hills and a small house."""
    width, height = size
    draw.ellipse([60, 120, 220, 280], fill=main)
    draw.ellipse([-150, 430, 420, 900], fill=dark)
    draw.ellipse([220, 480, 800, 960], fill=tuple(min(255, c + 40) for c in dark))
    hx = rng.randint(300, 420)
    draw.rectangle([hx, 420, hx + 120, 500], fill=(250, 250, 250), outline=(90, 60, 40), width=4)
    draw.polygon([(hx - 20, 420), (hx + 60, 360), (hx + 140, 420)], fill=accent)


def draw_brocade(draw, rng, size, main, dark, accent):
    """Bands of diamonds like a woven brocade border."""
    width, height = size
    for row in range(4):
        y = 170 + row * 140
        draw.rectangle([0, y, width, y + 110], fill=main if row % 2 == 0 else dark)
        step = 120
        offset = rng.randint(0, step - 1)
        for x in range(-step + offset, width + step, step):
            draw.polygon([(x, y + 55), (x + 40, y + 15), (x + 80, y + 55), (x + 40, y + 95)], fill=accent)


def draw_letters(draw, rng, size, main, dark, accent):
    """A grid of tiles, some marked, like a letter chart."""
    width, height = size
    for row in range(4):
        for col in range(3):
            x, y = 75 + col * 155, 160 + row * 140
            filled = rng.random() < 0.5
            draw.rectangle([x, y, x + 130, y + 115], fill=main if filled else (255, 255, 255),
                           outline=dark, width=5)
            if not filled:
                draw.arc([x + 35, y + 27, x + 95, y + 87], 200, 520, fill=accent, width=10)


# --------------------------------------------------------------------------------------------
# EPUB


def inline(text: str, language: str) -> str:
    """Escape text for XHTML, turn **bold** into <strong>, mark Tai Viet runs with lang="blt"."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    if language != "blt":
        escaped = TAI_VIET.sub(lambda m: f'<span lang="blt" xml:lang="blt" class="tavt">{m.group(0)}</span>',
                               escaped)
    return escaped


def blocks_xhtml(blocks: list[tuple[str, object]], language: str) -> str:
    """Render the blocks of one chapter as XHTML body markup."""
    out = []
    for kind, payload in blocks:
        if kind == "p":
            out.append(f"<p>{inline(payload, language)}</p>")
        elif kind == "h2":
            out.append(f"<h2>{inline(payload, language)}</h2>")
        elif kind == "note":
            out.append(f'<aside class="note"><p>{inline(payload, language)}</p></aside>')
        elif kind in ("ul", "ol"):
            items = "".join(f"<li>{inline(item, language)}</li>" for item in payload)
            out.append(f"<{kind}>{items}</{kind}>")
        elif kind == "table":
            head, *rows = payload
            thead = "".join(f"<th>{inline(cell, language)}</th>" for cell in head)
            tbody = "".join("<tr>" + "".join(f"<td>{inline(cell, language)}</td>" for cell in row)
                            + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{thead}</tr></thead><tbody>{tbody}</tbody></table>")
        elif kind == "calendar":
            rows = "".join(f"<li>{inline(label, language)}: {', '.join(map(str, months))}</li>"
                           for label, months in payload)
            out.append(f"<ul>{rows}</ul>")
    return "\n".join(out)


def xhtml_page(title: str, body: str, language: str, body_class: str = "") -> str:
    """A complete XHTML5 content document."""
    cls = f' class="{body_class}"' if body_class else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
        f'xml:lang="{language}" lang="{language}">\n'
        f"<head>\n<meta charset=\"utf-8\"/>\n<title>{html.escape(title)}</title>\n"
        '<link rel="stylesheet" type="text/css" href="style.css"/>\n</head>\n'
        f"<body{cls}>\n{body}\n</body>\n</html>\n"
    )


STYLE_CSS = """body { margin: 0 4%; line-height: 1.5; }
h1 { font-size: 1.5em; margin: 1em 0 0.6em; line-height: 1.25; }
h2 { font-size: 1.15em; margin: 1.2em 0 0.4em; }
p { margin: 0 0 0.7em; }
li { margin: 0 0 0.3em; }
aside.note { border-left: 4px solid #2a96aa; background: #eef7f9; padding: 0.4em 0.8em; margin: 1em 0; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #999; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
.tavt { font-size: 1.35em; }
td.big { font-size: 1.6em; }
body.cover { margin: 0; text-align: center; }
body.cover img { max-width: 100%; max-height: 100%; }
"""


def book_identifier(slug: str) -> str:
    """A stable urn:uuid for the book, derived from its slug."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://readpoint.invalid/starter/{slug}"))


def build_epub(source: Source, out_dir: Path) -> Path:
    """Write <slug>.epub (EPUB 3 with nav and NCX) for one book source."""
    meta = source.meta
    language = meta["language"]
    text_language = meta.get("text_language", language)
    labels = LABELS[text_language]
    identifier = book_identifier(source.slug)
    title = meta["title"]
    files: dict[str, bytes] = {}

    files["OEBPS/images/cover.jpg"] = draw_cover(meta["subject"], source.slug)
    files["OEBPS/style.css"] = STYLE_CSS.encode()
    files["OEBPS/cover.xhtml"] = xhtml_page(
        title, f'<section epub:type="cover"><img src="images/cover.jpg" alt="{html.escape(title)}"/></section>',
        text_language, "cover").encode()
    nav_entries = []
    for number, chapter in enumerate(source.chapters, start=1):
        name = f"chapter-{number:02d}.xhtml"
        heading = inline(chapter.title, text_language)
        preface = ""
        if number == 1:
            preface = (f'<p class="booktitle"><strong>{inline(title, text_language)}</strong></p>\n')
        body = (f'<section epub:type="chapter" id="c{number:02d}">\n{preface}<h1>{heading}</h1>\n'
                f"{blocks_xhtml(chapter.blocks, text_language)}\n</section>")
        files[f"OEBPS/{name}"] = xhtml_page(chapter.title, body, text_language).encode()
        nav_entries.append((name, chapter.title))
    # Advice books remind the reader to check with local staff; stories and charts do not need it.
    check = (f"<p>{inline(labels['check'], text_language)}</p>\n"
             if meta["subject"] in ("Nông nghiệp", "Sức khỏe", "Pháp luật") else "")
    about_body = (f'<section epub:type="colophon"><h1>{labels["about"]}</h1>\n'
                  f"<p>{inline(meta['description'], text_language)}</p>\n"
                  f"{check}"
                  f"<p>{inline(labels['license'], text_language)}</p>\n"
                  f"<p>{PUBLISHER}, {RELEASE_DATE.year}. CC0 1.0.</p></section>")
    files["OEBPS/about.xhtml"] = xhtml_page(labels["about"], about_body, text_language).encode()
    nav_entries.append(("about.xhtml", labels["about"]))

    files["OEBPS/nav.xhtml"] = nav_document(title, nav_entries, labels, text_language).encode()
    files["OEBPS/toc.ncx"] = ncx_document(identifier, title, nav_entries).encode()
    files["OEBPS/content.opf"] = package_document(source, identifier, nav_entries).encode()
    files["META-INF/container.xml"] = CONTAINER_XML.encode()

    path = out_dir / f"{source.slug}.epub"
    write_zip(path, files, first=("mimetype", b"application/epub+zip"))
    return path


CONTAINER_XML = """<?xml version="1.0" encoding="utf-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def nav_document(title: str, entries: list[tuple[str, str]], labels: dict, language: str) -> str:
    """The EPUB 3 navigation document."""
    items = "\n".join(f'<li><a href="{href}">{inline(text, language)}</a></li>' for href, text in entries)
    body = (f'<nav epub:type="toc" id="toc"><h1>{labels["contents"]}</h1>\n<ol>\n{items}\n</ol></nav>\n'
            f'<nav epub:type="landmarks" hidden="hidden"><ol>\n'
            f'<li><a epub:type="cover" href="cover.xhtml">{labels["cover"]}</a></li>\n'
            f'<li><a epub:type="bodymatter" href="{entries[0][0]}">{inline(entries[0][1], language)}</a></li>\n'
            f"</ol></nav>")
    return xhtml_page(title, body, language)


def ncx_document(identifier: str, title: str, entries: list[tuple[str, str]]) -> str:
    """The EPUB 2 NCX table of contents, for old reader apps."""
    points = "\n".join(
        f'    <navPoint id="nav-{n}" playOrder="{n}">\n'
        f"      <navLabel><text>{html.escape(text, quote=False)}</text></navLabel>\n"
        f'      <content src="{href}"/>\n    </navPoint>'
        for n, (href, text) in enumerate(entries, start=1))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">\n'
        "  <head>\n"
        f'    <meta name="dtb:uid" content="{identifier}"/>\n'
        '    <meta name="dtb:depth" content="1"/>\n'
        '    <meta name="dtb:totalPageCount" content="0"/>\n'
        '    <meta name="dtb:maxPageNumber" content="0"/>\n'
        "  </head>\n"
        f"  <docTitle><text>{html.escape(title, quote=False)}</text></docTitle>\n"
        f"  <navMap>\n{points}\n  </navMap>\n</ncx>\n")


def package_document(source: Source, identifier: str, entries: list[tuple[str, str]]) -> str:
    """The OPF package document (EPUB 3, with the EPUB 2 cover meta and NCX reference)."""
    meta = source.meta
    esc = lambda value: html.escape(value, quote=False)  # noqa: E731
    languages = [meta["language"]] + [lang for lang in meta.get("also_language", "").split() if lang]
    language_xml = "\n".join(f"    <dc:language>{lang}</dc:language>" for lang in languages)
    chapters = [href for href, _ in entries]
    manifest = [
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>',
        '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>',
        '<item id="css" href="style.css" media-type="text/css"/>',
        '<item id="cover-image" href="images/cover.jpg" media-type="image/jpeg" properties="cover-image"/>',
        '<item id="cover" href="cover.xhtml" media-type="application/xhtml+xml"/>',
    ] + [f'<item id="{Path(href).stem}" href="{href}" media-type="application/xhtml+xml"/>'
         for href in chapters]
    spine = ['<itemref idref="cover" linear="yes"/>'] + [
        f'<itemref idref="{Path(href).stem}"/>' for href in chapters]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="bookid" '
        f'xml:lang="{meta.get("text_language", meta["language"])}">\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'    <dc:identifier id="bookid">{identifier}</dc:identifier>\n'
        f"    <dc:title>{esc(meta['title'])}</dc:title>\n"
        f"{language_xml}\n"
        f"    <dc:creator>{CREATOR}</dc:creator>\n"
        f"    <dc:publisher>{PUBLISHER}</dc:publisher>\n"
        f"    <dc:rights>{RIGHTS}</dc:rights>\n"
        f"    <dc:description>{esc(meta['description'])}</dc:description>\n"
        f"    <dc:subject>{esc(meta['subject'])}</dc:subject>\n"
        f"    <dc:date>{RELEASE_DATE.date().isoformat()}</dc:date>\n"
        f'    <meta property="dcterms:modified">{RELEASE_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")}</meta>\n'
        '    <meta name="cover" content="cover-image"/>\n'
        "  </metadata>\n"
        "  <manifest>\n    " + "\n    ".join(manifest) + "\n  </manifest>\n"
        '  <spine toc="ncx">\n    ' + "\n    ".join(spine) + "\n  </spine>\n"
        "</package>\n")


def write_zip(path: Path, files: dict[str, bytes], first: tuple[str, bytes] | None = None) -> None:
    """Write a zip with fixed dates and sorted members; `first` goes first, stored uncompressed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with zipfile.ZipFile(tmp, "w") as archive:
        if first:
            info = zip_info(first[0], zipfile.ZIP_STORED)
            archive.writestr(info, first[1])
        for name in sorted(files):
            info = zip_info(name, zipfile.ZIP_DEFLATED)
            archive.writestr(info, files[name], compresslevel=9)
    tmp.replace(path)


def zip_info(name: str, compression: int) -> zipfile.ZipInfo:
    """A ZipInfo with a fixed date, permissions and creator system."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = compression
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


# --------------------------------------------------------------------------------------------
# PDF


def build_pdf(source: Source, out_dir: Path) -> Path:
    """Write <slug>.pdf: one A4 page per chapter, DejaVuSans embedded as a subset."""
    from fpdf.enums import XPos, YPos

    meta = source.meta
    pdf = calendar_pdf_class()(meta["title"])
    pdf.set_creation_date(RELEASE_DATE)
    pdf.set_lang(meta["language"])
    pdf.set_title(meta["title"])
    pdf.set_author(CREATOR)
    # Readers take /Subject as the description and /Keywords as the subjects: one category only.
    pdf.set_subject(meta["description"])
    pdf.set_keywords(meta["subject"])
    pdf.set_creator(PUBLISHER)
    pdf.set_producer(PUBLISHER)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(16, 14, 16)
    newline = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    for number, chapter in enumerate(source.chapters, start=1):
        pdf.add_page()
        pdf.set_fill_color(86, 140, 64)
        pdf.rect(0, 0, pdf.w, 8, style="F")
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(0, 6, f"{meta['title']} · {number}/{len(source.chapters)}", **newline)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", "B", 17)
        pdf.multi_cell(0, 8.5, chapter.title, **newline)
        pdf.ln(2)
        for kind, payload in chapter.blocks:
            pdf_block(pdf, kind, payload, newline)
        if pdf.page != number:
            log.warning("%s: chapter %d (%s) runs over one page", source.path.name, number, chapter.title)
    path = out_dir / f"{source.slug}.pdf"
    pdf.output(str(path))
    return path


def calendar_pdf_class():
    """An FPDF subclass whose footer prints the publisher, licence and page number."""
    from fpdf import FPDF

    class CalendarPDF(FPDF):
        """A4 pages with a small footer."""

        def __init__(self, title: str):
            super().__init__(format="A4")
            self.book_title = title

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, f"{PUBLISHER} · CC0 1.0 · {self.page_no()}", align="C")
            self.set_text_color(0, 0, 0)

    return CalendarPDF


def pdf_block(pdf, kind: str, payload, newline: dict) -> None:
    """Draw one block on the current PDF page."""
    plain = lambda text: text.replace("**", "")  # noqa: E731
    if kind == "p":
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(0, 6.2, plain(payload), **newline)
        pdf.ln(1.5)
    elif kind == "h2":
        pdf.ln(1)
        pdf.set_font("DejaVu", "B", 13.5)
        pdf.multi_cell(0, 7, plain(payload), **newline)
        pdf.ln(0.5)
    elif kind == "note":
        pdf.set_font("DejaVu", "", 11.5)
        pdf.set_fill_color(238, 247, 232)
        pdf.multi_cell(0, 6, plain(payload), fill=True, padding=2, **newline)
        pdf.ln(1.5)
    elif kind in ("ul", "ol"):
        pdf.set_font("DejaVu", "", 12)
        for index, item in enumerate(payload, start=1):
            marker = "•" if kind == "ul" else f"{index}."
            pdf.cell(7, 6.2, marker)
            pdf.multi_cell(0, 6.2, plain(item), **newline)
            pdf.ln(0.6)
        pdf.ln(1)
    elif kind == "calendar":
        draw_calendar(pdf, payload)
    elif kind == "table":
        pdf.set_font("DejaVu", "", 9.5)
        with pdf.table(line_height=5.2, first_row_as_headings=True) as table:
            for row in payload:
                cells = table.row()
                for cell in row:
                    cells.cell(plain(cell))
        pdf.ln(2)


def draw_calendar(pdf, rows: list[tuple[str, list[int]]]) -> None:
    """A twelve-month grid: one row per task, filled boxes for its months."""
    label_width = 76
    box = (pdf.w - pdf.l_margin - pdf.r_margin - label_width) / 12
    height = 8
    pdf.set_font("DejaVu", "B", 9.5)
    x0 = pdf.l_margin
    y = pdf.get_y()
    pdf.set_xy(x0, y)
    pdf.cell(label_width, height, "Tháng (dương lịch)", border=1)
    for month in range(1, 13):
        pdf.cell(box, height, str(month), border=1, align="C")
    y += height
    pdf.set_font("DejaVu", "", 9.5)
    for label, months in rows:
        pdf.set_xy(x0, y)
        pdf.cell(label_width, height, label, border=1)
        for month in range(1, 13):
            fill = month in months
            pdf.set_fill_color(241, 200, 82)
            pdf.cell(box, height, "●" if fill else "", border=1, align="C", fill=fill)
        y += height
    pdf.set_xy(x0, y + 3)


# --------------------------------------------------------------------------------------------
# Audiobook


def build_audiobook(source: Source, out_dir: Path) -> Path:
    """Write <slug>/NN-<chapter>.mp3: espeak-ng speech, lame mono MP3, ID3v2.4 tags with a cover."""
    meta = source.meta
    folder = out_dir / source.slug
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cover = draw_cover(meta["subject"], source.slug, size=(300, 300))
    total = len(source.chapters)
    with tempfile.TemporaryDirectory() as tmp:
        for number, chapter in enumerate(source.chapters, start=1):
            wav = Path(tmp) / f"{number:02d}.wav"
            speak(chapter, meta, wav)
            mp3 = folder / f"{number:02d}-{ascii_slug(chapter.title)}.mp3"
            subprocess.run(["lame", "--quiet", "-m", "m", "-b", "32", "--resample", "22.05", "-q", "2",
                            "--noreplaygain", str(wav), str(mp3)], check=True)
            tag_mp3(mp3, meta, chapter.title, number, total, cover)
    return folder


def speak(chapter: Chapter, meta: dict, wav: Path) -> None:
    """Speak one chapter's paragraphs (the script announces the chapter itself) with espeak-ng."""
    parts = []
    for kind, payload in chapter.blocks:
        texts = payload if isinstance(payload, list) else [payload]
        parts.extend(html.escape(str(text).replace("**", ""), quote=False) for text in texts)
    ssml = "<speak>" + '<break time="700ms"/>'.join(parts) + '<break time="900ms"/></speak>'
    subprocess.run(["espeak-ng", "-v", meta.get("voice", "vi"), "-s", meta.get("speed", "150"),
                    "-m", "-w", str(wav), ssml], check=True)


def tag_mp3(path: Path, meta: dict, title: str, number: int, total: int, cover: bytes) -> None:
    """Write ID3v2.4 tags (album, title, artist, track, genre, cover) and no ID3v1."""
    from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TCOP, TDRC, TIT2, TLAN, TPE1, TPE2, TPUB, TRCK

    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TALB(encoding=3, text=meta["title"]))
    tags.add(TPE1(encoding=3, text=AUDIO_ARTIST))
    tags.add(TPE2(encoding=3, text=AUDIO_ARTIST))
    tags.add(TRCK(encoding=3, text=f"{number}/{total}"))
    tags.add(TCON(encoding=3, text=meta["subject"]))
    tags.add(TLAN(encoding=3, text="vie"))
    tags.add(TDRC(encoding=3, text=str(RELEASE_DATE.year)))
    tags.add(TPUB(encoding=3, text=PUBLISHER))
    tags.add(TCOP(encoding=3, text=f"{RELEASE_DATE.year} {CREATOR}, CC0 1.0"))
    tags.add(COMM(encoding=3, lang="vie", desc="", text=meta["description"]))
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
    tags.save(str(path), v1=0, v2_version=4, padding=lambda info: 0)


# --------------------------------------------------------------------------------------------


LICENSE_TEXT = """readpoint starter collection
============================

Every book, booklet, PDF, recording and cover image in this folder was written or made by the
readpoint contributors and is dedicated to the public domain under

    CC0 1.0 Universal (Public Domain Dedication)
    https://creativecommons.org/publicdomain/zero/1.0/

To the extent possible under law, the readpoint contributors have waived all copyright and related
or neighbouring rights to these works. You may copy, modify, print, translate, distribute and
perform them, even for commercial purposes, without asking permission.

Tiếng Việt: Toàn bộ sách, tài liệu, tệp PDF, bản ghi âm và ảnh bìa trong thư mục này do những người
đóng góp cho dự án readpoint viết hoặc làm ra, và được tặng vào phạm vi công cộng theo CC0 1.0.
Ai cũng được sao chép, sửa, in, dịch, phân phát và đọc to mà không cần xin phép.

Notes
- The PDF embeds a subset of the DejaVu Sans font, which keeps its own free licence (Bitstream Vera
  and Arev fonts licence, permitting embedding and redistribution); the dedication above covers the
  text and the layout, not the font.
- The audiobook was spoken by the espeak-ng speech synthesiser and encoded with LAME; the recordings
  themselves are CC0 like the rest.
- The sources and the build script are in starter-src/ of the readpoint repository.

Files
{files}
"""


def main(argv: list[str] | None = None) -> int:
    """Build the collection; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (content/starter)")
    parser.add_argument("--no-audio", action="store_true", help="do not rebuild the audiobook")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    listing = []
    for path in sorted((SOURCE_DIR / "books").glob("*.md")):
        source = read_source(path)
        built = build_epub(source, out)
        log.info("%s (%d bytes)", built.relative_to(out), built.stat().st_size)
        listing.append(f"- {built.name}: {source.meta['title']} [{source.meta['language']}, "
                       f"{source.meta['subject']}]")
    for path in sorted((SOURCE_DIR / "pdf").glob("*.md")):
        source = read_source(path)
        built = build_pdf(source, out)
        log.info("%s (%d bytes)", built.relative_to(out), built.stat().st_size)
        listing.append(f"- {built.name}: {source.meta['title']} [{source.meta['language']}, "
                       f"{source.meta['subject']}]")
    for path in sorted((SOURCE_DIR / "audio").glob("*.md")):
        source = read_source(path)
        if args.no_audio:
            folder = out / source.slug
        else:
            folder = build_audiobook(source, out)
            for mp3 in sorted(folder.glob("*.mp3")):
                log.info("%s (%d bytes)", mp3.relative_to(out), mp3.stat().st_size)
        listing.append(f"- {folder.name}/: {source.meta['title']} (audiobook, "
                       f"{len(source.chapters)} chapters) [{source.meta['language']}, "
                       f"{source.meta['subject']}]")
    (out / "LICENSE").write_text(LICENSE_TEXT.format(files="\n".join(listing)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
