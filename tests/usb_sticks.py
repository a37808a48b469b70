"""Real mounted file systems standing in for USB sticks (tmpfs; needs root, as CI has)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

__all__ = ["Mounts"]


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
