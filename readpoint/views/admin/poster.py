"""A printable A4 poster: the Wi-Fi name, a QR code to join it, a QR code of the box's address, how to use it.

QR codes are made on the box as SVG by ``segno`` (imported here only). The
Wi-Fi name and password are read from hostapd's configuration when the box
has one (the ``hostapd_conf`` setting) and can be changed in the form; they are
sent by POST and never stored.
"""

from __future__ import annotations

import logging
from pathlib import Path

import segno
from flask import render_template, request
from flask_babel import force_locale
from markupsafe import Markup

from readpoint.i18n import LOCALES, current_locale
from readpoint.views.admin import bp
from readpoint.views.common import setting

log = logging.getLogger(__name__)

MAX_FIELD = 200


def hostapd_network(path: str) -> dict:
    """``{"ssid", "password"}`` from a hostapd configuration file (empty strings when unreadable)."""
    found = {"ssid": "", "password": ""}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return found
    values = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value
    found["ssid"] = values.get("ssid", "")
    if values.get("wpa", "0") != "0":
        found["password"] = values.get("wpa_passphrase", "")
    return found


def _escape_wifi(text: str) -> str:
    """A value inside a ``WIFI:`` QR payload (backslash before ``\\ ; , : "``)."""
    for char in '\\;,:"':
        text = text.replace(char, "\\" + char)
    return text


def wifi_payload(ssid: str, password: str) -> str:
    """The text of a QR code that joins a phone to the network (WPA, or open without a password)."""
    if password:
        return f"WIFI:T:WPA;S:{_escape_wifi(ssid)};P:{_escape_wifi(password)};;"
    return f"WIFI:T:nopass;S:{_escape_wifi(ssid)};;"


def qr_svg(text: str) -> Markup:
    """A QR code of ``text`` as inline SVG that scales to its box."""
    code = segno.make(text, error="m", micro=False)
    return Markup(code.svg_inline(scale=1, border=2, omitsize=True, svgclass="qr", lineclass="qrline"))


@bp.route("/poster", methods=["GET"])
def poster():
    """The form: Wi-Fi name and password (from hostapd when known), the box's address, the language."""
    network = hostapd_network(setting("hostapd_conf"))
    return render_template("admin/poster_form.html", network=network, address=setting("box_address"),
                           locale=current_locale(), locales=LOCALES)


@bp.route("/poster", methods=["POST"])
def poster_print():
    """The printable A4 page in the chosen language."""
    ssid = request.form.get("ssid", "").strip()[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    address = request.form.get("address", "").strip()[:MAX_FIELD] or setting("box_address")
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        locale = current_locale()
    with force_locale(locale):
        return render_template(
            "admin/poster.html", ssid=ssid, password=password, address=address, locale=locale,
            wifi_qr=qr_svg(wifi_payload(ssid, password)) if ssid else None, address_qr=qr_svg(address),
        )
