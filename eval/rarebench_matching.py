"""Is a ranked disease the patient's diagnosis? By id, cross-referenced id, or name.

RareBench names a diagnosis by OMIM, ORPHA or CCRD ids; the knowledge base may rank the same
disease under another of its ids, or under an id it has no cross-reference for. A ranked disease
matches the truth when (in this order):

``id``     its primary id is one of the truth's ids;
``xref``   one of its cross-referenced ids is;
``name``   one of its names equals one of the truth's names after normalisation (case,
           punctuation and spacing ignored). Names come from the knowledge base and from
           RareBench's ``disease_mapping.json`` (id → name, alternatives separated by "/").
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agent.errors import DataFormatError
from retrieval.hpo_kb import HpoKnowledgeBase, normalise_name

MatchKind = Literal["id", "xref", "name"]

MIN_NAME_LENGTH = 4
"""Shorter normalised names (a fragment after a "/") are too ambiguous to match on."""


def load_disease_mapping(path: Path) -> dict[str, str]:
    """RareBench's ``disease_mapping.json``: disease id → English name."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"Cannot read the disease mapping {path}: {exc}.") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise DataFormatError(f"{path} is not a JSON object of disease id → name.")
    return {str(k).strip(): v for k, v in raw.items()}


def name_keys(name: str) -> set[str]:
    """The normalised forms of a name and of each of its "/"-separated alternatives."""
    keys = {normalise_name(name)} | {normalise_name(part) for part in name.split("/")}
    return {key for key in keys if len(key) >= MIN_NAME_LENGTH}


class DiseaseMatcher:
    """Finds where a patient's diagnosis first appears in a ranking of knowledge-base diseases."""

    def __init__(self, kb: HpoKnowledgeBase, mapping: dict[str, str] | None = None) -> None:
        self.kb = kb
        self.mapping = mapping or {}
        self._by_name: dict[str, set[int]] = defaultdict(set)
        for d, name in enumerate(kb.disease_names):
            for key in self._names_of(d, name):
                self._by_name[key].add(d)

    def _names_of(self, d: int, name: str) -> set[str]:
        keys = name_keys(name)
        for ref in self.kb.disease_xrefs[d]:
            if ref in self.mapping:
                keys |= name_keys(self.mapping[ref])
        return keys

    def truth_names(self, truth: Sequence[str]) -> set[str]:
        keys: set[str] = set()
        for ref in truth:
            if ref in self.mapping:
                keys |= name_keys(self.mapping[ref])
            index = self.kb.disease_index(ref)
            if index is not None:
                keys |= name_keys(self.kb.disease_names[index])
        return keys

    def matching(self, truth: Sequence[str]) -> dict[int, MatchKind]:
        """Every knowledge-base disease that counts as the truth, with how it matched."""
        wanted = {ref.strip() for ref in truth}
        found: dict[int, MatchKind] = {}
        for key in self.truth_names(truth):
            for d in self._by_name.get(key, ()):
                found[d] = "name"
        for ref in wanted:
            index = self.kb.disease_index(ref)
            if index is not None:
                found[index] = "id" if self.kb.disease_ids[index] in wanted else "xref"
        return found

    def rank(
        self, ranking: Sequence[int], truth: Sequence[str]
    ) -> tuple[int | None, MatchKind | None]:
        """1-based rank of the first matching disease in ``ranking`` and how it matched."""
        found = self.matching(truth)
        if not found:
            return None, None
        for position, d in enumerate(ranking, start=1):
            if d in found:
                return position, found[d]
        return None, None
