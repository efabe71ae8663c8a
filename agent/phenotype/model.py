"""Ranking every disease of the HPO knowledge base for a patient's present and absent terms.

Two scorers, chosen between by measurement (BENCHMARKS.md, "Rare diseases"):

* :class:`LikelihoodScorer` (the default) — a naive-Bayes likelihood ratio per patient term with
  ontology propagation and annotation frequencies. ``F[d, t]`` is the chance that a patient with
  disease ``d`` has ``t`` or a more specific term (noisy-or over ``d``'s annotated descendants of
  ``t``, each frequency scaled down when ``d`` has more annotations than a record lists);
  ``bg(t)`` is its mean over all diseases. A present term ``t`` is explained by its best
  ancestor-or-self ``a``: ``G = max_a F[d, a] / bg(a)`` (a term more specific than the
  annotation is as likely as its share of the annotation's patients; a term the disease does
  not explain at all meets it at the root, ratio 1). Records carry unrelated and imprecise
  terms, so the ratio is shrunk towards 1: ``LR = η + (1 − η) · G``, with a smaller ``η`` for
  terms confirmed in answer to a question. An absent term gives
  ``(1 − s·F[d, t]) / (1 − s·bg(t))`` with ``s`` the chance a present feature is reported. A
  term the disease is annotated *not* to have (or a descendant of one) multiplies by a penalty.
* :class:`ResnikScorer` — Phenomizer's best-match average of Resnik similarity (information
  content of the most informative common ancestor), patient → disease. The baseline.

Both turn a patient into one score per disease in a few milliseconds: the columns of a sparse
(diseases × terms) matrix are read for each patient term's ancestors, nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from retrieval.hpo_kb import UNKNOWN_FREQUENCY, HpoKnowledgeBase, SparseMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class LikelihoodParams:
    """Knobs of the likelihood model, with the values measured best on simulated patients."""

    default_frequency: float = 0.5
    """Frequency assumed for an annotation whose source gives none."""
    noise: float = 0.9
    """η: shrinks a volunteered term's ratio towards 1 (``η + (1 − η)·G``). Measured: high
    values rank best, since records carry unrelated findings and imprecise terms."""
    answered_noise: float = 0.2
    """η for a term the patient confirmed when asked: the question was chosen because leading
    diseases have the term, so a "yes" is seldom an unrelated finding."""
    record_length: float | None = 10.0
    """A record lists about this many terms: a disease with more annotations than that has
    each one recorded proportionally less often (None: frequencies as annotated)."""
    sensitivity: float = 0.9
    """s: chance that a feature the patient has is reported when asked."""
    excluded_penalty: float = 0.02
    """Likelihood ratio of a present term the disease is annotated not to have."""


class Scorer(Protocol):
    """Scores every disease (higher is more likely); log-likelihood scale for the posterior."""

    def scores(
        self, present: Sequence[int], absent: Sequence[int], confirmed: Sequence[int] = ()
    ) -> FloatArray:
        """``present``: terms volunteered; ``confirmed``: terms answered yes when asked."""
        ...


def presence_probability(
    kb: HpoKnowledgeBase, default_frequency: float, record_length: float | None = None
) -> SparseMatrix:
    """``F[d, t]``: chance that a patient with ``d`` has ``t`` or a descendant (noisy-or)."""
    annotations = kb.annotations.copy()
    frequency = np.where(annotations.data == UNKNOWN_FREQUENCY, default_frequency, annotations.data)
    if record_length is not None:
        counts = np.diff(annotations.indptr)
        rows = np.repeat(np.arange(kb.n_diseases), counts)
        expected = np.bincount(rows, weights=frequency, minlength=kb.n_diseases)
        scale = np.minimum(1.0, record_length / np.maximum(expected, 1e-9))
        frequency = frequency * scale[rows]
    annotations.data = np.log1p(-np.clip(frequency, 0.0, 0.999))
    log_absent = (annotations @ kb.ancestors).tocsc()
    log_absent.data = -np.expm1(log_absent.data)
    log_absent.eliminate_zeros()
    return log_absent


def _column_max(matrix: SparseMatrix, columns: IntArray, out: FloatArray) -> FloatArray:
    """``out[d] = max(out[d], matrix[d, c] for c in columns)``, column by column (no copies)."""
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for c in columns:
        rows = indices[indptr[c] : indptr[c + 1]]
        out[rows] = np.maximum(out[rows], data[indptr[c] : indptr[c + 1]])
    return out


class LikelihoodScorer:
    """Naive-Bayes log-likelihood ratios with propagation, frequencies, imprecision and noise."""

    def __init__(self, kb: HpoKnowledgeBase, params: LikelihoodParams | None = None) -> None:
        self.kb = kb
        self.params = params or LikelihoodParams()
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
        self.excluded: SparseMatrix = kb.excluded.tocsc()

    def term_ratios(self, term: int, confirmed: bool = False) -> FloatArray:
        """Likelihood ratio of one present term for every disease."""
        best = _column_max(self.ratio, self.kb.ancestors_of(term), np.zeros(self.kb.n_diseases))
        eta = self.params.answered_noise if confirmed else self.params.noise
        ratios = eta + (1.0 - eta) * best
        if self.excluded.nnz:
            hit = np.zeros(self.kb.n_diseases)
            _column_max(self.excluded, self.kb.ancestors_of(term), hit)
            ratios = np.where(hit > 0, ratios * self.params.excluded_penalty, ratios)
        return ratios

    def absent_ratios(self, term: int) -> FloatArray:
        """Likelihood ratio of one absent term for every disease."""
        s = self.params.sensitivity
        column = self.presence_column(term)
        denominator = 1.0 - s * min(float(self.background[term]), 0.99)
        return np.asarray((1.0 - s * column) / denominator, dtype=np.float64)

    def scores(
        self, present: Sequence[int], absent: Sequence[int], confirmed: Sequence[int] = ()
    ) -> FloatArray:
        total = np.zeros(self.kb.n_diseases)
        for term in present:
            total += np.log(self.term_ratios(term))
        for term in confirmed:
            total += np.log(self.term_ratios(term, confirmed=True))
        for term in absent:
            total += np.log(self.absent_ratios(term))
        return total

    def presence_column(self, term: int) -> FloatArray:
        """``F[:, term]`` as a dense vector."""
        column = np.zeros(self.kb.n_diseases)
        start, end = self.presence.indptr[term], self.presence.indptr[term + 1]
        column[self.presence.indices[start:end]] = self.presence.data[start:end]
        return column


class ResnikScorer:
    """Best-match average Resnik similarity, patient → disease (Phenomizer, Köhler et al. 2009).

    Information content ``IC(t) = −log(share of diseases annotated with t or a descendant)``;
    a patient term's match with a disease is the IC of its most informative ancestor that is
    also an ancestor of one of the disease's annotations. Absent terms are ignored.
    """

    def __init__(self, kb: HpoKnowledgeBase) -> None:
        self.kb = kb
        annotated = kb.annotations.copy()
        annotated.data = np.ones_like(annotated.data)
        reach = (annotated @ kb.ancestors).tocsc()
        reach.data = np.ones_like(reach.data)
        share = np.asarray(reach.sum(axis=0)).ravel() / max(kb.n_diseases, 1)
        self.information: FloatArray = -np.log(np.maximum(share, 1.0 / max(kb.n_diseases, 1)))
        reach.data = reach.data * np.repeat(self.information, np.diff(reach.indptr))
        self.similarity: SparseMatrix = reach

    def scores(
        self, present: Sequence[int], absent: Sequence[int], confirmed: Sequence[int] = ()
    ) -> FloatArray:
        total = np.zeros(self.kb.n_diseases)
        for term in [*present, *confirmed]:
            total += _column_max(
                self.similarity, self.kb.ancestors_of(term), np.zeros(self.kb.n_diseases)
            )
        return total / max(len(present) + len(confirmed), 1)


def posterior(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Softmax of the scores (uniform prior over diseases)."""
    shifted = (scores - scores.max()) / temperature
    weights = np.exp(shifted)
    return np.asarray(weights / weights.sum(), dtype=np.float64)
