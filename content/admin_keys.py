"""Secrets of this box for the librarian's desk, kept in the data directory's ``keys/`` folder.

- ``keys/admin-session.key``: the key that signs librarians' session cookies,
  made on the box the first time it is needed (never shipped in an image:
  every box has its own).
- ``keys/admin-setup-code``: the one-time code that creates the first
  librarian account; it exists only while the box has no account, is printed
  in the server's log and by ``readpoint admin setup-code``, and is removed
  once the account exists.

Both files are created with mode 0600 through an exclusive create, so two
processes starting at once agree on one value.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

__all__ = [
    "session_key",
    "setup_code",
    "existing_setup_code",
    "setup_code_matches",
    "remove_setup_code",
    "normalise_code",
]

log = logging.getLogger(__name__)

SESSION_KEY_FILE = "admin-session.key"
SETUP_CODE_FILE = "admin-setup-code"
# No 0/O, 1/I/L: the code is read off a label or a screen and typed on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def _keys_dir(data_dir: Path) -> Path:
    """The data directory's ``keys/`` folder (0700), created if missing."""
    folder = Path(data_dir) / "keys"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _read_or_create(path: Path, make) -> str:
    """The text of a 0600 secret file, writing ``make()`` into it first if it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
        path.unlink(missing_ok=True)  # an empty file left by a power cut: make a new value
        return _read_or_create(path, make)
    value = make()
    try:
        os.write(fd, value.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return value


def session_key(data_dir: Path) -> bytes:
    """This box's key for signing librarians' sessions (64 hex digits), made on first use."""
    text = _read_or_create(_keys_dir(data_dir) / SESSION_KEY_FILE, lambda: secrets.token_hex(32))
    return text.encode("ascii")


def _new_code() -> str:
    """A random setup code like ``K7QM-2XPD-9TRA``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def setup_code(data_dir: Path) -> str:
    """The box's setup code, made now if it has none (call only while no librarian account exists)."""
    return _read_or_create(_keys_dir(data_dir) / SETUP_CODE_FILE, _new_code)


def existing_setup_code(data_dir: Path) -> str | None:
    """The setup code if one was made and not used yet, else None (never creates one)."""
    try:
        return (Path(data_dir) / "keys" / SETUP_CODE_FILE).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def normalise_code(text: str) -> str:
    """A typed code in its comparable form: upper case, without spaces or dashes."""
    return "".join(char for char in text.upper() if char.isalnum())


def setup_code_matches(data_dir: Path, typed: str) -> bool:
    """Whether ``typed`` is the box's current setup code (in constant time; none means no)."""
    code = existing_setup_code(data_dir)
    if code is None:
        return False
    return hmac.compare_digest(normalise_code(code).encode(), normalise_code(typed[:64]).encode())


def remove_setup_code(data_dir: Path) -> None:
    """Forget the setup code (the first account exists: the code must not create another)."""
    (Path(data_dir) / "keys" / SETUP_CODE_FILE).unlink(missing_ok=True)
