"""Tier 1 of the appliance: a phone joins the box's network and finds the library by itself.

Two network namespaces, "box" and "phone", joined by a veth pair stand in for
the Wi-Fi. In the box: the firewall, dnsmasq and ``readpoint serve`` on port 80,
each with the configuration install.sh writes from a box.env. In the phone: a
DHCP client (udhcpc), DNS queries (dig) and HTTP (curl), as a phone makes them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.appliance import BOX, Network, need_root_and_namespaces, render_configs, tools_present

pytestmark = pytest.mark.slow  # the box takes some seconds to start

# One real probe per OS: (host, path, the "online" status, a piece of the "online" body)
PROBES = [
    ("connectivitycheck.gstatic.com", "/generate_204", "204", ""),
    ("captive.apple.com", "/hotspot-detect.html", "200", "Success"),
    ("www.msftconnecttest.com", "/connecttest.txt", "200", "Microsoft Connect Test"),
    ("detectportal.firefox.com", "/success.txt", "200", "success"),
    ("nmcheck.gnome.org", "/check_network_status.txt", "200", "NetworkManager is online"),
]


def _start(network: Network, log: Path, *args: str, env=None) -> subprocess.Popen:
    """Start ARGS in the box, its output going to ``log``."""
    with open(log, "w") as output:
        return subprocess.Popen(network.command(network.box, *args), stdout=output, stderr=subprocess.STDOUT,
                                text=True, env=env)


def _stop(process: subprocess.Popen) -> None:
    """Stop a process started in the box."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(network: Network, port: int, started: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """Wait until something listens on ``port`` in the box (or the process died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert started.poll() is None, f"exited early: {log.read_text()}"
        listening = network.run(network.box, "ss", "-Hltn", f"sport = :{port}").stdout
        if listening.strip():
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} in the box")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """The box's network side running in its namespace; yields (network, folder)."""
    need_root_and_namespaces()
    tools_present("dnsmasq", "nft", "udhcpc", "dig", "curl", "ss")
    folder = tmp_path_factory.mktemp("netns")
    root = render_configs(folder)
    network = Network("tier1").create()
    processes: list[subprocess.Popen] = []
    try:
        network.run(network.box, "nft", "-f", str(root / "etc" / "nftables.conf"), check=True)
        dnsmasq = _start(network, folder / "dnsmasq.log", "dnsmasq", "--keep-in-foreground", "--log-facility=-",
                         f"--conf-file={root}/etc/dnsmasq.d/readpoint.conf",
                         f"--dhcp-leasefile={folder}/leases", f"--pid-file={folder}/dnsmasq.pid")
        processes.append(dnsmasq)
        env = dict(os.environ, READPOINT_PORTAL_HOSTS=f"thuvien.lan,{BOX}", READPOINT_LOAD_STARTER="false")
        server = _start(network, folder / "readpoint.log", str(Path(sys.executable).parent / "readpoint"), "serve",
                        "--data", str(folder / "data"), "--host", "0.0.0.0", "--port", "80", env=env)
        processes.append(server)
        _wait_for_port(network, 53, dnsmasq, folder / "dnsmasq.log")
        _wait_for_port(network, 80, server, folder / "readpoint.log")
        yield network, folder
    finally:
        for process in reversed(processes):
            _stop(process)
        network.delete()


@pytest.fixture(scope="module")
def lease(box):
    """The phone's DHCP lease (taken once, as a phone joining the Wi-Fi does)."""
    network, folder = box
    return network.dhcp(folder)


def test_phone_gets_an_address_and_the_portal_api_by_dhcp(lease):
    assert lease["ip"].startswith("10.42.0.")
    assert 50 <= int(lease["ip"].rsplit(".", 1)[1]) <= 250
    assert lease["router"] == BOX and lease["dns"] == BOX
    assert int(lease["lease"]) == 120 * 60
    assert bytes.fromhex(lease["opt114"]).decode() == f"http://{BOX}/captive-portal/api"


def test_every_name_is_the_box(box, lease):
    network, _folder = box
    for name in ("thuvien.lan", "connectivitycheck.gstatic.com", "captive.apple.com", "example.com",
                 "www.msftconnecttest.com", "vnexpress.net"):
        assert network.resolve(lease["dns"], name) == [BOX], name
    aaaa = network.dig(lease["dns"], "thuvien.lan", "AAAA").stdout
    assert "status: NOERROR" in aaaa and "ANSWER: 0" in aaaa  # no IPv6 answer, not an error
    # a phone with a DNS server of its own still gets the box
    assert network.resolve("192.0.2.53", "anything.example") == [BOX]


def test_each_os_probe_opens_the_library_then_leaves_the_phone_alone(box, lease):
    network, _folder = box
    for host, path, _status, _body in PROBES:
        address = network.resolve(lease["dns"], host)[0]
        code, answer, _text, _seconds = network.curl(f"http://{host}{path}", address=address)
        assert code == 0 and answer["status"] == "302", (host, answer)
        assert answer["location"] == "http://thuvien.lan/"
    api = network.curl(f"http://{BOX}/captive-portal/api")
    assert api[1]["type"].startswith("application/captive+json") and '"captive":true' in api[2]

    address = network.resolve(lease["dns"], "thuvien.lan")[0]
    code, answer, page, _seconds = network.curl("http://thuvien.lan/", address=address)
    assert code == 0 and answer["status"] == "200"
    assert "<html" in page.lower() and "Thư viện" in page

    for host, path, status, body in PROBES:
        code, answer, text, _seconds = network.curl(f"http://{host}{path}", address=BOX)
        assert answer["status"] == status, (host, answer)
        assert body in text
    assert '"captive":false' in network.curl(f"http://{BOX}/captive-portal/api")[2]


def test_a_hard_coded_address_still_reaches_the_box(box, lease):
    network, _folder = box
    code, answer, _text, _seconds = network.curl("http://198.51.100.7/generate_204")
    assert code == 0 and answer["status"] in ("204", "302")


def test_https_is_refused_at_once(box, lease):
    network, _folder = box
    for url, address in (("https://thuvien.lan/", BOX), ("https://www.google.com/", BOX),
                         ("https://198.51.100.7/", None)):
        code, _answer, _text, seconds = network.curl(url, address=address, timeout=10)
        assert code == 7, (url, code)  # curl: could not connect (reset), not a timeout (28)
        assert seconds < 2, (url, seconds)
