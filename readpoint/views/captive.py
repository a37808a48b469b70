"""The captive portal: what makes a phone that joins the box's Wi-Fi open the library.

On the appliance every DNS name answers with the box, so a phone's connectivity
probe (``connectivitycheck.gstatic.com/generate_204``, ``captive.apple.com``,
``www.msftconnecttest.com``, ...) arrives here. A phone that has not opened the
library yet gets a redirect to it, which every OS reads as "sign in to this
network" and shows; a phone that has opened it gets each OS's own "online"
answer, so it is not nagged again while connected. A request for any other
host name is sent to the library too. The RFC 8908 API that DHCP option 114
announces answers at ``/captive-portal/api``.

The portal is off (every hook a no-op, the API a 404) unless the setting
``portal_hosts`` names the box: ``"thuvien.lan,10.42.0.1"``, the first being
where phones are sent. Host names that are IP addresses always count as the
box (a phone with a hard-coded address that the firewall sent here).

Which phones opened the library is kept in memory only: a keyed hash of the
address (the key is random per process, so nothing identifying is kept in a
form anyone can read back), forgotten ``portal_remember_minutes`` after the
phone's last request. Keep that no longer than the DHCP lease, so an address
is never remembered for a phone that has left and been replaced. Nothing is
written to disk per request.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import threading
import time
from collections import OrderedDict

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, request

__all__ = ["bp", "Visitors", "PROBES", "portal_url"]

bp = Blueprint("captive", __name__)

API_PATH = "/captive-portal/api"
MAX_REMEMBERED = 4096

APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>\n"
FIREFOX_CANONICAL = (
    '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>'
)

# (host or None for any host, path) -> (status, body, mimetype) of the "online" answer.
PROBES: dict[tuple[str | None, str], tuple[int, str, str]] = {
    # Android and ChromeOS (and the Android forks that probe their own hosts with the same path)
    (None, "/generate_204"): (204, "", "text/plain"),
    (None, "/gen_204"): (204, "", "text/plain"),
    # iOS and macOS
    (None, "/hotspot-detect.html"): (200, APPLE_SUCCESS, "text/html"),
    (None, "/library/test/success.html"): (200, APPLE_SUCCESS, "text/html"),
    # Windows (NCSI), and the page Windows opens when it finds a portal
    (None, "/connecttest.txt"): (200, "Microsoft Connect Test", "text/plain"),
    (None, "/ncsi.txt"): (200, "Microsoft NCSI", "text/plain"),
    ("www.msftconnecttest.com", "/redirect"): (200, "Microsoft Connect Test", "text/plain"),
    # Firefox
    (None, "/success.txt"): (200, "success\n", "text/plain"),
    (None, "/canonical.html"): (200, FIREFOX_CANONICAL, "text/html"),
    # NetworkManager (GNOME, Debian, Arch, Fedora, Ubuntu)
    (None, "/check_network_status.txt"): (200, "NetworkManager is online\n", "text/plain"),
    ("network-test.debian.org", "/nm"): (200, "NetworkManager is online\n", "text/plain"),
    (None, "/nm-check.txt"): (200, "NetworkManager is online\n", "text/plain"),
    ("fedoraproject.org", "/static/hotspot.txt"): (200, "OK\n", "text/plain"),
    ("connectivity-check.ubuntu.com", "/"): (204, "", "text/plain"),
}


class Visitors:
    """The phones that opened the library lately: keyed hashes of their addresses, in memory.

    Each entry lives ``ttl`` seconds after the phone's last request; at most
    ``limit`` entries are kept (the oldest go first).
    """

    def __init__(self, ttl: float, limit: int = MAX_REMEMBERED, clock=time.monotonic):
        """An empty set with a fresh random key."""
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._key = os.urandom(32)
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def _token(self, address: str) -> bytes:
        """The keyed hash that stands for an address (the address itself is never kept)."""
        return hmac.new(self._key, address.encode(), hashlib.sha256).digest()[:16]

    def add(self, address: str) -> None:
        """Remember (or refresh) that this address opened the library."""
        token = self._token(address)
        with self._lock:
            self._seen.pop(token, None)
            self._seen[token] = self.clock() + self.ttl
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)

    def __contains__(self, address: str) -> bool:
        """Whether this address opened the library within the last ``ttl`` seconds (refreshes it)."""
        token = self._token(address)
        now = self.clock()
        with self._lock:
            expiry = self._seen.get(token)
            if expiry is None:
                return False
            if expiry < now:
                del self._seen[token]
                return False
            self._seen.move_to_end(token)
            self._seen[token] = now + self.ttl
            return True

    def __len__(self) -> int:
        """How many addresses are remembered (expired ones included until looked up)."""
        return len(self._seen)


def _portal_hosts() -> tuple[str, ...]:
    """The box's own host names (the ``portal_hosts`` setting, read once per app); empty: portal off."""
    return current_app.extensions["captive_hosts"]


def portal_url() -> str:
    """Where phones are sent: the library's home page under the box's first host name."""
    return f"http://{_portal_hosts()[0]}/"


def _host_name() -> str:
    """The request's host name without the port, lower case."""
    host = request.host.lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_address(host: str) -> bool:
    """Whether a host name is an IP address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _visitors() -> Visitors:
    """This app's set of phones that opened the library."""
    return current_app.extensions["captive_visitors"]


def _no_store(response: Response) -> Response:
    """Mark a portal answer as never to be cached (it changes once the phone opens the library)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _probe_answer(host: str):
    """The answer to an OS connectivity probe, or None when this request is not one."""
    probe = PROBES.get((host, request.path)) or PROBES.get((None, request.path))
    if probe is None:
        return None
    if request.remote_addr not in _visitors():
        return _no_store(redirect(portal_url(), code=302))
    status, body, mimetype = probe
    return _no_store(Response(body, status=status, mimetype=mimetype))


@bp.before_app_request
def _captive():
    """Answer probes, send other host names to the library, remember phones that opened it."""
    hosts = _portal_hosts()
    if not hosts:
        return None
    host = _host_name()
    answer = _probe_answer(host)
    if answer is not None:
        return answer
    if host not in hosts and host != "localhost" and not _is_address(host):
        return _no_store(redirect(portal_url(), code=302))
    if request.path != API_PATH and request.remote_addr:
        _visitors().add(request.remote_addr)
    return None


@bp.route(API_PATH)
def api():
    """The RFC 8908 Captive Portal API (announced by DHCP option 114)."""
    if not _portal_hosts():
        abort(404)
    answer = {
        "captive": request.remote_addr not in _visitors(),
        "user-portal-url": portal_url(),
        "venue-info-url": portal_url(),
    }
    response = jsonify(answer)
    response.mimetype = "application/captive+json"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.record_once
def _set_up_app(state) -> None:
    """Every app gets its host names and its own memory of phones that opened the library."""
    settings = state.app.config["READPOINT"]
    names = (name.strip().lower() for name in settings["portal_hosts"].split(","))
    state.app.extensions["captive_hosts"] = tuple(name for name in names if name)
    state.app.extensions["captive_visitors"] = Visitors(ttl=settings["portal_remember_minutes"] * 60)
