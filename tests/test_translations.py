"""The UI speaks Vietnamese, Thai and English: every string is translated, placeholders intact.

Runs the Makefile's extraction command into a temporary file, so a string
added to a template or view without a translation fails here (run
``make translations-update`` and translate it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import REPO

TRANSLATIONS = REPO / "kiosk-ui" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(path: Path, locale: str | None = None):
    """A parsed .po or .pot file."""
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    """Every message the code and templates use, extracted as ``make translations-extract`` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-o", str(pot), "."], cwd=REPO, check=True)
    return {message.id: message for message in _catalog(pot) if message.id}


def _ids(message) -> tuple[str, ...]:
    """A message's id(s) as a tuple (singular and plural)."""
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    """A message's translation(s) as a tuple."""
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def test_the_template_catalog_is_up_to_date(extracted):
    committed = {message.id for message in _catalog(TRANSLATIONS / "messages.pot") if message.id}
    assert set(extracted) == committed, "run `make translations-update` and translate the new strings"


@pytest.mark.parametrize("locale", ["vi", "th"])
def test_every_string_is_translated(extracted, locale):
    catalog = _catalog(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    for key, message in extracted.items():
        translated = catalog.get(key)
        assert translated is not None and not translated.fuzzy, f"{locale}: {key!r} is not translated"
        strings = _strings(translated)
        assert all(strings), f"{locale}: {key!r} is not translated"
        wanted = {name for text in _ids(message) for name in PLACEHOLDER.findall(text)}
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, f"{locale}: placeholders of {key!r}"
            assert "%" not in PLACEHOLDER.sub("", text), f"{locale}: a stray % in {key!r}"


def test_english_catalog_exists():
    assert (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").is_file()


def test_thai_and_vietnamese_are_really_there():
    vietnamese = _catalog(TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po", "vi")
    thai = _catalog(TRANSLATIONS / "th" / "LC_MESSAGES" / "messages.po", "th")
    assert vietnamese.get("Download").string == "Tải về"
    assert re.fullmatch(r"[\u0e00-\u0e7f ]+", thai.get("Download").string)
