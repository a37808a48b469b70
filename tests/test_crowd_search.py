"""Searches that find a word only late in long chapters: within the budget, and never freezing the box."""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests

from readpoint.views.search import SearchGate
from tests.books import add_plain_book
from tests.conftest import LiveServer
from tests.crowd import ANSWER_SECONDS, probe_healthz

BUDGET_MS = 500
# a long chapter (about 0.9 MB of text) with the searched word only at its very end
LONG_CHAPTER = "Người nông dân trồng lúa trên ruộng bậc thang. " * 20_000 + " hiếm "


@pytest.fixture
def long_books(data_dir):
    """A live server (4 threads, budget 500 ms) over six books whose long chapters end with "hiếm"."""
    from readpoint.app import create_app

    settings = {"events_flush_seconds": 0, "search_time_budget_ms": BUDGET_MS, "threads": 4}  # as LiveServer
    app = create_app(settings, data_dir=data_dir)
    library = app.extensions["library"]
    for number in range(6):
        add_plain_book(library, os.urandom(64), title=f"Sách dài {number}", texts=[LONG_CHAPTER])
    server = LiveServer(app).start()
    yield server
    server.stop()
    app.extensions["events"].flush()
    library.close()


def test_snippets_count_against_the_budget_and_the_answer_says_it_was_cut(long_books):
    started = time.monotonic()
    answer = requests.get(long_books.url + "/api/search", params={"q": "hiem"}, timeout=30).json()
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_MS / 1000 + 1.0, f"a 500 ms search took {elapsed:.2f} s"
    assert answer["timed_out"] is True
    assert answer["total"] == 6 and len(answer["results"]) == 6  # the books found are all listed


def test_many_long_searches_at_once_leave_browsing_fast(long_books):
    answers: list[tuple[float, dict]] = []

    def search():
        started = time.monotonic()
        answer = requests.get(long_books.url + "/api/search", params={"q": "hiem"}, timeout=60).json()
        answers.append((time.monotonic() - started, answer))

    searches = [threading.Thread(target=search) for _ in range(16)]
    for thread in searches:
        thread.start()
    latencies = probe_healthz(long_books.url, 10, pause=0.1)
    for thread in searches:
        thread.join()
    assert max(latencies) < ANSWER_SECONDS, f"/healthz took up to {max(latencies):.2f} s beside 16 long searches"
    assert len(answers) == 16
    # two searches hold the two turns (half of the 4 workers); the others are answered at once as cut
    assert max(seconds for seconds, _ in answers) < 2 * BUDGET_MS / 1000 + 1.5
    assert all(answer["timed_out"] for _, answer in answers)
    refused = [seconds for seconds, answer in answers if answer["total"] == 0]
    assert len(refused) >= 8 and min(refused) < 1.0


def test_the_search_gate_admits_running_and_waiting_then_refuses():
    gate = SearchGate(running=1, waiting=1)
    results = []
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with gate.turn(1.0) as admitted:
            results.append(("first", admitted))
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)

    def wait_for_turn():
        with gate.turn(2.0) as admitted:
            results.append(("waiter", admitted))

    waiter = threading.Thread(target=wait_for_turn)
    waiter.start()
    time.sleep(0.1)
    with gate.turn(2.0) as admitted:  # one running, one waiting: no room in the queue
        results.append(("third", admitted))
    with gate.turn(0.0) as admitted:
        results.append(("fourth", admitted))
    release.set()
    holder.join()
    waiter.join()
    assert dict(results) == {"first": True, "third": False, "fourth": False, "waiter": True}
    assert gate.refused == 2
