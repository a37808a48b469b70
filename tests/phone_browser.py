"""A headless Chromium phone for the browser tests: Playwright over Debian's /usr/bin/chromium.

:class:`Phone` is one browser context with a 360×740 viewport, JavaScript on
or off, that refuses and records every request leaving 127.0.0.1, records
dialogs and console errors (CSP violations show up there), and measures what
each page weighs on the wire (HTML, CSS and JS; images apart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import REPO

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "SCREENSHOTS", "Phone", "PageWeight"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
WEIGHED_TYPES = ("document", "stylesheet", "script")


@dataclass
class PageWeight:
    """The bytes one page load moved, by kind (encoded body plus headers)."""

    url: str
    text_bytes: int = 0  # HTML + CSS + JS
    other_bytes: int = 0  # images, media
    files: list[tuple[str, int]] = field(default_factory=list)


class Phone:
    """One phone: a browser context, its page, and what it saw."""

    def __init__(self, browser, base_url: str, *, javascript: bool, locale: str = "vi-VN", width: int = 360):
        """A fresh context (no cookies, no cache) on ``base_url``, ``width`` CSS pixels wide."""
        self.base_url = base_url
        self.javascript = javascript
        self.width = width
        self.context = browser.new_context(
            viewport={"width": width, "height": 740}, java_script_enabled=javascript, locale=locale,
            is_mobile=True, has_touch=True, device_scale_factor=2,
        )
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.finished: list = []
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)
        self.page.on("requestfinished", self._finished)

    def _only_local(self, route) -> None:
        """Let requests to the test server through; refuse and record anything else."""
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _dialog(self, dialog) -> None:
        """Record and dismiss alert/confirm dialogs (a sanitiser failure would open one)."""
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _finished(self, request) -> None:
        """Keep a finished request for :meth:`weigh`."""
        self.finished.append(request)

    def _console(self, message) -> None:
        """Record console errors."""
        if message.type == "error":
            self.console_errors.append(message.text)

    def goto(self, path: str):
        """Open a path of the test server and wait for the load event."""
        return self.page.goto(self.base_url + path, wait_until="load")

    def weigh(self, action) -> PageWeight:
        """Run ``action`` (a navigation) and measure the requests it made until the page loaded."""
        self.finished.clear()
        action()
        self.page.wait_for_load_state("load")
        weight = PageWeight(url=self.page.url)
        for request in list(self.finished):
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            if request.resource_type in WEIGHED_TYPES:
                weight.text_bytes += size
                weight.files.append((request.url, size))
            else:
                weight.other_bytes += size
        return weight

    def screenshot(self, name: str) -> Path:
        """Save a screenshot of the viewport under test-artifacts/screenshots."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{'js' if self.javascript else 'nojs'}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        """Close the context."""
        self.context.close()
