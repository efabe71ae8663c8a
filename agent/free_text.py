"""Free text → findings without an LLM: clause splitting, negation, embedding match.

A person's message ("I've had a fever for two days but no cough, denies chest pain") is split
into clauses, each clause into list items, and every item keeps whether a negation cue ("no",
"denies", "without", "not", "negative for", …) governs it. The item, with its cue and
first-person lead-ins stripped, is embedded and matched by cosine similarity against a list of
labelled texts (:class:`FreeTextMatcher`; HPO term names for the rare-disease reader). An item
matches the best label above a threshold, or nothing: a message that matches nothing returns
an empty list, which callers must report rather than treat as "healthy". The DDXPlus intake
(:mod:`agent.intake`) builds on the same clause splitting.

The encoder is injected (:class:`TextEncoder`); :func:`default_encoder` loads the project's
shared sentence encoder from ``retrieval.embeddings``, so there is one loader for the project.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

FloatMatrix = np.ndarray[Any, np.dtype[np.float32]]

DEFAULT_THRESHOLD = 0.55
"""Cosine similarity below which an item matches nothing (all-MiniLM-L6-v2 scale)."""

_CLAUSE_BREAK = re.compile(r"[.;!?\n]+|\b(?:but|however|although|though|whereas|yet)\b", re.I)
_ITEM_BREAK = re.compile(r",|\band\b|\bor\b|\bnor\b|/", re.I)
_NEGATION_CUE = re.compile(
    r"^(?:"
    r"no|not|never|none|without|denies|denied|deny|negative for|free of|absence of|"
    r"(?:i|he|she|they|we|patient)?\s*(?:do|does|did|has|have|had|is|am|are|was|were)"
    r"\s*(?:not|n't)(?:\s+(?:have|has|had|got|get|feel|experience|notice|any))*|"
    r"(?:i|he|she|they|we)?\s*(?:don't|doesn't|didn't|haven't|hasn't|hadn't|isn't|aren't|"
    r"wasn't|weren't)"
    r"(?:\s+(?:have|has|had|got|get|feel|experience|notice|any))*|"
    r"no (?:history of|sign of|signs of|evidence of)"
    r")\b\s*(?:any\s+)?",
    re.I,
)
_AFFIRMATIVE_RESET = re.compile(
    r"^(?:(?:i|he|she|they|we|patient)\s+)?(?:have|has|had|got|reports?|complains? of|"
    r"with|feel|feels|notice[sd]?|am|is|there is|there's|just|only|apart from)\b",
    re.I,
)
_LEAD_IN = re.compile(
    r"^(?:(?:i|he|she|they|we|the patient|patient|my (?:child|son|daughter|wife|husband))"
    r"(?:\s+|(?=')))?"
    r"(?:(?:'ve|'s|'m|have|has|had|got|am|is|are|was|were|feel|feels|felt|reports?|"
    r"complains? of|suffer(?:s|ed)? from|been|having|experiencing|noticed?|seems?|seemed|"
    r"looks?|looked)\b\s*){0,3}"
    r"(?:(?:some|a|an|the|any|lots of|a lot of|really|very|quite|just|only)\b\s*){0,2}",
    re.I,
)


class TextEncoder(Protocol):
    """Maps texts to L2-normalised vectors (one row per text)."""

    def __call__(self, texts: Sequence[str]) -> FloatMatrix: ...


@dataclass(frozen=True)
class Clause:
    """One item of a message: the words that name a finding, and whether they were negated."""

    text: str
    negated: bool
    source: str
    """The clause as written, for showing the person what was understood."""


class LabelledText(BaseModel):
    """A text to match against, with the label it stands for (an evidence code, a fact id)."""

    model_config = ConfigDict(frozen=True)

    label: str
    text: str


class ClauseMatch(BaseModel):
    """A clause of the message matched to a label."""

    model_config = ConfigDict(frozen=True)

    label: str
    present: bool = Field(description="False when a negation cue governed the clause.")
    score: float = Field(description="Cosine similarity of the clause and the label's text.")
    clause: str = Field(description="The clause as the person wrote it.")


def split_clauses(text: str) -> list[Clause]:
    """Split a message into items, each with its negation.

    A negation cue governs the rest of its clause's list ("no fever, cough or chills" negates
    all three) until an affirmative verb resets it ("denies cough and has a fever").
    """
    items: list[Clause] = []
    for raw_clause in _CLAUSE_BREAK.split(text):
        clause = raw_clause.strip(" ,")
        if not clause:
            continue
        negated = False
        for raw_item in _ITEM_BREAK.split(clause):
            item = _normalise(raw_item)
            if not item:
                continue
            cue = _NEGATION_CUE.match(item)
            if cue and cue.end() > 0:
                negated = True
                item = item[cue.end() :].strip()
            elif _AFFIRMATIVE_RESET.match(item):
                negated = False
            core = _strip_lead_in(item)
            if core:
                items.append(Clause(text=core, negated=negated, source=clause))
    return items


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip(" ,.-:").lower()


def _strip_lead_in(text: str) -> str:
    stripped = _LEAD_IN.sub("", text, count=1).strip()
    return stripped or text


def clause_core(text: str) -> str:
    """A clause as split_clauses gives its items: normalised, first-person lead-in stripped."""
    return _strip_lead_in(_normalise(text))


def question_as_statement(question: str) -> str:
    """'Do you have a fever (measured or felt)?' → 'a fever (measured or felt)'."""
    from retrieval.ddxplus_phrases import as_statement

    return as_statement(question)


class FreeTextMatcher:
    """Matches the items of a message against labelled texts by embedding similarity."""

    def __init__(
        self,
        labels: Sequence[LabelledText],
        encoder: TextEncoder,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if not labels:
            raise ValueError("FreeTextMatcher needs at least one labelled text")
        self.labels = list(labels)
        self.encoder = encoder
        self.threshold = threshold
        self._label_vectors = encoder([label.text for label in self.labels])

    def rank(self, text: str, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Every label (or every allowed one) with its similarity to the whole text, best
        first: for mapping one short text (an LLM's question) onto one label."""
        scores = self.encoder([_normalise(text)])[0] @ self._label_vectors.T
        ranked = [
            (label.label, float(score))
            for label, score in zip(self.labels, scores, strict=True)
            if allowed is None or label.label in allowed
        ]
        return sorted(ranked, key=lambda pair: -pair[1])

    def match(self, text: str) -> list[ClauseMatch]:
        """One match per label (the best-scoring clause), in the order the clauses came."""
        clauses = split_clauses(text)
        if not clauses:
            return []
        vectors = self.encoder([clause.text for clause in clauses])
        scores = vectors @ self._label_vectors.T
        best: dict[str, tuple[int, ClauseMatch]] = {}
        for i, clause in enumerate(clauses):
            j = int(np.argmax(scores[i]))
            score = float(scores[i, j])
            if score < self.threshold:
                continue
            label = self.labels[j].label
            found = ClauseMatch(
                label=label, present=not clause.negated, score=round(score, 4), clause=clause.source
            )
            if label not in best or score > best[label][1].score:
                best[label] = (i, found)
        return [match for _, match in sorted(best.values(), key=lambda pair: pair[0])]


def default_encoder() -> TextEncoder:
    """The project's shared sentence encoder (loaded once by ``retrieval.embeddings``)."""
    from retrieval.embeddings import load_encoder

    encoder = load_encoder()

    def encode(texts: Sequence[str]) -> FloatMatrix:
        return encoder.encode(texts)

    return encode


class CachedEncoder:
    """An encoder whose large batches (a label set, not a message) are kept as ``.npy`` files
    under ``folder``, keyed by ``name`` and the texts: label vectors are computed once per
    machine, not once per process. A cache that cannot be written only means a slower start."""

    def __init__(self, encoder: TextEncoder, folder: Path, name: str, min_texts: int = 100) -> None:
        self.encoder = encoder
        self.folder = folder
        self.name = name
        self.min_texts = min_texts

    def __call__(self, texts: Sequence[str]) -> FloatMatrix:
        if len(texts) < self.min_texts:
            return self.encoder(texts)
        digest = hashlib.sha256(self.name.encode())
        for text in texts:
            digest.update(text.encode() + b"\0")
        path = self.folder / f"vectors-{digest.hexdigest()[:16]}.npy"
        if path.is_file():
            try:
                vectors: FloatMatrix = np.load(path, allow_pickle=False)
                if vectors.shape[0] == len(texts):
                    return vectors
            except (OSError, ValueError):
                pass
        vectors = self.encoder(texts)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        except OSError:
            pass
        return vectors
