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
