"""The repository explains itself: docs name every catalog table and point at nothing outside."""

from __future__ import annotations

import re

from content.catalog import Catalog
from tests.conftest import REPO


def test_architecture_names_every_catalog_table(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    try:
        rows = catalog.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        virtual = [name for name, sql in rows if (sql or "").startswith("CREATE VIRTUAL")]
        tables = {
            name for name, _ in rows
            if not name.startswith(("sqlite_", "_"))
            and not any(name.startswith(v + "_") for v in virtual)  # FTS5's own shadow tables
            and not name.endswith("_vocab")
        }
    finally:
        catalog.close()
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = sorted(table for table in tables if f"`{table}`" not in text)
    assert missing == [], "tables missing from docs/architecture.md"


def test_docs_point_at_nothing_outside_the_repository():
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), REPO / "provisioning" / "README.md"]:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "shared/DESIGN" not in text, path
        for target in re.findall(r"\]\(([^)#:]+)\)", text):
            assert (path.parent / target).exists(), f"{path.name} links to a missing {target}"
