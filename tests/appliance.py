"""Helpers for the appliance's tests: box.env files, rendered configs, a "box" and a "phone" network.

The network is two network namespaces joined by a veth pair, made by the tests
and deleted afterwards: the box's end is called ``wlan0`` (as on a Pi), the
phone's ``eth0``. Nothing touches the host's own interfaces, routes or
firewall: every command that changes the network runs inside one of the two
namespaces.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

PROVISIONING = REPO / "provisioning"
INSTALL = PROVISIONING / "install.sh"
BOX = "10.42.0.1"

BOX_ENV = """\
WIFI_NAME="Thư viện Xã"
WIFI_PASSWORD=
WIFI_COUNTRY=VN
WIFI_CHANNEL=6
WIFI_INTERFACE=wlan0
BOX_ADDRESS=10.42.0.1
HOST_NAME=thuvien
SITE_NAME="Thư viện thử"
TIMEZONE=Asia/Ho_Chi_Minh
DATA_DEVICE=LABEL=readpoint-data
READ_ONLY_ROOT=yes
SYNC_WINDOWS=01:00-05:00
PORTAL_REMEMBER_MINUTES=120
SSH_ON_WIFI=no
"""

# The udhcpc hook: report what the DHCP server gave and set only the phone's address and route.
DHCP_HOOK = """\
#!/bin/sh
[ "$1" = bound ] || exit 0
{
    echo "ip=$ip"
    echo "mask=$mask"
    echo "router=$router"
    echo "dns=$dns"
    echo "lease=$lease"
    echo "opt114=$opt114"
} > "$DHCP_REPORT"
ip address add "$ip/$mask" dev "$interface"
ip route replace default via "$router" dev "$interface"
"""


def write_box_env(folder: Path, text: str = BOX_ENV, **changes: str) -> Path:
    """A box.env in ``folder``: ``text`` with ``KEY=value`` lines replaced or added by ``changes``."""
    lines = [line for line in text.splitlines() if line.split("=", 1)[0] not in changes]
    lines += [f"{key}={value}" for key, value in changes.items()]
    path = folder / "box.env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_install(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``provisioning/install.sh ARGS`` with a clean environment (no pip settings of this machine)."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True, env=env, check=check)


def render_configs(folder: Path, **changes: str) -> Path:
    """Write the box's configuration from a box.env into ``folder``/root; return that root."""
    box_env = write_box_env(folder, **changes)
    root = folder / "root"
    root.mkdir(exist_ok=True)
    run_install("--config", str(box_env), "--root", str(root), "--only-configs")
    return root


def need_root_and_namespaces() -> None:
    """Skip unless this process may make network namespaces (root, and a kernel that allows them)."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (CI runs the tests as root)")
    probe = f"rp-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"the kernel refused a network namespace: {made.stderr.strip()}")
    subprocess.run(["ip", "netns", "delete", probe], check=True)


class Network:
    """A "box" and a "phone" network namespace joined by a veth pair (wlan0 ↔ eth0)."""

    def __init__(self, tag: str):
        """Names only; :meth:`create` makes them."""
        self.box = f"rp-box-{tag}-{os.getpid()}"
        self.phone = f"rp-phone-{tag}-{os.getpid()}"
        self.created: list[str] = []

    def create(self, *, box_address: bool = True) -> Network:
        """Make both namespaces and the pair; give the box its address unless the box sets it itself."""
        for name in (self.box, self.phone):
            subprocess.run(["ip", "netns", "add", name], check=True)
            self.created.append(name)
        subprocess.run(["ip", "link", "add", "wlan0", "netns", self.box, "type", "veth",
                        "peer", "name", "eth0", "netns", self.phone], check=True)
        for name in (self.box, self.phone):
            self.ip(name, "link", "set", "lo", "up")
        self.ip(self.phone, "link", "set", "eth0", "up")
        if box_address:
            self.ip(self.box, "address", "add", f"{BOX}/24", "dev", "wlan0")
            self.ip(self.box, "link", "set", "wlan0", "up")
        return self

    @staticmethod
    def ip(namespace: str, *args: str) -> None:
        """``ip ARGS`` inside a namespace."""
        subprocess.run(["ip", "-n", namespace, *args], check=True)

    @staticmethod
    def command(namespace: str, *args: str) -> list[str]:
        """The command line that runs ARGS inside a namespace."""
        return ["ip", "netns", "exec", namespace, *args]

    def run(self, namespace: str, *args: str, timeout: float = 30, check: bool = False) -> subprocess.CompletedProcess:
        """Run ARGS inside a namespace, capturing text output."""
        return subprocess.run(self.command(namespace, *args), capture_output=True, text=True,
                              timeout=timeout, check=check)

    def delete(self) -> None:
        """Delete what was made (the veth pair goes with its namespaces)."""
        for name in reversed(self.created):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        self.created.clear()

    # What the phone does -------------------------------------------------------------------

    def dhcp(self, folder: Path, *, attempts: int = 30) -> dict[str, str]:
        """Ask for an address as a phone does (udhcpc, asking for option 114); return what came back."""
        hook = folder / "dhcp-hook.sh"
        hook.write_text(DHCP_HOOK)
        hook.chmod(0o755)
        report = folder / "dhcp.txt"
        env = dict(os.environ, DHCP_REPORT=str(report))
        result = subprocess.run(
            self.command(self.phone, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", str(attempts), "-T", "1",
                         "-A", "1", "-O", "114", "-s", str(hook)),
            capture_output=True, text=True, timeout=attempts * 3 + 10, env=env,
        )
        assert result.returncode == 0 and report.exists(), f"no DHCP lease: {result.stdout} {result.stderr}"
        return dict(line.split("=", 1) for line in report.read_text().splitlines())

    def dig(self, server: str, name: str, kind: str = "A") -> subprocess.CompletedProcess:
        """A DNS query from the phone."""
        return self.run(self.phone, "dig", "+time=2", "+tries=1", f"@{server}", name, kind)

    def resolve(self, server: str, name: str) -> list[str]:
        """The A records the phone gets for ``name`` from ``server``."""
        result = self.run(self.phone, "dig", "+short", "+time=2", "+tries=1", f"@{server}", name)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    def curl(self, url: str, *, address: str | None = None, timeout: float = 10) -> tuple[int, dict, str, float]:
        """GET ``url`` from the phone (``address`` stands for what DNS gave for its host).

        Returns (curl's exit code, {"status", "location", "type"}, body, seconds).
        """
        args = ["curl", "-s", "--max-time", str(timeout), "-o", "-",
                "-w", "\n%{http_code}|%{content_type}|%{redirect_url}"]
        if address:
            host = url.split("://", 1)[1].split("/", 1)[0]
            port = "443" if url.startswith("https") else "80"
            args += ["--resolve", f"{host}:{port}:{address}"]
        started = time.monotonic()
        result = self.run(self.phone, *args, url, timeout=timeout + 5)
        seconds = time.monotonic() - started
        body, _, tail = result.stdout.rpartition("\n")
        status, content_type, location = (tail.split("|") + ["", ""])[:3]
        return result.returncode, {"status": status, "type": content_type, "location": location}, body, seconds


def tools_present(*names: str) -> None:
    """Fail (not skip) when a tool the project installs for its tests is missing."""
    missing = [name for name in names if shutil.which(name) is None]
    assert not missing, f"missing {missing}: run `sh provisioning/dev-deps.sh test` (make test does)"
