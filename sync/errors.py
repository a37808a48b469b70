"""Errors of the sync package; the tree is drawn in :mod:`sync`'s docstring."""

from __future__ import annotations

__all__ = [
    "SyncError",
    "ConfigError",
    "TrustError",
    "BadSignature",
    "Rollback",
    "Equivocation",
    "ArtifactMismatch",
    "TooLarge",
    "NotJson",
    "HubError",
    "LinkError",
    "SyncBusy",
]


class SyncError(Exception):
    """Base class of every error the sync package raises on purpose."""


class ConfigError(SyncError):
    """The box or hub is not set up for this (no hub_url, no key, not enrolled)."""


class TrustError(SyncError):
    """Something that claims to come from the hub is not believed; nothing of it is applied."""


class BadSignature(TrustError):
    """A signature does not verify with the pinned key, or the signed document is malformed."""


class Rollback(TrustError):
    """The hub offers a release older than the one this box has applied."""


class Equivocation(TrustError):
    """The hub offers the applied release number with bytes other than the ones applied."""


class ArtifactMismatch(TrustError):
    """An artifact's sha256 or size differs from what the signed manifest declares."""


class TooLarge(TrustError):
    """An answer is larger than declared, or than any answer of its kind may be."""


class NotJson(TrustError):
    """An HTML page (or other non-JSON) where the hub answers JSON: usually a captive portal."""


class HubError(SyncError):
    """The hub answered with an error status; ``status`` and the decoded ``body`` are kept."""

    def __init__(self, message: str, *, status: int, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}


class LinkError(SyncError):
    """The link to the hub failed even after retrying (cut, stalled, refused, server errors)."""


class SyncBusy(SyncError):
    """Another sync or import is running on this data directory."""
