"""A person's description of a patient → HPO terms, present or denied, shown for correction.

Typed HPO ids (``HP:0001166``) are taken as they are. The rest of the text goes through the
project's free-text reader (``agent.free_text``: clause splitting, negation, embedding match)
against the names and synonyms of every HPO term that annotates a disease (~29,000 texts).
Embedding those texts takes minutes on a CPU, so their vectors are cached on disk, keyed by the
texts and the encoder's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.free_text import (
    CachedEncoder,
    ClauseMatch,
    FreeTextMatcher,
    LabelledText,
    TextEncoder,
    split_clauses,
)
from retrieval.findings import Findings
from retrieval.hpo_kb import HpoKnowledgeBase

HPO_ID = re.compile(r"\bHP:\d{7}\b")
NEGATED_ID = re.compile(r"\b(?:no|not|without|denies|absent)\s+(HP:\d{7})\b", re.I)
CACHE_MIN_TEXTS = 1000
"""Batches at least this large (the label set, not a message) are cached on disk."""


def hpo_labels(kb: HpoKnowledgeBase) -> list[LabelledText]:
    """Name and synonyms of every term annotated to at least one disease, labelled by id."""
    labels: list[LabelledText] = []
    for t in np.unique(kb.annotations.indices):
        term = int(t)
        for text in dict.fromkeys([kb.term_names[term], *kb.term_synonyms[term]]):
            labels.append(LabelledText(label=kb.term_ids[term], text=text))
    return labels


def hpo_matcher(kb: HpoKnowledgeBase, encoder: TextEncoder, cache_dir: Path) -> FreeTextMatcher:
    """The matcher over HPO names and synonyms, label vectors cached under ``cache_dir``."""
    return FreeTextMatcher(
        hpo_labels(kb), CachedEncoder(encoder, cache_dir / "hpo", "hpo", min_texts=CACHE_MIN_TEXTS)
    )


@dataclass
class PhenotypeReading:
    """What a description was read as: findings by HPO id, and why each was chosen."""

    findings: Findings = field(default_factory=dict)
    matches: list[ClauseMatch] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    """HPO ids typed as such."""
    unknown_ids: list[str] = field(default_factory=list)


def words_of(text: str) -> str:
    """The description without its typed HPO ids ('' when nothing else names a finding)."""
    words = HPO_ID.sub(" ", NEGATED_ID.sub(" ", text))
    return words if split_clauses(words) else ""


def read_phenotypes(
    kb: HpoKnowledgeBase, text: str, matcher: FreeTextMatcher | None
) -> PhenotypeReading:
    """Typed HPO ids plus, when ``matcher`` is given, the terms the words describe."""
    reading = PhenotypeReading()
    negated = {m.group(1) for m in NEGATED_ID.finditer(text)}
    for term_id in HPO_ID.findall(text):
        current = kb.resolve(term_id)
        if current is None:
            reading.unknown_ids.append(term_id)
            continue
        reading.findings[current] = term_id not in negated
        reading.typed.append(current)
    words = words_of(text)
    if matcher is not None and words:
        for match in matcher.match(words):
            if match.label not in reading.findings:
                reading.findings[match.label] = match.present
                reading.matches.append(match)
    return reading
