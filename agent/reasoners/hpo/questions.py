"""The phenotype reasoner's history-taking role: ask about the HPO terms with the largest
expected information gain under a patient who may not know — after the review of systems, a
checklist of the ``CHECKLIST_SIZE`` best terms per question (``retrieval.hpo_review``).

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

from agent.reasoners.arrays import BoolArray, FloatArray
from agent.reasoners.explanation import question_reason
from agent.reasoners.hpo.phrasing import term_question
from agent.reasoners.hpo.roles import PhenotypeDiagnoser, split_findings
from agent.reasoners.posterior import leading
from agent.roles import ConsultationView, Question
from retrieval.findings import FindingValue
from retrieval.hpo_review import (
    CHECKLIST_TEXT,
    REVIEW_CODE,
    REVIEW_TEXT,
    checklist_code,
    choice_terms,
    review_branches,
    review_choices,
)

POOL = 1000
"""The gain is computed over this many leading diseases (with the calibrated posterior they
carry all but a negligible share of the probability)."""

CHECKLIST_SIZE = 8
"""Terms offered per question after the review of systems (1: single yes/no questions). A
record — or a patient — answers "don't know" to most single terms, so a question that offers
the few features telling the leaders apart is answered far more often; a protocol choice,
smaller than the review's ~25 choices (BENCHMARKS.md gives 1, 5, 8 and 12)."""

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


class PhenotypeHistoryTaker:
    """History-taking role: the review of systems first (``retrieval.hpo_review``), then the
    HPO term with the largest expected gain, phrased from the term's name and definition."""

    def __init__(
        self,
        diagnoser: PhenotypeDiagnoser,
        candidates: int = 30,
        focus: float = 1.0,
        review_of_systems: bool = True,
        answers: AnswerModel | None = None,
        checklist: int = CHECKLIST_SIZE,
    ) -> None:
        self.review_of_systems = review_of_systems
        self.checklist = checklist
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

    def _implied(self, findings: Mapping[str, FindingValue]) -> BoolArray:
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
        terms = self._open_terms(view, leaders)
        if not terms:
            return None
        gains = self.expected_gains(probabilities**self.focus, terms)
        chosen = self._choose(terms, gains)
        if not chosen:
            return None
        best = max(chosen, key=lambda i: gains[i])
        reason = self._reason(terms[best], leaders[:6], float(gains[best]))
        if len(chosen) == 1:
            return Question(
                code=self.kb.term_ids[terms[best]],
                text=term_question(self.kb, terms[best]),
                kind="B",
                reason=reason,
                expected_gain=round(float(gains[best]), 4),
            )
        code = checklist_code(self.kb, [terms[i] for i in chosen])
        return Question(
            code=code,
            text=CHECKLIST_TEXT,  # the choices are shown beside it
            kind="M",
            choices=[(self.kb.term_names[terms[i]], self.kb.term_ids[terms[i]]) for i in chosen],
            reason=reason,
            expected_gain=round(float(sum(gains[i] for i in chosen)), 4),
        )

    def _open_terms(self, view: ConsultationView, leaders: Sequence[int]) -> list[int]:
        """Terms annotated to the leaders whose answer is not known or implied yet."""
        implied = self._implied(view.findings)
        for code in view.asked:  # a checklist answered "don't know" is not offered again
            implied[choice_terms(self.kb, code)] = True
        asked = {self.kb.resolve(code) for code in (*view.asked, *view.findings)}
        reachable = np.unique(self._presence_rows[leaders].indices)
        return [
            int(t) for t in reachable[~implied[reachable]] if self.kb.term_ids[int(t)] not in asked
        ]

    def _choose(self, terms: Sequence[int], gains: FloatArray) -> list[int]:
        """Positions (in ``terms``) of the question's terms: the ``checklist`` largest gains
        above ``MIN_GAIN_BITS``, skipping a term related to one already chosen (an ancestor
        or descendant of it: its answer would mostly follow)."""
        chosen: list[int] = []
        related: set[int] = set()
        for i in np.argsort(-gains, kind="stable"):
            if gains[i] <= MIN_GAIN_BITS or len(chosen) >= self.checklist:
                break
            term = terms[int(i)]
            if term in related:
                continue
            chosen.append(int(i))
            related.update(int(a) for a in self.kb.ancestors_of(term))
            start, end = self._descendants.indptr[term], self._descendants.indptr[term + 1]
            related.update(int(d) for d in self._descendants.indices[start:end])
        return chosen

    def _review_due(self, view: ConsultationView) -> bool:
        """The review comes first, once, when the ontology has branches to review."""
        return (
            self.review_of_systems
            and REVIEW_CODE not in view.findings
            and REVIEW_CODE not in view.asked
            and bool(review_branches(self.kb))
        )

    def _reason(self, term: int, leaders: Sequence[int], gain: float) -> str:
        """Name the leading diseases a 'yes' favours and those it speaks against."""
        column = self.scorer.presence_column(term)
        names = [self.kb.disease_names[d] for d in leaders]
        return question_reason(names, [float(column[d]) for d in leaders], gain, 0.3, 2)
