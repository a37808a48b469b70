"""Mapping a book's free-text subjects onto the catalog's categories.

Books arrive with subjects in any language and spelling ("Nông nghiệp",
"nong nghiep", "Agriculture", "เกษตรกรรม"). A subject matches a category when,
folded (lower case, no diacritics, ``đ``→``d``), it equals the category's id,
one of its names, or one of the extra keywords below.
"""

from __future__ import annotations

import unicodedata

from content.search.analysis import fold_token

__all__ = ["fold_label", "categories_for"]

# Extra words that also mean a category (folded form); names and ids always match.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "farming": ("agriculture", "trong trot", "chan nuoi", "lua", "rice", "livestock", "gardening"),
    "health": ("y te", "medicine", "nutrition", "dinh duong", "hygiene", "ve sinh"),
    "law": ("luat", "legal", "civic", "phap ly", "quyen"),
    "children": ("truyen thieu nhi", "tre em", "kids", "children's stories", "juvenile fiction"),
    "culture": ("van hoa", "history", "lich su", "folklore", "truyen dan gian"),
    "language": ("chu viet", "alphabet", "script", "ngon ngu hoc", "dictionary", "tu dien"),
}


def fold_label(text: str) -> str:
    """Lower-case, diacritic-free form of a label for matching, folded word by word as search folds."""
    return " ".join(fold_token(word)[1] for word in unicodedata.normalize("NFC", text).split())


def categories_for(subjects: list[str], categories: list[dict]) -> list[str]:
    """The ids of the categories that any of ``subjects`` names."""
    lookup: dict[str, str] = {}
    for category in categories:
        for label in (category["id"], category["name_vi"], category["name_th"], category["name_en"]):
            lookup[fold_label(label)] = category["id"]
        for word in KEYWORDS.get(category["id"], ()):
            lookup.setdefault(word, category["id"])
    found = []
    for subject in subjects:
        for part in subject.replace(";", ",").split(","):
            category = lookup.get(fold_label(part))
            if category and category not in found:
                found.append(category)
    return found
