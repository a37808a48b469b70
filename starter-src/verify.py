"""Check the built starter collection in content/starter/ against its sources.

Run from the repository root after build.py:

    .venv/bin/python starter-src/verify.py                 # check content/starter/
    .venv/bin/python starter-src/verify.py --determinism   # also rebuild into a temporary folder
                                                           # and compare the bytes

Checks: every EPUB opens with ebooklib and has the source's title, language, subject and the
required Dublin Core fields, a nav document and an NCX, well-formed XHTML, NFC text and a small
cover; the PDF's text comes back through pypdf with its Vietnamese diacritics; every MP3 has
ID3v2.4 tags (album, title, artist, track, genre, cover), is mono 22.05 kHz and lasts 30-90 s; the
whole collection stays under 3 MB. Uses epubcheck too when it is installed. Exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import warnings
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402  (the sibling build script)

MAX_TOTAL_BYTES = 3 * 1024 * 1024
MAX_COVER_BYTES = 30 * 1024


class Report:
    """Collects failures; prints one line per check."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.failures.append(what)
            print(f"FAIL {what}")


def verify_epub(path: Path, source: build.Source, report: Report) -> None:
    """Open one EPUB with ebooklib and check metadata, structure and text."""
    import ebooklib
    from ebooklib import epub
    from lxml import etree

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = epub.read_epub(str(path))
    meta = source.meta
    first = lambda name: (book.get_metadata("DC", name) or [("", {})])[0][0]  # noqa: E731
    report.check(first("title") == meta["title"], f"{path.name}: title")
    report.check(first("language") == meta["language"], f"{path.name}: language {first('language')!r}")
    report.check(first("subject") == meta["subject"], f"{path.name}: subject")
    report.check(len(book.get_metadata("DC", "subject")) == 1, f"{path.name}: exactly one subject")
    report.check(first("subject") in build.CATEGORIES, f"{path.name}: subject is a known category")
    for name, expected in (("creator", build.CREATOR), ("publisher", build.PUBLISHER)):
        report.check(first(name) == expected, f"{path.name}: {name}")
    report.check("CC0 1.0" in first("rights"), f"{path.name}: rights")
    report.check(bool(first("description")), f"{path.name}: description")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        report.check(infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED,
                     f"{path.name}: mimetype first and stored")
        names = archive.namelist()
        report.check("OEBPS/nav.xhtml" in names and "OEBPS/toc.ncx" in names, f"{path.name}: nav and NCX")
        cover = archive.read("OEBPS/images/cover.jpg")
        report.check(len(cover) < MAX_COVER_BYTES, f"{path.name}: cover {len(cover)} bytes")
        for name in names:
            if not name.endswith((".xhtml", ".opf", ".ncx", ".xml")):
                continue
            data = archive.read(name)
            try:
                etree.fromstring(data)
            except etree.XMLSyntaxError as error:
                report.check(False, f"{path.name}/{name}: not well-formed: {error}")
            text = data.decode("utf-8")
            report.check(unicodedata.is_normalized("NFC", text), f"{path.name}/{name}: not NFC")
    documents = [item for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT)]
    report.check(len(documents) >= len(source.chapters) + 2, f"{path.name}: chapter documents")
    print(f"ok   {path.name}: {meta['title']} [{first('language')}, {first('subject')}] "
          f"{len(source.chapters)} chapters, {path.stat().st_size} bytes")


def verify_pdf(path: Path, source: build.Source, report: Report) -> None:
    """Extract the PDF's text with pypdf and find every chapter title with its diacritics."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    keywords = (reader.metadata or {}).get("/Keywords", "")
    report.check(keywords == source.meta["subject"], f"{path.name}: keywords {keywords!r} are the category")
    report.check(len(reader.pages) == len(source.chapters),
                 f"{path.name}: {len(reader.pages)} pages for {len(source.chapters)} chapters")
    for page, chapter in zip(reader.pages, source.chapters):
        text = unicodedata.normalize("NFC", page.extract_text())
        report.check(chapter.title in text, f"{path.name}: title {chapter.title!r} not extracted")
        report.check(unicodedata.is_normalized("NFC", page.extract_text()),
                     f"{path.name}: extracted text of {chapter.title!r} is not NFC")
    sample = unicodedata.normalize("NFC", reader.pages[1].extract_text()).splitlines()[:4]
    print(f"ok   {path.name}: {len(reader.pages)} pages, {path.stat().st_size} bytes; text: {sample}")


def verify_audiobook(folder: Path, source: build.Source, report: Report) -> None:
    """Read every MP3's tags and duration with mutagen."""
    from mutagen.mp3 import MP3

    files = sorted(folder.glob("*.mp3"))
    report.check(len(files) == len(source.chapters) >= 2, f"{folder.name}: {len(files)} chapter files")
    for number, (path, chapter) in enumerate(zip(files, source.chapters), start=1):
        audio = MP3(str(path))
        tags = audio.tags
        text = lambda frame: str(tags.get(frame)) if tags and tags.get(frame) else ""  # noqa: E731
        report.check(tags is not None and tags.version[:2] == (2, 4), f"{path.name}: ID3v2.4")
        report.check(text("TALB") == source.meta["title"], f"{path.name}: album")
        report.check(text("TIT2") == chapter.title, f"{path.name}: title")
        report.check(text("TPE1") == build.AUDIO_ARTIST, f"{path.name}: artist")
        report.check(text("TRCK").split("/")[0] == str(number), f"{path.name}: track")
        report.check(text("TCON") == source.meta["subject"], f"{path.name}: genre")
        pictures = tags.getall("APIC") if tags else []
        report.check(len(pictures) == 1 and pictures[0].mime == "image/jpeg", f"{path.name}: cover")
        report.check(30 <= audio.info.length <= 90, f"{path.name}: {audio.info.length:.1f} s")
        report.check(audio.info.channels == 1 and audio.info.sample_rate == 22050,
                     f"{path.name}: mono 22.05 kHz")
        print(f"ok   {folder.name}/{path.name}: {audio.info.length:.1f} s, {audio.info.bitrate // 1000} kbps, "
              f"{path.stat().st_size} bytes, '{text('TIT2')}'")


def run_epubcheck(paths: list[Path], report: Report) -> None:
    """Validate with epubcheck when it is installed (Debian package epubcheck)."""
    program = shutil.which("epubcheck")
    if not program:
        print("skip epubcheck (not installed)")
        return
    # Debian installs epubcheck as an executable jar, which runs only where binfmt_misc knows jars.
    command = ["java", "-jar", program] if zipfile.is_zipfile(program) else [program]
    for path in paths:
        result = subprocess.run(command + ["-q", str(path)], capture_output=True, text=True)
        report.check(result.returncode == 0, f"{path.name}: epubcheck: {result.stdout}{result.stderr}")
    print(f"ok   epubcheck on {len(paths)} EPUBs")


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under folder, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    """Run every check; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=build.DEFAULT_OUT, help="the built folder")
    parser.add_argument("--determinism", action="store_true", help="rebuild and compare bytes")
    args = parser.parse_args(argv)
    out: Path = args.out
    report = Report()
    epubs = []
    for path in sorted((build.SOURCE_DIR / "books").glob("*.md")):
        source = build.read_source(path)
        epubs.append(out / f"{source.slug}.epub")
        verify_epub(epubs[-1], source, report)
    for path in sorted((build.SOURCE_DIR / "pdf").glob("*.md")):
        source = build.read_source(path)
        verify_pdf(out / f"{source.slug}.pdf", source, report)
    for path in sorted((build.SOURCE_DIR / "audio").glob("*.md")):
        source = build.read_source(path)
        verify_audiobook(out / source.slug, source, report)
    report.check((out / "LICENSE").is_file(), "LICENSE present")
    run_epubcheck(epubs, report)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    report.check(total < MAX_TOTAL_BYTES, f"total size {total} bytes")
    print(f"total {total} bytes in {sum(1 for p in out.rglob('*') if p.is_file())} files")
    if args.determinism:
        with tempfile.TemporaryDirectory() as tmp:
            build.main(["--out", tmp])
            again, built = digests(Path(tmp)), digests(out)
            differing = sorted(name for name in set(again) | set(built) if again.get(name) != built.get(name))
            report.check(not differing, f"rebuild differs: {differing}")
            print("ok   rebuild is byte-identical" if not differing else "FAIL rebuild differs")
    print("all checks passed" if not report.failures else f"{len(report.failures)} checks failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
