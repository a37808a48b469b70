"""The order of results, the same in every engine: two parts, each a list of tiers.

**Part one** (``SearchResults.total``): the books that hold the query's words
*together*, as typed: the whole query as a phrase in one field (title, one author,
one subject, publisher, description) or in one chapter. A query typed with marks is
compared with marks (``cánh đồng`` is not ``cạnh đồng``); one typed without is
compared folded. Tiers, best first:

0. a whole title, author name or subject, exactly the query;
1. the phrase in a title, an author name or a subject;
2. the phrase in the publisher or description;
3. the phrase in a chapter or page.

**Part two** (``SearchResults.also_total``): the other books "also mentioning all
the words", every clause found folded in the metadata or in one chapter:

4. (queries with marks) the phrase, folded, in the metadata;
5. (queries with marks) the same in a chapter;
6. the words near each other in one metadata field: at most :data:`NEAR_TOKENS`
   tokens between them (FTS5 measures a group of three or more words from the
   first to the last, Whoosh each word from the one before: the same for two);
7. the same in a chapter;
8. every word in the metadata, anywhere;
9. every word in one chapter.

A book is listed once, at its best tier. Inside a tier, the engine's relevance score
orders books (BM25 with title > authors > subjects > other; in tiers 8 and 9, words
typed with marks found with them count extra). A query of one word (or one quoted phrase)
holds its words together wherever it matches: part two then only holds, for a query
with marks, what matched folded.
"""

from __future__ import annotations

from dataclasses import dataclass

from content.search.documents import BOUNDARY, META_FIELDS
from content.search.query import ParsedQuery

__all__ = ["ALSO_COUNT_CAP", "NEAR_TOKENS", "NAME_FIELDS", "Tier", "plan", "together_phrases"]

# Words at most this many tokens apart are "near" (FTS5's NEAR distance).
NEAR_TOKENS = 8
# Part two is counted up to this many books; beyond, the count says "more than" this (counting
# every book that mentions two common words costs more than the search itself at 50,000 books).
ALSO_COUNT_CAP = 200
# Fields whose items are names: a whole one matched ranks first.
NAME_FIELDS = ("title", "authors", "subjects")


@dataclass(frozen=True)
class Tier:
    """One tier: where (``meta`` fields or chapter ``body``) and how the words must match.

    ``match`` is ``whole`` (a whole field item is the phrase), ``phrase``, ``near``
    or ``all`` (every clause, anywhere in the fields). ``exact``: phrases compared in
    the exact streams. ``phrases`` are the token sequences to find (any one of them
    for ``whole``/``phrase``).
    """

    number: int
    together: bool
    meta: bool
    fields: tuple[str, ...]
    match: str
    exact: bool = False
    phrases: tuple[tuple[str, ...], ...] = ()


def together_phrases(parsed: ParsedQuery, exact: bool) -> tuple[tuple[str, ...], ...]:
    """The phrases that make a book part one: the whole query (or its one clause's forms)."""
    if len(parsed.clauses) == 1:
        clause = parsed.clauses[0]
        main = clause.exact_stream if exact else clause.stream
        return (main, clause.alternative) if clause.alternative else (main,)
    return (parsed.exact_adjacency if exact else parsed.adjacency,)


def plan(parsed: ParsedQuery) -> list[Tier]:
    """The tiers of ``parsed``, best first (see the module docstring)."""
    marks = parsed.has_marks
    together = together_phrases(parsed, marks)
    whole = tuple((BOUNDARY, *phrase, BOUNDARY) for phrase in together[:1])
    tiers = [
        Tier(0, True, True, NAME_FIELDS, "whole", marks, whole),
        Tier(1, True, True, NAME_FIELDS, "phrase", marks, together),
        Tier(2, True, True, ("other",), "phrase", marks, together),
        Tier(3, True, False, ("body",), "phrase", marks, together),
    ]
    if marks:
        folded = together_phrases(parsed, False)
        tiers += [
            Tier(4, False, True, META_FIELDS, "phrase", False, folded),
            Tier(5, False, False, ("body",), "phrase", False, folded),
        ]
    if len(parsed.clauses) > 1:
        tiers += [
            Tier(6, False, True, META_FIELDS, "near"),
            Tier(7, False, False, ("body",), "near"),
            Tier(8, False, True, META_FIELDS, "all"),
            Tier(9, False, False, ("body",), "all"),
        ]
    return tiers
