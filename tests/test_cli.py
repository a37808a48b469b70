"""The ``readpoint`` command as a user runs it: serve, import, check, reindex, errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO

READPOINT = [sys.executable, "-m", "readpoint.cli"]


def run(*args, data_dir=None, check=False, timeout=120):
    """Run the CLI in a subprocess; return the CompletedProcess."""
    command = list(READPOINT) + [str(a) for a in args]
    if data_dir is not None:
        command += ["--data", str(data_dir)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=check)


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, proc, timeout: float = 60) -> dict:
    """Poll /healthz until it answers 200; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()}")
        try:
            response = requests.get(url + "/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@pytest.mark.slow
def test_serve_on_empty_data_dir_loads_the_starter_collection(tmp_path):
    data_dir = tmp_path / "fresh"
    port = free_port()
    proc = subprocess.Popen(
        READPOINT + ["serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", proc)
        assert health["status"] == "ok"
        assert health["books"] >= 12
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200 and "<html" in home.text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    # a second start does not load the starter again
    result = run("check", data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_starter_flag(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        READPOINT + ["serve", "--data", str(tmp_path), "--no-starter", "--host", "127.0.0.1",
                     "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", proc)["books"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_help_on_every_command():
    for command in ([], ["serve"], ["import"], ["check"], ["gc"], ["reindex"]):
        result = run(*command, "--help")
        assert result.returncode == 0
        assert "Usage:" in result.stdout and "--data" in result.stdout or not command


@pytest.mark.slow
def test_import_json_check_and_reindex(tmp_path):
    from tests.media import make_epub, make_pdf

    source = tmp_path / "stick"
    source.mkdir()
    make_epub(source / "lua.epub", title="Kỹ thuật trồng lúa", chapters=[("Chương 1", "<p>Lúa nước</p>")])
    make_pdf(source / "ga.pdf", pages=["Nuôi gà thả vườn"], title="Nuôi gà")
    (source / "notes.docx").write_bytes(b"PK\x03\x04 not a book")
    (source / "broken.epub").write_bytes(b"this is not a zip")
    data_dir = tmp_path / "data"
    result = run("import", source, "--json", data_dir=data_dir)
    assert result.returncode == 1, result.stderr  # one file rejected
    report = json.loads(result.stdout)
    assert sorted(e["title"] for e in report["imported"]) == ["Kỹ thuật trồng lúa", "Nuôi gà"]
    assert [Path(e["path"]).name for e in report["rejected"]] == ["broken.epub"]
    assert report["rejected"][0]["reason"]
    assert [Path(e["path"]).name for e in report["skipped"]] == ["notes.docx"]
    assert "Traceback" not in result.stderr

    again = run("import", source / "lua.epub", "--json", data_dir=data_dir)
    assert again.returncode == 0
    dup = json.loads(again.stdout)["duplicates"]
    assert dup and dup[0]["id"] == next(e["id"] for e in report["imported"] if e["format"] == "epub")

    assert run("check", data_dir=data_dir).returncode == 0
    result = run("reindex", data_dir=data_dir)
    assert result.returncode == 0 and "2 books" in result.stdout

    # corrupt one stored file: check must say so and exit 1
    store = data_dir / "store"
    victim = next(p for p in store.rglob("*") if p.is_file())
    victim.write_bytes(b"flipped")
    result = run("check", data_dir=data_dir)
    assert result.returncode == 1
    assert f"corrupt file: {victim.name}" in result.stdout


def test_user_errors_are_one_line_without_traceback(tmp_path):
    result = run("import", tmp_path / "nowhere", data_dir=tmp_path / "d")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "no such file or folder" in result.stderr
    result = run("import", data_dir=tmp_path / "d")
    assert result.returncode == 2 and "nothing to import" in result.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "readpoint.toml").write_text("threads = 'lots'\n")
    result = run("check", data_dir=tmp_path / "bad")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "threads" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
