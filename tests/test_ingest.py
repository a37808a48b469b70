"""Importing folders: one verdict per file, duplicates, audiobooks, interruptions, history."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import unicodedata

import pytest

from content.ingest.run import import_paths
from content.library import Library
from tests.conftest import REPO
from tests.media import make_epub, make_mp3, make_pdf


@pytest.fixture
def stick(tmp_path):
    """A USB stick's worth of files: good, broken, duplicate, unsupported, an audiobook."""
    root = tmp_path / "stick"
    (root / "sach").mkdir(parents=True)
    (root / "audio" / "truyen").mkdir(parents=True)
    make_epub(root / "sach" / "lua.epub", title="Kỹ thuật trồng lúa", subjects=["Nông nghiệp"],
              chapters=[("Chương 1", "<p>Lúa nước</p>"), ("Chương 2", "<p>Bón phân</p>")])
    # decomposed (NFD) metadata from an old tool must come out composed
    make_epub(root / "sach" / "ga.epub", title=unicodedata.normalize("NFD", "Nuôi gà an toàn"),
              subjects=["Sức khỏe"], chapters=[("Một", "<p>Gà</p>")])
    make_pdf(root / "sach" / "lich.pdf", pages=["Tháng một: cày ruộng", "Tháng hai: gieo mạ"],
             title="Lịch thời vụ")
    (root / "sach" / "copy of lua.epub").write_bytes((root / "sach" / "lua.epub").read_bytes())
    (root / "sach" / "hong.epub").write_bytes(b"PK\x03\x04broken")
    (root / "sach" / "empty.pdf").write_bytes(b"")
    (root / "sach" / "don.docx").write_bytes(b"word")
    (root / ".Trashes").mkdir()
    (root / ".Trashes" / "old.epub").write_bytes(b"ignored")
    for track, name in ((2, "b.mp3"), (1, "a.mp3")):
        make_mp3(root / "audio" / "truyen" / name, seconds=1.0, title=f"Phần {track}",
                 album="Truyện cổ", track=track, artist="Người kể")
    return root


def test_one_verdict_per_file(library, stick):
    report = import_paths(library, [stick])
    by_name = {}
    for kind in ("imported", "duplicates", "rejected", "skipped"):
        for entry in getattr(report, kind):
            name = entry["path"].rsplit("/", 1)[-1]
            assert name not in by_name, f"{name} got two verdicts"
            by_name[name] = kind
    # files are taken in name order, so the copy comes first and the original is its duplicate
    assert by_name == {
        "lua.epub": "duplicates", "ga.epub": "imported", "lich.pdf": "imported",
        "a.mp3": "imported", "b.mp3": "imported",
        "copy of lua.epub": "imported", "hong.epub": "rejected", "empty.pdf": "rejected",
        "don.docx": "skipped",
    }
    dup = report.duplicates[0]
    assert dup["id"] == next(e["id"] for e in report.imported if e["path"].endswith("copy of lua.epub"))
    titles = {e["title"] for e in report.imported}
    assert "Nuôi gà an toàn" in titles  # NFC
    assert all(unicodedata.is_normalized("NFC", t) for t in titles)
    assert library.catalog.count_books() == 4


def test_audiobook_chapters_in_track_order(library, stick):
    import_paths(library, [stick])
    (book,) = [b for b in library.catalog.list_books(limit=50) if b["format"] == "audio"]
    chapters = library.catalog.chapters_of(book["id"])
    assert [c["title"] for c in chapters] == ["Phần 1", "Phần 2"]
    files = [f for f in library.catalog.files_of(book["id"]) if f["role"] == "chapter"]
    assert [f["name"] for f in files] == ["a.mp3", "b.mp3"]
    assert book["title"] == "Truyện cổ"
    assert book["duration"] == pytest.approx(2.0, abs=0.3)


def test_duplicates_carry_the_existing_id_on_a_second_run(library, stick):
    first = import_paths(library, [stick])
    second = import_paths(library, [stick])
    assert second.imported == []
    ids = {e["path"]: e["id"] for e in first.imported}
    for entry in second.duplicates:
        if entry["path"] in ids:
            assert entry["id"] == ids[entry["path"]]
    assert len(second.duplicates) == 6  # 5 imported files + the copy
    assert library.catalog.count_books() == 4


def test_rejected_files_leave_nothing_and_history_is_kept(library, stick):
    report = import_paths(library, [stick], source="USB KINGSTON")
    assert library.check() == []
    row = library.catalog.db.execute(
        "SELECT source, status, imported, duplicates, rejected, skipped FROM imports WHERE id = ?",
        [report.import_id]).fetchone()
    assert row == ("USB KINGSTON", "done", 5, 1, 2, 1)
    reasons = dict(library.catalog.db.execute(
        "SELECT path, reason FROM import_files WHERE verdict = 'rejected'").fetchall())
    assert any("hong.epub" in path and reason for path, reason in reasons.items())
    stored = set(library.store.hashes())
    assert stored == library.catalog.all_file_hashes()


def test_categories_from_subjects(library, stick):
    import_paths(library, [stick])
    farming = library.catalog.list_books(category="farming")
    assert [b["title"] for b in farming] == ["Kỹ thuật trồng lúa"]


def test_no_write_outside_the_data_dir(tmp_path, stick):
    data_dir = tmp_path / "data"
    before = {p: p.stat().st_mtime_ns for p in stick.rglob("*")}
    library = Library(data_dir)
    import_paths(library, [stick])
    library.close()
    after = {p: p.stat().st_mtime_ns for p in stick.rglob("*")}
    assert before == after
    outside = [p for p in tmp_path.iterdir() if p.name not in ("data", "stick")]
    assert outside == []


@pytest.mark.slow
def test_sigkill_during_import_then_check_and_resume(tmp_path):
    source = tmp_path / "fifty"
    source.mkdir()
    for number in range(50):
        make_epub(source / f"sach-{number:02}.epub", title=f"Sách số {number}",
                  chapters=[("Chương", f"<p>Nội dung {number} " + "lúa gà " * 200 + "</p>")])
    data_dir = tmp_path / "data"
    rng = random.Random(7)
    for _round in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "tests.ingest_writer", str(data_dir), str(source)],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        library = Library(data_dir)
        assert library.check() == []
        library.close()
    library = Library(data_dir)
    before = library.catalog.count_books()
    report = import_paths(library, [source])
    assert len(report.imported) + len(report.duplicates) == 50
    assert len(report.duplicates) == before
    assert library.catalog.count_books() == 50
    assert library.check() == []
    library.close()


def test_running_server_sees_new_books(app, client, tmp_path):
    assert client.get("/healthz").json["books"] == 0
    make_epub(tmp_path / "new.epub", title="Sách mới")
    library = Library(app.config["DATA_DIR"])
    import_paths(library, [tmp_path / "new.epub"])
    library.close()
    assert client.get("/healthz").json["books"] == 1
    assert "Sách mới" in client.get("/").get_data(as_text=True)


def test_audiobook_genre_becomes_its_category(library, tmp_path):
    from mutagen.id3 import ID3, TCON

    folder = tmp_path / "nghe"
    folder.mkdir()
    for track in (1, 2):
        path = make_mp3(folder / f"{track}.mp3", seconds=1.0, title=f"Bài {track}", album="Sức khỏe gia đình",
                        track=track)
        tags = ID3(path)
        tags.add(TCON(encoding=3, text=["Sức khỏe"]))
        tags.save(path)
    import_paths(library, [folder])
    assert [b["title"] for b in library.catalog.list_books(category="health")] == ["Sức khỏe gia đình"]


def test_a_bug_in_grouping_one_audio_folder_rejects_only_that_folder(library, stick, tmp_path, monkeypatch):
    """Fault injection: grouping raising on one folder must not abort the run (or the other folder)."""
    import content.ingest.run

    other = stick / "audio" / "khac"
    other.mkdir()
    make_mp3(other / "1.mp3", seconds=1.0, title="Bài 1", album="Nghe khác", track=1)
    real = content.ingest.run.group_audiobooks

    def fails_on_truyen(readable):
        """Raise for the "truyen" folder, group the others normally."""
        if any(path.parent.name == "truyen" for path, _ in readable):
            raise KeyError("a tag this code did not expect")
        return real(readable)

    monkeypatch.setattr(content.ingest.run, "group_audiobooks", fails_on_truyen)
    report = import_paths(library, [stick])
    rejected = {e["path"].rsplit("/", 1)[-1]: e["reason"] for e in report.rejected}
    assert rejected["a.mp3"] == rejected["b.mp3"] == "could not be read as audio (KeyError)"
    assert "1.mp3" in {e["path"].rsplit("/", 1)[-1] for e in report.imported}
    assert not report.interrupted
    assert library.check() == []
