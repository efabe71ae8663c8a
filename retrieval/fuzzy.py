"""Fuzzy matching of diagnosis names an LLM writes onto a benchmark's list of diagnoses.

Models abbreviate, pluralise and reorder ("pneumonia, community-acquired", "URTI", "type 1
minocycline pigmentation"); the matching rule normalises accents, case, punctuation and roman
numerals, then takes an exact match, then a containment, then difflib's closest ratio above a
cutoff. :func:`normalise_name` is also how the HPO knowledge base tells that two sources name
the same disease ("Gaucher disease, type II" and "Gaucher disease type 2").
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence

DEFAULT_CUTOFF = 0.8

_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}


def normalise_name(name: str) -> str:
    """A name for comparison: accents, case and punctuation ignored, one space between words,
    roman numerals up to V as digits ("Guillain-Barré syndrome, type II" → "guillain barre
    syndrome type 2")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    unaccented = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.sub(r"[\W_]+", " ", unaccented).split()
    return " ".join(_ROMAN.get(word, word) for word in words)


def match_name(name: str, candidates: Sequence[str], cutoff: float = DEFAULT_CUTOFF) -> str | None:
    """The candidate ``name`` stands for, or None."""
    wanted = normalise_name(name)
    if not wanted:
        return None
    normalised = {normalise_name(c): c for c in candidates}
    if wanted in normalised:
        return normalised[wanted]
    contained = [
        c for n, c in normalised.items() if len(wanted) >= 4 and (wanted in n or n in wanted)
    ]
    if len(contained) == 1:
        return contained[0]
    close = difflib.get_close_matches(wanted, list(normalised), n=1, cutoff=cutoff)
    return normalised[close[0]] if close else None


def restrict(names: Iterable[str], candidates: Sequence[str]) -> list[str]:
    """The names mapped onto candidates, in order, duplicates and strangers dropped."""
    result: list[str] = []
    for name in names:
        matched = match_name(name, candidates)
        if matched is not None and matched not in result:
            result.append(matched)
    return result
