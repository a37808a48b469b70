"""A group's sync window and byte budgets: set by staff, signed for the box, obeyed by its sync."""

from __future__ import annotations

import requests
import pytest

from tests.sync_world import SyncWorld


@pytest.fixture
def world(tmp_path):
    """A hub with an API server and an enrolled box in the group "Trường học"."""
    instance = SyncWorld(tmp_path)
    instance.enroll()
    device = instance.library.catalog.db.execute("SELECT device_id FROM device").fetchone()[0]
    instance.hub.storage.set_group([device], "Trường học")
    yield instance
    instance.close()


def local_minute(world) -> int:
    """The minute of the day in Vietnam (UTC+7) by the hub's clock."""
    return int((world.hub.storage.now() + 7 * 3600) // 60) % 1440


def test_content_waits_for_the_window(world):
    world.add_epubs(2)
    world.publish()
    now = local_minute(world)
    world.hub.storage.set_group_policy("Trường học", [(now + 60) % 1440, (now + 120) % 1440], 0, 0)
    closed = world.sync()
    assert closed.errors == [] and closed.files_downloaded == 0 and closed.books_added == 0
    assert world.box_titles() == set()
    world.hub.storage.set_group_policy("Trường học", [(now - 60) % 1440, (now + 60) % 1440], 0, 0)
    opened = world.sync()
    assert opened.errors == [] and opened.books_added == 2
    assert world.box_titles() == {"Sách 1", "Sách 2"}


def test_the_groups_budget_is_obeyed(world):
    world.add_epubs(2, pad=600_000)
    world.publish()
    world.hub.storage.set_group_policy("Trường học", None, 1, 0)  # 1 MB per sync: one book fits
    first = world.sync()
    assert first.errors == [] and first.files_downloaded == 1 and first.books_added == 1
    second = world.sync()
    assert second.files_downloaded == 1 and len(world.box_titles()) == 2


def test_the_policy_needs_the_boxs_session(world):
    device = world.library.catalog.db.execute("SELECT device_id FROM device").fetchone()[0]
    answer = requests.get(f"{world.server.url}/v1/devices/{device}/policy?nonce=abcdefghijklmnop1234", timeout=5)
    assert answer.status_code == 401
