"""A process that changes books through the door in a loop until it is killed (the SIGKILL tests).

Usage: python -m tests.books_writer DATA_DIR MODE SEED

Each round makes one change through ``library.books`` and, after it has
committed, prints one line saying what it did: the test compares what was
acknowledged with what the catalog holds after the kill.

Modes: ``add`` (import a new EPUB), ``upsert`` (a hub book's title and files
change), ``status`` (hide / show), ``edit`` (a librarian's title), ``remove``
(a hub book removed, then sent again).
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from content.ingest.run import import_paths
from content.library import Library
from tests.media import make_epub, make_jpeg

HUB_ID = "00000000000000aa"


def hub_entry(library, version: int, rng: random.Random) -> dict:
    """A hub row for :data:`HUB_ID` at ``version``, its (new, large) file stored first."""
    data = rng.randbytes(rng.randint(200_000, 2_000_000))
    sha, size = library.store.put_bytes(data)
    cover = make_jpeg(colour=(version % 255, 40, 90))
    cover_sha, cover_size = library.store.put_bytes(cover)
    return {
        "id": HUB_ID, "title": f"Phiên bản {version}", "authors": ["Sở Văn hóa"], "language": "vi",
        "description": f"Bản thứ {version}", "subjects": ["Nông nghiệp"], "categories": ["farming"],
        "format": "pdf",
        "files": [{"sha256": sha, "size": size, "media_type": "application/pdf", "role": "primary",
                   "position": 0, "name": "sach.pdf"},
                  {"sha256": cover_sha, "size": cover_size, "media_type": "image/jpeg", "role": "cover",
                   "position": 0, "name": "cover"}],
        "chapters": [{"position": 0, "title": "Trang 1"}],
        "texts": [[0, f"Lúa nước phiên bản {version} " * 200]],
    }


def run(data_dir: str, mode: str, seed: int) -> None:
    """Change books forever (the test kills us)."""
    rng = random.Random(seed)
    library = Library(data_dir)
    books = library.books
    version = rng.randint(1, 10**6)
    if mode != "add" and not library.catalog.book_exists(HUB_ID):
        books.upsert_from_hub(hub_entry(library, version, rng), release=version)
        print("ready", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        while True:
            version += 1
            if mode == "add":
                path = make_epub(Path(folder) / f"b{version}.epub", title=f"Sách {version}",
                                 chapters=[("Một", f"<p>{'Lúa nước ' * rng.randint(50, 5000)} {version}</p>")])
                report = import_paths(library, [path], reader_processes=0)
                print("add", report.imported[0]["id"], flush=True)
                path.unlink()
            elif mode == "upsert":
                books.upsert_from_hub(hub_entry(library, version, rng), release=version)
                print("upsert", f"Phiên bản {version}", flush=True)
            elif mode == "status":
                status = "hidden" if library.catalog.get_book(HUB_ID)["status"] == "active" else "active"
                books.set_status(HUB_ID, status, actor="librarian")
                print("status", status, flush=True)
            elif mode == "edit":
                title = f"Tên sửa {version}"
                books.edit(HUB_ID, {"title": title, "categories": ["health"]}, actor="librarian")
                print("edit", title, flush=True)
            elif mode == "remove":
                if library.catalog.book_exists(HUB_ID):
                    books.remove(HUB_ID, actor="hub")
                    print("remove", "absent", flush=True)
                else:
                    books.upsert_from_hub(hub_entry(library, version, rng), release=version)
                    print("remove", "present", flush=True)
            else:
                raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]))

