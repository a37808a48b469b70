"""The book door (content.catalog.books): add, upsert from the hub, status, edit, remove.

Every operation must leave ``check`` clean and search in agreement with the
catalog; a SIGKILL at random points leaves the old or the new state.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

from content.catalog import usage
from content.catalog.books import BookChangeError
from content.catalog.rows import sort_title
from content.ingest.run import import_paths
from content.library import Library
from content.search import SearchQuery
from tests.books_writer import HUB_ID, hub_entry
from tests.conftest import REPO
from tests.media import make_epub, make_jpeg


@pytest.fixture(params=["fts5", "whoosh"])
def any_library(data_dir, request):
    """A library over each search engine."""
    lib = Library(data_dir, search_engine=request.param)
    yield lib
    lib.close()


def found(library, text: str) -> list[str]:
    """Ids of the books a search finds."""
    results = library.search.search(library.catalog, SearchQuery(text))
    return [hit.id for hit in results.results]


def listed(library) -> list[str]:
    """Ids of the books listings show."""
    return [book["id"] for book in library.catalog.list_books(limit=1000)]


def assert_consistent(library) -> None:
    """``check`` is clean (files, rows, search index all agree)."""
    assert library.check() == []


def test_add_through_import_records_a_change_and_is_searchable(any_library, tmp_path):
    path = make_epub(tmp_path / "lua.epub", title="Trồng lúa nước", chapters=[("Một", "<p>Cấy mạ non</p>")])
    report = import_paths(any_library, [path], reader_processes=0)
    book_id = report.imported[0]["id"]
    assert found(any_library, "cay ma") == [book_id]
    history = any_library.books.history()
    assert [(e["book_id"], e["op"], e["actor"]) for e in history] == [(book_id, "add", "import")]
    assert_consistent(any_library)


def test_upsert_adds_updates_and_leaves_an_unchanged_book_alone(any_library):
    rng = random.Random(1)
    entry = hub_entry(any_library, 1, rng)
    assert any_library.books.upsert_from_hub(entry, release=1) == "added"
    book = any_library.catalog.get_book(HUB_ID)
    assert (book["origin"], book["rev"], book["title"]) == ("hub", 1, "Phiên bản 1")
    assert found(any_library, "phien ban") == [HUB_ID]
    assert any_library.books.upsert_from_hub(entry, release=2) == "unchanged"
    assert any_library.catalog.get_book(HUB_ID)["rev"] == 1  # nothing was written

    old_file = entry["files"][0]["sha256"]
    newer = hub_entry(any_library, 2, rng)
    assert any_library.books.upsert_from_hub(newer, release=3) == "updated"
    book = any_library.catalog.get_book(HUB_ID)
    assert (book["title"], book["rev"], book["added_at"]) == ("Phiên bản 2", 3, any_library.catalog.get_book(HUB_ID)["added_at"])
    assert not any_library.store.has(old_file)  # replaced, and no other book used it
    assert any_library.store.has(newer["files"][0]["sha256"])
    assert [e["op"] for e in any_library.books.history(book_id=HUB_ID)] == ["upsert", "upsert"]
    assert_consistent(any_library)


def test_a_hub_update_never_overwrites_a_local_book(library, tmp_path):
    path = make_epub(tmp_path / "ga.epub", title="Nuôi gà", chapters=[("Một", "<p>Gà ri</p>")])
    book_id = import_paths(library, [path], reader_processes=0).imported[0]["id"]
    entry = hub_entry(library, 1, random.Random(2))
    entry["id"] = book_id
    assert library.books.upsert_from_hub(entry, release=1) == "local"
    book = library.catalog.get_book(book_id)
    assert (book["title"], book["origin"]) == ("Nuôi gà", "local")


def test_librarian_decisions_survive_hub_updates(any_library):
    rng = random.Random(3)
    books = any_library.books
    books.upsert_from_hub(hub_entry(any_library, 1, rng), release=1)
    books.set_status(HUB_ID, "hidden", actor="librarian")
    books.edit(HUB_ID, {"categories": ["health"], "description": "Sách của xã"}, actor="librarian")
    assert books.upsert_from_hub(hub_entry(any_library, 2, rng), release=2) == "updated"
    book = any_library.catalog.get_book(HUB_ID)
    assert book["title"] == "Phiên bản 2"  # the hub's change arrives
    assert (book["status"], book["categories"], book["description"]) == ("hidden", ["health"], "Sách của xã")
    assert HUB_ID not in listed(any_library) and found(any_library, "phien ban") == []
    books.set_status(HUB_ID, "active", actor="librarian")
    assert books.overrides(HUB_ID)["status"] is None
    books.upsert_from_hub(hub_entry(any_library, 3, rng), release=3)
    book = any_library.catalog.get_book(HUB_ID)
    assert (book["status"], book["categories"]) == ("active", ["health"])
    assert found(any_library, "phien ban") == [HUB_ID]
    assert_consistent(any_library)


def test_hide_and_unhide_leave_the_files_and_return_the_book(any_library, tmp_path):
    path = make_epub(tmp_path / "lua.epub", title="Bến đò", chapters=[("Một", "<p>Qua sông</p>")])
    book_id = import_paths(any_library, [path], reader_processes=0).imported[0]["id"]
    files = [f["sha256"] for f in any_library.catalog.files_of(book_id)]
    any_library.books.set_status(book_id, "hidden", actor="librarian")
    assert book_id not in listed(any_library) and found(any_library, "qua song") == []
    assert all(any_library.store.has(sha) for sha in files)
    assert_consistent(any_library)
    any_library.books.set_status(book_id, "active", actor="librarian")
    assert book_id in listed(any_library) and found(any_library, "qua song") == [book_id]
    ops = [(e["op"], e["detail"].get("to")) for e in any_library.books.history(book_id=book_id)]
    assert ops == [("status", "active"), ("status", "hidden"), ("add", None)]
    assert_consistent(any_library)


def test_edit_changes_title_sort_and_search(any_library, tmp_path):
    path = make_epub(tmp_path / "x.epub", title="Sach loi", chapters=[("Một", "<p>Nội dung</p>")])
    book_id = import_paths(any_library, [path], reader_processes=0).imported[0]["id"]
    book = any_library.books.edit(book_id, {"title": "Sách đúng tên", "authors": ["Lò Văn A"]}, actor="librarian")
    assert (book["title"], book["authors"]) == ("Sách đúng tên", ["Lò Văn A"])
    assert book["sort_title"] == sort_title("Sách đúng tên")
    assert found(any_library, "dung ten") == [book_id]
    assert found(any_library, "sach loi") == []
    assert_consistent(any_library)


@pytest.mark.parametrize("fields", [
    {"title": ""}, {"title": "x" * 1001}, {"status": "hidden"}, {"categories": ["no-such"]},
    {"authors": "not a list"}, {"description": 5},
])
def test_bad_edits_are_refused_and_change_nothing(library, tmp_path, fields):
    path = make_epub(tmp_path / "x.epub", title="Giữ nguyên", chapters=[("Một", "<p>Chữ</p>")])
    book_id = import_paths(library, [path], reader_processes=0).imported[0]["id"]
    before = library.catalog.get_book(book_id)
    with pytest.raises(BookChangeError):
        library.books.edit(book_id, fields, actor="librarian")
    assert library.catalog.get_book(book_id) == before
    assert [e["op"] for e in library.books.history()] == ["add"]


def test_status_and_edit_of_an_unknown_book_are_refused(library):
    with pytest.raises(BookChangeError):
        library.books.set_status("0123456789abcdef", "hidden", actor="librarian")
    with pytest.raises(BookChangeError):
        library.books.set_status(HUB_ID, "gone", actor="librarian")
    assert library.books.remove("0123456789abcdef", actor="librarian") is False


def test_remove_deletes_files_only_when_no_other_book_uses_them(any_library):
    rng = random.Random(4)
    first = hub_entry(any_library, 1, rng)
    second = hub_entry(any_library, 2, rng)
    second["id"] = "00000000000000bb"
    second["files"][1] = first["files"][1]  # the same cover file
    any_library.books.upsert_from_hub(first, release=1)
    any_library.books.upsert_from_hub(second, release=1)
    shared = first["files"][1]["sha256"]
    assert any_library.books.remove(HUB_ID, actor="hub") is True
    assert any_library.catalog.get_book(HUB_ID) is None
    assert not any_library.store.has(first["files"][0]["sha256"])
    assert any_library.store.has(shared)  # still the other book's cover
    assert found(any_library, "phien ban 1") == []
    assert_consistent(any_library)
    any_library.books.remove(second["id"], actor="hub")
    assert not any_library.store.has(shared)
    assert any_library.books.history(book_id=HUB_ID)[0]["op"] == "remove"  # the tombstone
    assert_consistent(any_library)


@pytest.mark.parametrize("damage", [
    lambda e: e.update(id="../../etc"), lambda e: e.update(title=""), lambda e: e.update(format="exe"),
    lambda e: e.update(files=[]), lambda e: e["files"][0].update(sha256="0" * 64),
    lambda e: e["files"][0].update(size=e["files"][0]["size"] + 1), lambda e: e.update(texts=[["x", "y"]]),
    lambda e: e["files"][0].update(role="script"), lambda e: e.update(authors="one"),
    lambda e: e.update(chapters=[{"position": 0}, {"position": 0}]),
])
def test_bad_hub_rows_are_refused_and_change_nothing(library, damage):
    entry = hub_entry(library, 1, random.Random(5))
    damage(entry)
    with pytest.raises(BookChangeError):
        library.books.upsert_from_hub(entry, release=1)
    assert library.catalog.count_books() == 0 and library.books.history() == []


def test_a_release_is_one_transaction(library):
    """A failure part-way through a batch of changes leaves none of them."""
    rng = random.Random(6)
    good = hub_entry(library, 1, rng)
    bad = hub_entry(library, 2, rng)
    bad["id"] = "00000000000000cc"
    bad["files"][0]["size"] += 1
    with pytest.raises(BookChangeError), library.books.transaction():
        library.books.upsert_from_hub(good, release=1)
        library.books.upsert_from_hub(bad, release=1)
    assert library.catalog.count_books() == 0
    assert library.books.history() == []


def test_failed_add_keeps_nothing_of_the_book(library, tmp_path):
    """A book whose row cannot be written (the same id twice) leaves no file behind."""
    from content.catalog.books import NewBook
    from content.readers.epub import read_epub
    from content.store import sha256_of_file

    path = make_epub(tmp_path / "a.epub", title="Một", cover=make_jpeg(), chapters=[("Một", "<p>Chữ</p>")])
    sha = sha256_of_file(path)
    parsed = read_epub(path)
    library.books.add(NewBook(parsed, [sha]), actor="import")
    library.books.remove(NewBook(parsed, [sha]).book_id, actor="librarian")
    assert list(library.store.hashes()) == []
    library.books.add(NewBook(parsed, [sha]), actor="import")
    stored = set(library.store.hashes())
    with pytest.raises(BookChangeError):
        library.books.add(NewBook(parsed, [sha]), actor="import")
    assert set(library.store.hashes()) == stored  # the first copy's files stay, nothing new
    assert_consistent(library)


def test_usage_log_owner_counts_batches_and_prunes(library):
    usage.record(library.catalog, [
        {"at": "2026-12-04T10:15:00+00:00", "kind": "read", "book_id": "a"},
        {"at": "2026-12-04T10:45:00+00:00", "kind": "read", "book_id": "a"},
        {"at": "2026-12-04T11:05:00+00:00", "kind": "search_empty", "detail": "cá bống"},
        {"at": "2026-12-04T11:06:00+00:00", "kind": "search", "detail": "lúa"},
    ])
    assert usage.last_seq(library.catalog) == 4
    counts = usage.hourly_counts(library.catalog, 1, 4)
    assert {(c["hour"], c["kind"], c["book_id"], c["term"], c["count"]) for c in counts} == {
        ("2026-12-04T10", "read", "a", "", 2), ("2026-12-04T11", "search_empty", "", "cá bống", 1),
        ("2026-12-04T11", "search", "", "", 1)}
    assert usage.prune_through(library.catalog, 2) == 2
    assert [e["seq"] for e in usage.events_between(library.catalog, 1, 10)] == [3, 4]
    usage.prune_through(library.catalog, 4)
    assert usage.last_seq(library.catalog) == 4  # seq is never reused
    with pytest.raises(ValueError):
        usage.record(library.catalog, [{"at": "x", "kind": "ip-address"}])


def assert_whole_or_absent(library, book_id: str) -> None:
    """All of a book (rows, files, text, search entry as its status says), or none of it."""
    db = library.catalog.db
    book = library.catalog.get_book(book_id)
    counts = {table: db.execute(f"SELECT count(*) FROM {table} WHERE book_id = ?", [book_id]).fetchone()[0]
              for table in ("files", "chapters", "chapter_texts", "book_categories")}
    in_search = found(library, "lua nuoc phien ban") == [book_id]
    if book is None:
        assert counts == {"files": 0, "chapters": 0, "chapter_texts": 0, "book_categories": 0}
        assert not in_search
        return
    assert counts == {"files": 2, "chapters": 1, "chapter_texts": 1, "book_categories": 1}
    assert all(library.store.has(f["sha256"]) for f in library.catalog.files_of(book_id))
    assert library.thumb_path(book["thumb_sha256"]).is_file()
    assert in_search == (book["status"] == "active")


def _acknowledged(out: str, mode: str) -> list[str]:
    """The values the writer printed after each committed change."""
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith(mode + " ")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["add", "upsert", "status", "edit", "remove"])
def test_sigkill_during_each_operation_leaves_old_or_new(data_dir, mode):
    """Kill a writer at random points; the catalog shows the last acknowledged change or the next one."""
    rng = random.Random(hash(mode) & 0xFFFF)
    added: set[str] = set()
    for round_number in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.books_writer", str(data_dir), mode, str(round_number)],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )
        time.sleep(rng.uniform(0.8, 2.5))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        done = _acknowledged(out, mode)
        library = Library(data_dir)
        try:
            library.startup(background=False)  # what the server does after a crash
            assert library.check() == []
            book = library.catalog.get_book(HUB_ID)
            if mode == "add":
                added.update(done)
                assert all(library.catalog.book_exists(book_id) for book_id in added)
            elif mode == "upsert" and done:
                number = int(done[-1].rsplit(" ", 1)[1])
                assert book["title"] in (done[-1], f"Phiên bản {number + 1}")
            elif mode == "status" and done:
                assert book["status"] in ("active", "hidden")  # the last one acknowledged, or the next
            elif mode == "edit" and done:
                number = int(done[-1].rsplit(" ", 1)[1])
                assert book["title"] in (done[-1], f"Tên sửa {number + 1}")
                assert book["categories"] == ["health"]
            if mode != "add":
                assert_whole_or_absent(library, HUB_ID)
        finally:
            library.close()
    if mode == "add":
        assert added
