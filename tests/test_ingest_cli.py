"""``readpoint import`` as a librarian (or the USB auto-import unit) runs it: JSON, progress, exit codes."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.media import make_epub, make_pdf

READPOINT = [sys.executable, "-m", "readpoint.cli"]


def run(*args, env=None):
    """Run the CLI in a subprocess; return the CompletedProcess."""
    return subprocess.run(READPOINT + [str(a) for a in args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """One file of each verdict: two good books, a copy of one, a broken EPUB, a Word file."""
    root = tmp_path_factory.mktemp("mixed")
    make_epub(root / "a-lua.epub", title="Kỹ thuật trồng lúa", chapters=[("Chương 1", "<p>Lúa nước</p>")])
    make_pdf(root / "b-ga.pdf", pages=["Nuôi gà thả vườn"], title="Nuôi gà")
    (root / "c-copy.epub").write_bytes((root / "a-lua.epub").read_bytes())
    (root / "d-hong.epub").write_bytes(b"PK\x03\x04 broken")
    (root / "e-don.docx").write_bytes(b"word")
    return root


def test_json_has_exactly_the_contract_shape(mixed, tmp_path):
    result = run("import", mixed, "--json", "--data", tmp_path / "data")
    assert result.returncode == 1  # one file rejected
    report = json.loads(result.stdout)  # stdout holds the JSON object and nothing else
    assert list(report) == ["imported", "duplicates", "rejected", "skipped"]
    keys = {"imported": {"path", "id", "title", "format"}, "duplicates": {"path", "id"},
            "rejected": {"path", "reason"}, "skipped": {"path", "reason"}}
    for kind, entries in report.items():
        assert entries, kind
        for entry in entries:
            assert set(entry) == keys[kind]
            assert all(isinstance(value, str) and value for value in entry.values())
    assert sorted((Path(e["path"]).name, e["format"]) for e in report["imported"]) == [
        ("a-lua.epub", "epub"), ("b-ga.pdf", "pdf")]
    lua_id = next(e["id"] for e in report["imported"] if e["format"] == "epub")
    assert report["duplicates"] == [{"path": str(mixed / "c-copy.epub"), "id": lua_id}]
    assert [Path(e["path"]).name for e in report["rejected"]] == ["d-hong.epub"]
    assert [Path(e["path"]).name for e in report["skipped"]] == ["e-don.docx"]
    assert "Kỹ thuật trồng lúa" in result.stdout  # UTF-8, not \\u escapes


def test_exit_0_when_nothing_is_rejected(mixed, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    for name in ("a-lua.epub", "c-copy.epub", "e-don.docx"):  # imported, duplicate, skipped
        (good / name).write_bytes((mixed / name).read_bytes())
    result = run("import", good, "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "imported 1, duplicates 1, rejected 0, skipped 1"
    again = run("import", good, "--json", "--data", tmp_path / "data")
    assert again.returncode == 0
    assert len(json.loads(again.stdout)["duplicates"]) == 2


def test_exit_1_lists_rejections_in_plain_output(mixed, tmp_path):
    result = run("import", mixed, "--data", tmp_path / "data")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "imported 2, duplicates 1, rejected 1, skipped 1"
    assert f"rejected: {mixed / 'd-hong.epub'}: " in result.stdout


@pytest.mark.parametrize("args, message", [
    (["import"], "nothing to import"),
    (["import", "/nowhere/at/all"], "no such file or folder: /nowhere/at/all"),
    (["import", "--no-such-option", "x"], "No such option"),
    (["import", "--usb"], "no USB drive found under"),
])
def test_exit_2_on_usage_errors(tmp_path, args, message):
    env = dict(os.environ, READPOINT_USB_ROOTS=str(tmp_path / "media"))
    result = run(*args, "--data", tmp_path / "data", env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_progress_lines_on_stderr_when_not_a_terminal(mixed, tmp_path):
    result = run("import", mixed, "--json", "--data", tmp_path / "data")
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    names = sorted(p.name for p in mixed.iterdir() if p.suffix == ".epub" or p.suffix == ".pdf")
    # one line per book before it is done: a bar, done/total, the file; then the final count
    assert [line.split()[-1] for line in lines[:-1]] == names
    assert lines[0].startswith("[" + "#" * 4 + ".") and " 1/5 " in lines[0]  # the Word file is done first
    assert lines[-1] == "[" + "#" * 24 + "] 5/5"
    assert not any("\r" in line for line in result.stderr.splitlines())


def test_progress_redraws_one_line_on_a_terminal(mixed, tmp_path):
    """With stderr on a terminal the bar is redrawn in place (carriage returns), ending with a newline."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(READPOINT + ["import", str(mixed), "--json", "--data", str(tmp_path / "data")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        assert ready, "no output from the import in 60 s"
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    stdout = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1 and json.loads(stdout)["imported"]
    text = seen.decode()
    frames = [frame for frame in text.replace("\r\n", "\n").split("\r") if frame.startswith("[")]
    assert len(frames) >= 5
    assert "b-ga.pdf" in text and "] 5/5" in frames[-1]
    assert text.rstrip(" ").endswith("\n")


@pytest.mark.slow
def test_the_read_time_limit_is_a_setting(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    make_pdf(source / "dai.pdf", pages=[f"Trang {n}: cày ruộng, gieo mạ, bón phân." * 20 for n in range(800)],
             title="Dài")
    env = dict(os.environ, READPOINT_IMPORT_READ_SECONDS="0")
    result = run("import", source, "--json", "--data", tmp_path / "data", env=env)
    assert result.returncode == 1
    (rejected,) = json.loads(result.stdout)["rejected"]
    assert rejected["reason"].startswith("reading this file took longer than 0.")
    result = run("import", source, "--json", "--data", tmp_path / "data")
    assert result.returncode == 0 and [e["title"] for e in json.loads(result.stdout)["imported"]] == ["Dài"]
