"""Read an EPUB 2 or 3 file into a :class:`~content.parsed.ParsedBook`, treating it as hostile.

The steps, each of which may end in :class:`~content.errors.RejectedFile`:

1. :func:`~content.readers.archive.open_safe_zip` checks the zip (names,
   sizes, zip bombs) before any parser sees it;
2. ``META-INF/container.xml`` must exist;
3. DRM: ``META-INF/encryption.xml`` listing anything but font obfuscation
   (IDPF or Adobe algorithms), or a Readium LCP licence, is refused;
4. any member declaring XML entities (``<!ENTITY``: XXE, "billion laughs")
   is refused before ebooklib or lxml parse it;
5. ebooklib reads the package; when it fails on something survivable
   (a manifest item that points nowhere, a missing NCX, a nav without a
   TOC, names in the wrong case or %-encoded), this module's own lenient
   parser of container.xml/OPF/NCX/nav takes over;
6. chapters come from the spine (missing and duplicate entries skipped),
   titled from the nav/NCX, with plain text per chapter; the cover from the
   EPUB 3 ``cover-image`` property, the EPUB 2 ``<meta name="cover">``, the
   guide, or a file named like a cover.

All XML is parsed by lxml with entity resolution, DTD loading and network
access off and ``huge_tree`` off; ebooklib's own parser (``recover=True,
resolve_entities=False``) only sees what step 4 let through.
"""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from ebooklib import epub as ebooklib_epub
from lxml import etree

from content.errors import RejectedFile
from content.ingest.metadata import clean_book, clean_text, decode_markup, html_to_text
from content.parsed import ParsedBook, ParsedChapter, ParsedFile
from content.readers.archive import DEFAULT_MAX_UNCOMPRESSED, DamagedMember, SafeZip, join_member_path, open_safe_zip

__all__ = ["EPUB_MEDIA_TYPE", "FONT_OBFUSCATION_ALGORITHMS", "read_epub"]

log = logging.getLogger(__name__)

EPUB_MEDIA_TYPE = "application/epub+zip"
FONT_OBFUSCATION_ALGORITHMS = frozenset(["http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"])
MAX_XML_SIZE = 16 * 1024 * 1024  # container, package, NCX, nav documents
MAX_COVER_SIZE = 20 * 1024 * 1024
MAX_CHAPTER_TEXT = 5_000_000  # characters of plain text kept per chapter
_CONTAINER = "META-INF/container.xml"
_ENTITY_MARKERS = tuple("<!entity".encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be"))
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_HEADING = re.compile(r"<h([1-3])\b[^>]*>(.*?)</h\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_IMAGE_SOURCE = re.compile(r"""<(?:img|image)\b[^>]*?\s(?:src|xlink:href|href)\s*=\s*["']([^"']+)["']""",
                           re.IGNORECASE)
# What ebooklib (and the lxml/zipfile calls inside it) raises on files it cannot load.
_EBOOKLIB_ERRORS = (ebooklib_epub.EpubException, etree.LxmlError, zipfile.BadZipFile, LookupError,
                    AttributeError, TypeError, ValueError, AssertionError, NameError, OSError, EOFError)


@dataclass
class _Item:
    """A manifest item: its archive path (relative to the zip root), media type and properties."""

    path: str | None
    media_type: str = ""
    properties: tuple[str, ...] = ()


@dataclass
class _Package:
    """What the package document (and its TOC) says, whichever parser read it."""

    fields: dict[str, list[str]] = field(default_factory=dict)  # Dublin Core name → values
    creators: list[tuple[str, str]] = field(default_factory=list)  # (name, MARC role or "")
    manifest: dict[str, _Item] = field(default_factory=dict)
    spine: list[str] = field(default_factory=list)
    toc: list[tuple[str, str]] = field(default_factory=list)  # (title, archive path#fragment)
    cover_ref: str = ""  # <meta name="cover" content="...">
    guide: list[tuple[str, str]] = field(default_factory=list)  # (type, archive path)


# ---------------------------------------------------------------- XML helpers


def _local(element: etree._Element) -> str:
    """An element's tag without namespace or prefix ('' for comments and processing instructions).

    Recovered XML may keep an undeclared prefix in the tag (``dc:title``).
    """
    tag = element.tag
    return tag.rpartition("}")[2].rpartition(":")[2] if isinstance(tag, str) else ""


def _text(element: etree._Element) -> str:
    """All text inside an element, whitespace collapsed."""
    return clean_text("".join(element.itertext()))


def _attribute(element: etree._Element, name: str) -> str:
    """An attribute by local name, whatever its namespace prefix ('' if absent)."""
    for key, value in element.attrib.items():
        if key == name or key.endswith(("}" + name, ":" + name)):
            return value.strip()
    return ""


def _parse_xml(archive: SafeZip, name: str) -> tuple[etree._Element, bool]:
    """The root of an XML member parsed safely, and whether the XML was broken (recovered)."""
    raw = archive.read(name, limit=MAX_XML_SIZE)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             recover=True, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(raw, parser)
    except (etree.LxmlError, ValueError) as error:
        raise RejectedFile(f"not a valid EPUB: broken XML in {posixpath.basename(name)}") from error
    if root is None:
        raise RejectedFile(f"not a valid EPUB: broken XML in {posixpath.basename(name)}")
    return root, bool(parser.error_log)


# ---------------------------------------------------------------- checks


def _container_name(archive: SafeZip) -> str:
    """The archive name of META-INF/container.xml, or RejectedFile if there is none."""
    name = archive.resolve(_CONTAINER)
    if name is None:
        raise RejectedFile("not a valid EPUB: no META-INF/container.xml")
    return name


def _encryption_algorithms(archive: SafeZip, name: str) -> list[str]:
    """The algorithm of each EncryptedData entry in encryption.xml ('' when none is named)."""
    try:
        root, _ = _parse_xml(archive, name)
    except RejectedFile:  # unreadable: trust only algorithm names that are plainly there
        text = decode_markup(archive.read(name, limit=MAX_XML_SIZE))
        return re.findall(r"""Algorithm\s*=\s*["']([^"']*)["']""", text) or [""]
    algorithms = []
    for entry in root.iter():
        if _local(entry) == "EncryptedData":
            methods = [m for m in entry.iter() if _local(m) == "EncryptionMethod"]
            algorithms.append(_attribute(methods[0], "Algorithm") if methods else "")
    return algorithms


def _reject_drm(archive: SafeZip) -> None:
    """Refuses content encryption (DRM); font obfuscation is not DRM."""
    if archive.resolve("META-INF/license.lcpl"):
        raise RejectedFile("protected by DRM (Readium LCP)")
    name = archive.resolve("META-INF/encryption.xml")
    if name is None:
        return
    unknown = [a for a in _encryption_algorithms(archive, name) if a not in FONT_OBFUSCATION_ALGORITHMS]
    if unknown:
        log.info("encryption.xml lists %s", unknown[:3])
        raise RejectedFile("protected by DRM")


def _reject_entity_declarations(archive: SafeZip) -> None:
    """Refuses any member that declares XML entities, before a parser sees it.

    Every member is read once here, which also proves each one inflates to
    its declared size (or records it in ``archive.damaged``).
    """
    for name in archive.names:
        tail = b""
        try:
            for chunk in archive.iter_chunks(name):
                window = tail + chunk.lower()
                if any(marker in window for marker in _ENTITY_MARKERS):
                    raise RejectedFile(f"unsafe XML: entity declarations in {name} (XXE or 'billion laughs')")
                tail = window[-32:]
        except DamagedMember:
            continue  # a damaged member is never parsed: reading it fails again later


# ---------------------------------------------------------------- ebooklib


def _flatten_toc(entries: object) -> Iterator[tuple[str, str]]:
    """(title, href) pairs of an ebooklib TOC (Links, Sections and (Section, children) tuples)."""
    for entry in entries if isinstance(entries, (list, tuple)) else [entries]:
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], list):
            yield from _flatten_toc([entry[0]])
            yield from _flatten_toc(entry[1])
        elif isinstance(entry, (list, tuple)):
            yield from _flatten_toc(list(entry))
        elif getattr(entry, "href", None):
            yield clean_text(getattr(entry, "title", "")), entry.href


def _ebooklib_metadata(book: ebooklib_epub.EpubBook, package: _Package) -> None:
    """Fills the Dublin Core fields, creators and cover reference from ebooklib's metadata."""
    dc = book.metadata.get(ebooklib_epub.NAMESPACES["DC"], {})
    for name, values in dc.items():
        package.fields[name] = [value for value, _ in values if value]
    opf = book.metadata.get(ebooklib_epub.NAMESPACES["OPF"], {})
    roles = {attrs.get("refines", "").lstrip("#"): (value or "").strip()
             for value, attrs in [*opf.get(None, []), *opf.get("meta", [])] if attrs.get("property") == "role"}
    for value, attrs in dc.get("creator", []):
        role = next((v for k, v in attrs.items() if k.endswith("role")), "") or roles.get(attrs.get("id", ""), "")
        if value:
            package.creators.append((value, role.strip()))
    package.cover_ref = next((attrs.get("content", "") for _, attrs in opf.get("cover", [])), "")


def _ebooklib_item(item: ebooklib_epub.EpubItem, opf_dir: str) -> _Item:
    """A manifest item from an ebooklib item."""
    properties = list(getattr(item, "properties", []) or [])
    if isinstance(item, ebooklib_epub.EpubNav):
        properties.append("nav")
    if isinstance(item, ebooklib_epub.EpubCover):
        properties.append("cover-image")
    return _Item(join_member_path(opf_dir, item.file_name), item.media_type or "", tuple(properties))


def _package_from_ebooklib(archive: SafeZip) -> _Package:
    """The package as ebooklib reads it (raises whatever ebooklib raises)."""
    reader = ebooklib_epub.EpubReader(archive.fileobj, {"ignore_ncx": True})
    book = reader.load()
    package = _Package()
    _ebooklib_metadata(book, package)
    opf_dir = reader.opf_dir
    package.manifest = {item.id: _ebooklib_item(item, opf_dir) for item in book.get_items() if item.id}
    package.spine = [idref for idref, _ in book.spine]
    nav = next((i for i in book.get_items() if isinstance(i, ebooklib_epub.EpubNav)), None)
    ncx = next((i for i in book.get_items() if isinstance(i, ebooklib_epub.EpubNcx)), None)
    toc_dir = opf_dir if nav is not None or ncx is None else posixpath.dirname(posixpath.join(opf_dir, ncx.file_name))
    package.toc = [(title, path) for title, href in _flatten_toc(book.toc)
                   if (path := _join_keep_fragment(toc_dir, href))]
    package.guide = [(entry.get("type") or "", path) for entry in book.guide
                     if (path := join_member_path(opf_dir, unquote(entry.get("href") or "")))]
    return package


def _join_keep_fragment(base_dir: str, href: str) -> str | None:
    """Like :func:`join_member_path`, keeping the ``#fragment``."""
    path = join_member_path(base_dir, href)
    fragment = href.partition("#")[2]
    return f"{path}#{fragment}" if path and fragment else path


# ---------------------------------------------------------------- own parser (fallback)


def _opf_name(archive: SafeZip) -> str:
    """The archive name of the package document that container.xml points to."""
    container = _container_name(archive)
    root, _ = _parse_xml(archive, container)
    paths = [_attribute(e, "full-path") for e in root.iter() if _local(e) == "rootfile"
             and _attribute(e, "media-type") in ("application/oebps-package+xml", "")]
    paths = [p for p in paths if p]
    if not paths:
        raise RejectedFile("not a valid EPUB: META-INF/container.xml names no package document")
    name = archive.resolve(unquote(paths[0]).lstrip("/"))
    if name is None:
        raise RejectedFile(f"not a valid EPUB: the package document {paths[0][:80]} is missing")
    return name


def _opf_metadata(metadata: etree._Element, package: _Package) -> None:
    """Fills Dublin Core fields, creators and the cover reference from an OPF <metadata>."""
    roles = {_attribute(m, "refines").lstrip("#"): _text(m) for m in metadata.iter()
             if _local(m) == "meta" and _attribute(m, "property") == "role"}
    for element in metadata.iter():
        name = _local(element)
        if name == "meta" and _attribute(element, "name").casefold() == "cover":
            package.cover_ref = _attribute(element, "content")
        elif name and name != "meta" and element is not metadata and (value := _text(element)):
            package.fields.setdefault(name, []).append(value)
            if name == "creator":
                role = _attribute(element, "role") or roles.get(_attribute(element, "id"), "")
                package.creators.append((value, role))


def _package_from_opf(archive: SafeZip) -> _Package:
    """The package read by this module's lenient parser (local names, no namespace trust)."""
    opf_name = _opf_name(archive)
    root, broken = _parse_xml(archive, opf_name)
    opf_dir = posixpath.dirname(opf_name)
    sections = {_local(e): e for e in root.iter() if _local(e) in ("metadata", "manifest", "spine", "guide")}
    if "manifest" not in sections or "spine" not in sections:
        reason = "broken XML in" if broken else "no manifest or spine in"
        raise RejectedFile(f"not a valid EPUB: {reason} {posixpath.basename(opf_name)}")
    package = _Package()
    if "metadata" in sections:
        _opf_metadata(sections["metadata"], package)
    for item in sections["manifest"].iter():
        if _local(item) == "item" and _attribute(item, "id"):
            path = join_member_path(opf_dir, unquote(_attribute(item, "href")))
            package.manifest[_attribute(item, "id")] = _Item(
                path, _attribute(item, "media-type"), tuple(_attribute(item, "properties").split()))
    package.spine = [_attribute(i, "idref") for i in sections["spine"].iter() if _local(i) == "itemref"]
    references = sections["guide"].iter() if "guide" in sections else ()
    for reference in references:
        path = join_member_path(opf_dir, unquote(_attribute(reference, "href")))
        if _local(reference) == "reference" and path:
            package.guide.append((_attribute(reference, "type"), path))
    ncx_id = _attribute(sections["spine"], "toc")
    package.toc = _own_toc(archive, package, ncx_id)
    return package


def _own_toc(archive: SafeZip, package: _Package, ncx_id: str = "") -> list[tuple[str, str]]:
    """The TOC from the nav document, else from the NCX; [] if neither is readable."""
    nav = next((i for i in package.manifest.values() if "nav" in i.properties), None)
    ncx = package.manifest.get(ncx_id) or next(
        (i for i in package.manifest.values() if i.media_type == "application/x-dtbncx+xml"), None)
    for item, parse in ((nav, _nav_entries), (ncx, _ncx_entries)):
        name = archive.resolve(item.path) if item and item.path else None
        if name is None:
            continue
        try:
            root, _ = _parse_xml(archive, name)
        except RejectedFile as error:  # a broken TOC costs chapter titles, not the book
            log.info("unreadable TOC %s: %s", name, error.reason)
            continue
        base = posixpath.dirname(name)
        entries = [(title, path) for title, href in parse(root) if (path := _join_keep_fragment(base, unquote(href)))]
        if entries:
            return entries
    return []


def _nav_entries(root: etree._Element) -> list[tuple[str, str]]:
    """(title, href) of each link in the nav's TOC (the first <nav> if none is typed 'toc')."""
    navs = [e for e in root.iter() if _local(e) == "nav"]
    toc = next((n for n in navs if "toc" in _attribute(n, "type").split()), navs[0] if navs else None)
    if toc is None:
        return []
    return [(_text(a), _attribute(a, "href")) for a in toc.iter() if _local(a) == "a" and _attribute(a, "href")]


def _ncx_entries(root: etree._Element) -> list[tuple[str, str]]:
    """(title, src) of each navPoint of an NCX, in document order."""
    entries = []
    for point in root.iter():
        if _local(point) != "navPoint":
            continue
        label = next((_text(e) for e in point if _local(e) == "navLabel"), "")
        src = next((_attribute(e, "src") for e in point if _local(e) == "content"), "")
        if src:
            entries.append((label, src))
    return entries


# ---------------------------------------------------------------- building the book


def _document_text(archive: SafeZip, name: str, media_type: str) -> tuple[str, str]:
    """(plain text, fallback title) of a spine document; ('', '') for images and other media."""
    if media_type and "html" not in media_type and "xml" not in media_type:
        return "", ""
    markup = decode_markup(archive.read(name))
    if not media_type and not markup.lstrip().startswith("<"):
        return "", ""
    text = html_to_text(markup)
    if len(text) > MAX_CHAPTER_TEXT:
        log.info("chapter %s cut to %d characters", name, MAX_CHAPTER_TEXT)
        text = text[:MAX_CHAPTER_TEXT]
    head = markup[:200_000]
    match = _HEADING.search(head) or _HTML_TITLE.search(head)
    return text, clean_text(match.group(match.lastindex)) if match else ""


def _chapters(archive: SafeZip, package: _Package) -> list[ParsedChapter]:
    """One chapter per readable spine entry, titled from the TOC (or the document's heading)."""
    titles: dict[str, str] = {}
    for title, path in package.toc:
        name = archive.resolve(path.partition("#")[0])
        if name and title:
            titles.setdefault(name, title)
    chapters, seen, damaged = [], set(), None
    for idref in package.spine:
        item = package.manifest.get(idref)
        name = archive.resolve(item.path) if item and item.path else None
        if name is None or name in seen:
            log.debug("spine entry %r skipped (missing or repeated)", idref)
            continue
        seen.add(name)
        try:
            text, heading = _document_text(archive, name, item.media_type)
        except DamagedMember as error:
            log.info("chapter %s skipped: damaged", name)
            damaged = damaged or error
            continue
        chapters.append(ParsedChapter(title=titles.get(name) or heading, href=name, text=text))
    if not chapters and damaged:
        raise damaged
    return chapters


def _cover_candidates(archive: SafeZip, package: _Package) -> Iterator[str]:
    """Archive paths that may hold the cover image, best first."""
    items = package.manifest.values()
    yield from (i.path for i in items if "cover-image" in i.properties and i.path)
    if package.cover_ref:
        by_id = package.manifest.get(package.cover_ref)
        yield from [by_id.path] if by_id and by_id.path else []
        yield from (i.path for i in items if i.path and i.path.endswith(package.cover_ref))
    for kind, path in package.guide:
        if "cover" in kind.casefold():
            yield from _cover_page_images(archive, path)
    yield from (i.path for i in items if i.path and i.media_type.startswith("image/")
                and "cover" in i.path.casefold())


def _cover_page_images(archive: SafeZip, path: str) -> Iterator[str]:
    """The path itself if it is an image, else the images a cover page shows."""
    name = archive.resolve(path)
    if name is None or archive.size(name) > MAX_XML_SIZE:
        return
    raw = archive.read(name)
    if raw.startswith(_IMAGE_MAGIC):
        yield name
        return
    for source in _IMAGE_SOURCE.findall(decode_markup(raw)):
        image = join_member_path(posixpath.dirname(name), unquote(source))
        if image:
            yield image


def _cover(archive: SafeZip, package: _Package) -> bytes | None:
    """The cover image's bytes (JPEG, PNG, GIF, WebP or BMP), or None."""
    for path in _cover_candidates(archive, package):
        name = archive.resolve(path)
        if name is None or archive.size(name) > MAX_COVER_SIZE:
            continue
        try:
            data = archive.read(name)
        except DamagedMember:
            continue
        if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            return data
    return None


def _authors(package: _Package) -> list[str]:
    """Creators with the author role, or every creator if none has it."""
    authors = [name for name, role in package.creators if role in ("", "aut")]
    return authors or [name for name, _ in package.creators]


def _build_book(path: Path, archive: SafeZip, package: _Package) -> ParsedBook:
    """The ParsedBook of a package (metadata cleaned), or RejectedFile without readable chapters."""
    chapters = _chapters(archive, package)
    if not chapters:
        raise RejectedFile("not a valid EPUB: no readable chapters (empty or broken spine)")
    fields = package.fields
    first = {name: (values[0] if values else "") for name, values in fields.items()}
    book = ParsedBook(
        format="epub",
        files=[ParsedFile(path=path, media_type=EPUB_MEDIA_TYPE, role="primary")],
        title=first.get("title", ""),
        authors=_authors(package),
        language=first.get("language", ""),
        description=first.get("description", ""),
        publisher=first.get("publisher", ""),
        date=first.get("date", ""),
        subjects=fields.get("subject", []),
        identifiers=fields.get("identifier", []),
        chapters=chapters,
        cover=_cover(archive, package),
    )
    return clean_book(book)


def _read_package(archive: SafeZip) -> _Package:
    """The package via ebooklib, or via the lenient parser when ebooklib fails.

    ebooklib reads members with ``ZipFile.read``, which is only safe once
    every member has inflated to its declared size through the archive's
    bounded reader (done by the entity scan): with a damaged member,
    ebooklib is not used at all.
    """
    if archive.damaged:
        log.info("damaged members %s: using the lenient parser", sorted(archive.damaged)[:3])
        return _package_from_opf(archive)
    try:
        package = _package_from_ebooklib(archive)
    except _EBOOKLIB_ERRORS as error:
        log.info("ebooklib could not read the EPUB (%s: %s); using the lenient parser",
                 type(error).__name__, error)
        return _package_from_opf(archive)
    if not package.toc:
        package.toc = _own_toc(archive, package)
    return package


def read_epub(path: Path, *, max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED) -> ParsedBook:
    """Reads the EPUB at ``path``: metadata (cleaned), cover, chapters with plain text.

    Raises :class:`~content.errors.RejectedFile` with a reason for librarians
    when the file is not a usable EPUB, is hostile (zip bomb, unsafe names,
    XML entities), is protected by DRM or has absurd metadata.
    """
    path = Path(path)
    with open_safe_zip(path, kind="EPUB", max_uncompressed=max_uncompressed) as archive:
        _container_name(archive)
        _reject_drm(archive)
        _reject_entity_declarations(archive)
        package = _read_package(archive)
        return _build_book(path, archive, package)
