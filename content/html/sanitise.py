"""Make book HTML safe to put inside our pages: an allow-list sanitiser over nh3 (ammonia).

Book markup is hostile input. What survives :func:`sanitise_html`:

* only the structural and inline tags in :data:`ALLOWED_TAGS` (no script,
  style, iframe, object, embed, form, svg, math, link, meta, base);
* only the attributes in :data:`ALLOWED_ATTRIBUTES` (no ``on*`` handler, no
  ``style``, no ``class``: the book's look is dropped, ours is used);
* ``id`` values prefixed with :data:`ID_PREFIX` so a book cannot collide with
  (or clobber) the ids of our page; in-chapter ``#fragment`` links follow;
* every ``href``/``src`` goes through the caller's ``rewrite_url``; what it
  returns must be a local URL (``/path`` or ``#fragment``), anything else
  (``javascript:``, ``data:``, ``//host``, ``http://host``) is dropped, so a
  link to the outside becomes inert text and a remote image is never loaded.

The content of ``script``, ``style``, ``title``, ``noscript``, ``template``,
``iframe`` and the like is removed with the tag, not turned into text.
nh3 is imported here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3

__all__ = ["ALLOWED_TAGS", "ALLOWED_ATTRIBUTES", "ID_PREFIX", "UrlRewriter", "sanitise_html", "is_local_url"]

ID_PREFIX = "b-"

ALLOWED_TAGS = frozenset(
    """a abbr article aside b bdi bdo big blockquote br caption center cite code col colgroup dd del
    details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hgroup hr i img ins kbd
    li mark nav ol p pre q rp rt rtc ruby s samp section small span strike strong sub summary sup table
    tbody td tfoot th thead time tr tt u ul var wbr""".split()
)
_GENERIC = {"id", "lang", "dir", "title"}
ALLOWED_ATTRIBUTES = {
    "*": _GENERIC,
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "time": {"datetime"},
    "del": {"datetime"},
    "ins": {"datetime"},
}
# Removed with everything inside them (their text is not reading matter).
_DROP_WITH_CONTENT = {
    "script", "style", "title", "noscript", "template", "iframe", "object", "applet", "embed",
    "frameset", "frame", "noembed", "noframes", "xmp", "textarea", "select", "option", "head",
    "svg", "math", "audio", "video", "canvas", "button",
}
_URL_ATTRIBUTES = {("a", "href"), ("img", "src")}
_LOCAL_URL = re.compile(r"(?:/(?![/\\])|#)[^\s\\]*")

UrlRewriter = Callable[[str, str, str], "str | None"]
"""``rewrite_url(tag, attribute, value)``: the local URL to use instead, or None to drop it."""


def is_local_url(url: str) -> bool:
    """Whether ``url`` is a path on this site or a fragment (never another host or scheme)."""
    return _LOCAL_URL.fullmatch(url) is not None


def _fragment_only(tag: str, attribute: str, value: str) -> str | None:
    """The default rewriter: keep in-page ``#fragment`` links, drop every other URL."""
    if value.startswith("#") and len(value) > 1:
        return "#" + ID_PREFIX + value[1:]
    return None


def _attribute_filter(rewrite_url: UrlRewriter) -> Callable[[str, str, str], str | None]:
    """nh3's attribute filter: URLs through ``rewrite_url``, checked to be local afterwards."""

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        """The value to keep for one attribute (None drops it)."""
        if (tag, attribute) not in _URL_ATTRIBUTES:
            return value
        value = value.strip()
        if not value:
            return None
        rewritten = rewrite_url(tag, attribute, value)
        # nh3 checks URL schemes before this filter, not after: whatever we return is
        # written as is, so only a local URL may come out of here.
        if rewritten is None or not is_local_url(rewritten):
            return None
        return rewritten

    return attribute_filter


def sanitise_html(markup: str, rewrite_url: UrlRewriter | None = None) -> str:
    """The safe HTML fragment for ``markup`` (a body's content); see the module docstring."""
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(rewrite_url or _fragment_only),
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
        id_prefix=ID_PREFIX,
    )
