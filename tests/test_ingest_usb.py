"""Finding the stick (``find_usb_sources``, ``readpoint import --usb``) and importing from a read-only one.

Mount detection is tested with real tmpfs mounts when this process may mount
(root in a VM or a privileged container); elsewhere those tests skip and the
``require_mount=False`` path covers the folder logic.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys

import pytest

from content.ingest.run import import_paths
from content.ingest.usb import find_usb_sources
from tests.conftest import REPO
from tests.media import make_epub, make_pdf


def _tree_state(root) -> dict:
    """Every path under ``root`` with its size, mode and modification time (what a write would change)."""
    state = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        state[str(path.relative_to(root))] = (info.st_size, info.st_mode, info.st_mtime_ns)
    return state


def _fill(drive, *names):
    """Put small EPUBs named ``names`` (relative paths) on a drive."""
    for name in names:
        path = drive / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make_epub(path, title=path.stem)


# ---------------------------------------------------------------- folder logic (no mounts needed)


def test_every_folder_under_a_root_is_a_drive_without_mount_checks(tmp_path):
    media, run_media = tmp_path / "media", tmp_path / "run-media"
    (media / "KINGSTON" / "READPOINT").mkdir(parents=True)
    (media / "SANDISK" / "Sach").mkdir(parents=True)
    (media / "usb0" / "readpoint").mkdir(parents=True)  # any letter case: FAT does not keep it anyway
    (media / "notes.txt").write_text("not a drive")
    (run_media / "TOSHIBA").mkdir(parents=True)
    found = find_usb_sources([str(media), "", str(tmp_path / "missing"), str(run_media)], require_mount=False)
    assert found == [media / "KINGSTON" / "READPOINT", media / "SANDISK", media / "usb0" / "readpoint",
                     run_media / "TOSHIBA"]


def test_plain_folders_are_not_drives(tmp_path):
    media = tmp_path / "media"
    (media / "STICK").mkdir(parents=True)
    (media / "pi" / "STICK").mkdir(parents=True)
    assert find_usb_sources([str(media)]) == []


def test_a_read_only_source_tree_is_imported_and_left_untouched(library, tmp_path):
    stick = tmp_path / "stick"
    _fill(stick, "a.epub", "sach/b.epub")
    make_pdf(stick / "sach" / "c.pdf", pages=["Trang một"], title="Lịch")
    (stick / "sach" / "d.docx").write_bytes(b"word")
    paths = [stick, *stick.rglob("*")]
    for path in paths:  # chmod a-w, as a read-only mount shows it
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        before = _tree_state(stick)
        report = import_paths(library, [stick])
        assert sorted(os.path.basename(e["path"]) for e in report.imported) == ["a.epub", "b.epub", "c.pdf"]
        assert report.rejected == []
        assert _tree_state(stick) == before
        assert library.check() == []
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


# ---------------------------------------------------------------- real mounts


@pytest.fixture
def mounts(tmp_path):
    """Mount tmpfs file systems under ``tmp_path`` (skips unless mounting works); unmounts all after."""
    done = []

    def mount(target, *options):
        """Mount an 8 MB tmpfs at ``target`` and return it."""
        target.mkdir(parents=True, exist_ok=True)
        option_text = ",".join(["size=8m", *options])
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", option_text, "tmpfs", str(target)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        done.append(target)
        return target

    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs standing in for a USB stick")
    yield mount
    for target in reversed(done):
        subprocess.run(["umount", "-l", str(target)], check=False)


def _read_only(target) -> None:
    """Remount ``target`` read-only, as the appliance's udev rule mounts sticks."""
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)


def test_real_mounts_are_found_directly_and_one_level_down(tmp_path, mounts):
    media, run_media = tmp_path / "media", tmp_path / "run" / "media"
    direct = mounts(media / "usb0")
    nested = mounts(run_media / "thuthu" / "KINGSTON")
    (nested / "Readpoint").mkdir()
    (media / "empty-folder").mkdir()  # a mount point left behind after a stick was pulled
    (run_media / "thuthu" / "old").mkdir()
    assert find_usb_sources([str(media), str(run_media)]) == [direct, nested / "Readpoint"]


def test_import_usb_reads_only_the_readpoint_folder_of_a_read_only_stick(tmp_path, mounts):
    media = tmp_path / "media"
    stick = mounts(media / "KINGSTON")
    _fill(stick, "READPOINT/lua.epub", "READPOINT/truyen/ga.epub", "ca-nhan/khong-phai-sach.epub")
    _read_only(stick)
    with pytest.raises(OSError):
        (stick / "probe").write_bytes(b"")
    env = dict(os.environ, READPOINT_USB_ROOTS=f"{tmp_path / 'nothing'}:{media}")
    result = subprocess.run([sys.executable, "-m", "readpoint.cli", "import", "--usb", "--json",
                             "--data", str(tmp_path / "data")],
                            cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(os.path.basename(e["path"]) for e in report["imported"]) == ["ga.epub", "lua.epub"]
    assert report["rejected"] == [] and report["skipped"] == []
    assert f"importing {stick / 'READPOINT'}" in result.stderr
    with sqlite3.connect(tmp_path / "data" / "catalog.sqlite3") as db:
        assert db.execute("SELECT source, status FROM imports").fetchall() == [
            (f"USB: {stick / 'READPOINT'}", "done")]
    check = subprocess.run([sys.executable, "-m", "readpoint.cli", "check", "--data", str(tmp_path / "data")],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
