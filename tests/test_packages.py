"""The three import packages come from this checkout, and content/sync never import Flask."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_packages_are_this_checkout():
    import content
    import readpoint
    import sync

    for module in (readpoint, content, sync):
        assert REPO in __import__("pathlib").Path(module.__file__).resolve().parents, module


def test_content_and_sync_never_import_flask():
    code = (
        "import sys, pkgutil, importlib, content, sync\n"
        "for pkg in (content, sync):\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if info.name.startswith('sync.hub'): continue\n"
        "        importlib.import_module(info.name)\n"
        "bad = [m for m in sys.modules if m == 'flask' or m.startswith('flask.')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_importing_readpoint_opens_nothing():
    code = "import readpoint.app, readpoint.cli, readpoint.views, sys; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


# Declared because a dependency needs it for a feature we rely on, not imported by our code.
DECLARED_FOR_A_DEPENDENCY = {
    "cryptography": "pypdf opens AES-encrypted PDFs only with it",
}


def _declared(section: str) -> set[str]:
    """Distribution names (normalised) listed in a setup.cfg requirement list."""
    import configparser
    import re

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    if section == "install_requires":
        text = config["options"]["install_requires"]
    else:
        text = config["options.extras_require"][section]
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line:
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _third_party_imports(folders) -> set[str]:
    """Top-level names of every non-standard-library module imported under ``folders``."""
    import ast

    names = set()
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    own = {"readpoint", "content", "sync", "tests", "bench"}
    return {name for name in names if name not in sys.stdlib_module_names and name not in own}


def _distributions(import_names: set[str]) -> dict[str, set[str]]:
    """Import name → the installed distributions (normalised) that provide it."""
    from importlib.metadata import packages_distributions

    provided = packages_distributions()
    return {name: {d.lower().replace("_", "-") for d in provided.get(name, [])} for name in import_names}


def test_every_third_party_import_is_declared_and_nothing_else():
    product = _distributions(_third_party_imports(["readpoint", "content", "sync"]))
    declared = _declared("install_requires")
    undeclared = {name: dists for name, dists in product.items() if not dists & declared}
    assert undeclared == {}, "imported by product code but not in install_requires"
    used = set().union(*product.values())
    unused = declared - used - set(DECLARED_FOR_A_DEPENDENCY)
    assert unused == set(), "declared in install_requires but imported by no product code"


def test_test_imports_are_declared_as_test_extras_or_requirements():
    tests = _distributions(_third_party_imports(["tests"]))
    declared = _declared("install_requires") | _declared("test")
    undeclared = {name: dists for name, dists in tests.items() if not dists & declared}
    assert undeclared == {}, "imported by tests but declared nowhere"


def test_only_the_hub_in_sync_may_import_flask():
    import ast

    offenders = []
    for path in (REPO / "sync").rglob("*.py"):
        if "hub" in path.relative_to(REPO / "sync").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            if any(m.split(".")[0] in ("flask", "werkzeug", "flask_babel", "readpoint") for m in modules):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


# Tables with one owner module: no SQL on them anywhere else in product code.
TABLE_OWNERS = {
    "events": "content/catalog/usage.py",
    "imports": "content/catalog/imports.py",
    "import_files": "content/catalog/imports.py",
    "catalog_changes": "content/catalog/books.py",
    "book_overrides": "content/catalog/books.py",
}


def test_owned_tables_are_touched_only_by_their_owner():
    import re

    pattern = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(" + "|".join(TABLE_OWNERS) + r")\b", re.I)
    offenders = []
    for folder in ("readpoint", "content", "sync"):
        for path in (REPO / folder).rglob("*.py"):
            relative = str(path.relative_to(REPO))
            if relative == "content/catalog/migrations.py":
                continue
            for table in pattern.findall(path.read_text(encoding="utf-8")):
                if TABLE_OWNERS[table.lower()] != relative:
                    offenders.append((relative, table))
    assert offenders == []
