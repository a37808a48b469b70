"""Import verdicts and their reasons in the librarian's language.

The importer gives every rejected or skipped file an English reason
("not a valid EPUB: no META-INF/container.xml"). The common ones are
recognised here by their start and told in the UI language; the English
original stays beside it (shown smaller) for whoever helps the librarian.
"""

from __future__ import annotations

import re

from flask_babel import gettext

__all__ = ["verdict_name", "reason_text"]


def N_(text: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return text


VERDICT_NAMES = {
    "imported": N_("Imported"),
    "duplicate": N_("Already in the library"),
    "rejected": N_("Rejected"),
    "skipped": N_("Skipped"),
}

# (pattern at the start of the English reason, message): the first match wins.
REASONS = [
    (r"empty file|not a valid \w+: the file is empty", N_("The file is empty.")),
    (r"file too large|too large:|not a valid \w+: .* is too large", N_("The file is too large for this box.")),
    (r"protected by DRM", N_("Protected against copying (DRM): it cannot be read here.")),
    (r"protected by a password", N_("Protected by a password.")),
    (r"unsafe (archive|XML)", N_("Unsafe file: refused to protect the box.")),
    (r"truncated", N_("The file is cut short (an incomplete copy?).")),
    (r"not a valid EPUB", N_("Not a valid EPUB book: the file is damaged or incomplete.")),
    (r"not a valid PDF", N_("Not a valid PDF: the file is damaged or incomplete.")),
    (r"not a valid (MP3|M4A|M4B|OGG|FLAC|Opus|audio)", N_("Not a valid audio file: damaged or incomplete.")),
    (r"audio format not supported", N_("This audio format is not supported: use MP3, M4A/M4B, OGG or FLAC.")),
    (r"not an e-book or audiobook|not a book or audio file", N_("Not an e-book or audiobook.")),
    (r"reading this file took longer", N_("Reading this file took too long (is it damaged?).")),
    (r"title longer than", N_("The title is far too long.")),
    (r"folder could not be read", N_("A folder on the stick could not be read.")),
    (r"the file changed while it was copied|could not be read: the USB stick",
     N_("The USB stick was removed while this file was read.")),
    (r"could not be read|reading this file crashed", N_("The file could not be read (is it damaged?).")),
    (r"no such file or folder", N_("The file or folder is not there.")),
]
_COMPILED = [(re.compile(pattern, re.I), message) for pattern, message in REASONS]


def verdict_name(verdict: str) -> str:
    """A verdict's name in the UI language."""
    return gettext(VERDICT_NAMES[verdict]) if verdict in VERDICT_NAMES else verdict


def reason_text(reason: str) -> str | None:
    """The reason in the UI language, or None when it is not one of the known kinds."""
    for pattern, message in _COMPILED:
        if pattern.match(reason):
            return gettext(message)
    return None
