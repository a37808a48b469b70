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

The work is split by noun: starter_source.py (reading the sources, shared constants), covers.py,
epub_build.py, pdf_build.py and audio_build.py; this file is the entry point and the licence.

The output is deterministic: fixed dates in the EPUB zips, the PDF and the tags, sorted member
order, covers drawn from a hash of the slug. The same sources and tool versions give the same bytes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from audio_build import build_audiobook
from epub_build import build_epub
from pdf_build import build_pdf
from starter_source import (  # noqa: F401  (verify.py reads these through build)
    AUDIO_ARTIST, CATEGORIES, CREATOR, DEFAULT_OUT, PUBLISHER, SOURCE_DIR, Source, read_source,
)

log = logging.getLogger("starter.build")

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
    for folder, build_one in (("books", build_epub), ("pdf", build_pdf)):
        for path in sorted((SOURCE_DIR / folder).glob("*.md")):
            source = read_source(path)
            built = build_one(source, out)
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
