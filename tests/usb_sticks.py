"""Real mounted file systems standing in for USB sticks (tmpfs; needs root, as CI has)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.media import make_epub, make_pdf

__all__ = ["Mounts", "fill_stick"]


class Mounts:
    """Mount 8 MB tmpfs file systems where sticks would be; unmount them all at the end."""

    def __init__(self):
        """Skip the test unless this process may mount."""
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("needs root to mount a tmpfs standing in for a USB stick")
        self.done = []

    def mount(self, target):
        """Mount a tmpfs at ``target`` and return it."""
        target.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(target)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        self.done.append(target)
        return target

    def unmount(self, target) -> None:
        """Unmount one (the librarian pulled the stick)."""
        subprocess.run(["umount", "-l", str(target)], check=False)
        if target in self.done:
            self.done.remove(target)

    def close(self) -> None:
        """Unmount everything still mounted."""
        for target in reversed(self.done):
            subprocess.run(["umount", "-l", str(target)], check=False)
        self.done.clear()


def fill_stick(stick, tag: str = "") -> None:
    """Books, a broken EPUB and a note in the stick's READPOINT folder, and a private file beside it."""
    folder = stick / "READPOINT"
    folder.mkdir()
    make_epub(folder / "lua.epub", title=f"Trồng lúa{tag}", language="vi", identifier=f"urn:uuid:lua{tag}")
    make_epub(folder / "ga.epub", title=f"Nuôi gà{tag}", language="vi", identifier=f"urn:uuid:ga{tag}")
    make_pdf(folder / "lich.pdf", ["Tháng một"], title=f"Lịch{tag}")
    (folder / "hong.epub").write_bytes(b"this is not a zip archive")
    (folder / "ghi-chu.txt").write_text("ghi chú")
    (stick / "rieng.epub").write_bytes(b"private, outside READPOINT")
