"""Ed25519 keys and signatures, and the canonical JSON that is signed.

The only module that imports ``cryptography``. A public key travels as the
standard base64 of its 32 raw bytes (what provisioning writes into
``hub_public_key``); its ``key_id`` is the first 16 hex digits of the sha256 of
those bytes. A private key is kept as PKCS #8 PEM in a file of mode 0600,
written durably (temporary file, fsync, rename), never anywhere else.

Canonical JSON: keys sorted, no spaces, UTF-8, floats refused (every number that
is signed is an integer), so the same object always gives the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from sync.errors import BadSignature, ConfigError

__all__ = [
    "SigningKey",
    "canonical_json",
    "key_id",
    "load_or_create_key",
    "load_key",
    "create_key",
    "verify",
    "parse_public_key",
]


def canonical_json(value) -> bytes:
    """The one byte string for a JSON value: sorted keys, no whitespace, UTF-8, no floats."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _refuse_floats(value) -> None:
    """Raise ValueError if a float hides anywhere in ``value`` (their text is not canonical)."""
    if isinstance(value, float):
        raise ValueError("floats are not allowed in signed JSON")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_floats(item)


def key_id(public_b64: str) -> str:
    """The short id of a public key (16 hex digits of the sha256 of its raw bytes)."""
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()[:16]


def parse_public_key(public_b64: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its base64 text; ConfigError when it is not one."""
    try:
        raw = base64.b64decode(public_b64.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError, AttributeError) as error:
        raise ConfigError(f"not an Ed25519 public key (base64 of 32 bytes): {public_b64!r}") from error


def verify(public_b64: str, message: bytes, signature_b64: str) -> None:
    """Raise BadSignature unless ``signature_b64`` signs ``message`` under the key."""
    key = parse_public_key(public_b64)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message)
    except (InvalidSignature, binascii.Error, ValueError, TypeError) as error:
        raise BadSignature("the signature does not verify with the pinned key") from error


class SigningKey:
    """An Ed25519 private key that signs bytes; ``public_b64`` and ``key_id`` name it."""

    def __init__(self, private: Ed25519PrivateKey):
        """Wrap a private key."""
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_b64 = base64.b64encode(raw).decode("ascii")
        self.key_id = key_id(self.public_b64)

    def sign(self, message: bytes) -> str:
        """The base64 signature of ``message``."""
        return base64.b64encode(self._private.sign(message)).decode("ascii")

    def pem(self) -> bytes:
        """The private key as unencrypted PKCS #8 PEM (for its 0600 file only)."""
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def load_key(path: Path) -> SigningKey:
    """The private key in ``path``; ConfigError when it is missing or not an Ed25519 key."""
    try:
        private = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except FileNotFoundError as error:
        raise ConfigError(f"no key at {path}") from error
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{path} does not hold a readable private key") from error
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"{path} does not hold an Ed25519 key")
    return SigningKey(private)


def create_key(path: Path) -> SigningKey:
    """Generate a new key and write it to ``path`` (mode 0600, fsynced); refuse to overwrite."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = SigningKey(Ed25519PrivateKey.generate())
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.pem())
        os.fsync(fd)
    finally:
        os.close(fd)
    if path.exists():
        part.unlink()
        raise ConfigError(f"a key already exists at {path}")
    os.rename(part, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key


def load_or_create_key(path: Path) -> tuple[SigningKey, bool]:
    """The key in ``path``, generated first if there is none; (key, created)."""
    if Path(path).exists():
        return load_key(path), False
    return create_key(path), True
