"""What the librarian's desk reads and arranges: every book in any status, categories, the featured shelf.

Changes to books themselves (fields, status, removal, their categories) go
through the book door, ``library.books``; this module only reads books, and
owns the ``categories`` rows (names, icon, order) and the ``featured`` shelf.
"""

from __future__ import annotations

import re

from content.catalog import Catalog, now_iso
from content.catalog.categories import fold_label
from content.catalog.database import _decode_book
from content.errors import ContentError

__all__ = [
    "Collection",
    "CategoryError",
    "STATUSES",
    "MAX_FEATURED",
    "OTHER_CATEGORY",
    "MAX_CATEGORY_NAME",
]

STATUSES = ("active", "hidden", "withdrawn")
MAX_FEATURED = 12
OTHER_CATEGORY = "other"
MAX_CATEGORY_NAME = 60
_SLUG_RE = re.compile(r"[^a-z0-9]+")


class CategoryError(ContentError):
    """A category cannot be made or changed as asked (the message says why)."""


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its own % and _ taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _clean_names(names: dict) -> dict:
    """Category names per language, trimmed; CategoryError if one is missing or too long."""
    cleaned = {}
    for locale in ("vi", "th", "en"):
        name = " ".join(str(names.get(locale, "")).split())
        if not name:
            raise CategoryError(f"a name in {locale} is needed")
        if len(name) > MAX_CATEGORY_NAME:
            raise CategoryError(f"names have at most {MAX_CATEGORY_NAME} characters")
        cleaned[locale] = name
    return cleaned


class Collection:
    """The librarian's view of one catalog."""

    def __init__(self, catalog: Catalog):
        """Read and arrange ``catalog``."""
        self.catalog = catalog

    # -- books, in any status ----------------------------------------------

    def _book_filter(self, query: str, status: str | None) -> tuple[str, list]:
        """The WHERE clause and parameters of :meth:`find_books`."""
        where, params = [], []
        if status in STATUSES:
            where.append("status = ?")
            params.append(status)
        words = query.split()[:8]
        if len(words) == 1 and len(words[0]) == 16:
            where.append("(id = ? OR sort_title LIKE ? ESCAPE '\\')")  # a book id, as the history shows it
            params += [words[0], _like(fold_label(words[0]))]
        else:
            for word in words:  # every word, in the title (tone marks ignored) or the authors
                where.append("(sort_title LIKE ? ESCAPE '\\' OR lower(authors) LIKE ? ESCAPE '\\')")
                params += [_like(fold_label(word)), _like(word.lower())]
        return (" WHERE " + " AND ".join(where)) if where else "", params

    def find_books(self, query: str = "", *, status: str | None = None, limit: int = 20,
                   offset: int = 0) -> tuple[list[dict], int]:
        """Books whose title (tone marks ignored) or authors contain every word of ``query``, by title; and the count."""
        where, params = self._book_filter(query, status)
        total = self.catalog.db.execute(f"SELECT count(*) FROM books{where}", params).fetchone()[0]
        rows = self.catalog.db.query(
            f"SELECT * FROM books{where} ORDER BY sort_title, id LIMIT ? OFFSET ?", params + [limit, offset]
        )
        return [_decode_book(row) for row in rows], total

    def status_counts(self) -> dict[str, int]:
        """How many books have each status."""
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in self.catalog.db.execute("SELECT status, count(*) FROM books GROUP BY status"):
            counts[status] = count
        return counts

    # -- categories ----------------------------------------------------------

    def categories(self) -> list[dict]:
        """Every category in display order, with its count of active books."""
        return self.catalog.categories()

    def create_category(self, names: dict, icon: str) -> str:
        """Add a category at the end (before "other"); return its new id."""
        names = _clean_names(names)
        base = _SLUG_RE.sub("-", fold_label(names["en"])).strip("-")[:30] or "category"
        with self.catalog.write() as db:
            taken = {row[0] for row in db.execute("SELECT id FROM categories")}
            category_id, number = base, 2
            while category_id in taken:
                category_id, number = f"{base}-{number}", number + 1
            last = db.execute(
                "SELECT coalesce(max(position), 0) FROM categories WHERE id != ?", [OTHER_CATEGORY]
            ).fetchone()[0]
            db.execute(
                "INSERT INTO categories (id, position, icon, name_vi, name_th, name_en) VALUES (?, ?, ?, ?, ?, ?)",
                [category_id, last + 1, icon, names["vi"], names["th"], names["en"]],
            )
            self._keep_other_last(db)
        return category_id

    def update_category(self, category_id: str, names: dict, icon: str) -> None:
        """Rename a category and set its icon; CategoryError if there is no such category."""
        names = _clean_names(names)
        with self.catalog.write() as db:
            cursor = db.execute(
                "UPDATE categories SET name_vi = ?, name_th = ?, name_en = ?, icon = ? WHERE id = ?",
                [names["vi"], names["th"], names["en"], icon, category_id],
            )
            if cursor.rowcount != 1:
                raise CategoryError("no such category")

    def move_category(self, category_id: str, step: int) -> None:
        """Move a category one place up (``step`` -1) or down (+1); "other" stays last."""
        with self.catalog.write() as db:
            order = [row[0] for row in db.execute("SELECT id FROM categories ORDER BY position, id")]
            if category_id not in order or category_id == OTHER_CATEGORY:
                raise CategoryError("no such category")
            if OTHER_CATEGORY in order:
                order.remove(OTHER_CATEGORY)
            index = order.index(category_id)
            target = min(max(index + (1 if step > 0 else -1), 0), len(order) - 1)
            order.insert(target, order.pop(index))
            db.conn.executemany(
                "UPDATE categories SET position = ? WHERE id = ?",
                [(position, name) for position, name in enumerate(order, start=1)],
            )
            self._keep_other_last(db)

    @staticmethod
    def _keep_other_last(db) -> None:
        """Give "other" a position after every other category."""
        db.execute(
            "UPDATE categories SET position = (SELECT coalesce(max(position), 0) + 1 FROM categories "
            "WHERE id != ?) WHERE id = ?",
            [OTHER_CATEGORY, OTHER_CATEGORY],
        )

    # -- the featured shelf --------------------------------------------------

    def featured_ids(self) -> list[str]:
        """The ids on the featured shelf, in order (whatever their status)."""
        return [row[0] for row in self.catalog.db.execute("SELECT book_id FROM featured ORDER BY position, book_id")]

    def featured_books(self) -> list[dict]:
        """The active books on the featured shelf, in order."""
        rows = self.catalog.db.query(
            "SELECT b.* FROM featured f JOIN books b ON b.id = f.book_id WHERE b.status = 'active' "
            "ORDER BY f.position, f.book_id"
        )
        return [_decode_book(row) for row in rows]

    def set_featured(self, book_id: str, featured: bool) -> None:
        """Put a book on the featured shelf (at its end) or take it off; CategoryError when the shelf is full."""
        with self.catalog.write() as db:
            if not featured:
                db.execute("DELETE FROM featured WHERE book_id = ?", [book_id])
                return
            if db.execute("SELECT 1 FROM featured WHERE book_id = ?", [book_id]).fetchone():
                return
            if not db.execute("SELECT 1 FROM books WHERE id = ?", [book_id]).fetchone():
                raise CategoryError("no such book")
            count, last = db.execute("SELECT count(*), coalesce(max(position), 0) FROM featured").fetchone()
            if count >= MAX_FEATURED:
                raise CategoryError(f"the featured shelf holds at most {MAX_FEATURED} books")
            db.execute("INSERT INTO featured (book_id, position, added_at) VALUES (?, ?, ?)",
                       [book_id, last + 1, now_iso()])
