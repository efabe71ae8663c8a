"""Ranking every disease of the HPO knowledge base for a patient's present and absent terms.

The default, :class:`LikelihoodScorer`, adds up three things per disease ``d`` (chosen by
measurement on real published cases, BENCHMARKS.md "Rare diseases on real patients"):

1. **Likelihood ratios with ancestor matching** (LIRICAL-style). ``F[d, t]`` is the chance that a
   patient with ``d`` has ``t`` or a more specific term (noisy-or over ``d``'s annotated
   descendants of ``t``, each frequency scaled down when ``d`` has more annotations than a
   record lists); ``bg(t)`` is its mean over all diseases (the background rate). A present term
   ``t`` is explained by its best ancestor-or-self ``a``: ``G = max_a F[d, a] / bg(a)`` (a term
   the disease does not explain at all meets it at the root, ratio 1). Records carry unrelated
   and imprecise terms, so the ratio is shrunk towards 1: ``LR = η + (1 − η) · G``, with a
   smaller ``η`` for terms confirmed in answer to a question. An absent (excluded) term gives
   ``(1 − s·F[d, t]) / (1 − s·bg(t))``; a present term the disease is annotated *not* to have
   multiplies by a penalty.
2. **Features the record does not mention**: ``Σ log(1 − κ·f)`` over ``d``'s annotations that no
   patient term matches (neither the term, a descendant nor an ancestor of it) — a disease
   whose frequent features are all missing from a full record is less likely.
3. **Information content** (Resnik, Phenomizer-style): ``w`` times the sum over patient terms
   of the IC of their most informative common ancestor with ``d``'s annotations, plus
   ``w·λ`` times the number of terms times the disease → patient average
   (``agent.reasoners.hpo.similarity``): an exact match of a rare term counts more than a shared
   organ system.

Every part reads a few columns of sparse (diseases × terms) matrices per patient term.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agent.reasoners.arrays import FloatArray
from agent.reasoners.hpo.similarity import ColumnMax, ResnikScorer, column_max
from retrieval.hpo_kb import UNKNOWN_FREQUENCY, HpoKnowledgeBase, SparseMatrix

EFFECTS_KEPT = 256
"""Per-term score vectors kept (~100 kB each over ~12,000 diseases)."""


@dataclass(frozen=True)
class LikelihoodParams:
    """Knobs of the model, chosen on the real dev cases as a whole (BENCHMARKS.md)."""

    default_frequency: float = 0.5
    """Frequency assumed for an annotation whose source gives none."""
    noise: float = 0.5
    """η: shrinks a volunteered term's ratio towards 1 (``η + (1 − η)·G``): records carry
    unrelated findings and imprecise terms."""
    answered_noise: float = 0.2
    """η for a term the patient confirmed when asked: the question was chosen because leading
    diseases have the term, so a "yes" is seldom an unrelated finding."""
    record_length: float | None = 40.0
    """A record lists about this many terms: a disease with more annotations than that has
    each one recorded proportionally less often (None: frequencies as annotated)."""
    sensitivity: float = 0.05
    """s: how strongly an absent term counts against the diseases that have it. Low: the
    absences records note are the features a differential was checked for, so a disease with
    the feature is often the diagnosis anyway — on the dev records a term of the true disease
    is excluded 8 times as often as a term it lacks (measured: 0.9 costs 3 points of top-1,
    0.2 half a point against 0.05; a "no" still lowers the diseases that have the feature)."""
    review_sensitivity: float = 0.05
    """s for a review-of-systems branch left unticked: nearly no evidence, since a patient —
    or a record — often leaves out an affected system (measured on the dev cases' even half at
    10 questions: 0 and 0.05 best, 0.2 a point lower in top-10, 0.9 — a real "no" — far
    lower; BENCHMARKS.md)."""
    excluded_penalty: float = 0.02
    """Likelihood ratio of a present term the disease is annotated not to have."""
    missing_penalty: float = 0.3
    """κ: weight of a disease's annotated features that no patient term matches (0: none)."""
    scale_missing_by_length: bool = True
    """Weigh that penalty by the share of a record's length the profile has (2 of 10 terms:
    a fifth), since what a consultation has not heard yet is not missing."""
    missing_record_length: float | None = 10.0
    """For that penalty, a disease's frequencies are scaled to this many expected terms (a
    dev record lists 11 on average), so a disease with hundreds of annotations is not
    penalised hundreds of times."""
    similarity_weight: float = 2.0
    """w: weight of the Resnik information-content match per patient term (0: none)."""
    reverse_weight: float = 0.2
    """λ: weight of the disease → patient direction of the Resnik match."""


class Scorer(Protocol):
    """Scores every disease (higher is more likely); log-likelihood scale for the posterior."""

    def scores(
        self,
        present: Sequence[int],
        absent: Sequence[int],
        confirmed: Sequence[int] = (),
        unticked: Sequence[int] = (),
    ) -> FloatArray:
        """``present``: terms volunteered; ``confirmed``: terms answered yes when asked;
        ``unticked``: review-of-systems branches left unticked (a weak "no")."""
        ...


def _scaled_frequencies(
    kb: HpoKnowledgeBase, default_frequency: float, record_length: float | None
) -> FloatArray:
    """Each annotation's frequency (the default when unknown), in ``kb.annotations``' order,
    scaled so that no disease expects more than ``record_length`` recorded terms."""
    annotations = kb.annotations
    frequency = np.where(annotations.data == UNKNOWN_FREQUENCY, default_frequency, annotations.data)
    if record_length is not None:
        counts = np.diff(annotations.indptr)
        rows = np.repeat(np.arange(kb.n_diseases), counts)
        expected = np.bincount(rows, weights=frequency, minlength=kb.n_diseases)
        scale = np.minimum(1.0, record_length / np.maximum(expected, 1e-9))
        frequency = frequency * scale[rows]
    return np.asarray(frequency, dtype=np.float64)


def presence_probability(
    kb: HpoKnowledgeBase, default_frequency: float, record_length: float | None = None
) -> SparseMatrix:
    """``F[d, t]``: chance that a patient with ``d`` has ``t`` or a descendant (noisy-or)."""
    annotations = kb.annotations.copy()
    frequency = _scaled_frequencies(kb, default_frequency, record_length)
    annotations.data = np.log1p(-np.clip(frequency, 0.0, 0.999))
    log_absent = (annotations @ kb.ancestors).tocsc()
    log_absent.data = -np.expm1(log_absent.data)
    log_absent.eliminate_zeros()
    return log_absent


def _missing_log_terms(kb: HpoKnowledgeBase, params: LikelihoodParams) -> SparseMatrix:
    """(diseases × terms) ``log(1 − κ·f)`` per annotation, ``f`` scaled as in ``F``."""
    frequency = _scaled_frequencies(kb, params.default_frequency, params.missing_record_length)
    matrix = kb.annotations.copy().tocsr()
    matrix.data = np.log1p(-params.missing_penalty * np.clip(frequency, 0.0, 0.999))
    return matrix


class LikelihoodScorer:
    """Likelihood ratios with propagation, frequencies, imprecision and noise, plus the
    unmentioned-feature penalty and the information-content match (module docstring)."""

    def __init__(self, kb: HpoKnowledgeBase, params: LikelihoodParams | None = None) -> None:
        self.kb = kb
        self.params = params or LikelihoodParams()
        self.similarity = ResnikScorer(kb, self.params.reverse_weight)
        self._missing = _missing_log_terms(kb, self.params)
        self._missing_total = np.asarray(self._missing.sum(axis=1)).ravel()
        self._descendants = kb.ancestors.T.tocsr()
        self._effects: dict[tuple[int, bool], FloatArray] = {}
        self.presence = presence_probability(
            kb, self.params.default_frequency, self.params.record_length
        )
        floor = 1.0 / (10.0 * max(kb.n_diseases, 1))
        self.background: FloatArray = np.maximum(
            np.asarray(self.presence.sum(axis=0)).ravel() / max(kb.n_diseases, 1), floor
        )
        ratio = self.presence.copy()
        ratio.data = ratio.data / np.repeat(self.background, np.diff(ratio.indptr))
        self.ratio: SparseMatrix = ratio
        self._best_ratio = ColumnMax(ratio)
        self.excluded: SparseMatrix = kb.excluded.tocsc()

    def term_ratios(self, term: int, confirmed: bool = False) -> FloatArray:
        """Likelihood ratio of one present term for every disease."""
        best = self._best_ratio(self.kb.ancestors_of(term), np.zeros(self.kb.n_diseases))
        eta = self.params.answered_noise if confirmed else self.params.noise
        ratios = eta + (1.0 - eta) * best
        if self.excluded.nnz:
            hit = np.zeros(self.kb.n_diseases)
            column_max(self.excluded, self.kb.ancestors_of(term), hit)
            ratios = np.where(hit > 0, ratios * self.params.excluded_penalty, ratios)
        return ratios

    def absent_ratios(self, term: int, sensitivity: float | None = None) -> FloatArray:
        """Likelihood ratio of one absent term for every disease."""
        s = self.params.sensitivity if sensitivity is None else sensitivity
        column = self.presence_column(term)
        denominator = 1.0 - s * min(float(self.background[term]), 0.99)
        return np.asarray((1.0 - s * column) / denominator, dtype=np.float64)

    def term_effects(self, term: int, confirmed: bool = False) -> FloatArray:
        """What one present term adds to each disease's score: its log likelihood ratio and
        its weighted information-content match. Kept for the next calls (read-only): a
        consultation rescores the same terms after every answer."""
        key = (term, confirmed)
        cached = self._effects.get(key)
        if cached is not None:
            return cached
        effect = np.log(self.term_ratios(term, confirmed))
        if self.params.similarity_weight:
            effect += self.params.similarity_weight * self.similarity.term_matches(term)
        effect.flags.writeable = False
        if len(self._effects) >= EFFECTS_KEPT:
            del self._effects[next(iter(self._effects))]
        self._effects[key] = effect
        return np.asarray(effect, dtype=np.float64)

    def scores(
        self,
        present: Sequence[int],
        absent: Sequence[int],
        confirmed: Sequence[int] = (),
        unticked: Sequence[int] = (),
    ) -> FloatArray:
        total = np.zeros(self.kb.n_diseases)
        for term in present:
            total += self.term_effects(term)
        for term in confirmed:
            total += self.term_effects(term, confirmed=True)
        for term in absent:
            total += np.log(self.absent_ratios(term))
        for term in unticked:
            total += np.log(self.absent_ratios(term, self.params.review_sensitivity))
        terms = [*present, *confirmed]
        if terms and self.params.similarity_weight and self.params.reverse_weight:
            weight = self.params.similarity_weight * self.params.reverse_weight * len(terms)
            total += weight * self.similarity.reverse(terms)
        if terms and self.params.missing_penalty:
            penalty = self._missing_total - self._missing @ self._matched(terms)
            total += self._completeness(len(terms)) * penalty
        return total

    def _completeness(self, n_terms: int) -> float:
        """How complete the known profile looks (1: as long as a record): a consultation
        that knows two terms says little about what the patient lacks."""
        length = self.params.missing_record_length
        if not self.params.scale_missing_by_length or not length:
            return 1.0
        return min(1.0, n_terms / length)

    def _matched(self, terms: Sequence[int]) -> FloatArray:
        """1 for every term a patient term matches: itself, its ancestors, its descendants."""
        matched = np.zeros(self.kb.n_terms)
        rows = self._descendants
        for term in terms:
            matched[self.kb.ancestors_of(term)] = 1.0
            matched[rows.indices[rows.indptr[term] : rows.indptr[term + 1]]] = 1.0
        return matched

    def presence_column(self, term: int) -> FloatArray:
        """``F[:, term]`` as a dense vector."""
        column = np.zeros(self.kb.n_diseases)
        start, end = self.presence.indptr[term], self.presence.indptr[term + 1]
        column[self.presence.indices[start:end]] = self.presence.data[start:end]
        return column
