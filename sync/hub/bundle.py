"""USB bundles for boxes that never see a network: ``readpoint hub bundle`` and ``bundle-return``.

A bundle is the newest release laid out for a stick (the layout is in
:mod:`sync.protocol`): its signed manifest byte for byte, its snapshot catalog
(and the delta from ``--from N`` when the manifest has one), the content files
of the books a box needs (every book, or those changed after release N), the
hub's signed ack for every box (of ``--group`` only, when given: every group
gets the same release until releases can target groups), and an empty ``outbox/``. Files are named by
their sha256 only. The folder is built as ``.READPOINT_BUNDLE.part`` and renamed
when every file is written and fsynced, so a stick pulled while the hub writes
it never holds something that looks whole.

``bundle-return`` takes in the usage batches boxes left in ``outbox/`` through
:meth:`sync.hub.hub.Hub.take_batch`, the same check and exactly-once watermark
as ``POST /v1/devices/{id}/batches``: a second return of the same stick changes
nothing. File names on a returned stick are hints: each batch must verify with
its device's key and name that device inside the signed bytes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from pathlib import Path

from content.store import fsync_path
from sync.client.bundle import DIR_FLAGS, FILE_FLAGS, find_bundle
from sync.errors import BadSignature, SyncError
from sync.hub.hub import BatchRefused, Hub
from sync.protocol import BUNDLE_DIR, MAX_BATCH, OUTBOX_NAME
from sync.signing import verify

__all__ = ["write_bundle", "take_returns"]

log = logging.getLogger(__name__)

MAX_SIGNATURE = 1024


def write_bundle(hub: Hub, out: Path, *, group: str | None = None, from_release: int | None = None) -> dict:
    """Write ``out/READPOINT_BUNDLE`` for the newest release; return a summary."""
    if group and not hub.storage.group_exists(group):
        raise SyncError(f"no group of boxes is named {group!r} on this hub")
    latest = hub.storage.latest_release()
    if latest is None:
        raise SyncError("nothing is published yet: `readpoint hub publish` first")
    number = latest["number"]
    if from_release is not None and not 0 <= from_release <= number:
        raise SyncError(f"--from {from_release}: the newest release is {number}")
    out = Path(out)
    target = out / BUNDLE_DIR
    if target.exists() or target.is_symlink():
        raise SyncError(f"{target} already exists: remove it (or use another stick) first")
    manifest = hub.manifest_path(number).read_bytes()
    artifacts = {(a["kind"], a["from"]): a for a in json.loads(manifest)["signed"]["catalog"]}
    chosen = [artifacts[("snapshot", 0)]]
    if from_release and ("delta", from_release) in artifacts:
        chosen.append(artifacts[("delta", from_release)])
    out.mkdir(parents=True, exist_ok=True)
    building = out / f".{BUNDLE_DIR}.part"
    shutil.rmtree(building, ignore_errors=True)
    for name in ("catalog", "files", "acks", "outbox"):
        (building / name).mkdir(parents=True)
    for artifact in chosen:
        _copy(hub.catalog_path(number, artifact["name"]), building / "catalog" / artifact["sha256"])
    books = files = size = 0
    seen: set[str] = set()
    with hub.storage.transaction(write=False) as tx:
        for line in hub.storage.catalog_lines(tx, from_release or None):
            if line["op"] != "upsert":
                continue
            books += 1
            for item in line["files"]:
                if item["sha256"] in seen:
                    continue
                seen.add(item["sha256"])
                _copy(hub.store.path_for(item["sha256"]), building / "files" / item["sha256"])
                files += 1
                size += item["size"]
    for device_id, acked in hub.storage.device_watermarks(group):
        _write(building / "acks" / f"{device_id}.json", hub.signed_ack(device_id, acked, "current"))
    _write(building / "manifest.json", manifest)
    for name in ("catalog", "files", "acks", "outbox", "."):
        fsync_path(building / name)
    os.rename(building, target)
    fsync_path(out)
    log.info("bundle of release %d written to %s: %d books, %d files", number, target, books, files)
    return {"release": number, "from": from_release or 0, "group": group or "", "books": books, "files": files, "bytes": size,
            "path": str(target)}


def _copy(source: Path, target: Path) -> None:
    """Copy one file and fsync it."""
    with open(source, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())


def _write(path: Path, data: bytes) -> None:
    """Write a small file and fsync it."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _read(folder: int, name: str, limit: int) -> bytes | None:
    """A regular file of at most ``limit`` bytes in ``folder``, or None (absent, a link, too big)."""
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=folder)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def take_returns(hub: Hub, folder: Path) -> dict:
    """Take in the usage batches and statuses in a returned bundle's ``outbox/``; a summary."""
    root = find_bundle(folder)
    try:
        outbox = os.open("outbox", DIR_FLAGS, dir_fd=root)
    except FileNotFoundError:
        raise SyncError(f"no outbox/ in the bundle at {folder}") from None
    except OSError as error:
        raise SyncError("outbox/ in the bundle is a link or not a folder: refused") from error
    finally:
        os.close(root)
    summary = {"batches": 0, "accepted": 0, "duplicate": 0, "gap": 0, "statuses": 0, "refused": []}
    try:
        found = []
        for name in os.listdir(outbox):
            match = OUTBOX_NAME.fullmatch(name)
            if match and match.group(2):
                found.append((0, match.group(2), int(match.group(3)), name))
            elif match:
                found.append((1, match.group(5), 0, name))
        for kind, device_id, _first, name in sorted(found):
            try:
                outcome = _take(hub, outbox, name, device_id, kind)
            except (BatchRefused, BadSignature) as error:
                summary["refused"].append(f"{name}: {error}")
                continue
            if kind == 0:
                summary["batches"] += 1
                summary[outcome] += 1
            else:
                summary["statuses"] += 1
    finally:
        os.close(outbox)
    log.info("bundle return: %s", summary)
    return summary


def _take(hub: Hub, outbox: int, name: str, device_id: str, kind: int) -> str:
    """Take one batch (its outcome) or status file; BatchRefused / BadSignature when not believed."""
    body = _read(outbox, name, MAX_BATCH)
    signature = _read(outbox, name.removesuffix(".json") + ".sig", MAX_SIGNATURE)
    if body is None or signature is None:
        raise BatchRefused("missing, too large, or not a plain file (or its .sig is)")
    device = hub.storage.device(device_id)
    if device is None or device["revoked"]:
        raise BatchRefused("no such box on this hub (or it was revoked)")
    if kind == 0:
        return hub.take_batch(device, body, signature.decode("ascii", "replace").strip()).outcome
    verify(device["public_key"], body, signature.decode("ascii", "replace").strip())
    try:
        status = json.loads(body)
    except ValueError as error:
        raise BatchRefused("the status is not JSON") from error
    if not isinstance(status, dict) or status.get("type") != "readpoint.status" or status.get("device_id") != device_id:
        raise BatchRefused("not a status of this box")
    fields = {k: v for k, v in status.items() if k not in ("type", "device_id")}
    hub.storage.set_status(device_id, {**fields, "via": "bundle"})
    return "status"
