"""Reading the starter collection's sources (starter-src/*/*.md) and the constants they share."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
import unicodedata
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
