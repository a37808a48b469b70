"""Where an import reads from: finding USB sticks, walking folders, noticing a stick pulled.

:func:`find_usb_sources` finds the librarian's stick among mounted drives.

A stick is a mount point directly under a mount root (``/media/<label>``, as
usbmount and the appliance's udev rule mount it) or one level deeper
(``/media/<user>/<label>``, ``/run/media/<user>/<label>``, as desktop
automounters do). If a stick holds a ``READPOINT`` folder (any letter case:
sticks are mostly FAT, where case does not count), only that folder is imported,
so a librarian can carry other files on the same stick.

:func:`scan_paths` lists the files of the folders to import, and
:class:`SourceWatch` tells the importer when one of them has gone away
(:class:`SourceGone`). Nothing here writes anything: the importer only reads
what these folders hold.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from content.errors import ContentError

__all__ = ["find_usb_sources", "scan_paths", "SourceWatch", "SourceGone", "SPECIAL_FOLDER"]

log = logging.getLogger(__name__)

SPECIAL_FOLDER = "READPOINT"


def _mounted(path: Path) -> bool:
    """Whether ``path`` is a mount point (a plugged-in drive, not an empty folder)."""
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def _subfolders(path: Path) -> list[Path]:
    """The folders directly inside ``path`` (sorted); none if it cannot be listed."""
    try:
        return sorted(child for child in path.iterdir() if child.is_dir())
    except OSError as error:  # another user's /media/<user> (0700), a drive going away
        log.info("cannot look inside %s: %s", path, error)
        return []


def _special_folder(drive: Path) -> Path | None:
    """The drive's ``READPOINT`` folder, whatever its letter case, if it has one."""
    for child in _subfolders(drive):
        if child.name.upper() == SPECIAL_FOLDER:
            return child
    return None


def find_usb_sources(roots: list[str], *, require_mount: bool = True) -> list[Path]:
    """Folders to import from every mounted drive under ``roots``, in order.

    ``require_mount=False`` (for tests without mount rights) takes every folder
    directly under a root as a drive.
    """
    found: list[Path] = []
    for root in roots:
        base = Path(root)
        if not root or not base.is_dir():
            continue
        drives = []
        for child in _subfolders(base):
            if _mounted(child) or not require_mount:
                drives.append(child)
            else:  # /media/<user>/<label>
                drives.extend(grandchild for grandchild in _subfolders(child) if _mounted(grandchild))
        for drive in drives:
            found.append(_special_folder(drive) or drive)
    return found


class SourceGone(ContentError):
    """A folder or drive being imported disappeared mid-run (a USB stick pulled or unmounted)."""


def _is_hidden(path: Path) -> bool:
    """Dot files and folders, and the litter other systems leave on sticks."""
    return path.name.startswith(".") or path.name in ("System Volume Information", "$RECYCLE.BIN")


def scan_paths(paths: Iterable[Path]) -> tuple[list[Path], list[dict]]:
    """Expand files and folders into candidate files (sorted); also the skipped ones.

    Symbolic links to folders are not followed (loops, and links off the stick).
    """
    candidates: list[Path] = []
    skipped: list[dict] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            candidates.append(root)
            continue
        if not root.is_dir():
            reason = "not a file or folder (a pipe or device)" if root.exists() else "no such file or folder"
            skipped.append({"path": str(root), "reason": reason})
            continue
        def unreadable(error: OSError) -> None:
            """A folder that cannot be listed (permissions, a bad sector) is a skipped entry, not silence."""
            skipped.append({"path": str(error.filename), "reason": f"folder could not be read ({error.strerror})"})

        for folder, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable):
            dirnames[:] = sorted(d for d in dirnames if not _is_hidden(Path(d)))
            for name in sorted(filenames):
                path = Path(folder) / name
                if _is_hidden(path):
                    continue
                candidates.append(path)
    return candidates, skipped


class SourceWatch:
    """The folders and files a run imports from, and whether they are still there.

    Each root's device and inode are noted at the start: an unmounted stick leaves
    its mount point behind as an empty folder of another device, which must count
    as gone, not as a folder whose files all vanished.
    """

    def __init__(self, roots: list[Path]):
        """Note the identity of every root that exists now (missing ones are skipped files)."""
        self.identity: dict[Path, tuple[int, int]] = {}
        for root in roots:
            try:
                info = os.stat(root)
            except OSError:
                continue
            self.identity[root] = (info.st_dev, info.st_ino)

    def present(self) -> bool:
        """Whether every root is still the same file or folder (a cheap check before each book)."""
        for root, identity in self.identity.items():
            try:
                info = os.stat(root)
            except OSError:
                return False
            if (info.st_dev, info.st_ino) != identity:
                return False
        return True

    def confirm(self) -> None:
        """After a failed read: raise :class:`SourceGone` unless every root can still be listed."""
        if not self.present():
            raise SourceGone("the USB stick or folder was removed during the import")
        for root in self.identity:
            if root.is_dir():
                try:
                    with os.scandir(root) as entries:
                        next(entries, None)
                except OSError as error:
                    raise SourceGone(f"the USB stick or folder can no longer be read ({error})") from error
