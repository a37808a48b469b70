"""The hub's API in-process (Flask's test client) and its commands, on SQLite and on PostgreSQL.

The same tests run against both storages; PostgreSQL is a real server started
from Debian's packages in a temporary folder (``tests/postgres_server.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
import time

import pytest
from click.testing import CliRunner

from sync.protocol import SIGNATURE_HEADER, open_envelope
from sync.signing import SigningKey, canonical_json
from tests.media import make_epub


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module's tests."""
    from tests.postgres_server import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    """An initialised hub on each storage, its clock movable through ``hub.offset``."""
    from sync.hub.hub import Hub, init_hub

    init_hub(tmp_path / "hub")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"hub_{secrets.token_hex(6)}")
        (tmp_path / "hub" / "readpoint.toml").write_text(f'hub_database_url = "{url}"\n')
    state = {"offset": 0}
    instance = Hub(tmp_path / "hub", clock=lambda: time.time() + state["offset"])
    instance.move_clock = lambda seconds: state.__setitem__("offset", state["offset"] + seconds)
    yield instance
    instance.close()


@pytest.fixture
def api(hub):
    """Flask's test client over the hub's API."""
    from sync.hub.app import create_app

    return create_app(hub).test_client()


def new_key() -> SigningKey:
    """A box key (in memory)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return SigningKey(Ed25519PrivateKey.generate())


def enroll(api, hub, key: SigningKey, code: str | None = None):
    """POST /v1/enroll with a fresh (or the given) code; the response."""
    code = code or hub.enroll_code("xa")
    signature = key.sign(canonical_json({"type": "readpoint.enroll", "code": code, "public_key": key.public_b64}))
    return api.post("/v1/enroll", json={"code": code, "public_key": key.public_b64, "signature": signature})


def session(api, device_id: str, key: SigningKey) -> dict:
    """A bearer header for a device, through challenge and token."""
    nonce = api.post("/v1/auth/challenge", json={"device_id": device_id}).get_json()["nonce"]
    signature = key.sign(canonical_json({"type": "readpoint.auth", "device_id": device_id, "nonce": nonce}))
    answer = api.post("/v1/auth/token", json={"device_id": device_id, "nonce": nonce, "signature": signature})
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def post_batch(api, device_id, key, headers, first, last, hours=(), missed=()):
    """POST a signed usage batch; the response."""
    body = json.dumps({"type": "readpoint.usage", "device_id": device_id, "from": first, "to": last,
                       "hours": list(hours), "missed": list(missed)}).encode()
    return api.post(f"/v1/devices/{device_id}/batches", data=body,
                    headers={**headers, SIGNATURE_HEADER: key.sign(body), "Content-Type": "application/json"})


def test_enrollment_code_works_once_and_expires(api, hub):
    key = new_key()
    code = hub.enroll_code("xa Tả Van")
    assert len(code) == 14 and code.count("-") == 2
    first = enroll(api, hub, key, code.lower().replace("-", " "))  # typed in lower case with spaces
    assert first.status_code == 200
    assert first.get_json()["name"] == "xa Tả Van" and first.get_json()["hub_key_id"] == hub.key.key_id
    assert enroll(api, hub, new_key(), code).status_code == 403  # used
    late = hub.enroll_code("late")
    hub.move_clock(8 * 24 * 3600)
    assert enroll(api, hub, new_key(), late).status_code == 403  # expired on the hub's clock
    forged = api.post("/v1/enroll", json={"code": hub.enroll_code(), "public_key": key.public_b64,
                                          "signature": new_key().sign(b"x")})
    assert forged.status_code == 400


def test_sessions_expire_on_the_hub_clock_and_belong_to_one_device(api, hub):
    key_a, key_b = new_key(), new_key()
    a = enroll(api, hub, key_a).get_json()["device_id"]
    b = enroll(api, hub, key_b).get_json()["device_id"]
    headers = session(api, a, key_a)
    assert api.get(f"/v1/devices/{a}/ack", headers=headers).status_code == 200
    assert api.get(f"/v1/devices/{b}/ack", headers=headers).status_code == 403
    assert api.get(f"/v1/devices/{a}/ack").status_code == 401
    # a challenge signed by another key, a reused challenge, an expired one
    nonce = api.post("/v1/auth/challenge", json={"device_id": a}).get_json()["nonce"]
    wrong = key_b.sign(canonical_json({"type": "readpoint.auth", "device_id": a, "nonce": nonce}))
    assert api.post("/v1/auth/token", json={"device_id": a, "nonce": nonce, "signature": wrong}).status_code == 401
    nonce = api.post("/v1/auth/challenge", json={"device_id": a}).get_json()["nonce"]
    good = key_a.sign(canonical_json({"type": "readpoint.auth", "device_id": a, "nonce": nonce}))
    assert api.post("/v1/auth/token", json={"device_id": a, "nonce": nonce, "signature": good}).status_code == 200
    assert api.post("/v1/auth/token", json={"device_id": a, "nonce": nonce, "signature": good}).status_code == 401
    nonce = api.post("/v1/auth/challenge", json={"device_id": a}).get_json()["nonce"]
    hub.move_clock(61)
    good = key_a.sign(canonical_json({"type": "readpoint.auth", "device_id": a, "nonce": nonce}))
    assert api.post("/v1/auth/token", json={"device_id": a, "nonce": nonce, "signature": good}).status_code == 401
    hub.move_clock(3600)
    assert api.get(f"/v1/devices/{a}/ack", headers=headers).status_code == 401  # the token expired
    assert api.post("/v1/auth/challenge", json={"device_id": "nobody"}).status_code == 404


def test_usage_batches_are_taken_exactly_once(api, hub):
    key = new_key()
    device = enroll(api, hub, key).get_json()["device_id"]
    headers = session(api, device, key)
    hours = [["2026-11-01T10", "072d862b3ecddd38", "read", 3], ["2026-11-01T10", None, "search_empty", 2]]
    missed = [["2026-11-01T10", "trâu bò", 2]]
    first = post_batch(api, device, key, headers, 1, 5, hours, missed)
    assert first.status_code == 200
    signed = open_envelope(first.data, hub.key.public_b64, "ack")
    assert signed == {"type": "readpoint.ack", "device_id": device, "acked_through": 5, "outcome": "accepted"}
    again = post_batch(api, device, key, headers, 1, 5, hours, missed)  # a replay: acked again, nothing added
    assert open_envelope(again.data, hub.key.public_b64, "ack")["outcome"] == "duplicate"
    gap = post_batch(api, device, key, headers, 8, 9, hours)
    assert gap.status_code == 409 and gap.get_json()["expected_from"] == 6
    overlap = post_batch(api, device, key, headers, 4, 9, hours)  # hourly counts cannot be trimmed
    assert overlap.status_code == 409 and overlap.get_json()["expected_from"] == 6
    body = json.dumps({"type": "readpoint.usage", "device_id": device, "from": 6, "to": 6, "hours": []}).encode()
    forged = api.post(f"/v1/devices/{device}/batches", data=body,
                      headers={**headers, SIGNATURE_HEADER: new_key().sign(body)})
    assert forged.status_code == 400
    assert post_batch(api, device, key, headers, 6, 7, [["2026-11-02T08", "072d862b3ecddd38", "read", 1]]).status_code == 200
    report = hub.usage_report()["devices"][0]
    assert report["acked_through"] == 7 and report["last_sync"]
    counts = {(row["day"], row["book_id"], row["kind"]): row["count"] for row in report["usage"]}
    assert counts == {("2026-11-01", "072d862b3ecddd38", "read"): 3, ("2026-11-01", None, "search_empty"): 2,
                      ("2026-11-02", "072d862b3ecddd38", "read"): 1}
    assert report["not_found"] == [{"term": "trâu bò", "count": 2}]
    ack = open_envelope(api.get(f"/v1/devices/{device}/ack", headers=headers).data, hub.key.public_b64, "ack")
    assert ack["acked_through"] == 7


def test_publish_builds_signed_snapshots_and_deltas(api, hub, tmp_path):
    sources = tmp_path / "src"
    sources.mkdir()
    make_epub(sources / "a.epub", title="Lúa nước")
    make_epub(sources / "b.epub", title="Nuôi gà")
    report = hub.add([sources])
    ids = sorted(entry["id"] for entry in report.imported)
    assert hub.publish() == {"release": 1, "books": 2, "added": 2, "removed": 0}
    hub.remove([ids[0]])
    newer = tmp_path / "newer"
    newer.mkdir()
    make_epub(newer / "c.epub", title="Trồng lúa")
    added = hub.add([newer]).imported[0]["id"]
    assert hub.publish() == {"release": 2, "books": 2, "added": 1, "removed": 1}
    nonce = secrets.token_urlsafe(16)
    latest = open_envelope(api.get(f"/v1/releases/latest?nonce={nonce}").data, hub.key.public_b64, "latest")
    assert latest["release"] == 2 and latest["nonce"] == nonce
    raw = api.get("/v1/releases/2/manifest").data
    assert hashlib.sha256(raw).hexdigest() == latest["manifest_sha256"] and len(raw) == latest["manifest_size"]
    manifest = open_envelope(raw, hub.key.public_b64, "manifest", max_bytes=1 << 20)
    names = {a["name"]: a for a in manifest["catalog"]}
    assert set(names) == {"snapshot-2.jsonl.gz", "delta-1-2.jsonl.gz"}
    delta = api.get("/v1/releases/2/catalog/delta-1-2.jsonl.gz").data
    assert hashlib.sha256(delta).hexdigest() == names["delta-1-2.jsonl.gz"]["sha256"]
    lines = [json.loads(line) for line in gzip.decompress(delta).splitlines()]
    assert {(line["op"], line["id"]) for line in lines} == {("remove", ids[0]), ("upsert", added)}
    upsert = next(line for line in lines if line["op"] == "upsert")
    assert upsert["title"] == "Trồng lúa" and upsert["files"][0]["role"] == "primary"
    sha = upsert["files"][0]["sha256"]
    whole = api.get(f"/files/{sha}")
    assert hashlib.sha256(whole.data).hexdigest() == sha
    part = api.get(f"/files/{sha}", headers={"Range": "bytes=10-", "If-Range": f'"{sha}"'})
    assert part.status_code == 206 and part.data == whole.data[10:]
    assert api.get("/v1/releases/2/catalog/delta-1-3.jsonl.gz").status_code == 404
    assert api.get("/v1/releases/9/manifest").status_code == 404
    assert api.get("/v1/time?nonce=short").status_code == 400


def test_hub_commands(tmp_path):
    from readpoint.cli import cli

    runner = CliRunner()
    hub_dir = tmp_path / "h"
    first = runner.invoke(cli, ["hub", "init", "--data", str(hub_dir)])
    assert first.exit_code == 0, first.output
    public_key = first.output.strip()
    assert len(public_key) == 44
    assert runner.invoke(cli, ["hub", "init", "--data", str(hub_dir)]).exit_code == 1  # never a second key
    assert runner.invoke(cli, ["hub", "key", "--data", str(hub_dir)]).output.strip() == public_key
    sources = tmp_path / "src"
    sources.mkdir()
    make_epub(sources / "a.epub", title="Lúa nước")
    (sources / "broken.epub").write_bytes(b"PK\x03\x04 not really a zip")
    added = runner.invoke(cli, ["hub", "add", "--data", str(hub_dir), str(sources), "--json"])
    assert added.exit_code == 1  # a rejected file, as `readpoint import` says it
    report = json.loads(added.stdout)
    assert set(report) == {"imported", "duplicates", "rejected", "skipped"}
    assert [e["title"] for e in report["imported"]] == ["Lúa nước"] and len(report["rejected"]) == 1
    published = runner.invoke(cli, ["hub", "publish", "--data", str(hub_dir), "--json"])
    assert json.loads(published.output) == {"release": 1, "books": 1, "added": 1, "removed": 0}
    book_id = report["imported"][0]["id"]
    assert runner.invoke(cli, ["hub", "remove", "--data", str(hub_dir), book_id]).exit_code == 0
    assert runner.invoke(cli, ["hub", "remove", "--data", str(hub_dir), "not-an-id"]).exit_code == 1
    published = runner.invoke(cli, ["hub", "publish", "--data", str(hub_dir), "--json"])
    assert json.loads(published.output) == {"release": 2, "books": 0, "added": 0, "removed": 1}
    code = runner.invoke(cli, ["hub", "enroll-code", "--data", str(hub_dir), "--name", "xa Y Tý"]).output.strip()
    assert len(code) == 14
    usage = runner.invoke(cli, ["hub", "usage", "--data", str(hub_dir), "--json"])
    assert json.loads(usage.output) == {"latest_release": 2, "devices": []}
    assert runner.invoke(cli, ["hub", "key", "--data", str(tmp_path / "nothing")]).exit_code == 1
    assert runner.invoke(cli, ["hub", "publish"]).exit_code == 2  # --data is required
