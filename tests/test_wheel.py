"""A wheel built from a clean checkout, installed into a fresh venv, serves pages with its UI."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import sysconfig

import pytest
import requests

from tests.conftest import REPO
from tests.test_cli import free_port, wait_for_health


def _clean_copy(target):
    """Copy what a fresh clone would hold (tracked and new, non-ignored files)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listing):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.mark.slow
def test_installed_wheel_serves_pages_with_ui_assets(tmp_path):
    checkout = tmp_path / "checkout"
    _clean_copy(checkout)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(checkout)],
        check=True, capture_output=True,
    )
    wheel = next(dist.glob("readpoint-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # dependencies come from the test environment; readpoint itself only from the wheel
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True,
    )
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import readpoint, content; print(readpoint.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert str(venv) in where
    port = free_port()
    proc = subprocess.Popen(
        [str(venv / "bin" / "readpoint"), "serve", "--data", str(tmp_path / "data"),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for_health(url, proc)["books"] >= 12  # starter collection shipped too
        home = requests.get(url + "/", timeout=10)
        assert home.status_code == 200
        css = home.text.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        assert requests.get(url + css, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
