"""Bar charts as small inline SVG, drawn on the server (no JavaScript, no chart library).

One ``<path>`` holds every bar, so a year of days stays a few kilobytes; the
chart scales to the phone's width through its ``viewBox``. Colours come from
the stylesheet (classes), since the pages' Content-Security-Policy allows no
inline styles.
"""

from __future__ import annotations

from markupsafe import Markup, escape

__all__ = ["bar_chart"]

HEIGHT = 100
BAR = 3  # bar width; each slot is BAR + 1 wide


def bar_chart(values: list[int], *, label: str, first: str, last: str, css: str = "") -> Markup:
    """An SVG bar chart of ``values`` (left to right), with its maximum and the first and last labels."""
    count = max(len(values), 1)
    width = count * (BAR + 1)
    top = max(values, default=0)
    bars = []
    for index, value in enumerate(values):
        if value <= 0 or top <= 0:
            continue
        height = max(1, round(value * HEIGHT / top))
        bars.append(f"M{index * (BAR + 1)} {HEIGHT}v-{height}h{BAR}v{height}z")
    path = f'<path class="bars" d="{"".join(bars)}"/>' if bars else ""
    return Markup(
        f'<figure class="chart {escape(css)}"><svg viewBox="0 0 {width} {HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}"><line class="axis" x1="0" y1="{HEIGHT}" x2="{width}" '
        f'y2="{HEIGHT}"/>{path}</svg><figcaption><span>{escape(first)}</span><span>↑ {top}</span>'
        f"<span>{escape(last)}</span></figcaption></figure>"
    )
