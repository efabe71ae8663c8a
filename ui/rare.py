"""Rare diseases in the app, without Streamlit: phenotype terms to pick, a description read
into HPO terms, and the diseases' OMIM / ORPHA identifiers as addresses.

Two ways in, offered side by side:

* **pick by name or id** — every phenotype term that annotates a disease, labelled
  "Name (HP:0001166)", for a pick list that filters as the person types (a name's part or an
  id); no embeddings needed;
* **describe in plain words** — "tall, long thin fingers, no seizures" read clause by clause
  with negations (``agent.reasoners.hpo.free_text``) against the names and synonyms of ~29,000
  HPO texts. The first reading in a process embeds them (minutes on a loaded CPU, then cached
  on disk): that runs as a background job reporting progress (:func:`load_matcher`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ui.jobs import Progress

if TYPE_CHECKING:
    from agent.free_text import FloatMatrix, FreeTextMatcher, TextEncoder
    from retrieval.hpo_kb import HpoKnowledgeBase

ENCODE_STEP = 512
"""HPO texts embedded between two progress reports."""
_ID_IN_LABEL = re.compile(r"\((HP:\d{7})\)$")
_ADDRESSES = {
    "OMIM": "https://omim.org/entry/{}",
    "ORPHA": "https://www.orpha.net/en/disease/detail/{}",
    "DECIPHER": "https://www.deciphergenomics.org/syndrome/{}",
}


_options: dict[int, tuple[str, ...]] = {}


def term_options(kb: HpoKnowledgeBase) -> tuple[str, ...]:
    """'Name (HP:id)' for every term annotated to at least one disease, sorted by name (made
    once per loaded knowledge base, which lives as long as the process)."""
    if id(kb) not in _options:
        annotated = np.unique(kb.annotations.indices)
        labels = [f"{kb.term_names[int(t)]} ({kb.term_ids[int(t)]})" for t in annotated]
        _options[id(kb)] = tuple(sorted(labels, key=str.casefold))
    return _options[id(kb)]


def term_label(kb: HpoKnowledgeBase, term_id: str) -> str:
    return f"{kb.term_names[kb.term_index(term_id)]} ({term_id})"


def term_of(label: str) -> str | None:
    """The HPO id inside an option label."""
    match = _ID_IN_LABEL.search(label)
    return match.group(1) if match else None


@dataclass
class PhenotypeFinding:
    """One term the description was read as, shown for the person to keep or drop."""

    term_id: str
    label: str
    present: bool
    source: str = ""
    """The words it was read from ('' for a typed HPO id)."""


@dataclass
class PhenotypeDraft:
    """What the rare-disease intake holds before the consultation starts."""

    findings: list[PhenotypeFinding] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)

    def add(self, finding: PhenotypeFinding) -> None:
        if all(f.term_id != finding.term_id for f in self.findings):
            self.findings.append(finding)


def read_description(
    kb: HpoKnowledgeBase, text: str, matcher: FreeTextMatcher | None
) -> PhenotypeDraft:
    """Typed HPO ids (``HP:0001166``; "no HP:…" denies one) and, with ``matcher``, the terms
    the words describe, present or denied."""
    from agent.reasoners.hpo.free_text import read_phenotypes

    reading = read_phenotypes(kb, text, matcher)
    said = {m.label: m.clause for m in reading.matches}
    draft = PhenotypeDraft(unknown_ids=list(reading.unknown_ids))
    for code, value in reading.findings.items():
        if isinstance(value, bool):
            label = term_label(kb, code)
            draft.add(PhenotypeFinding(code, label, value, said.get(code, "")))
    return draft


def needs_words(text: str) -> bool:
    """Whether the description has words beyond typed HPO ids (so the matcher is needed)."""
    from agent.reasoners.hpo.free_text import words_of

    return bool(words_of(text))


def load_matcher(kb: HpoKnowledgeBase, cache_dir: Path, progress: Progress) -> FreeTextMatcher:
    """The free-text matcher over HPO names and synonyms; the embedding of ~29,000 texts (the
    first time; read from the cache afterwards) reports its progress."""
    from agent.free_text import default_encoder
    from agent.reasoners.hpo.free_text import hpo_matcher

    progress("Loading the sentence encoder")
    encoder = ReportingEncoder(default_encoder(), progress)
    return hpo_matcher(kb, encoder, cache_dir)


class ReportingEncoder:
    """An encoder that embeds large batches in steps, reporting each one."""

    def __init__(self, encoder: TextEncoder, progress: Progress) -> None:
        self.encoder = encoder
        self.progress = progress

    def __call__(self, texts: Sequence[str]) -> FloatMatrix:
        if len(texts) <= ENCODE_STEP:
            return self.encoder(texts)
        stage = "Embedding the HPO phenotype names (once; cached afterwards)"
        parts = []
        for start in range(0, len(texts), ENCODE_STEP):
            self.progress(stage, start, len(texts))
            parts.append(self.encoder(texts[start : start + ENCODE_STEP]))
        self.progress(stage, len(texts), len(texts))
        return np.vstack(parts)


def disease_references(kb: HpoKnowledgeBase, name: str) -> list[tuple[str, str]]:
    """(identifier, address) for each of a disease's ids: 'OMIM:154700' → omim.org/entry/…"""
    index = kb.disease_by_name(name)
    if index is None:
        return []
    references = []
    for ident in kb.disease_xrefs[index]:
        prefix, _, number = ident.partition(":")
        template = _ADDRESSES.get(prefix)
        if template and number:
            references.append((ident, template.format(number)))
    return references
