"""The captive portal in the app: probes, the RFC 8908 API, foreign host names, not nagging twice."""

from __future__ import annotations


import pytest

from readpoint.app import create_app
from readpoint.views.captive import PROBES, Visitors

PHONE = "10.42.0.77"
OTHER_PHONE = "10.42.0.78"

# One real probe URL per OS, and what "online" looks like for it.
OS_PROBES = {
    "android": ("connectivitycheck.gstatic.com", "/generate_204", 204, b""),
    "android-gen": ("www.google.com", "/gen_204", 204, b""),
    "ios": ("captive.apple.com", "/hotspot-detect.html", 200, b"<BODY>Success</BODY>"),
    "macos": ("www.apple.com", "/library/test/success.html", 200, b"<BODY>Success</BODY>"),
    "windows": ("www.msftconnecttest.com", "/connecttest.txt", 200, b"Microsoft Connect Test"),
    "windows-old": ("www.msftncsi.com", "/ncsi.txt", 200, b"Microsoft NCSI"),
    "firefox": ("detectportal.firefox.com", "/success.txt", 200, b"success\n"),
    "firefox-canonical": ("detectportal.firefox.com", "/canonical.html", 200, b"support.mozilla.org/kb/captive-portal"),
    "networkmanager": ("nmcheck.gnome.org", "/check_network_status.txt", 200, b"NetworkManager is online\n"),
    "debian-nm": ("network-test.debian.org", "/nm", 200, b"NetworkManager is online\n"),
    "ubuntu": ("connectivity-check.ubuntu.com", "/", 204, b""),
}


@pytest.fixture
def portal_app(data_dir):
    """The app with the captive portal on, as the appliance configures it."""
    application = create_app(
        {"events_flush_seconds": 0, "portal_hosts": "thuvien.lan,10.42.0.1", "load_starter": False},
        data_dir=data_dir,
    )
    yield application
    application.extensions["events"].flush()
    application.extensions["library"].close()


def _get(app, host, path, phone=PHONE):
    """A GET as a phone at ``phone`` would send it to ``host``."""
    return app.test_client().get(path, headers={"Host": host}, environ_base={"REMOTE_ADDR": phone})


@pytest.mark.parametrize("name", sorted(OS_PROBES))
def test_a_new_phone_is_sent_to_the_library_then_left_alone(portal_app, name):
    host, path, status, body = OS_PROBES[name]
    first = _get(portal_app, host, path)
    assert first.status_code == 302, name
    assert first.headers["Location"] == "http://thuvien.lan/"
    assert first.headers["Cache-Control"] == "no-store"

    home = _get(portal_app, "thuvien.lan", "/")
    assert home.status_code == 200
    assert b"<html" in home.data.lower()

    again = _get(portal_app, host, path)
    assert again.status_code == status, name
    assert body in again.data
    assert again.headers["Cache-Control"] == "no-store"
    # another phone has not opened the library: still sent there
    assert _get(portal_app, host, path, phone=OTHER_PHONE).status_code == 302


def test_every_probe_in_the_table_redirects_a_new_phone(portal_app):
    for (host, path), _answer in PROBES.items():
        response = _get(portal_app, host or "probe.example", path, phone="10.42.0.200")
        assert response.status_code == 302, (host, path)


def test_rfc8908_api(portal_app):
    before = _get(portal_app, "10.42.0.1", "/captive-portal/api")
    assert before.status_code == 200
    assert before.mimetype == "application/captive+json"
    assert "no-store" in before.headers["Cache-Control"]
    assert before.get_json() == {
        "captive": True,
        "user-portal-url": "http://thuvien.lan/",
        "venue-info-url": "http://thuvien.lan/",
    }
    # asking the API is not opening the library
    assert _get(portal_app, "10.42.0.1", "/captive-portal/api").get_json()["captive"] is True
    _get(portal_app, "10.42.0.1", "/")
    assert _get(portal_app, "10.42.0.1", "/captive-portal/api").get_json()["captive"] is False


def test_other_host_names_go_to_the_library_addresses_are_served(portal_app):
    for host in ("example.com", "thuvien", "www.facebook.com"):
        response = _get(portal_app, host, "/some/page?x=1")
        assert response.status_code == 302, host
        assert response.headers["Location"] == "http://thuvien.lan/"
    # a phone with a hard-coded address, sent here by the firewall: serve the library
    assert _get(portal_app, "198.51.100.7", "/").status_code == 200
    assert _get(portal_app, "10.42.0.1:80", "/").status_code == 200
    assert _get(portal_app, "THUVIEN.LAN", "/").status_code == 200


def test_portal_off_by_default(app):
    client = app.test_client()
    assert client.get("/generate_204", headers={"Host": "connectivitycheck.gstatic.com"}).status_code == 404
    assert client.get("/captive-portal/api").status_code == 404
    assert client.get("/", headers={"Host": "example.com"}).status_code == 200


def test_probes_write_nothing_to_disk(portal_app, data_dir):
    _get(portal_app, "thuvien.lan", "/")  # settle anything the first page writes

    def snapshot():
        return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in data_dir.rglob("*") if p.is_file()}

    before = snapshot()
    for index in range(50):
        phone = f"10.42.0.{100 + index}"
        _get(portal_app, "connectivitycheck.gstatic.com", "/generate_204", phone=phone)
        _get(portal_app, "captive.apple.com", "/hotspot-detect.html", phone=phone)
        _get(portal_app, "10.42.0.1", "/captive-portal/api", phone=phone)
    assert snapshot() == before


def test_visitors_keep_no_address_and_forget():
    now = [1000.0]
    visitors = Visitors(ttl=60, limit=3, clock=lambda: now[0])
    visitors.add("10.42.0.5")
    assert "10.42.0.5" in visitors
    assert "10.42.0.6" not in visitors
    assert all(b"10.42.0.5" not in token and len(token) == 16 for token in visitors._seen)
    now[0] += 59
    assert "10.42.0.5" in visitors  # a request refreshes it
    now[0] += 59
    assert "10.42.0.5" in visitors
    now[0] += 61
    assert "10.42.0.5" not in visitors
    for last in range(10, 15):
        visitors.add(f"10.42.0.{last}")
    assert len(visitors) == 3
    assert "10.42.0.10" not in visitors and "10.42.0.14" in visitors
    # a new process has a new key: the same address gives another token
    assert Visitors(ttl=60)._token("10.42.0.5") != visitors._token("10.42.0.5")
