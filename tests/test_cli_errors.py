"""The CLI's one error map and its data-directory rules, as a user meets them.

Every user error is one line on stderr and a non-zero exit, never a traceback.
Some cases need an ordinary user (root may bind low ports and write anywhere):
those run the command as ``nobody`` through ``setpriv``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.media import make_epub

READPOINT = [sys.executable, "-m", "readpoint.cli"]
NOBODY = 65534


def run(*args, as_nobody=False, timeout=60):
    """Run the CLI; return the CompletedProcess."""
    command = READPOINT + [str(a) for a in args]
    if as_nobody:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def one_line_error(result) -> str:
    """The single line a failed command printed on stderr (and that it is a single line, no traceback)."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def needs_ordinary_user():
    """Skip unless we can run commands as ``nobody`` (only root can switch user)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("switching to an ordinary user needs root and setpriv")


@pytest.fixture
def shared_tmp(tmp_path):
    """A temporary folder an ordinary user can enter (pytest's are root-only)."""
    path = tmp_path
    for parent in [path, *path.parents]:
        if parent == parent.parent:
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o711)
    return path


def test_port_in_use_is_one_line_and_nothing_claims_to_serve(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--data", tmp_path / "d", "--host", "127.0.0.1", "--port", port, "--no-starter")
    line = one_line_error(result)
    assert f"port {port}" in line and "already in use" in line and "--port" in line
    assert "serving /" not in result.stderr and " on http://" not in result.stderr


def test_low_port_without_permission(shared_tmp):
    needs_ordinary_user()
    data = shared_tmp / "d"
    data.mkdir()
    os.chown(data, NOBODY, NOBODY)
    result = run("serve", "--data", data, "--host", "127.0.0.1", "--port", 81, "--no-starter", as_nobody=True)
    line = one_line_error(result)
    assert "port 81" in line and "below 1024" in line


def test_address_not_on_this_machine(tmp_path):
    result = run("serve", "--data", tmp_path / "d", "--host", "192.0.2.7", "--port", 8089, "--no-starter")
    line = one_line_error(result)
    assert "192.0.2.7" in line and "not one of this machine's" in line


def test_data_dir_not_writable_by_this_user(shared_tmp):
    needs_ordinary_user()
    data = shared_tmp / "root-owned"
    data.mkdir(mode=0o755)
    book = make_epub(shared_tmp / "a.epub", title="Sách", chapters=[("Một", "<p>Chữ</p>")])
    os.chmod(book, 0o644)
    result = run("import", "--data", data, book, as_nobody=True)
    line = one_line_error(result)
    assert "permission denied" in line or "cannot be written" in line or "readonly" in line
    assert str(data) in line or "catalog" in line
    assert not (data / "catalog.sqlite3").exists()


def test_read_only_file_system(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only file system needs root")
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], check=True)
    try:
        book = make_epub(tmp_path / "a.epub", title="Sách", chapters=[("Một", "<p>Chữ</p>")])
        line = one_line_error(run("import", "--data", mount / "lib", book))
        assert "read-only" in line and str(mount) in line
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_damaged_database_file(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "catalog.sqlite3").write_bytes(b"this is not SQLite at all, just garbage " * 200)
    for command in (["check"], ["reindex"], ["import", tmp_path]):
        line = one_line_error(run(*command, "--data", data))
        assert "catalog" in line and ("damaged" in line or "not a database" in line), line


def test_missing_path_to_import_names_it(tmp_path):
    line = one_line_error(run("import", "--data", tmp_path / "d", tmp_path / "nowhere"))
    assert "no such file or folder" in line and str(tmp_path / "nowhere") in line
    assert not (tmp_path / "d").exists()  # nothing was created for a typo


@pytest.mark.parametrize("command", ["check", "reindex"])
def test_check_and_reindex_never_create_a_library(tmp_path, command):
    folder = tmp_path / "typo"
    result = run(command, "--data", folder)
    assert result.returncode == 1
    line = one_line_error(result)
    assert str(folder.resolve()) in line and "no library" in line
    assert not folder.exists()
    folder.mkdir()
    assert run(command, "--data", folder).returncode == 1
    assert list(folder.iterdir()) == []


def test_import_into_a_new_folder_says_it_created_a_library(tmp_path):
    book = make_epub(tmp_path / "a.epub", title="Sách", chapters=[("Một", "<p>Chữ</p>")])
    result = run("import", "--data", tmp_path / "new", book)
    assert result.returncode == 0
    assert f"created a new, empty library in {(tmp_path / 'new').resolve()}" in result.stderr
    again = run("import", "--data", tmp_path / "new", book)
    assert "created a new" not in again.stderr


def test_check_names_the_book_for_every_problem(tmp_path):
    book = make_epub(tmp_path / "a.epub", title="Trồng ngô", chapters=[("Một", "<p>Ngô</p>")])
    data = tmp_path / "d"
    assert run("import", "--data", data, book).returncode == 0
    stored = next(p for p in (data / "store").rglob("*") if p.is_file())
    stored.write_bytes(b"changed")
    result = run("check", "--data", data)
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.strip()]
    assert problems and all("Trồng ngô" in line for line in problems), problems
    stored.unlink()
    result = run("check", "--data", data)
    assert "missing file" in result.stdout and "Trồng ngô" in result.stdout
