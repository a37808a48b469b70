"""What travels between a box and the hub, and the rules both sides check.

Every document the hub vouches for is a **signed envelope**::

    {"signed": {"type": "readpoint.<kind>", ...}, "key_id": "<16 hex>", "signature": "<base64>"}

where the signature is Ed25519 over :func:`sync.signing.canonical_json` of
``signed``. The ``type`` inside the signed part stops one kind being passed off
as another (a time answer as a release pointer). Kinds:

- ``readpoint.time``: ``{nonce, now}``, the hub's clock (unix seconds), fresh by the box's nonce.
- ``readpoint.latest``: ``{nonce, release, manifest_sha256, manifest_size}``, the newest release.
- ``readpoint.manifest``: ``{spec, release, prev_release, published_at, books, catalog: [artifact]}``,
  each artifact ``{name, kind: "snapshot"|"delta", from, sha256, size, raw_size, lines}``.
  Content files are pinned by the catalog entries (``files[].sha256``/``size``), which
  the manifest pins in turn, so one signature covers every byte of a release.

A **catalog file** is gzip-compressed JSON Lines: one book per line, either an
upsert (the entry shape of ``library.books.upsert_from_hub`` plus ``"op": "upsert"``)
or a tombstone ``{"op": "remove", "id": ...}``. ``delta-<from>-<to>`` holds what
changed after release ``from``; ``snapshot-<n>`` every book of release ``n``.

A **USB bundle** (``READPOINT_BUNDLE/`` on a stick, for boxes that never see a
network) holds ``manifest.json`` (a release's signed manifest, byte for byte),
``catalog/<sha256>`` and ``files/<sha256>`` (catalog and content files, named
by their hash only), ``acks/<device_id>.json`` (the hub's signed ``readpoint.ack``
per box) and ``outbox/``, where a box leaves its signed usage batches
(``usage-<device_id>-<from>-<to>.json`` with the body, ``.sig`` with its
signature) and its signed status (``status-<device_id>.json`` / ``.sig``).

A **usage batch** is the box's events ``seq`` ``from``..``to`` as hourly counts
``[hour, book_id, kind, count]`` and searched-but-not-found terms ``[hour, term, count]``,
signed by the box's key over the exact body bytes (header :data:`SIGNATURE_HEADER`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from sync.errors import BadSignature, NotJson, TooLarge
from sync.signing import SigningKey, canonical_json, verify

__all__ = [
    "SPEC",
    "SIGNATURE_HEADER",
    "MAX_SMALL_JSON",
    "MAX_MANIFEST",
    "MAX_BATCH",
    "MAX_CATALOG_LINE",
    "CATALOG_NAME",
    "NONCE",
    "seal",
    "open_envelope",
    "parse_json",
    "catalog_name",
    "write_catalog",
    "read_catalog",
    "check_entry",
    "check_batch",
    "EVENT_KINDS_SENT",
    "BOOK_ID",
    "BUNDLE_DIR",
    "OUTBOX_NAME",
]

SPEC = 1
SIGNATURE_HEADER = "X-Readpoint-Signature"
MAX_SMALL_JSON = 64 * 1024            # time, latest, ack, auth answers
MAX_MANIFEST = 1024 * 1024
MAX_BATCH = 1024 * 1024
MAX_CATALOG_LINE = 32 * 1024 * 1024   # one book with its full text
CATALOG_NAME = re.compile(r"(snapshot-(\d+)|delta-(\d+)-(\d+))\.jsonl\.gz")
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
BOOK_ID = re.compile(r"[0-9a-f]{16}")
SHA256 = re.compile(r"[0-9a-f]{64}")
HOUR = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}")
FORMATS = ("epub", "pdf", "audio")
ROLES = ("primary", "chapter", "cover")
BUNDLE_DIR = "READPOINT_BUNDLE"
OUTBOX_NAME = re.compile(r"(usage-([0-9a-f]{8,64})-(\d{1,18})-(\d{1,18})|status-([0-9a-f]{8,64}))\.json")
EVENT_KINDS_SENT = ("view", "read", "listen", "download", "search", "search_empty")


def seal(key: SigningKey, signed: dict) -> bytes:
    """The envelope bytes of ``signed`` (which must carry a ``type``), signed by ``key``."""
    if not str(signed.get("type", "")).startswith("readpoint."):
        raise ValueError("a signed document needs a readpoint.* type")
    envelope = {"signed": signed, "key_id": key.key_id, "signature": key.sign(canonical_json(signed))}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_json(data: bytes, *, what: str) -> object:
    """Decode JSON; a body that is not JSON (an HTML login page) is NotJson."""
    head = data[:512].lstrip().lower()
    if head.startswith(b"<"):
        raise NotJson(f"{what}: a web page came back instead of the hub's answer "
                      "(a Wi-Fi login page? log in to the network first)")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise NotJson(f"{what}: the answer is not JSON") from error


def open_envelope(data: bytes, public_b64: str, kind: str, *, max_bytes: int = MAX_SMALL_JSON) -> dict:
    """The verified ``signed`` part of an envelope of ``kind``; TrustError otherwise."""
    if len(data) > max_bytes:
        raise TooLarge(f"{kind}: {len(data)} bytes, more than the {max_bytes} allowed")
    envelope = parse_json(data, what=kind)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signed"), dict):
        raise BadSignature(f"{kind}: not a signed envelope")
    signed = envelope["signed"]
    if signed.get("type") != f"readpoint.{kind}":
        raise BadSignature(f"{kind}: the signed document is a {signed.get('type')!r}")
    signature = envelope.get("signature")
    if not isinstance(signature, str):
        raise BadSignature(f"{kind}: no signature")
    try:
        message = canonical_json(signed)
    except ValueError as error:
        raise BadSignature(f"{kind}: {error}") from error
    verify(public_b64, message, signature)
    return signed


def catalog_name(release: int, from_release: int | None = None) -> str:
    """The file name of release ``release``'s snapshot, or of its delta from ``from_release``."""
    if from_release is None:
        return f"snapshot-{release}.jsonl.gz"
    return f"delta-{from_release}-{release}.jsonl.gz"


def write_catalog(path: Path, lines: Iterator[dict]) -> tuple[int, int]:
    """Write catalog lines gzip-compressed to ``path`` and fsync it; return (uncompressed bytes, lines)."""
    raw = count = 0
    with open(path, "wb") as target:
        with gzip.GzipFile(filename="", mode="wb", fileobj=target, mtime=0) as out:
            for line in lines:
                data = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
                out.write(data)
                raw += len(data)
                count += 1
        target.flush()
        os.fsync(target.fileno())
    return raw, count


def read_catalog(path: Path, *, raw_size: int, lines: int) -> Iterator[dict]:
    """Yield the lines of a verified catalog file, refusing more bytes or lines than declared."""
    seen_bytes = seen_lines = 0
    with gzip.open(path, "rb") as handle:
        while True:
            data = handle.readline(MAX_CATALOG_LINE + 1)
            if not data:
                break
            seen_bytes += len(data)
            seen_lines += 1
            if seen_bytes > raw_size or seen_lines > lines or len(data) > MAX_CATALOG_LINE:
                raise TooLarge(f"{path.name}: more than the declared {raw_size} bytes / {lines} lines")
            try:
                line = json.loads(data)
            except ValueError as error:
                raise BadSignature(f"{path.name}: line {seen_lines} is not JSON") from error
            yield check_entry(line)
    if seen_bytes != raw_size or seen_lines != lines:
        raise TooLarge(f"{path.name}: {seen_bytes} bytes / {seen_lines} lines, not the declared "
                       f"{raw_size} / {lines}")


def _fail(message: str):
    """Raise BadSignature for a malformed line (it came signed, so the hub is broken or lying)."""
    raise BadSignature(f"catalog: {message}")


def check_entry(line: object) -> dict:
    """``line`` if it is a well-formed upsert or tombstone; BadSignature otherwise."""
    if not isinstance(line, dict) or line.get("op") not in ("upsert", "remove"):
        _fail("a line is neither an upsert nor a remove")
    if not isinstance(line.get("id"), str) or not BOOK_ID.fullmatch(line["id"]):
        _fail(f"bad book id {line.get('id')!r}")
    if line["op"] == "remove":
        return line
    if line.get("format") not in FORMATS or not isinstance(line.get("title"), str):
        _fail(f"book {line['id']}: bad format or title")
    files = line.get("files")
    if not isinstance(files, list) or not files:
        _fail(f"book {line['id']}: no files")
    for item in files:
        if (not isinstance(item, dict) or not isinstance(item.get("sha256"), str)
                or not SHA256.fullmatch(item["sha256"]) or not isinstance(item.get("size"), int)
                or item["size"] < 0 or item.get("role") not in ROLES):
            _fail(f"book {line['id']}: a file is malformed")
    return line


def check_batch(batch: object) -> dict:
    """A usage batch if well-formed (ranges, hours, kinds, counts); ValueError otherwise."""
    if not isinstance(batch, dict) or batch.get("type") != "readpoint.usage":
        raise ValueError("not a usage batch")
    first, last = batch.get("from"), batch.get("to")
    if not (isinstance(first, int) and isinstance(last, int) and 1 <= first <= last):
        raise ValueError("from/to must be whole numbers with 1 <= from <= to")
    for row in batch.get("hours", []):
        if not (isinstance(row, list) and len(row) == 4 and isinstance(row[0], str) and HOUR.fullmatch(row[0])
                and (row[1] is None or isinstance(row[1], str) and len(row[1]) <= 64)
                and row[2] in EVENT_KINDS_SENT and isinstance(row[3], int) and row[3] > 0):
            raise ValueError(f"bad hourly count {row!r}")
    for row in batch.get("missed", []):
        if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and HOUR.fullmatch(row[0])
                and isinstance(row[1], str) and 0 < len(row[1]) <= 200 and isinstance(row[2], int)
                and row[2] > 0):
            raise ValueError(f"bad search term count {row!r}")
    return batch
