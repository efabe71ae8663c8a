"""Resnik similarity between a patient's terms and every disease (Phenomizer, Köhler et al.
2009), both directions, vectorised over diseases.

``IC(t) = −log(share of diseases annotated with t or a descendant)``. A patient term's match
with a disease is the IC of its most informative ancestor that is also an ancestor of one of
the disease's annotations (the most informative common ancestor, MICA). *Patient → disease*
averages that over the patient's terms; *disease → patient* averages, over the disease's
annotations, the IC of each one's MICA with any patient term — the direction that notices a
disease whose features the patient mostly lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.reasoners.arrays import FloatArray, IntArray
from retrieval.hpo_kb import HpoKnowledgeBase, SparseMatrix

DENSE_COLUMN = 2000
"""Columns with more entries than this (the root and the broad branches, ~100 of ~18,000) are
also kept dense: a dense maximum is several times faster than a scattered one."""


def column_max(matrix: SparseMatrix, columns: IntArray, out: FloatArray) -> FloatArray:
    """``out[d] = max(out[d], matrix[d, c] for c in columns)`` for a CSC matrix (no copies)."""
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for c in columns:
        rows = indices[indptr[c] : indptr[c + 1]]
        out[rows] = np.maximum(out[rows], data[indptr[c] : indptr[c + 1]])
    return out


class ColumnMax:
    """:func:`column_max` over one CSC matrix, with its largest columns kept dense."""

    def __init__(self, matrix: SparseMatrix, dense_above: int = DENSE_COLUMN) -> None:
        self.matrix = matrix.tocsc()
        sizes = np.diff(self.matrix.indptr)
        big = np.flatnonzero(sizes > dense_above)
        self._dense = {int(c): self.matrix[:, c].toarray().ravel() for c in big}

    def __call__(self, columns: IntArray, out: FloatArray) -> FloatArray:
        matrix = self.matrix
        indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
        for c in columns:
            dense = self._dense.get(int(c))
            if dense is not None:
                np.maximum(out, dense, out=out)
                continue
            rows = indices[indptr[c] : indptr[c + 1]]
            out[rows] = np.maximum(out[rows], data[indptr[c] : indptr[c + 1]])
        return out


class ResnikScorer:
    """Best-match average Resnik similarity; ``reverse_weight`` adds the disease → patient
    direction (0: Phenomizer's patient → disease only; 1: the two directions summed)."""

    def __init__(self, kb: HpoKnowledgeBase, reverse_weight: float = 0.0) -> None:
        self.kb = kb
        self.reverse_weight = reverse_weight
        annotated = kb.annotations.copy()
        annotated.data = np.ones_like(annotated.data)
        reach = (annotated @ kb.ancestors).tocsc()
        reach.data = np.ones_like(reach.data)
        share = np.asarray(reach.sum(axis=0)).ravel() / max(kb.n_diseases, 1)
        self.information: FloatArray = -np.log(np.maximum(share, 1.0 / max(kb.n_diseases, 1)))
        reach.data = reach.data * np.repeat(self.information, np.diff(reach.indptr))
        self.similarity: SparseMatrix = reach
        self._best_match = ColumnMax(reach)
        # The reverse direction needs the best match of annotated terms only.
        used = np.unique(annotated.indices)
        self._annotated = annotated.tocsc()[:, used].tocsr()
        self._counts = np.maximum(np.diff(self._annotated.indptr), 1)
        self._ancestors = kb.ancestors.tocsr()[used]

    def term_matches(self, term: int) -> FloatArray:
        """IC of the MICA of one patient term with each disease."""
        return self._best_match(self.kb.ancestors_of(term), np.zeros(self.kb.n_diseases))

    def forward(self, terms: Sequence[int]) -> FloatArray:
        """Patient → disease: the mean over the patient's terms of their matches."""
        total = np.zeros(self.kb.n_diseases)
        for term in terms:
            total += self.term_matches(term)
        return total / max(len(terms), 1)

    def reverse(self, terms: Sequence[int]) -> FloatArray:
        """Disease → patient: the mean over each disease's annotations of the IC of their
        MICA with any patient term."""
        reached = np.zeros(self.kb.n_terms)
        for term in terms:
            ancestors = self.kb.ancestors_of(term)
            reached[ancestors] = self.information[ancestors]
        anc = self._ancestors
        best = np.maximum.reduceat(anc.data * reached[anc.indices], anc.indptr[:-1])
        mean: FloatArray = np.asarray(self._annotated @ best, dtype=np.float64) / self._counts
        return mean

    def scores(
        self,
        present: Sequence[int],
        absent: Sequence[int],
        confirmed: Sequence[int] = (),
        unticked: Sequence[int] = (),
    ) -> FloatArray:
        """Absent terms and unticked branches are ignored (similarity knows presence only)."""
        terms = [*present, *confirmed]
        score = self.forward(terms)
        if self.reverse_weight and terms:
            score = score + self.reverse_weight * self.reverse(terms)
        return score
