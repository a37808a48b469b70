"""The Tai Viet font, served by the box and linked only from pages that hold Tai Viet text.

Many phones have no font for the Tai Viet script (U+AA80–U+AADF, Tai Dam)
and show its letters as empty boxes. The box ships Noto Sans Tai Viet (SIL
Open Font License, ``kiosk-ui/static/fonts``, 14 KB as WOFF2). An after-request
hook looks for Tai Viet letters in each HTML page (a byte search of the UTF-8
body: microseconds) and, only when it finds some, adds a stylesheet link to
the page's head. The stylesheet declares the font for the Tai Viet range
only (``unicode-range``), so the phone fetches it just for those letters.
The stylesheet's URL carries the font's hash, like every static asset.
"""

from __future__ import annotations

import re

from flask import Flask, Response, url_for

from readpoint.assets import asset_url
from readpoint.http_files import IMMUTABLE_CACHE

__all__ = ["init_app", "FONT_FILE", "FONT_FAMILY", "has_tai_viet"]

FONT_FILE = "fonts/NotoSansTaiViet-Regular.woff2"
FONT_FAMILY = "Noto Sans Tai Viet"
# U+AA80..U+AADF in UTF-8: EA AA 80..BF and EA AB 80..9F.
_TAI_VIET_UTF8 = re.compile(rb"\xea(?:\xaa[\x80-\xbf]|\xab[\x80-\x9f])")
_HEAD_END = b"</head>"


def has_tai_viet(body: bytes) -> bool:
    """Whether UTF-8 ``body`` holds a Tai Viet character."""
    return _TAI_VIET_UTF8.search(body) is not None


def _stylesheet_url() -> str:
    """The font stylesheet's URL, named by the font file's hash."""
    digest = asset_url(FONT_FILE).split("/")[-3]  # /static/<digest>/fonts/<name>
    return url_for("tai_viet_css", digest=digest)


def _link_font(response: Response) -> Response:
    """Add the font stylesheet to an HTML page that holds Tai Viet text."""
    if (response.status_code != 200 or response.direct_passthrough or response.mimetype != "text/html"
            or "Content-Encoding" in response.headers):
        return response
    body = response.get_data()
    if has_tai_viet(body) and _HEAD_END in body:
        link = f'<link rel="stylesheet" href="{_stylesheet_url()}">'.encode()
        response.set_data(body.replace(_HEAD_END, link + _HEAD_END, 1))
    return response


def _stylesheet(digest: str) -> Response:
    """The ``@font-face`` rule for the font with this hash (404 for any other hash)."""
    font_url = asset_url(FONT_FILE)
    if font_url.split("/")[-3] != digest:
        return Response(status=404)
    css = (f'@font-face{{font-family:"{FONT_FAMILY}";src:url("{font_url}") format("woff2");'
           "unicode-range:U+AA80-AADF;font-display:swap}\n")
    return Response(css, mimetype="text/css", headers={"Cache-Control": IMMUTABLE_CACHE})


def init_app(app: Flask) -> None:
    """Register the stylesheet route and the hook (after the gzip hook is registered, so it runs first)."""
    app.add_url_rule("/fonts/tai-viet-<digest>.css", "tai_viet_css", _stylesheet)
    app.after_request(_link_font)
