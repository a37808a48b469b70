"""Build hooks only (all metadata is in setup.cfg).

Ships ``kiosk-ui/`` (templates, static assets, translations) as data files under
``share/readpoint/kiosk-ui``, where ``content.settings.default_ui_dir`` finds it
in an installed wheel, and compiles the Babel catalogs (``.po`` → ``.mo``) first:
compiled catalogs are built by the install, never committed.
"""

import os
from pathlib import Path

from setuptools import setup

UI = Path(__file__).resolve().parent / "kiosk-ui"


def compile_catalogs() -> None:
    """Compile every kiosk-ui/translations/<lang>/LC_MESSAGES/messages.po to .mo."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(UI.glob("translations/*/LC_MESSAGES/*.po")):
        with open(po_path, "rb") as handle:
            catalog = read_po(handle)
        with open(po_path.with_suffix(".mo"), "wb") as handle:
            write_mo(handle, catalog)


def ui_data_files() -> list:
    """(target folder, [files]) for every folder of kiosk-ui, relative to this file."""
    entries = []
    for folder, _dirs, names in sorted(os.walk(UI)):
        files = sorted(
            os.path.relpath(os.path.join(folder, name), UI.parent)
            for name in names
            if not name.endswith((".pyc", "~"))
        )
        if files:
            target = os.path.join("share", "readpoint", os.path.relpath(folder, UI.parent))
            entries.append((target, files))
    return entries


if UI.is_dir():
    compile_catalogs()
setup(data_files=ui_data_files() if UI.is_dir() else [])
