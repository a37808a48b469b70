"""Finding the librarian's USB stick among mounted drives.

A stick is a folder directly under a mount root (``/media/<label>``,
``/media/<user>/<label>``, ``/run/media/<user>/<label>``). If it holds a
``READPOINT`` folder, only that folder is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["find_usb_sources"]


def _mounted(path: Path) -> bool:
    """Whether ``path`` is a mount point (a plugged-in drive, not an empty folder)."""
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def find_usb_sources(roots: list[str], *, require_mount: bool = True) -> list[Path]:
    """Folders to import from every mounted drive under ``roots`` (sorted)."""
    found: list[Path] = []
    for root in roots:
        base = Path(root)
        if not root or not base.is_dir():
            continue
        candidates = []
        for child in sorted(base.iterdir()):
            if not child.is_dir():
                continue
            if _mounted(child) or not require_mount:
                candidates.append(child)
            else:  # /media/<user>/<label>
                candidates.extend(
                    grandchild for grandchild in sorted(child.iterdir())
                    if grandchild.is_dir() and (_mounted(grandchild) or not require_mount)
                )
        for drive in candidates:
            special = drive / "READPOINT"
            found.append(special if special.is_dir() else drive)
    return found
