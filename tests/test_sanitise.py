"""The book-HTML sanitiser, the chapter renderer and the cutting of long chapters, without a server."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from content.html.chapters import ChapterUnavailable, read_resource, render_chapter
from content.errors import RejectedFile
from content.html.parts import ids_in, split_html
from content.html.sanitise import is_local_url, sanitise_html
from tests.media import make_epub, make_png, write_raw_zip
from tests.phone_library import HOSTILE_CHAPTER, long_chapter

HOSTILE = [
    ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
    ("<SCRIPT SRC=//evil.example/x.js></SCRIPT><p>ok</p>", "<p>ok</p>"),
    ('<p onclick="alert(1)" onmouseover="x()">ok</p>', "<p>ok</p>"),
    ('<img src="x.png" onerror="alert(1)">', "<img>"),
    ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
    ('<a href="  JaVaScRiPt:alert(1)">x</a>', "<a>x</a>"),
    ('<a href="java&#x09;script:alert(1)">x</a>', "<a>x</a>"),
    ('<a href="vbscript:msgbox(1)">x</a>', "<a>x</a>"),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "<a>x</a>"),
    ('<img src="data:image/png;base64,iVBORw0KGgo=">', "<img>"),
    ('<img src="http://evil.example/t.png">', "<img>"),
    ('<img src="//evil.example/t.png">', "<img>"),
    ('<a href="https://evil.example/">x</a>', "<a>x</a>"),
    ('<iframe src="https://evil.example/">inner text</iframe><p>ok</p>', "<p>ok</p>"),
    ('<object data="x.swf">fallback</object><embed src="x.swf"><p>ok</p>', "<p>ok</p>"),
    ('<form action="https://evil.example/"><input name="pin"><button>Go</button></form>', ""),
    ("<style>p{background:url(https://evil.example/x)}</style><p>ok</p>", "<p>ok</p>"),
    ('<link rel="stylesheet" href="https://evil.example/x.css"><p>ok</p>', "<p>ok</p>"),
    ('<p style="background:url(https://evil.example/x)" class="top">ok</p>', "<p>ok</p>"),
    ("<svg><script>alert(1)</script></svg><math><mi>x</mi></math><p>ok</p>", "<p>ok</p>"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/"><p>ok</p>', "<p>ok</p>"),
    ('<base href="https://evil.example/"><p>ok</p>', "<p>ok</p>"),
    ("<noscript><p>hidden</p></noscript><template><p>t</p></template><p>ok</p>", "<p>ok</p>"),
    ("<!-- <script>alert(1)</script> --><p>ok</p>", "<p>ok</p>"),
    ('<video src="https://evil.example/v.mp4" poster="x"></video><p>ok</p>', "<p>ok</p>"),
]


@pytest.mark.parametrize("markup, expected", HOSTILE)
def test_hostile_markup_is_neutralised(markup, expected):
    assert sanitise_html(markup).strip() == expected


def test_reading_matter_survives():
    markup = ('<h2 id="c1" lang="vi" title="t">Chương</h2><p><em>Nghiêng</em> <strong>đậm</strong>'
              '<sub>2</sub><ruby>漢<rt>kan</rt></ruby></p><table><tr><td colspan="2">ô</td></tr></table>'
              '<ol start="3"><li>một</li></ol><blockquote>trích</blockquote><img alt="a" width="10" height="5">')
    out = sanitise_html(markup)
    for kept in ('<h2 id="b-c1" lang="vi" title="t">', "<em>Nghiêng</em>", "<strong>đậm</strong>", "<sub>2</sub>",
                 "<rt>kan</rt>", 'colspan="2"', '<ol start="3">', "<blockquote>", 'width="10"'):
        assert kept in out


def test_ids_are_prefixed_and_fragment_links_follow():
    out = sanitise_html('<p id="note1">n</p><a href="#note1">to note</a><a href="#">top</a>')
    assert '<p id="b-note1">' in out and '<a href="#b-note1">' in out and "<a>top</a>" in out


def test_rewriter_output_must_stay_local():
    def rewrite(tag, attribute, value):
        return {"a.html": "/read/x/2", "b.html": "javascript:alert(1)", "c.png": "//evil.example/c.png",
                "d.png": "https://evil.example/d.png", "e.png": "/\\evil.example/e.png"}.get(value)

    out = sanitise_html('<a href="a.html">a</a><a href="b.html">b</a><img src="c.png"><img src="d.png">'
                        '<img src="e.png">', rewrite)
    assert out == '<a href="/read/x/2">a</a><a>b</a><img><img><img>'


@pytest.mark.parametrize("url, local", [
    ("/read/a/1", True), ("#b-x", True), ("/read/a/1?to=b-x#b-x", True), ("//evil.example", False),
    ("/\\evil.example", False), ("https://evil.example", False), ("javascript:alert(1)", False),
    ("read/a", False), ("/a b", False), ("", False),
])
def test_is_local_url(url, local):
    assert is_local_url(url) is local


def test_split_keeps_every_word_and_reopens_containers():
    fragment = long_chapter(300)
    safe = sanitise_html(fragment)
    parts = split_html(safe, 8 * 1024)
    assert len(parts) > 5
    assert all(len(part.encode()) < 12 * 1024 for part in parts)
    assert "".join(re.sub(r"<[^>]+>", "", p) for p in parts) == re.sub(r"<[^>]+>", "", safe)
    assert all(part.startswith("<div") and part.endswith("</div>") for part in parts)
    assert sum(len(ids_in(part)) for part in parts) == len(ids_in(safe))


def test_split_never_cuts_inside_a_paragraph_or_table():
    big_paragraph = "<p>" + "chữ " * 5000 + "</p>"
    table = "<table><tbody>" + "<tr><td>ô</td></tr>" * 2000 + "</tbody></table>"
    assert split_html(big_paragraph + table, 1024) == [big_paragraph, table]
    assert split_html("<p>ngắn</p>") == ["<p>ngắn</p>"]


def _urls():
    """URL builders like the reader's, for render_chapter."""
    return {
        "chapter_url": lambda number, anchor: f"/read/B/{number}" + (f"?to={anchor}#{anchor}" if anchor else ""),
        "resource_url": lambda member: f"/read/B/res/{quote(member)}",
    }


def test_render_chapter_rewrites_links_images_and_keeps_language(tmp_path):
    epub = make_epub(
        tmp_path / "b.epub", language="th",
        chapters=[("Một", "<p>Xem <a href='ch2.xhtml#s'>mục</a>, <a href='CH2.XHTML'>chương 2</a>, "
                          "<a href='missing.xhtml'>mất</a>, <a href='#top'>đầu</a>.</p>"
                          "<p><img src='img/a%20b.png'/><img src='../../etc/passwd'/><img src='img/none.png'/></p>"
                          "<svg><image xlink:href='img/a b.png'/></svg><a id='top'/><p>sau</p>"),
                  ("Hai", "<h2 id='s'>Mục</h2>")],
        extra_files={"OEBPS/img/a b.png": make_png()},
    )
    hrefs = ["OEBPS/ch1.xhtml", "OEBPS/ch2.xhtml"]
    rendered = render_chapter(epub, hrefs, 1, **_urls())
    html = rendered.parts[0]
    assert rendered.lang == "th" and len(rendered.parts) == 1
    assert '<a href="/read/B/2?to=b-s#b-s">mục</a>' in html
    assert '<a href="/read/B/2">chương 2</a>' in html
    assert "<a>mất</a>" in html and '<a href="#b-top">đầu</a>' in html
    assert html.count('<img src="/read/B/res/OEBPS/img/a%20b.png"') == 2  # the <img> and the SVG cover
    assert html.count("<img>") == 2  # outside the archive, and missing: no src at all
    assert '<a id="b-top"></a><p>sau</p>' in html  # a self-closed <a/> does not swallow what follows
    assert "<h1>" in html and "<title>" not in html and "<style>" not in html


def test_render_hostile_chapter(tmp_path):
    epub = make_epub(tmp_path / "h.epub", chapters=[("Bẫy", HOSTILE_CHAPTER)],
                     extra_files={"OEBPS/images/pic.png": make_png()})
    html = render_chapter(epub, ["OEBPS/ch1.xhtml"], 1, **_urls()).parts[0]
    for gone in ("script", "onerror", "onclick", "javascript", "vbscript", "iframe", "object", "embed",
                 "form", "input", "style", "evil", "data:", "<link", "<svg", "__pwned"):
        assert gone not in html.lower(), gone
    assert "Đoạn văn an toàn." in html and '<img src="/read/B/res/OEBPS/images/pic.png" alt="ảnh">' in html


def test_long_chapter_parts_know_their_anchors(tmp_path):
    epub = make_epub(tmp_path / "l.epub", chapters=[("Dài", long_chapter(400))])
    rendered = render_chapter(epub, ["OEBPS/ch1.xhtml"], 1, **_urls())
    assert len(rendered.parts) >= 3
    last = rendered.part_of_id["b-gan-cuoi"]
    assert last == len(rendered.parts) and 'id="b-gan-cuoi"' in rendered.parts[last - 1]
    assert '<a href="/read/B/1?to=b-gan-cuoi#b-gan-cuoi">' in rendered.parts[0]  # points at another part


def test_missing_chapters_and_members(tmp_path):
    epub = make_epub(tmp_path / "m.epub", chapters=[("Một", "<p>1</p>")], extra_files={"OEBPS/x.js": "alert(1)"})
    with pytest.raises(ChapterUnavailable):
        render_chapter(epub, ["OEBPS/ch1.xhtml"], 2, **_urls())
    with pytest.raises(ChapterUnavailable):
        render_chapter(epub, ["OEBPS/gone.xhtml"], 1, **_urls())
    for member in ("OEBPS/x.js", "OEBPS/ch1.xhtml", "OEBPS/content.opf", "../OEBPS/x.png", "OEBPS/none.png"):
        with pytest.raises(ChapterUnavailable):
            read_resource(epub, member)


def test_resource_is_read_from_inside_the_archive(tmp_path):
    png = make_png(7, 9)
    epub = make_epub(tmp_path / "r.epub", extra_files={"OEBPS/Images/Pic.PNG": png})
    assert read_resource(epub, "OEBPS/Images/Pic.PNG") == (png, "image/png")
    assert read_resource(epub, "oebps/images/pic.png") == (png, "image/png")  # as lenient as the reader


def test_a_stored_file_that_is_not_a_zip_is_refused(tmp_path):
    bad = tmp_path / "bad.epub"
    write_raw_zip(bad, [("../evil.png", b"x", 0, 0, 1)])
    with pytest.raises(RejectedFile):
        read_resource(bad, "evil.png")
