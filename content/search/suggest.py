"""Suggestions ("did you mean"): the known words nearest to a query's unknown words.

Engines supply a :class:`Vocabulary` (document frequency of a folded word, and the
words starting with a prefix); this module does the edit distance, so both engines
suggest the same thing for the same index content.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from content.search.query import ParsedQuery

__all__ = ["Vocabulary", "edit_distance", "suggest"]

# Words this short have too many neighbours to guess from.
_MIN_WORD = 3
_MAX_WORD = 30
_MAX_CANDIDATES = 20_000
_MAX_CHECKED = 12


class Vocabulary(Protocol):
    """The words an index holds (folded stream only)."""

    def frequency(self, word: str) -> int:
        """In how many documents ``word`` occurs (0: unknown)."""

    def with_prefix(self, prefix: str, min_length: int, max_length: int) -> Iterable[tuple[str, int]]:
        """``(word, document frequency)`` of words starting with ``prefix``, lengths in range.

        A vocabulary may report a frequency of 1 for all; :func:`suggest` then asks
        :meth:`frequency` about the nearest few.
        """


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance of ``a`` and ``b`` (transpositions count 1).

    Stops early and returns ``limit + 1`` as soon as the distance must exceed ``limit``.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _closest(word: str, vocabulary: Vocabulary, deadline: float) -> str | None:
    """The known word nearest ``word`` (ties: the most frequent), or None."""
    limit = 1 if len(word) <= 4 else 2
    by_distance: dict[int, list[str]] = {}
    candidates = vocabulary.with_prefix(word[0], len(word) - limit, len(word) + limit)
    for count, (candidate, _) in enumerate(candidates):
        if count >= _MAX_CANDIDATES or (count % 256 == 0 and time.monotonic() > deadline):
            break
        if candidate == word or not candidate.isalnum():
            continue
        distance = edit_distance(word, candidate, limit)
        if distance <= limit:
            by_distance.setdefault(distance, []).append(candidate)
    for distance in sorted(by_distance):
        counted = [(vocabulary.frequency(c), c) for c in sorted(by_distance[distance])[:_MAX_CHECKED]]
        frequency, best = min(counted, key=lambda item: (-item[0], item[1]))
        if frequency > 0:
            return best
    return None


def suggest(parsed: ParsedQuery, vocabulary: Vocabulary, deadline: float) -> str | None:
    """The query with each unknown word replaced by its nearest known word, or None.

    Only words in spaced scripts are corrected (a typo in a Thai or Tai Viet word
    changes its segmentation, not a letter). ``deadline`` is a ``time.monotonic()``.
    """
    replacements = []
    for token in parsed.tokens:
        word = token.folded
        if token.script != "latin" or not _MIN_WORD <= len(word) <= _MAX_WORD:
            continue
        if vocabulary.frequency(word) > 0:
            continue
        closest = _closest(word, vocabulary, deadline)
        if closest and closest != word:
            replacements.append((token.start, token.end, closest))
    if not replacements:
        return None
    text = parsed.text
    for start, end, closest in reversed(replacements):
        text = text[:start] + closest + text[end:]
    return text
