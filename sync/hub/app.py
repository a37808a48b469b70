"""The hub's HTTP API: a Flask app of its own (``readpoint hub serve`` runs it under waitress).

Paths are fixed by the protocol (:mod:`sync.protocol`)::

    GET  /v1/time?nonce=                      signed hub time
    POST /v1/enroll                           {code, public_key, signature} -> {device_id, name, hub_key_id}
    POST /v1/auth/challenge                   {device_id} -> {nonce}
    POST /v1/auth/token                       {device_id, nonce, signature} -> {token, expires_in}
    GET  /v1/releases/latest?nonce=           signed pointer to the newest release
    GET  /v1/releases/<n>/manifest            signed manifest (immutable)
    GET  /v1/releases/<n>/catalog/<file>      snapshot or delta (immutable, Range)
    GET  /files/<sha256>                      content (immutable, Range + If-Range)
    GET  /v1/devices/<id>/ack                 signed {acked_through}            (token)
    GET  /v1/devices/<id>/policy?nonce=       signed window and budgets of its group (token)
    POST /v1/devices/<id>/batches             usage batch, signed by the box    (token)
    POST /v1/devices/<id>/status              the box's state                   (token)

    /staff/...                                staff pages (sync.hub.staff)      (staff login)

Every error of the API is JSON ``{"error": "..."}``; a usage gap is 409 with ``expected_from``.
Expiry of challenges and tokens is checked on the hub's clock only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets

from flask import Flask, Response, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from content.http_ranges import plan_file_response, read_range
from content.store import is_sha256
from sync.errors import BadSignature, ConfigError
from sync.hub.hub import BatchRefused, Hub, code_hash
from sync.protocol import (
    CATALOG_NAME,
    MAX_BATCH,
    NONCE,
    SIGNATURE_HEADER,
    seal,
)
from sync.signing import canonical_json, parse_public_key, verify

__all__ = ["create_app", "CHALLENGE_SECONDS", "TOKEN_SECONDS"]

log = logging.getLogger(__name__)

CHALLENGE_SECONDS = 60
TOKEN_SECONDS = 3600
JSON_TYPE = "application/json"


def create_app(hub: Hub) -> Flask:
    """The API over an open :class:`Hub`."""
    app = Flask("readpoint.hub")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BATCH
    app.extensions["hub"] = hub

    @app.errorhandler(HTTPException)
    def _json_error(error: HTTPException):
        """Every HTTP error as the one JSON shape."""
        body = {"error": error.description}
        body.update(getattr(error, "extra", None) or {})
        return jsonify(body), error.code

    _time_and_releases(app, hub)
    _enrollment(app, hub)
    _devices(app, hub)
    from sync.hub.staff import install

    install(app, hub)
    return app


def _fail(status: int, message: str, **extra):
    """Abort with a JSON error carrying ``extra`` fields."""
    try:
        abort(status, description=message)
    except HTTPException as error:
        error.extra = extra
        raise


def _signed(hub: Hub, signed: dict) -> Response:
    """A signed envelope as a JSON response that no cache keeps."""
    return Response(seal(hub.key, signed), mimetype=JSON_TYPE, headers={"Cache-Control": "no-store"})


def _nonce(required: bool) -> str | None:
    """The request's ``nonce`` parameter, checked."""
    nonce = request.args.get("nonce")
    if nonce is None and not required:
        return None
    if nonce is None or not NONCE.fullmatch(nonce):
        _fail(400, "nonce: 16 to 64 letters, digits, - or _")
    return nonce


def _body() -> dict:
    """The request's JSON object body, or 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        _fail(400, "a JSON object body is required")
    return data


def _immutable(path, etag: str, media_type: str) -> Response:
    """Serve an immutable file with Range, If-Range and ETag."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        _fail(404, "no such file")
    plan = plan_file_response(request.headers, size, etag)
    if plan.status in (304, 416):
        return Response(status=plan.status, headers=plan.headers)
    body = read_range(path, plan.start, plan.length) if request.method != "HEAD" else []
    return Response(body, status=plan.status, headers=plan.headers, mimetype=media_type, direct_passthrough=True)


def _time_and_releases(app: Flask, hub: Hub) -> None:
    """Time, release pointer, manifests, catalog files and content."""

    @app.get("/v1/time")
    def hub_time():
        """The hub's clock, signed, fresh by the caller's nonce."""
        return _signed(hub, {"type": "readpoint.time", "nonce": _nonce(True), "now": hub.storage.now()})

    @app.get("/v1/releases/latest")
    def latest():
        """The newest release number with its manifest's hash and size, signed."""
        release = hub.storage.latest_release()
        signed = {"type": "readpoint.latest", "release": 0, "manifest_sha256": None, "manifest_size": 0}
        if release:
            signed.update(release=release["number"], manifest_sha256=release["manifest_sha256"],
                          manifest_size=release["manifest_size"])
        nonce = _nonce(False)
        if nonce is not None:
            signed["nonce"] = nonce
        return _signed(hub, signed)

    @app.get("/v1/releases/<int:number>/manifest")
    def manifest(number: int):
        """A release's signed manifest (410 when the hub no longer keeps it)."""
        if not hub.storage.release_exists(number):
            _fail(404, f"no release {number}")
        path = hub.manifest_path(number)
        if not path.is_file():
            _fail(410, f"release {number} is no longer kept: fetch the latest")
        return _immutable(path, f"manifest-{number}", JSON_TYPE)

    @app.get("/v1/releases/<int:number>/catalog/<name>")
    def catalog_file(number: int, name: str):
        """A snapshot or delta of a release."""
        match = CATALOG_NAME.fullmatch(name)
        if not match or int(match.group(2) or match.group(4)) != number:
            _fail(404, "no such catalog file")
        if not hub.storage.release_exists(number):
            _fail(404, f"no release {number}")
        path = hub.catalog_path(number, name)
        sha256 = hub.catalog_sha256(number, name)
        if not path.is_file() or sha256 is None:
            _fail(410, f"{name} is no longer kept: use the snapshot")
        return _immutable(path, sha256, "application/gzip")

    @app.route("/files/<sha256>", methods=["GET", "HEAD"])
    def content_file(sha256: str):
        """A published content file, by its hash."""
        if not is_sha256(sha256) or not hub.store.has(sha256):
            _fail(404, "no such file")
        return _immutable(hub.store.path_for(sha256), sha256, "application/octet-stream")


def _enrollment(app: Flask, hub: Hub) -> None:
    """Enrollment with a one-time code, and sessions from a signed challenge."""

    @app.post("/v1/enroll")
    def enroll():
        """Bind a box's public key to a new device id, using a one-time code once."""
        body = _body()
        code, public_key, signature = body.get("code"), body.get("public_key"), body.get("signature")
        if not all(isinstance(v, str) for v in (code, public_key, signature)):
            _fail(400, "code, public_key and signature are required")
        try:
            parse_public_key(public_key)
            verify(public_key, canonical_json({"type": "readpoint.enroll", "code": code,
                                               "public_key": public_key}), signature)
        except (ConfigError, BadSignature):
            _fail(400, "the key or its signature is not valid")
        device = hub.storage.enroll(code_hash(code), secrets.token_hex(8), public_key)
        if device is None:
            _fail(403, "this enrollment code is unknown, used or expired")
        log.info("enrolled device %s (%s)", device["device_id"], device["name"])
        return jsonify({**device, "hub_key_id": hub.key.key_id})

    @app.post("/v1/auth/challenge")
    def challenge():
        """A nonce for the device to sign (valid CHALLENGE_SECONDS on the hub's clock)."""
        device = _known_device(_body().get("device_id"))
        nonce = secrets.token_urlsafe(24)
        hub.storage.add_challenge(nonce, device["device_id"], CHALLENGE_SECONDS)
        return jsonify({"nonce": nonce})

    @app.post("/v1/auth/token")
    def token():
        """A session token for a device that signed its challenge."""
        body = _body()
        device = _known_device(body.get("device_id"))
        nonce, signature = body.get("nonce"), body.get("signature")
        if not isinstance(nonce, str) or not isinstance(signature, str):
            _fail(400, "nonce and signature are required")
        message = canonical_json({"type": "readpoint.auth", "device_id": device["device_id"], "nonce": nonce})
        try:
            verify(device["public_key"], message, signature)
        except BadSignature:
            _fail(401, "the challenge signature does not verify")
        if not hub.storage.take_challenge(nonce, device["device_id"]):
            _fail(401, "the challenge is unknown, used or expired: ask for a new one")
        value = secrets.token_urlsafe(32)
        hub.storage.add_token(_hash(value), device["device_id"], TOKEN_SECONDS)
        return jsonify({"token": value, "expires_in": TOKEN_SECONDS})

    def _known_device(device_id) -> dict:
        """The device row for an id in a request, or 404/403."""
        device = hub.storage.device(device_id) if isinstance(device_id, str) else None
        if device is None:
            _fail(404, "unknown device: enroll it first")
        if device["revoked"]:
            _fail(403, "this device is revoked")
        return device


def _hash(value: str) -> str:
    """What the hub keeps of a token."""
    return hashlib.sha256(value.encode("ascii", "replace")).hexdigest()


def _devices(app: Flask, hub: Hub) -> None:
    """Per-device endpoints (bearer token of that device)."""

    def authorise(device_id: str) -> dict:
        """The device, if the request carries a live token of it; 401/403 otherwise."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            _fail(401, "a session token is required")
        owner = hub.storage.token_device(_hash(header[7:].strip()))
        if owner is None:
            _fail(401, "the session token is unknown or expired")
        if owner != device_id:
            _fail(403, "this token belongs to another device")
        g.device = hub.storage.device(device_id)
        return g.device

    def ack(device_id: str, acked: int, outcome: str) -> Response:
        """The signed watermark of a device."""
        return _signed(hub, {"type": "readpoint.ack", "device_id": device_id, "acked_through": acked,
                             "outcome": outcome})

    @app.get("/v1/devices/<device_id>/policy")
    def get_policy(device_id: str):
        """The sync window and budgets of the box's group, signed and fresh by its nonce."""
        authorise(device_id)
        return _signed(hub, {"type": "readpoint.policy", "device_id": device_id, "nonce": _nonce(True),
                             **hub.storage.device_policy(device_id)})

    @app.get("/v1/devices/<device_id>/ack")
    def get_ack(device_id: str):
        """How far the hub has this device's usage log."""
        device = authorise(device_id)
        return ack(device_id, device["acked_through"], "current")

    @app.post("/v1/devices/<device_id>/batches")
    def post_batch(device_id: str):
        """Take one usage batch exactly once (duplicate: acked again; gap: 409)."""
        device = authorise(device_id)
        raw = request.get_data(cache=False)
        try:
            result = hub.take_batch(device, raw, request.headers.get(SIGNATURE_HEADER, ""))
        except BatchRefused as error:
            _fail(400, str(error))
        if result.outcome == "gap":
            _fail(409, f"expected a batch starting at {result.acked_through + 1}",
                  expected_from=result.acked_through + 1, acked_through=result.acked_through)
        return ack(device_id, result.acked_through, result.outcome)

    @app.post("/v1/devices/<device_id>/status")
    def post_status(device_id: str):
        """Keep the box's report: applied release, books, disk, errors, clock."""
        authorise(device_id)
        hub.storage.set_status(device_id, _body())
        return jsonify({"ok": True})
