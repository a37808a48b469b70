"""Librarian accounts: names and scrypt password hashes in the ``librarians`` table.

There is no default account and no default password. The first account is
made with the box's setup code (:mod:`content.admin_keys`); a forgotten
password is replaced on the box itself (``readpoint admin reset-password``).
Each account has a ``session_epoch``: a session remembers the epoch it was
opened in, and a new password moves the epoch on, which ends every session
opened with the old one.

Passwords are hashed with ``hashlib.scrypt`` (n=2**14, r=8, p=1: 16 MB and
about a tenth of a second on a Raspberry Pi) and a random 16-byte salt; the
stored form is ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from content.catalog import Catalog, now_iso
from content.errors import ContentError

__all__ = [
    "Librarians",
    "AccountError",
    "hash_password",
    "verify_password",
    "MIN_PASSWORD",
    "MAX_PASSWORD",
    "MAX_NAME",
    "check_password",
    "check_new_password",
    "clean_name",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_NAME = 40
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_MAXMEM = 64 * 2**20


class AccountError(ContentError):
    """A librarian account cannot be made or changed as asked (the message says why)."""


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    """The 32-byte scrypt of a password."""
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    """The stored form of a new password (a fresh salt each time)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches a stored hash (False for any malformed one)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = _scrypt(password[:MAX_PASSWORD], bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(found, bytes.fromhex(digest))


# Checked against one hash when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no account (None) as slow as a wrong password."""
    if stored is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(stored, password)


def check_new_password(password: str, again: str | None = None) -> None:
    """Raise AccountError unless ``password`` is acceptable (and equals ``again`` when given)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")
    if again is not None and password != again:
        raise AccountError("the two passwords differ")


def clean_name(name: str) -> str:
    """A librarian's name as stored (trimmed); AccountError if empty or too long."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("a name is needed")
    if len(name) > MAX_NAME:
        raise AccountError(f"the name must have at most {MAX_NAME} characters")
    return name


class Librarians:
    """The librarian accounts of one catalog."""

    def __init__(self, catalog: Catalog):
        """Accounts in ``catalog``."""
        self.catalog = catalog

    def any(self) -> bool:
        """Whether at least one account exists."""
        return self.catalog.db.execute("SELECT 1 FROM librarians LIMIT 1").fetchone() is not None

    def names(self) -> list[str]:
        """Every account's name, oldest first."""
        return [row[0] for row in self.catalog.db.execute("SELECT name FROM librarians ORDER BY id")]

    def get(self, librarian_id: int) -> dict | None:
        """One account (without its hash), or None."""
        row = self.catalog.db.execute(
            "SELECT id, name, session_epoch FROM librarians WHERE id = ?", [librarian_id]
        ).fetchone()
        return {"id": row[0], "name": row[1], "session_epoch": row[2]} if row else None

    def create_first(self, name: str, password: str) -> dict:
        """Make the box's first account; AccountError if one exists already (the setup code is spent)."""
        name = clean_name(name)
        check_new_password(password)
        stored = hash_password(password)  # slow: outside the write transaction
        stamp = now_iso()
        with self.catalog.write() as db:
            if db.execute("SELECT 1 FROM librarians LIMIT 1").fetchone():
                raise AccountError("a librarian account exists already")
            db.execute(
                "INSERT INTO librarians (name, password_hash, session_epoch, created_at, updated_at) "
                "VALUES (?, ?, 1, ?, ?)",
                [name, stored, stamp, stamp],
            )
            librarian_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        return {"id": librarian_id, "name": name, "session_epoch": 1}

    def authenticate(self, name: str, password: str) -> dict | None:
        """The account if ``name`` and ``password`` match one, else None (same cost either way)."""
        row = self.catalog.db.execute(
            "SELECT id, password_hash FROM librarians WHERE name = ?", [" ".join(name.split())[:MAX_NAME]]
        ).fetchone()
        if row is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(row[1], password):
            return None
        return self.get(row[0])

    def set_password(self, name: str, password: str) -> None:
        """Give ``name`` a new password and end its open sessions; AccountError if there is no such account."""
        check_new_password(password)
        stored = hash_password(password)
        with self.catalog.write() as db:
            cursor = db.execute(
                "UPDATE librarians SET password_hash = ?, session_epoch = session_epoch + 1, updated_at = ? "
                "WHERE name = ?",
                [stored, now_iso(), name],
            )
            if cursor.rowcount != 1:
                raise AccountError(f"no librarian account is named {name!r}")
