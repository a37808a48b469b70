"""Importing from a USB stick in the browser: what is on the stick, progress, verdicts, safe to remove.

The stick is a real mounted file system (tmpfs) under a mount root the app is
configured with, found exactly as ``readpoint import --usb`` finds it, and the
import is that command run by the server.
"""

from __future__ import annotations

import pytest

from content.store import writer_lock
from readpoint.app import create_app
from tests.admin_desk import post_form, set_up_account
from tests.usb_sticks import Mounts, fill_stick


@pytest.fixture
def mounts():
    """Mounted tmpfs sticks, unmounted after the test."""
    sticks = Mounts()
    yield sticks
    sticks.close()


@pytest.fixture
def usb_app(tmp_path):
    """The app with its USB mount root in tmp_path."""
    application = create_app({"events_flush_seconds": 0, "usb_roots": str(tmp_path / "media")},
                             data_dir=tmp_path / "data")
    yield application
    job = application.extensions.get("admin_import")
    if job is not None:
        job.wait(60)
    application.extensions["library"].close()


@pytest.mark.slow
def test_import_from_a_stick_with_progress_and_verdicts(usb_app, tmp_path, mounts):
    client = usb_app.test_client()
    set_up_account(client, tmp_path / "data")
    empty = client.get("/admin/import").data.decode()
    assert "Không thấy USB nào" in empty
    response = post_form(client, "/admin/import", "/admin/import", {})
    assert response.status_code == 303 and usb_app.extensions.get("admin_import") is None

    stick = mounts.mount(tmp_path / "media" / "KINGSTON")
    fill_stick(stick)
    page = client.get("/admin/import").data.decode()
    assert str(stick / "READPOINT") in page
    assert "Sách điện tử (EPUB): 3 · PDF: 1 · Tệp âm thanh: 0 · Tệp khác: 1" in page
    with writer_lock(tmp_path / "data"):  # another writer is busy: the import must wait its turn
        assert post_form(client, "/admin/import", "/admin/import", {}).status_code == 303
        running = client.get("/admin/import").data.decode()
        assert '<meta http-equiv="refresh" content="2">' in running
        assert "Chưa được rút USB" in running and "Có thể rút USB" not in running
        again = post_form(client, "/admin/import", "/admin/import", {})
        assert again.status_code == 303
        assert "Đang có một lần nhập sách chạy rồi" in client.get("/admin/import").data.decode()
    job = usb_app.extensions["admin_import"]
    assert job.wait(120) and job.returncode == 1  # 1: some files were rejected
    assert (job.done, job.total) == (5, 5)
    done = client.get("/admin/import").data.decode()
    assert "refresh" not in done and "Có thể rút USB ra an toàn" in done
    assert "hong.epub" in done and "Không phải sách EPUB hợp lệ" in done
    assert "ghi-chu.txt" in done and "Không phải sách điện tử hay sách nói" in done
    assert "rieng.epub" not in done
    [run_link] = [line for line in done.splitlines() if "/admin/imports/" in line][:1]
    detail = client.get("/admin/imports/1").data.decode()
    assert "Trồng lúa" in detail and "Nuôi gà" in detail and "lich.pdf" in detail and "hong.epub" in detail
    assert "Đã nhập: 3" in detail and "Bị từ chối: 1" in detail and "Bỏ qua: 1" in detail
    assert "/admin/imports/1" in run_link
    home = client.get("/").data.decode()
    assert "Trồng lúa" in home and "Nuôi gà" in home

    # the same stick again: nothing is copied twice
    assert post_form(client, "/admin/import", "/admin/import", {}).status_code == 303
    job = usb_app.extensions["admin_import"]
    assert job.wait(120)
    again = client.get("/admin/import").data.decode()
    assert "Đã có trong thư viện: 3" in again
