"""The texts a message is matched against, embedded once per knowledge base and process.

Three spaces, each a list of (key, text) with the texts' vectors:

* evidences: every yes/no question (and every root question valued in words, like travel) as
  statements and as the alternatives of its "or"s, keyed by evidence code;
* places: every body location value, by its text without side and its lay names, keyed by
  value code (the location questions of DDXPlus share one value set);
* one space per descriptor question (pain character, rash colour), keyed by value code;
  and one per root question valued in words (travel: the regions), keyed by value code.

A key's score for a query is the best of its texts' cosine similarities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.free_text import FloatMatrix, TextEncoder
from retrieval.ddxplus_kb import Evidence, EvidenceKind, KnowledgeBase
from retrieval.ddxplus_phrases import (
    DESCRIPTOR_GLOSSARY,
    LOCATION_GLOSSARY,
    LocatedFinding,
    located_findings,
    place_of,
    question_variants,
)

ALTERNATIVE_CLOSE = 0.55
ALTERNATIVE_DISTINCT = 0.4
"""An "or" alternative is kept as a text of its question when it still means that question:
at least ALTERNATIVE_CLOSE to the whole statement ("palpitations" 0.70, "asthma" 0.69), or at
least ALTERNATIVE_DISTINCT and closer to it than to any other question ("confused" of
"confused or disorientated lately", 0.49). "pain" of "pain or weakness in your jaw" (0.46, and
nearer the pain question) and "speak" (0.18) are not kept. Chosen by reading the alternatives
of DDXPlus's 208 yes/no questions."""


@dataclass(frozen=True)
class LabelSpace:
    """Texts grouped by key, with their unit vectors (rows in the order of ``texts``)."""

    keys: tuple[str, ...]
    """One key per group of texts, in the order of the groups."""
    starts: np.ndarray[tuple[int], np.dtype[np.intp]]
    texts: tuple[str, ...]
    vectors: FloatMatrix

    def scores(self, queries: FloatMatrix) -> FloatMatrix:
        """(queries × keys) best similarity of each query to each key's texts."""
        if not self.keys:
            return np.zeros((len(queries), 0), dtype=np.float32)
        return np.maximum.reduceat(queries @ self.vectors.T, self.starts, axis=1)

    def best_text(self, query: FloatMatrix, key_index: int) -> str:
        """The text of key ``key_index`` that is closest to one query vector."""
        start = int(self.starts[key_index])
        end = int(self.starts[key_index + 1]) if key_index + 1 < len(self.keys) else len(self.texts)
        sims = self.vectors[start:end] @ query
        return self.texts[start + int(np.argmax(sims))]


def build_space(
    groups: Sequence[tuple[str, Sequence[str]]], vectors: dict[str, FloatMatrix]
) -> LabelSpace:
    """A space from (key, texts) groups and the vectors of every text."""
    keys: list[str] = []
    starts: list[int] = []
    texts: list[str] = []
    for key, group in groups:
        unique = list(dict.fromkeys(group))
        if not unique:
            continue
        keys.append(key)
        starts.append(len(texts))
        texts += unique
    rows = np.stack([vectors[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)
    return LabelSpace(tuple(keys), np.array(starts, dtype=np.intp), tuple(texts), rows)


@dataclass(frozen=True)
class IntakeLabels:
    """Every label space of one knowledge base."""

    evidences: LabelSpace
    places: LabelSpace
    values: dict[str, LabelSpace]
    """Descriptor and valued-root questions: evidence code → its values' space."""
    located: tuple[LocatedFinding, ...]


def valued_roots(kb: KnowledgeBase) -> list[str]:
    """Root questions answered by one value named in words (DDXPlus: travel, E_204)."""
    return [
        code
        for code, ev in kb.evidences.items()
        if ev.parent is None and ev.kind is EvidenceKind.CATEGORICAL and not ev.is_scale
    ]


def build_labels(kb: KnowledgeBase, encoder: TextEncoder) -> IntakeLabels:
    """Embed every text once (one batch) and group them into spaces."""
    located = located_findings(kb)
    roots = valued_roots(kb)
    statements, alternatives = _evidence_texts(kb, roots)
    places = _place_texts(kb, located)
    value_groups = {code: _value_texts(kb.evidence(code)) for code in _valued(located, roots)}
    every = {t for group in statements.values() for t in group}
    every |= {t for group in alternatives.values() for t in group}
    every |= {t for _, group in places for t in group}
    every |= {t for groups in value_groups.values() for _, group in groups for t in group}
    ordered = sorted(every)
    matrix = encoder(ordered)
    vectors = dict(zip(ordered, matrix, strict=True))
    kept = _with_close_alternatives(statements, alternatives, vectors)
    return IntakeLabels(
        evidences=build_space(list(kept.items()), vectors),
        places=build_space(places, vectors),
        values={code: build_space(groups, vectors) for code, groups in value_groups.items()},
        located=located,
    )


def _evidence_texts(
    kb: KnowledgeBase, roots: list[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    statements: dict[str, list[str]] = {}
    alternatives: dict[str, list[str]] = {}
    for code, ev in kb.evidences.items():
        if ev.kind is EvidenceKind.BINARY or code in roots:
            whole, parts = question_variants(ev.question)
            if code in roots:  # "traveled out of the country …: West Africa"
                whole += [f"{whole[0]}: {text}" for _, (text, *_) in _value_texts(ev)]
            statements[code], alternatives[code] = whole, parts
    return statements, alternatives


def _with_close_alternatives(
    statements: dict[str, list[str]],
    alternatives: dict[str, list[str]],
    vectors: dict[str, FloatMatrix],
) -> dict[str, list[str]]:
    codes = list(statements)
    wholes = np.stack([vectors[statements[code][0]] for code in codes])
    kept: dict[str, list[str]] = {}
    for i, code in enumerate(codes):
        close = []
        for text in alternatives[code]:
            sims = wholes @ vectors[text]
            distinct = int(np.argmax(sims)) == i and sims[i] >= ALTERNATIVE_DISTINCT
            if sims[i] >= ALTERNATIVE_CLOSE or distinct:
                close.append(text)
        kept[code] = [*statements[code], *close]
    return kept


def _place_texts(
    kb: KnowledgeBase, located: tuple[LocatedFinding, ...]
) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for family in located:
        for question in (family.location, family.radiation):
            if question is None:
                continue
            ev = kb.evidence(question)
            for value in ev.non_default_values:
                place = place_of(ev.describe_value(value))
                groups.setdefault(str(value), [place, *LOCATION_GLOSSARY.get(place, ())])
    return list(groups.items())


def _valued(located: tuple[LocatedFinding, ...], roots: list[str]) -> list[str]:
    return [*{d for family in located for d in family.descriptors}, *roots]


def _value_texts(ev: Evidence) -> list[tuple[str, list[str]]]:
    return [
        (str(value), [text, *DESCRIPTOR_GLOSSARY.get(text, ())])
        for value in ev.non_default_values
        if isinstance(value, str) and (text := ev.describe_value(value))
    ]
