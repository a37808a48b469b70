"""One sync run of a box with its hub, and enrollment.

The order of a run (small things first, every step idempotent, so a run cut
anywhere is finished by the next one):

1. **Time**: the hub's signed clock, fresh by our nonce. It gives the month for
   the byte budget and the clock offset for the status; the box's own clock is
   never used for a security decision (token expiry is the hub's business).
2. **Auth**: a signed challenge gives a session token.
3. **Usage up**: batches after the hub's signed ``acked_through``; what the hub
   acknowledges is pruned.
4. **Release**: the signed pointer (fresh by our nonce) against what was applied:
   lower is a rollback, equal with other bytes an equivocation; a newer one's
   manifest must hash to what the pointer says and verify; its catalog file (a
   delta from our release, else the snapshot) must match the manifest. Its lines
   are staged as ``incoming``.
5. **Content**: files of staged books, covers first, then e-books, then audio,
   smallest first, within the byte budgets (which govern content: the small
   signed answers and catalog files always go, and count); resumed from the
   persisted offsets.
6. **Apply**: in one transaction, every staged removal and every book whose
   files are all here, together with the new applied-release number; books
   still missing files wait for a later run.
7. **Status** to the hub.

Nothing of a release that fails a check is applied.

A run from a USB bundle (:mod:`sync.client.bundle`) has no time, session or
status steps: the pointer is the bundle's signed manifest, files are copied
from the stick instead of downloaded (steps 4 to 6 are the same code, through
a *source*), a bad file refuses the whole bundle, and usage goes to the
stick's ``outbox/``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass, field

from content.catalog import Catalog, usage_stats
from content.catalog.usage import last_seq, prune_through
from content.errors import ContentError
from content.store import WriterBusy, writer_lock
from sync.client.batches import batch_body, usage_batch
from sync.client.downloads import Downloads, StorageFull
from sync.client.state import SyncState
from sync.client.transport import BudgetSpent, Meter, Transport
from sync.errors import (
    ArtifactMismatch,
    BadSignature,
    ConfigError,
    Equivocation,
    HubError,
    LinkError,
    NotJson,
    Rollback,
    SyncError,
    TooLarge,
)
from sync.protocol import (
    MAX_MANIFEST,
    MAX_SMALL_JSON,
    SIGNATURE_HEADER,
    open_envelope,
    read_catalog,
)
from sync.signing import canonical_json, key_id, parse_public_key

__all__ = ["SyncReport", "run_sync", "enroll", "make_transport", "Missing"]

log = logging.getLogger(__name__)

MAX_BATCHES_PER_RUN = 200
ROLE_RANK = {"cover": 0}


@dataclass
class SyncReport:
    """What ``readpoint sync --json`` prints."""

    release_before: int = 0
    release_after: int = 0
    books_added: int = 0
    books_removed: int = 0
    files_downloaded: int = 0
    bytes_down: int = 0
    bytes_up: int = 0
    events_sent: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        """The report in the issue's shape, keys in its order."""
        return {name: getattr(self, name) for name in (
            "release_before", "release_after", "books_added", "books_removed", "files_downloaded",
            "bytes_down", "bytes_up", "events_sent", "errors")}


def make_transport(settings: dict, meter: Meter | None = None) -> Transport:
    """The transport to the configured hub (ConfigError without ``hub_url``)."""
    url = settings.get("hub_url", "")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("hub_url is not set (an http:// or https:// address of the provincial hub)")
    return Transport(url, meter or Meter(), timeout=settings.get("sync_timeout_seconds", 30))


def _app_version() -> str:
    """This box's readpoint version (for the hub's fleet page)."""
    try:
        return importlib.metadata.version("readpoint")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _fresh_nonce() -> str:
    """A random nonce for a signed answer that must be fresh."""
    return secrets.token_urlsafe(18)


def _hub_time(transport: Transport, hub_key: str) -> int:
    """The hub's clock (unix seconds), signed and fresh."""
    nonce = _fresh_nonce()
    answer = transport.call("GET", f"/v1/time?nonce={nonce}", max_bytes=MAX_SMALL_JSON)
    signed = open_envelope(answer.body, hub_key, "time")
    if signed.get("nonce") != nonce or not isinstance(signed.get("now"), int):
        raise BadSignature("time: the signed answer is not for our question (a replay?)")
    return signed["now"]


def enroll(library, settings: dict, code: str, *, transport: Transport | None = None) -> dict:
    """Enroll this box with a one-time code: make its key if needed, prove the hub, register."""
    hub_key = settings.get("hub_public_key", "").strip()
    if not hub_key:
        raise ConfigError("hub_public_key is not set (the hub's public key, from `readpoint hub key`)")
    parse_public_key(hub_key)
    state = SyncState(library.catalog, library.data_dir)
    transport = transport or make_transport(settings)
    try:
        _hub_time(transport, hub_key)  # the hub at hub_url holds the key we are told to trust
        key = state.device_key(create=True)
        signature = key.sign(canonical_json({"type": "readpoint.enroll", "code": code, "public_key": key.public_b64}))
        body = json.dumps({"code": code, "public_key": key.public_b64, "signature": signature}).encode()
        answer = transport.call("POST", "/v1/enroll", body=body, headers={"Content-Type": "application/json"},
                                max_bytes=MAX_SMALL_JSON)
    finally:
        transport.close()
    device = answer.json("enroll")
    if not isinstance(device, dict) or not isinstance(device.get("device_id"), str):
        raise HubError("enroll: the hub's answer has no device id", status=answer.status)
    if device.get("hub_key_id") != key_id(hub_key):
        raise ConfigError("the hub at hub_url signs with another key than hub_public_key")
    state.save_enrollment(device["device_id"], key.public_b64, hub_key)
    log.info("enrolled as device %s (%s)", device["device_id"], device.get("name", ""))
    return {"device_id": device["device_id"], "name": device.get("name", ""), "public_key": key.public_b64}


def run_sync(library, settings: dict, *, transport: Transport | None = None, bundle=None) -> SyncReport:
    """One sync run; never raises for what can go wrong with the hub or the link (see ``errors``).

    With ``bundle`` (a folder holding ``READPOINT_BUNDLE/``, or that folder) the
    release comes from a USB stick instead of the hub (:mod:`sync.client.bundle`):
    the same checks and apply, and usage goes to the stick's ``outbox/``.
    """
    report = SyncReport()
    state = SyncState(library.catalog, library.data_dir)
    report.release_before = report.release_after = state.state()["applied_release"]
    try:
        with writer_lock(library.data_dir, wait=False):
            run = _Run(library, settings, state, report, transport, bundle)
            try:
                run.run()
            finally:
                run.finish()
    except WriterBusy:
        report.errors.append("another sync or import is running on this data directory; try again later")
    except SyncError as error:
        report.errors.append(str(error))
    except (ContentError, sqlite3.Error, OSError) as error:  # the box's own storage: full, read-only, damaged
        log.exception("sync stopped by this box's storage")
        report.errors.append(f"this box's storage failed: {error}")
    report.release_after = state.state()["applied_release"]
    _remember(state, report)
    return report


class Missing(SyncError):
    """A file the source does not have (a catalog file gone from the hub, a file not on the stick)."""


class _NetworkSource:
    """Where a networked run gets releases and files: the hub's API (the signed, fresh pointer)."""

    all_or_nothing = False  # a bad file only keeps its own book waiting

    def __init__(self, run: _Run):
        """Serve ``run``."""
        self.run = run

    def pointer(self) -> tuple[int, object, object]:
        """(release, manifest sha256, manifest size) of the newest release, signed and fresh."""
        nonce = _fresh_nonce()
        answer = self.run._call("GET", f"/v1/releases/latest?nonce={nonce}", None, None, MAX_SMALL_JSON)
        latest = open_envelope(answer.body, self.run.hub_key, "latest")
        if latest.get("nonce") != nonce:
            raise BadSignature("latest: the signed answer is not for our question (a replay?)")
        if not isinstance(latest.get("release"), int):
            raise BadSignature("latest: no release number")
        return latest["release"], latest.get("manifest_sha256"), latest.get("manifest_size")

    def manifest(self, number: int, size: int) -> bytes:
        """The bytes of release ``number``'s manifest (at most ``size``)."""
        return self.run._call("GET", f"/v1/releases/{number}/manifest", None, None, size).body

    def fetch_catalog(self, number: int, name: str, sha256: str, size: int) -> None:
        """Bring a catalog file to complete-and-verified (Missing when the hub no longer has it)."""
        # Catalog files pass the byte budgets (they count in them): without them the box
        # cannot even know what it is missing, and they are small beside the content.
        try:
            self.run.downloads.fetch(sha256, size, release=number, path=f"/v1/releases/{number}/catalog/{name}",
                                     budgeted=False)
        except HubError as error:
            if error.status not in (404, 410):
                raise
            raise Missing(f"the hub answered {error.status}") from error

    def check_room(self, wanted: list[dict]) -> None:
        """Nothing to check up front: each download checks the disk."""

    def fetch_file(self, sha256: str, size: int) -> None:
        """Download one content file (within the budgets)."""
        self.run.downloads.fetch(sha256, size)


def _remember(state: SyncState, report: SyncReport) -> None:
    """Keep the run's report in ``sync_state`` for the librarian's desk (best effort: the disk may be full)."""
    try:
        state.set(last_result=json.dumps(report.as_json(), ensure_ascii=False))
    except (sqlite3.Error, OSError) as error:
        log.warning("could not record the sync result: %s", error)


class _Run:
    """The steps of one run (see the module docstring)."""

    def __init__(self, library, settings: dict, state: SyncState, report: SyncReport,
                 transport: Transport | None, bundle=None):
        """Prepare a run; checks the enrollment first (ConfigError)."""
        self.library = library
        self.catalog: Catalog = library.catalog
        self.settings = settings
        self.state = state
        self.report = report
        self.device, self.hub_key = state.require_enrolled(settings.get("hub_public_key", ""))
        self.key = state.device_key()
        self.month = ""
        self.clock_offset: int | None = None
        self.hub_now: int | None = None
        self.in_window = True
        if bundle is not None:
            from sync.client.bundle import BundleSource

            self.meter = Meter()  # a stick is not the link: no budgets, no speed cap
            self.transport = None
            self.downloads = Downloads(self.catalog, library.store, None)
            self.source = BundleSource(bundle, self)
            return
        mb = 2**20
        self.meter = Meter(run_budget=settings.get("sync_run_budget_mb", 0) * mb,
                           month_budget=settings.get("sync_month_budget_mb", 0) * mb,
                           bandwidth_bytes_per_second=settings.get("sync_bandwidth_kbit", 0) * 1000 / 8)
        if transport is None:
            transport = make_transport(settings, self.meter)
        else:
            transport.meter = self.meter
        self.transport = transport
        self.downloads = Downloads(self.catalog, library.store, transport)
        self.source = _NetworkSource(self)

    # -- the run -----------------------------------------------------------

    def run(self) -> None:
        """Every step in order; a failed step is reported and the ones that can still run do."""
        self.downloads.remove_strays()
        if self.transport is None:  # a bundle: no clock, no session; the signed manifest decides
            if self.step(self.fetch_release) and self.step(self.fetch_content):
                self.step(self.apply)
            self.step(self.source.write_outbox)
            return
        try:
            self.time()
            self.authenticate()
        except SyncError as error:
            self.report.errors.append(str(error))
            self.apply()  # what earlier runs verified and downloaded can still go in
            return
        self.step(self.fetch_policy)
        self.step(self.upload_usage)
        self.step(self.fetch_release)
        if self.in_window:
            self.step(self.fetch_content)
        else:
            log.info("outside this group's sync window: content files wait for the window")
        self.step(self.apply)
        self.step(self.send_status)

    def step(self, function) -> bool:
        """Run one step; its SyncError becomes a line in ``errors`` (and False)."""
        try:
            return function() is not False
        except SyncError as error:
            log.warning("sync: %s", error)
            self.report.errors.append(str(error))
            return False

    def finish(self) -> None:
        """Count the bytes into the report and the month, close the link."""
        self.report.bytes_down, self.report.bytes_up = self.meter.down, self.meter.up
        fields = {}
        if self.month:
            fields.update(month=self.month, month_bytes=self.meter.month_used + self.meter.down + self.meter.up)
        if self.clock_offset is not None:
            fields.update(clock_offset=self.clock_offset, last_sync_at=int(time.time()) + self.clock_offset)
        if fields:
            self.state.set(**fields)
        if self.transport is not None:
            self.transport.close()
        else:
            self.source.close()

    # -- 1, 2: time and session --------------------------------------------

    def time(self) -> None:
        """Learn the hub's time: the month for the budget, the offset of our clock."""
        now = _hub_time(self.transport, self.hub_key)
        self.hub_now = now
        self.clock_offset = now - int(time.time())
        if abs(self.clock_offset) > 120:
            log.warning("this box's clock is %+d s off the hub's", self.clock_offset)
        self.month = time.strftime("%Y-%m", time.gmtime(now))
        saved = self.state.state()
        self.meter.month_used = saved["month_bytes"] if saved["month"] == self.month else 0

    def fetch_policy(self) -> None:
        """Take the group's sync window and budgets (:mod:`sync.client.policy`)."""
        from sync.client.policy import fetch_policy, in_window, tighter

        policy = fetch_policy(self, _fresh_nonce())
        mb = 2**20
        self.meter.run_budget = tighter(self.meter.run_budget, policy["run_budget_mb"] * mb)
        self.meter.month_budget = tighter(self.meter.month_budget, policy["month_budget_mb"] * mb)
        if self.hub_now is not None:
            self.in_window = in_window(policy["window"], self.hub_now, self.settings.get("utc_offset_hours", 7))

    def authenticate(self) -> None:
        """Sign the hub's challenge; keep the session token in the transport."""
        self.transport.token = None
        device_id = self.device["device_id"]
        nonce = self._json("POST", "/v1/auth/challenge", {"device_id": device_id}).get("nonce")
        if not isinstance(nonce, str):
            raise HubError("auth: no challenge in the hub's answer", status=200)
        signature = self.key.sign(canonical_json({"type": "readpoint.auth", "device_id": device_id, "nonce": nonce}))
        token = self._json("POST", "/v1/auth/token", {"device_id": device_id, "nonce": nonce,
                                                      "signature": signature}).get("token")
        if not isinstance(token, str):
            raise HubError("auth: no token in the hub's answer", status=200)
        self.transport.token = token

    def _json(self, method: str, path: str, body: dict | None = None) -> dict:
        """A JSON call, with one new session on 401 (an expired token)."""
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        answer = self._call(method, path, data, headers, MAX_SMALL_JSON)
        decoded = answer.json(path)
        if not isinstance(decoded, dict):
            raise NotJson(f"{path}: not a JSON object")
        return decoded

    def _call(self, method, path, data, headers, max_bytes):
        """``transport.call`` that signs in again once when the token has expired."""
        try:
            return self.transport.call(method, path, body=data, headers=headers, max_bytes=max_bytes)
        except HubError as error:
            if error.status != 401 or not self.transport.token:
                raise
            log.info("session expired: signing in again")
            self.authenticate()
            return self.transport.call(method, path, body=data, headers=headers, max_bytes=max_bytes)

    # -- 3: usage ----------------------------------------------------------

    def _signed_ack(self, body: bytes) -> int:
        """The watermark in a signed ack for this device."""
        signed = open_envelope(body, self.hub_key, "ack")
        if signed.get("device_id") != self.device["device_id"] or not isinstance(signed.get("acked_through"), int):
            raise BadSignature("ack: signed for another device")
        return signed["acked_through"]

    def upload_usage(self) -> None:
        """Send batches after the hub's watermark; prune what it acknowledges."""
        local_acked = self.state.state()["usage_acked_through"]
        if last_seq(self.catalog) <= local_acked:
            return  # nothing new since the last acknowledgement: no request at all
        device_path = f"/v1/devices/{self.device['device_id']}"
        acked = self._signed_ack(self._call("GET", device_path + "/ack", None, None, MAX_SMALL_JSON).body)
        self._acknowledged(acked)
        for _ in range(MAX_BATCHES_PER_RUN):
            batch = usage_batch(self.catalog, acked)
            if batch is None:
                return
            body = batch_body(self.device["device_id"], batch)
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: self.key.sign(body)}
            try:
                answer = self._call("POST", device_path + "/batches", body, headers, MAX_SMALL_JSON)
            except HubError as error:
                if error.status != 409:
                    raise
                log.info("usage: the hub expects %s; asking for its watermark", error.body.get("expected_from"))
                acked = self._signed_ack(self._call("GET", device_path + "/ack", None, None, MAX_SMALL_JSON).body)
                self._acknowledged(acked)
                continue
            new_acked = self._signed_ack(answer.body)
            if new_acked >= batch.last:
                self.report.events_sent += batch.events
            acked = new_acked
            self._acknowledged(acked)

    def _acknowledged(self, acked: int) -> None:
        """Prune events the hub has (once the librarian's daily counts hold them) and remember its watermark."""
        usage_stats.roll_up(self.catalog, self.settings.get("utc_offset_hours", 7))
        prune_through(self.catalog, acked)
        self.state.set(usage_acked_through=acked)

    # -- 4: release --------------------------------------------------------

    def fetch_release(self) -> None:
        """Check the newest release against what was applied; stage a newer one's catalog."""
        number, digest, size = self.source.pointer()
        saved = self.state.state()
        applied = saved["applied_release"]
        if number < applied:
            raise Rollback(f"the hub offers release {number}, older than the applied {applied}: refused")
        if number == applied:
            if number and digest != saved["manifest_sha256"]:
                raise Equivocation(f"release {number} now has other bytes than the ones applied: refused")
            return
        if saved["incoming_release"]:
            if saved["incoming_release"] == number:
                if digest != saved["incoming_manifest_sha256"]:
                    raise Equivocation(f"release {number} now has other bytes than the ones fetched: refused")
                return  # already staged by an earlier run
            if number < saved["incoming_release"]:
                raise Rollback(f"the hub offers release {number}, older than the fetched "
                               f"{saved['incoming_release']}: refused")
        manifest = self._manifest(number, digest, size)
        self._stage_catalog(number, digest, manifest, applied)

    def _manifest(self, number: int, digest, size) -> dict:
        """Release ``number``'s manifest, checked against the pointer and its signature."""
        if not isinstance(size, int) or not 0 < size <= MAX_MANIFEST or not isinstance(digest, str):
            raise BadSignature("latest: no valid manifest hash and size")
        body = self.source.manifest(number, size)
        if len(body) != size or hashlib.sha256(body).hexdigest() != digest:
            raise ArtifactMismatch(f"manifest {number}: its bytes do not match the signed pointer")
        manifest = open_envelope(body, self.hub_key, "manifest", max_bytes=MAX_MANIFEST)
        if manifest.get("release") != number or not isinstance(manifest.get("catalog"), list):
            raise BadSignature(f"manifest {number}: it is signed for release {manifest.get('release')}")
        return manifest

    def _stage_catalog(self, number: int, digest: str, manifest: dict, applied: int) -> None:
        """Fetch the delta from ``applied`` (else the snapshot), verify it, stage its lines."""
        artifacts = {(a.get("kind"), a.get("from")): a for a in manifest["catalog"] if isinstance(a, dict)}
        choices = []
        if applied and ("delta", applied) in artifacts:
            choices.append(artifacts[("delta", applied)])
        if ("snapshot", 0) in artifacts:
            choices.append(artifacts[("snapshot", 0)])
        if not choices:
            raise BadSignature(f"manifest {number}: no catalog file this box can use")
        for artifact in choices:
            try:
                self._stage_artifact(number, digest, artifact)
                return
            except Missing as error:
                if artifact is choices[-1]:
                    raise
                log.info("catalog %s: %s; using the snapshot", artifact.get("name"), error)

    def _stage_artifact(self, number: int, digest: str, artifact: dict) -> None:
        """Download one catalog file (resumable, verified) and stage its lines as incoming."""
        sha, size, name = artifact.get("sha256"), artifact.get("size"), artifact.get("name")
        if not (isinstance(sha, str) and isinstance(size, int) and isinstance(name, str)):
            raise BadSignature("manifest: a catalog file without hash, size or name")
        self.source.fetch_catalog(number, name, sha, size)
        lines = read_catalog(self.downloads.partial(sha, size).path, raw_size=artifact.get("raw_size", -1),
                             lines=artifact.get("lines", -1))
        try:
            staged = self.state.stage_incoming(number, digest, lines, snapshot=artifact.get("kind") == "snapshot")
        finally:
            self.downloads.forget(sha, size)
        log.info("release %d: %d catalog lines staged from %s", number, staged, name)

    # -- 5: content --------------------------------------------------------

    def fetch_content(self) -> None:
        """Download the files staged books need: covers, e-books, audio; smallest first."""
        wanted = [f for f in self.state.wanted_files() if not self.downloads.complete(f["sha256"])]

        def rank(item: dict) -> tuple:
            role = ROLE_RANK.get(item["role"], 1 if item["format"] != "audio" else 2)
            return role, item["size"], item["sha256"]

        self.source.check_room(wanted)
        skipped = 0
        failed = False
        for item in sorted(wanted, key=rank):
            try:
                self.source.fetch_file(item["sha256"], item["size"])
                self.report.files_downloaded += 1
            except (BudgetSpent, Missing):
                skipped += 1
            except (ArtifactMismatch, TooLarge) as error:
                self.report.errors.append(str(error))
                failed = True
            except (StorageFull, LinkError, HubError, NotJson) as error:
                self.report.errors.append(str(error))
                failed = True
                break
        if skipped:
            log.info("%d files wait for the next sync (byte budget reached, or not on the stick)", skipped)
        return not (failed and self.source.all_or_nothing)

    # -- 6: apply ----------------------------------------------------------

    def apply(self) -> None:
        """Apply staged removals and complete books, with the release number, in one transaction."""
        saved = self.state.state()
        incoming = saved["incoming_release"]
        ids = [row[0] for row in self.catalog.db.execute(
            "SELECT book_id FROM sync_entries ORDER BY state, book_id").fetchall()]
        if not ids and not incoming:
            return
        books = self.library.books
        added = removed = 0
        with books.transaction():
            db = self.catalog.db
            for book_id in ids:
                row = db.execute("SELECT release, op, entry, state FROM sync_entries WHERE book_id = ?",
                                 [book_id]).fetchone()
                release, op, entry = row[0], row[1], json.loads(row[2])
                if op == "remove":
                    existing = self.catalog.get_book(book_id)
                    if existing is not None and existing["origin"] == "hub":
                        removed += books.remove(book_id, actor="hub")
                    db.execute("DELETE FROM sync_entries WHERE book_id = ?", [book_id])
                    continue
                hashes = [f["sha256"] for f in entry["files"]]
                if not all(self.downloads.complete(sha) for sha in hashes):
                    db.execute("UPDATE sync_entries SET state = 'waiting' WHERE book_id = ?", [book_id])
                    continue
                for sha in hashes:
                    self.downloads.install(sha)
                entry.pop("op", None)
                try:
                    outcome = books.upsert_from_hub(entry, release=release)
                except ContentError as error:
                    self.report.errors.append(f"book {book_id}: {error}")
                    outcome = "refused"
                added += outcome == "added"
                db.execute("DELETE FROM sync_entries WHERE book_id = ?", [book_id])
                db.conn.executemany("DELETE FROM downloads WHERE sha256 = ?", [(sha,) for sha in hashes])
            if incoming:
                self.state.update(db, applied_release=incoming, manifest_sha256=saved["incoming_manifest_sha256"],
                                  incoming_release=0, incoming_manifest_sha256=None)
        self.report.books_added += added
        self.report.books_removed += removed
        if incoming:
            log.info("release %d applied: %d books added, %d removed", incoming, added, removed)

    # -- 7: status ---------------------------------------------------------

    def send_status(self) -> None:
        """Tell the hub where this box stands."""
        self._json("POST", f"/v1/devices/{self.device['device_id']}/status", self.status_fields())

    def status_fields(self) -> dict:
        """Where this box stands (sent to the hub, or left on a stick)."""
        saved = self.state.state()
        return {
            "applied_release": saved["applied_release"],
            "books": self.catalog.count_books(),
            "waiting_books": self.state.count_entries("waiting"),
            "disk_free_bytes": shutil.disk_usage(self.library.data_dir).free,
            "clock_offset_seconds": self.clock_offset,
            "app_version": _app_version(),
            "errors": self.report.errors[-10:],
        }

