"""Tier 0 of the appliance: what install.sh writes passes each tool's own check, and bad input changes nothing.

hostapd has no check mode: it parses its configuration before it touches the
driver, so the check runs it in an empty network namespace (no radio there)
and looks for its error line, since its exit code is the same either way.
``nft -c`` also runs in a namespace of its own. The units are checked by
``systemd-analyze verify`` inside the installed system (test_appliance_image).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.appliance import (PROVISIONING, Network, need_root_and_namespaces, render_configs, run_install,
                             tools_present, write_box_env)
from tests.conftest import REPO

SCRIPTS = PROVISIONING / "rootfs" / "usr" / "lib" / "readpoint"
HOSTAPD_ERROR = "errors found in configuration file"


@pytest.fixture(scope="module")
def check_namespace():
    """An empty network namespace for hostapd's parse and nft's check (nothing of the host's)."""
    need_root_and_namespaces()
    network = Network("check")
    subprocess.run(["ip", "netns", "add", network.box], check=True)
    network.created.append(network.box)
    yield network
    network.delete()


def hostapd_parse(network: Network, config: Path) -> str:
    """hostapd's output for a configuration; it stops at the missing radio when the file is good."""
    tools_present("hostapd")
    result = network.run(network.box, "hostapd", str(config), timeout=20)
    return result.stdout + result.stderr


def test_scripts_pass_shellcheck():
    tools_present("shellcheck")
    result = subprocess.run(["shellcheck", "-s", "bash", str(PROVISIONING / "install.sh")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    scripts = [str(SCRIPTS / name) for name in ("firstboot", "sync-run", "usb-mount", "usb-import")]
    result = subprocess.run(["shellcheck", "-s", "sh", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    compiled = subprocess.run([sys.executable, "-m", "py_compile", str(SCRIPTS / "box-settings")],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr


@pytest.mark.parametrize("password", ["", "doc-sach-2024", "it's a \"good\" one"])
def test_rendered_configs_pass_their_own_checks(tmp_path, check_namespace, password):
    root = render_configs(tmp_path, WIFI_PASSWORD=f"'{password}'" if "\"" in password else f'"{password}"')
    hostapd = root / "etc" / "hostapd" / "hostapd.conf"
    text = hostapd.read_text()
    assert oct(hostapd.stat().st_mode)[-3:] == "600"  # it holds the Wi-Fi password
    assert "\nssid=Thư viện Xã\n" in text
    assert ("wpa=2" in text) is bool(password)
    if password:
        assert f"wpa_passphrase={password}\n" in text
    output = hostapd_parse(check_namespace, hostapd)
    assert HOSTAPD_ERROR not in output, output
    assert "nl80211" in output or "wlan0" in output, output  # it got past the parse to the radio

    tools_present("dnsmasq", "nft")
    dnsmasq = subprocess.run(["dnsmasq", "--test", f"--conf-file={root}/etc/dnsmasq.d/readpoint.conf"],
                             capture_output=True, text=True)
    assert dnsmasq.returncode == 0 and "syntax check OK" in dnsmasq.stderr, dnsmasq.stderr
    nft = check_namespace.run(check_namespace.box, "nft", "-c", "-f", str(root / "etc" / "nftables.conf"))
    assert nft.returncode == 0, nft.stderr


def test_the_checks_catch_broken_files(tmp_path, check_namespace):
    root = render_configs(tmp_path)
    hostapd = root / "etc" / "hostapd" / "hostapd.conf"
    hostapd.write_text(hostapd.read_text() + "bogus_key=1\n")
    assert HOSTAPD_ERROR in hostapd_parse(check_namespace, hostapd)
    dnsmasq_conf = root / "etc" / "dnsmasq.d" / "readpoint.conf"
    dnsmasq_conf.write_text(dnsmasq_conf.read_text().replace("255.255.255.0", "255.255.255"))
    assert subprocess.run(["dnsmasq", "--test", f"--conf-file={dnsmasq_conf}"], capture_output=True).returncode != 0
    nft = root / "etc" / "nftables.conf"
    nft.write_text(nft.read_text().replace("dnat ip to", "dnatt ip to"))
    assert check_namespace.run(check_namespace.box, "nft", "-c", "-f", str(nft)).returncode != 0


def test_what_the_configs_say(tmp_path):
    root = render_configs(tmp_path, BOX_ADDRESS="192.168.7.1", PORTAL_REMEMBER_MINUTES="90",
                          WIFI_INTERFACE="wlan1", SSH_ON_WIFI="yes")
    dnsmasq = (root / "etc" / "dnsmasq.d" / "readpoint.conf").read_text()
    assert "address=/#/192.168.7.1\n" in dnsmasq and "local=/#/\n" in dnsmasq
    assert "dhcp-range=192.168.7.50,192.168.7.250,255.255.255.0,90m" in dnsmasq
    assert 'dhcp-option=114,"http://192.168.7.1/captive-portal/api"' in dnsmasq
    assert "interface=wlan1" in dnsmasq
    nft = (root / "etc" / "nftables.conf").read_text()
    assert "tcp dport 22 accept" in nft and 'iifname "wlan1"' in nft
    assert "unmanaged-devices=interface-name:wlan1" in (
        root / "etc" / "NetworkManager" / "conf.d" / "90-readpoint.conf").read_text()
    fstab = (root / "etc" / "fstab").read_text()
    assert "LABEL=readpoint-data /data ext4 noatime," in fstab
    assert "tmpfs /var/log tmpfs" in fstab
    assert 'overlayroot="tmpfs:recurse=0"' in (root / "etc" / "overlayroot.local.conf").read_text()
    journald = (root / "etc" / "systemd" / "journald.conf.d" / "readpoint.conf").read_text()
    assert "Storage=volatile" in journald
    box_env = root / "etc" / "readpoint" / "box.env"
    assert oct(box_env.stat().st_mode)[-3:] == "600"


def test_running_again_changes_nothing_and_a_change_touches_only_its_files(tmp_path):
    root = render_configs(tmp_path)
    again = run_install("--config", str(tmp_path / "box.env"), "--root", str(root), "--only-configs")
    assert "(0 files changed)" in again.stdout
    write_box_env(tmp_path, WIFI_CHANNEL="11")
    changed = run_install("--config", str(tmp_path / "box.env"), "--root", str(root), "--only-configs")
    assert "(2 files changed)" in changed.stdout  # hostapd.conf and the box.env copy
    assert "channel=11" in (root / "etc" / "hostapd" / "hostapd.conf").read_text()


@pytest.mark.parametrize(("key", "value", "message"), [
    ("WIFI_PASSWORD", "short", "WIFI_PASSWORD"),
    ("WIFI_PASSWORD", '"mật khẩu dài"', "WIFI_PASSWORD"),
    ("WIFI_NAME", '"Thư viện cộng đồng xã Mường Lay"', "32 bytes"),
    ("WIFI_NAME", '" ThuVien"', "no spaces at its start or end"),
    ("WIFI_CHANNEL", "14", "WIFI_CHANNEL"),
    ("BOX_ADDRESS", "8.8.8.1", "private"),
    ("BOX_ADDRESS", "10.42.0.100", "1-49 or 251-254"),
    ("HOST_NAME", "Thu_Vien", "HOST_NAME"),
    ("SYNC_WINDOWS", "1:00-5:00", "SYNC_WINDOWS"),
    ("HUB_URL", "ftp://hub", "HUB_URL"),
    ("DATA_DEVICE", "", "READ_ONLY_ROOT=yes needs a DATA_DEVICE"),
    ("WIFI_PASWORD", "typo", "unknown setting WIFI_PASWORD"),
])
def test_bad_box_env_is_refused_and_changes_nothing(tmp_path, key, value, message):
    box_env = write_box_env(tmp_path, **{key: value})
    root = tmp_path / "root"
    root.mkdir()
    result = run_install("--config", str(box_env), "--root", str(root), "--only-configs", check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert list(root.iterdir()) == []


def test_windows_line_endings_are_read(tmp_path):
    box_env = write_box_env(tmp_path)
    box_env.write_bytes(box_env.read_bytes().replace(b"\n", b"\r\n"))
    root = tmp_path / "root"
    root.mkdir()
    run_install("--config", str(box_env), "--root", str(root), "--only-configs")
    assert "country_code=VN\n" in (root / "etc" / "hostapd" / "hostapd.conf").read_text()


@pytest.mark.parametrize(("windows", "now", "seconds"), [
    ("01:00-05:00", "00:59", 0),
    ("01:00-05:00", "01:00", 4 * 3600),
    ("01:00-05:00", "04:59", 60),
    ("01:00-05:00", "05:00", 0),
    ("01:00-05:00,22:30-00:30", "23:00", 90 * 60),
    ("01:00-05:00,22:30-00:30", "00:10", 20 * 60),
    ("12:00-13:00,12:30-14:00", "12:40", 80 * 60),
    ("", "15:00", 86400),
])
def test_sync_windows(windows, now, seconds):
    env = dict(os.environ, SYNC_WINDOWS=windows, SYNC_NOW=now)
    result = subprocess.run(["sh", str(SCRIPTS / "sync-run"), "--seconds-left"], env=env,
                            capture_output=True, text=True, check=True)
    assert int(result.stdout) == seconds


def test_sync_is_skipped_with_a_reason(tmp_path):
    env = dict(os.environ, SYNC_WINDOWS="", HUB_URL="", READPOINT=str(Path(sys.executable).parent / "readpoint"))
    result = subprocess.run(["sh", str(SCRIPTS / "sync-run"), "--check"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "no provincial hub set" in result.stderr
    env.update(HUB_URL="http://hub.example", SYNC_WINDOWS="01:00-02:00", SYNC_NOW="03:00",
               READPOINT=str(tmp_path / "no-such-readpoint"))
    result = subprocess.run(["sh", str(SCRIPTS / "sync-run"), "--check"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "no 'readpoint sync'" in result.stderr
    env["SYNC_NOW"] = "1:00"
    result = subprocess.run(["sh", str(SCRIPTS / "sync-run"), "--seconds-left"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "not a time" in result.stderr


def _box_settings(box_env: Path, data: Path) -> subprocess.CompletedProcess:
    """Run the box-settings script as first boot does, with this checkout's readpoint."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(SCRIPTS / "box-settings"), str(box_env), str(data)],
                          env=env, capture_output=True, text=True)


def test_box_settings_reach_readpoint_toml(tmp_path):
    from content.settings import SETTINGS, load_settings

    root = render_configs(tmp_path, HUB_URL="http://hub.example/", SITE_NAME='"Thư viện \\ "xã""')
    box_env = root / "etc" / "readpoint" / "box.env"
    data = tmp_path / "data"
    data.mkdir()
    toml = data / "readpoint.toml"
    toml.write_text('page_size = 30\nsite_name = "set by the librarian"\n')
    result = _box_settings(box_env, data)
    assert result.returncode == 0, result.stderr
    settings = load_settings(data, environ={})
    assert settings["portal_hosts"] == "thuvien.lan,10.42.0.1"
    assert settings["portal_remember_minutes"] == 120
    assert settings["site_name"] == 'Thư viện \\ "xã"'
    assert settings["page_size"] == 30  # the librarian's own line stays
    text = toml.read_text()
    assert text.count("site_name") == 1
    assert tomllib.loads(text)["page_size"] == 30
    if "hub_url" in {setting.name for setting in SETTINGS}:
        assert settings["hub_url"] == "http://hub.example/"
    else:  # a readpoint without sync: said, and left out
        assert "skipped hub_url" in result.stderr
    before = toml.stat().st_mtime_ns
    assert _box_settings(box_env, data).returncode == 0
    assert toml.stat().st_mtime_ns == before  # unchanged: not rewritten


def test_box_settings_refuse_a_bad_value_and_change_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "readpoint.toml").write_text("page_size = 30\n")
    box_env = tmp_path / "box.env"
    box_env.write_text("HOST_NAME='thuvien'\nBOX_ADDRESS='10.42.0.1'\nPORTAL_REMEMBER_MINUTES='soon'\n")
    result = _box_settings(box_env, data)
    assert result.returncode == 1 and "nothing changed" in result.stderr
    assert (data / "readpoint.toml").read_text() == "page_size = 30\n"
