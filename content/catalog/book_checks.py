"""Checking what the book door is given: a librarian's edit, a hub release row.

Pure functions, no database writes: each returns the change normalised, or
raises :class:`~content.catalog.books.BookChangeError` naming the field. Also
the ``books`` row of a hub book and the test whether the catalog already holds
exactly what a hub update would write.
"""

from __future__ import annotations

from collections.abc import Mapping

from content.catalog.database import now_iso
from content.catalog.rows import sort_title
from content.errors import ContentError
from content.store import is_sha256

__all__ = [
    "BookChangeError", "EDITABLE_FIELDS", "HUB_TEXT_FIELDS", "validated_edit", "validated_hub_entry",
    "hub_book_row", "same_book",
]

EDITABLE_FIELDS = ("title", "authors", "description", "language", "categories")
HUB_TEXT_FIELDS = ("title", "language", "description", "publisher", "date")
HUB_LIST_FIELDS = ("authors", "subjects", "identifiers", "categories")
FILE_ROLES = ("primary", "chapter", "cover")
MAX_TEXT = 100_000  # longest metadata text accepted from the hub or a librarian


class BookChangeError(ContentError):
    """A change the door refuses: unknown book, bad field or value, a hub row that does not hold."""


def _text(value: object, name: str, *, required: bool = False) -> str:
    """A metadata text: a string, not absurdly long, not empty when required."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BookChangeError(f"{name} must be text")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise BookChangeError(f"{name} is longer than {MAX_TEXT} characters")
    if required and not value:
        raise BookChangeError(f"{name} must not be empty")
    return value


def _text_list(value: object, name: str) -> list[str]:
    """A list of metadata texts (authors, subjects, ...)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BookChangeError(f"{name} must be a list")
    items = [_text(item, name) for item in value]
    return [item for item in items if item]


def validated_edit(fields: Mapping, known_categories: set[str]) -> dict:
    """A librarian's edit, checked: only editable fields, sane values, known categories."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise BookChangeError(f"these fields cannot be edited: {', '.join(sorted(unknown))}")
    changes: dict[str, object] = {}
    for name, value in fields.items():
        if name in ("authors", "categories"):
            changes[name] = _text_list(value, name)
        else:
            changes[name] = _text(value, name, required=name == "title")
    if "title" in changes and len(changes["title"]) > 1000:
        raise BookChangeError("title is longer than 1000 characters")
    if "categories" in changes:
        missing = set(changes["categories"]) - known_categories
        if missing:
            raise BookChangeError(f"unknown categories: {', '.join(sorted(missing))}")
        changes["categories"] = sorted(set(changes["categories"]))
    return changes


def validated_hub_entry(entry: Mapping) -> dict:
    """A hub release row, checked and normalised (the shape is in :meth:`Books.upsert_from_hub`)."""
    if not isinstance(entry, Mapping):
        raise BookChangeError("a hub book must be an object")
    book_id = entry.get("id")
    if not isinstance(book_id, str) or len(book_id) != 16 or any(c not in "0123456789abcdef" for c in book_id):
        raise BookChangeError(f"bad book id {book_id!r}")
    hub: dict = {"id": book_id}
    for name in HUB_TEXT_FIELDS:
        hub[name] = _text(entry.get(name), name, required=name == "title")
    for name in HUB_LIST_FIELDS:
        hub[name] = _text_list(entry.get(name), name)
    if entry.get("format") not in ("epub", "pdf", "audio"):
        raise BookChangeError(f"bad format {entry.get('format')!r}")
    hub["format"] = entry["format"]
    hub["duration"] = _number(entry.get("duration"), "duration")
    files = entry.get("files")
    if not isinstance(files, list) or not files:
        raise BookChangeError("a hub book needs files")
    hub["files"] = []
    for item in files:
        if not isinstance(item, Mapping) or not is_sha256(str(item.get("sha256", ""))):
            raise BookChangeError("a file needs a sha256")
        if item.get("role") not in FILE_ROLES:
            raise BookChangeError(f"bad file role {item.get('role')!r}")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BookChangeError("a file needs a size")
        hub["files"].append({
            "sha256": item["sha256"], "role": item["role"], "position": _int(item.get("position", 0), "position"),
            "size": size, "media_type": _text(item.get("media_type"), "media_type", required=True),
            "name": _text(item.get("name"), "name"), "duration": _number(item.get("duration"), "duration"),
        })
    keys = [(f["role"], f["position"]) for f in hub["files"]]
    if len(set(keys)) != len(keys):
        raise BookChangeError("two files share a role and position")
    hub["chapters"] = []
    for chapter in entry.get("chapters") or []:
        if not isinstance(chapter, Mapping):
            raise BookChangeError("a chapter must be an object")
        hub["chapters"].append({
            "position": _int(chapter.get("position"), "chapter position"),
            "title": _text(chapter.get("title"), "chapter title"),
            "href": chapter.get("href") if isinstance(chapter.get("href"), str) else None,
            "file_sha256": chapter.get("file_sha256") if is_sha256(str(chapter.get("file_sha256"))) else None,
            "start": _number(chapter.get("start"), "chapter start"),
            "duration": _number(chapter.get("duration"), "chapter duration"),
        })
    positions = [c["position"] for c in hub["chapters"]]
    if len(set(positions)) != len(positions):
        raise BookChangeError("two chapters share a position")
    hub["texts"] = []
    for item in entry.get("texts") or []:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[1], str):
            raise BookChangeError("a chapter text must be [position, text]")
        hub["texts"].append((_int(item[0], "text position"), item[1]))
    return hub


def _int(value: object, name: str) -> int:
    """A non-negative integer field."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BookChangeError(f"{name} must be a whole number")
    return value


def _number(value: object, name: str) -> float | None:
    """An optional non-negative number field."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise BookChangeError(f"{name} must be a number")
    return float(value)


def hub_book_row(effective: dict, release: int, thumb_sha: str) -> dict:
    """The ``books`` row of a hub book (its overrides already applied)."""
    cover = next((f for f in effective["files"] if f["role"] == "cover"), None)
    stamp = now_iso()
    return {
        "id": effective["id"],
        "title": effective["title"],
        "sort_title": sort_title(effective["title"]),
        "authors": effective["authors"],
        "language": effective["language"],
        "description": effective["description"],
        "publisher": effective["publisher"],
        "date": effective["date"],
        "subjects": effective["subjects"],
        "identifiers": effective["identifiers"],
        "format": effective["format"],
        "origin": "hub",
        "status": effective["status"],
        "rev": release,
        "cover_sha256": cover["sha256"] if cover else None,
        "thumb_sha256": thumb_sha,
        "size": sum(f["size"] for f in effective["files"] if f["role"] != "cover"),
        "duration": effective["duration"],
        "added_at": stamp,
        "updated_at": stamp,
    }


def same_book(existing: dict, catalog, effective: dict) -> bool:
    """Whether the catalog already holds exactly what a hub update would write."""
    for name in (*HUB_TEXT_FIELDS, "authors", "subjects", "identifiers", "format", "status"):
        if existing.get(name) != effective[name]:
            return False
    if existing.get("duration") != effective["duration"] or existing["categories"] != sorted(
        set(effective["categories"]) & {c["id"] for c in catalog.categories()}
    ):
        return False
    files = sorted((f["role"], f["position"], f["sha256"], f["size"], f["media_type"], f["name"], f["duration"])
                   for f in catalog.files_of(existing["id"]))
    wanted = sorted((f["role"], f["position"], f["sha256"], f["size"], f["media_type"], f["name"], f["duration"])
                    for f in effective["files"])
    if files != wanted:
        return False
    chapters = [{k: c[k] for k in ("position", "title", "href", "file_sha256", "start", "duration")}
                for c in catalog.chapters_of(existing["id"])]
    if chapters != sorted(effective["chapters"], key=lambda c: c["position"]):
        return False
    texts = catalog.db.execute(
        "SELECT position, text FROM chapter_texts WHERE book_id = ? ORDER BY position", [existing["id"]]
    ).fetchall()
    return [tuple(t) for t in texts] == sorted((p, t) for p, t in effective["texts"] if t)
