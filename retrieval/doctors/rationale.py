"""Which criteria a doctor meets, and the profile text that shows it.

Every ranked doctor carries a rationale: for each criterion, the profile piece (a section or a
sentence, see ``DoctorProfile.sections``) that matches it best, how well, and whether that is
enough to call the criterion met. Two matchers produce it:

* :class:`DenseMatcher` — cosine similarity of sentence embeddings (the embedded ranker scores
  with the same matrix, so the rationale is exactly what the score was made of);
* :class:`LexicalMatcher` — the share of a criterion's tokens a piece contains (no model; used
  for the lexical rankers and when no embedding model is loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from retrieval.doctors.claims import adjust
from retrieval.doctors.criteria import CriteriaSet, Criterion
from retrieval.doctors.profiles import DoctorProfile
from retrieval.index.tokenizers import jieba_tokens as tokenize

if TYPE_CHECKING:
    from retrieval.embeddings import Encoder

DENSE_MET_THRESHOLD = 0.55
"""Cosine similarity at which a profile piece is taken to show a criterion (all-MiniLM-L6-v2:
paraphrases score ≥ 0.6, same-topic sentences 0.3–0.5)."""
LEXICAL_MET_THRESHOLD = 0.5
"""Share of a criterion's tokens a piece must contain for the criterion to count as met."""

EMBED_BATCH = 128
"""Texts per encoder batch: large batches of short pieces use the cores best (measured: about
a third less CPU than query-sized batches of ~50)."""

Matrix = npt.NDArray[np.float32]


class CriterionEvidence(BaseModel):
    """How one doctor stands on one criterion."""

    model_config = ConfigDict(frozen=True)

    key: str
    criterion: str
    weight: float
    similarity: float = Field(description="Best match of any profile piece, 0–1.")
    met: bool
    section: str = Field(default="", description="Which part of the profile matched best.")
    evidence: str = Field(default="", description="The profile text that matched best.")


class SectionMatcher(Protocol):
    """Scores every profile piece against every criterion."""

    threshold: float

    def similarities(self, criteria: Sequence[Criterion], pieces: Sequence[str]) -> Matrix: ...


GENERIC_WORDS = "treats treating manages patients doctor skilled experienced 治疗 医生 擅长"
"""Words every criterion or profile says ("treats X"): matching them shows nothing."""


class LexicalMatcher:
    """Token overlap: the share of a criterion's telling tokens (not :data:`GENERIC_WORDS`)
    found in the piece."""

    threshold = LEXICAL_MET_THRESHOLD

    def similarities(self, criteria: Sequence[Criterion], pieces: Sequence[str]) -> Matrix:
        piece_tokens = [set(tokenize(p)) for p in pieces]
        generic = set(tokenize(GENERIC_WORDS))
        result = np.zeros((len(pieces), len(criteria)), dtype=np.float32)
        for j, criterion in enumerate(criteria):
            wanted = set(tokenize(criterion.text)) - generic
            if not wanted:
                continue
            for i, tokens in enumerate(piece_tokens):
                result[i, j] = len(wanted & tokens) / len(wanted)
        return result


class DenseMatcher:
    """Cosine similarity of sentence embeddings, with every text embedded once per process
    (profile pieces repeat across queries: titles, departments, whole synthetic profiles)."""

    threshold = DENSE_MET_THRESHOLD

    def __init__(self, encoder: Encoder, max_cached: int = 500_000) -> None:
        self.encoder = encoder
        self.max_cached = max_cached
        self._vectors: dict[str, Matrix] = {}

    def vectors(self, texts: Sequence[str], *, progress: bool = False) -> Matrix:
        """Embeddings of ``texts`` (rows), computing only those not seen before."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > self.max_cached:
                self._vectors.clear()
            computed = self.encoder.encode(missing, batch_size=EMBED_BATCH, progress=progress)
            for text, vector in zip(missing, computed, strict=True):
                self._vectors[text] = vector
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def remember(self, texts: Sequence[str], vectors: Matrix) -> None:
        """Take precomputed embeddings (a persisted directory index) into the cache."""
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[text] = vector

    def similarities(self, criteria: Sequence[Criterion], pieces: Sequence[str]) -> Matrix:
        criterion_vectors = self.vectors([c.text for c in criteria])
        similarities = np.clip(self.vectors(pieces) @ criterion_vectors.T, 0.0, 1.0)
        return np.asarray(similarities, dtype=np.float32)


def claimed_similarities(
    matcher: SectionMatcher, criteria: CriteriaSet, pieces: Sequence[str]
) -> Matrix:
    """The matcher's similarities, with a disease criterion met only by a piece that says the
    doctor treats that disease (``retrieval.doctors.claims``)."""
    matrix = matcher.similarities(criteria.criteria, pieces)
    subjects = [c.subject for c in criteria.criteria]
    return adjust(matrix, subjects, pieces, matcher.threshold) if any(subjects) else matrix


def best_matches(
    matcher: SectionMatcher, criteria: CriteriaSet, profiles: Sequence[DoctorProfile]
) -> tuple[Matrix, list[list[tuple[int, str, str]]]]:
    """For every profile and criterion, the best piece's similarity.

    Returns an (n_profiles, n_criteria) matrix and, per profile, the list of its pieces as
    (index, section, text), so callers can quote the best one. All pieces of all profiles are
    scored in one matrix product.
    """
    pieces: list[list[tuple[int, str, str]]] = []
    texts: list[str] = []
    offsets: list[int] = []
    for profile in profiles:
        offsets.append(len(texts))
        own = [(i, label, text) for i, (label, text) in enumerate(profile.sections())]
        pieces.append(own)
        texts.extend(text for _, _, text in own)
    n_criteria = len(criteria.criteria)
    if not texts:
        return np.zeros((len(profiles), n_criteria), dtype=np.float32), pieces
    matrix = claimed_similarities(matcher, criteria, texts)
    best = np.zeros((len(profiles), n_criteria), dtype=np.float32)
    for row, (start, own) in enumerate(zip(offsets, pieces, strict=True)):
        if own:
            best[row] = matrix[start : start + len(own)].max(axis=0)
    return best, pieces


def explain(
    matcher: SectionMatcher, criteria: CriteriaSet, profile: DoctorProfile
) -> list[CriterionEvidence]:
    """The rationale of one doctor: each criterion with the profile text that matches it best."""
    sections = profile.sections()
    texts = [text for _, text in sections]
    if not texts:
        matrix = np.zeros((0, len(criteria.criteria)), dtype=np.float32)
    else:
        matrix = claimed_similarities(matcher, criteria, texts)
    evidence = []
    for j, criterion in enumerate(criteria.criteria):
        if len(texts) == 0:
            evidence.append(_evidence(criterion, 0.0, False, "", "", matcher))
            continue
        i = int(np.argmax(matrix[:, j]))
        similarity = float(matrix[i, j])
        label, text = sections[i]
        evidence.append(_evidence(criterion, similarity, True, label, text, matcher))
    return evidence


def _evidence(
    criterion: Criterion,
    similarity: float,
    quoted: bool,
    section: str,
    text: str,
    matcher: SectionMatcher,
) -> CriterionEvidence:
    met = quoted and similarity >= matcher.threshold
    return CriterionEvidence(
        key=criterion.key,
        criterion=criterion.text,
        weight=criterion.weight,
        similarity=round(similarity, 4),
        met=met,
        section=section if met else "",
        evidence=text if met else "",
    )


def summary_line(evidence: Sequence[CriterionEvidence]) -> str:
    """ "meets 3/5 criteria (department, condition, treatment)" for compact displays."""
    met = [e.key for e in evidence if e.met]
    listed = f" ({', '.join(met)})" if met else ""
    return f"meets {len(met)}/{len(evidence)} criteria{listed}"
