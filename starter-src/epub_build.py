"""Writing one starter EPUB 3 (with nav and NCX) from a parsed source."""

from __future__ import annotations

import html
import logging
import re
import uuid
import zipfile
from pathlib import Path

from covers import draw_cover
from starter_source import CREATOR, LABELS, PUBLISHER, RELEASE_DATE, RIGHTS, TAI_VIET, ZIP_DATE, Source

log = logging.getLogger("starter.build")

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
