"""The phenotype reasoner's history-taking role: ask the HPO term with the largest expected
information gain under a patient who may not know.

A real record — or a real patient — answers "yes" to a feature the patient has only some of
the time, "no" rarely, and "I don't know" most often; the engine takes "don't know" as no
evidence. So the expected gain of asking term ``t`` over the leading diseases (weights ``π``)
counts the yes and no outcomes only:

    P(yes | d) = a · F[d, t] + ε · bg(t)        P(no | d) = r · (1 − a · F[d, t])
    gain(t) = Σ_{o ∈ yes, no} P(o) · (H(π) − H(π | o))

with ``a`` the chance that a feature the patient has is known (``answer_rate``), ``r`` the
chance that one the patient lacks is known to be absent (``denial_rate``) and ``ε`` the
volunteered-term noise. A question most patients cannot answer is worth little, however well
a "yes" would separate the leaders. A term whose answer already follows from the findings is
never asked: an ancestor of a present term (present too) or a descendant of an absent one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.findings import FindingValue
from agent.phenotype.model import FloatArray, leading
from agent.phenotype.phrasing import term_question
from agent.phenotype.review import REVIEW_CODE, REVIEW_TEXT, review_branches, review_choices
from agent.phenotype.roles import PhenotypeDiagnoser, split_findings
from agent.roles import ConsultationView, Question

POOL = 1000
"""The gain is computed over this many leading diseases (with the calibrated posterior they
carry all but a negligible share of the probability)."""

MIN_GAIN_BITS = 0.0
"""Stop asking only when no question can tell the leading diseases apart: with thousands of
diseases a small expected gain now often opens up a large one later."""


@dataclass(frozen=True)
class AnswerModel:
    """How likely a patient is to know the answer (module docstring)."""

    answer_rate: float = 0.5
    """a: chance that a feature the patient has is known ("yes")."""
    denial_rate: float = 0.02
    """r: chance that a feature the patient lacks is known to be absent ("no")."""


def _entropy(joint: FloatArray, total: FloatArray) -> FloatArray:
    q = joint / np.maximum(total, 1e-300)[None, :]
    return np.asarray(-(q * np.log2(np.where(q > 0, q, 1.0))).sum(axis=0))


class PhenotypeHistoryTaker:
    """History-taking role: the review of systems first (``agent.phenotype.review``), then the
    HPO term with the largest expected gain, phrased from the term's name and definition."""

    def __init__(
        self,
        diagnoser: PhenotypeDiagnoser,
        candidates: int = 30,
        focus: float = 1.0,
        review_of_systems: bool = True,
        answers: AnswerModel | None = None,
    ) -> None:
        self.review_of_systems = review_of_systems
        self.focus = focus
        """Exponent on the leaders' probabilities before the gain is computed (> 1: questions
        aimed at the very top of the differential)."""
        self.answers = answers or AnswerModel()
        self.diagnoser = diagnoser
        self.kb = diagnoser.kb
        self.scorer = diagnoser.scorer
        self.candidates = candidates
        """Terms annotated to these leading diseases are the questions considered; the gain
        is computed over every disease."""
        self._descendants = self.kb.ancestors.T.tocsr()
        self._presence_rows = self.scorer.presence.tocsr()

    def _implied(self, findings: Mapping[str, FindingValue]) -> npt.NDArray[np.bool_]:
        """Per term: whether its answer follows from the findings (an ancestor of a present
        term, or a descendant of an absent one — an unticked review branch included)."""
        present, absent = split_findings(self.kb, findings)
        implied = np.zeros(self.kb.n_terms, dtype=bool)
        for t in present:
            implied[self.kb.ancestors_of(t)] = True
        for t in absent:
            start, end = self._descendants.indptr[t], self._descendants.indptr[t + 1]
            implied[self._descendants.indices[start:end]] = True
        return implied

    def expected_gains(self, weights: FloatArray, terms: Sequence[int]) -> FloatArray:
        """Expected entropy reduction (bits) of asking each term, over the diseases carrying
        nearly all the weight (the ``POOL`` heaviest; the rest add nothing measurable).

        Sparse throughout: a disease without the term answers yes with the noise rate only,
        so its part of each sum follows from the totals."""
        pool = leading(weights, POOL)
        prior = weights[pool] / weights[pool].sum()
        position = np.full(self.kb.n_terms, -1)
        position[np.asarray(terms)] = np.arange(len(terms))
        rows_of_pool = self._presence_rows[pool]
        columns = position[rows_of_pool.indices]
        keep = columns >= 0
        col = columns[keep]
        rows = np.repeat(np.arange(len(pool)), np.diff(rows_of_pool.indptr))[keep]
        data = rows_of_pool.data[keep]
        a, r = self.answers.answer_rate, self.answers.denial_rate
        noise = self.scorer.params.noise * self.scorer.background[np.asarray(terms)]
        log_prior = np.log(np.where(prior > 0, prior, 1.0))
        h_prior = float(-(prior * log_prior).sum())
        covered = np.bincount(col, weights=prior[rows], minlength=len(terms))
        covered_log = np.bincount(col, weights=(prior * log_prior)[rows], minlength=len(terms))
        total_log = float((prior * log_prior).sum())
        gain = np.zeros(len(terms))
        # (answer probability where the disease has the term, where it does not)
        for has, lacks in (
            (a * data + noise[col], noise),
            (r * (1.0 - a * data), np.full(len(terms), r)),
        ):
            has = np.clip(has, 1e-12, 1.0)
            lacks = np.clip(lacks, 1e-12, 1.0)
            joint = prior[rows] * has
            p_answer = np.bincount(col, weights=joint, minlength=len(terms)) + lacks * (
                1.0 - covered
            )
            # Σ π·p·log(π·p) over the pool, the diseases lacking the term from the totals
            plogp = np.bincount(
                col, weights=joint * (log_prior[rows] + np.log(has)), minlength=len(terms)
            )
            plogp += lacks * ((total_log - covered_log) + np.log(lacks) * (1.0 - covered))
            entropy = np.log(p_answer) - plogp / p_answer
            gain += p_answer * (h_prior - entropy)
        return np.asarray(gain / np.log(2.0), dtype=np.float64)

    def next_question(self, view: ConsultationView) -> Question | None:
        if self._review_due(view):
            return Question(
                code=REVIEW_CODE,
                text=REVIEW_TEXT,
                kind="M",
                choices=list(review_choices(self.kb)),
                reason="Which organ systems are involved narrows thousands of rare diseases "
                "at once, before questions about single features.",
                expected_gain=0.0,
            )
        probabilities = self.diagnoser.posterior(view)
        leaders = [int(d) for d in leading(probabilities, self.candidates)]
        implied = self._implied(view.findings)
        asked = {self.kb.resolve(code) for code in (*view.asked, *view.findings)}
        reachable = np.unique(self._presence_rows[leaders].indices)
        terms = [
            int(t) for t in reachable[~implied[reachable]] if self.kb.term_ids[int(t)] not in asked
        ]
        if not terms:
            return None
        gains = self.expected_gains(probabilities**self.focus, terms)
        best = int(np.argmax(gains))
        if gains[best] <= MIN_GAIN_BITS:
            return None
        term = terms[best]
        return Question(
            code=self.kb.term_ids[term],
            text=term_question(self.kb, term),
            kind="B",
            reason=self._reason(term, leaders[:6], float(gains[best])),
            expected_gain=round(float(gains[best]), 4),
        )

    def _review_due(self, view: ConsultationView) -> bool:
        """The review comes first, once, when the ontology has branches to review."""
        return (
            self.review_of_systems
            and REVIEW_CODE not in view.findings
            and REVIEW_CODE not in view.asked
            and bool(review_branches(self.kb))
        )

    def _reason(self, term: int, leaders: Sequence[int], gain: float) -> str:
        column = self.scorer.presence_column(term)
        names = self.kb.disease_names
        favoured = [names[d] for d in leaders if column[d] >= 0.3][:2]
        against = [names[d] for d in leaders if column[d] < 0.3][:2]
        if favoured and against:
            split = f"separates {', '.join(favoured)} from {', '.join(against)}"
        elif favoured:
            split = f"is common in {', '.join(favoured)}"
        else:
            split = f"would point away from {', '.join(against)}"
        return f"It {split} (expected gain {gain:.2f} bits)."
