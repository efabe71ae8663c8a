"""The phenotype reasoner in the agent roles: a diagnoser over every HPO disease and a history
taker that asks the HPO term best separating the leading diseases.

Findings are HPO ids with ``True`` (present), ``False`` (absent) or ``None`` (don't know).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from agent.findings import FindingValue
from agent.phenotype.model import FloatArray, LikelihoodScorer, posterior
from agent.phenotype.phrasing import term_question
from agent.phenotype.review import (
    REVIEW_CODE,
    REVIEW_TEXT,
    expand_findings,
    review_branches,
    review_choices,
)
from agent.roles import (
    ConditionExplanation,
    ConsultationView,
    FindingEffect,
    Question,
    RankedCondition,
)
from retrieval.hpo_kb import UNKNOWN_FREQUENCY, HpoKnowledgeBase

MIN_GAIN_BITS = 0.0
"""Stop asking only when no question can tell the leading diseases apart: with thousands of
diseases a small expected gain now often opens up a large one later."""

HALLMARKS_SHOWN = 5

LISTED = 200
"""The differential lists this many diseases (of ~12,000): the rest have negligible
probability, and listing all of them would make every checkpoint and report 60 times larger."""


def split_findings(
    kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]
) -> tuple[list[int], list[int]]:
    """Indices of the present and the absent terms (unknown ids and "don't know" left out; the
    review of systems counts as one finding per branch)."""
    present: list[int] = []
    absent: list[int] = []
    for code, value in expand_findings(kb, findings).items():
        current = kb.resolve(code)
        if current is None or value is None:
            continue
        (present if value else absent).append(kb.term_index(current))
    return present, absent


def split_view(
    kb: HpoKnowledgeBase, view: ConsultationView
) -> tuple[list[int], list[int], list[int]]:
    """Volunteered present terms, absent terms, and terms confirmed when asked."""
    asked = set(view.asked)
    volunteered = {c: v for c, v in view.findings.items() if c not in asked}
    answered = expand_findings(kb, {c: v for c, v in view.findings.items() if c in asked})
    present, absent = split_findings(kb, volunteered)
    confirmed, denied = split_findings(kb, answered)
    return present, absent + denied, confirmed


class PhenotypeDiagnoser:
    """Diagnoser role: every disease ranked by the likelihood model; explanations by term."""

    def __init__(
        self, kb: HpoKnowledgeBase, scorer: LikelihoodScorer | None = None, listed: int = LISTED
    ) -> None:
        self.kb = kb
        self.listed = listed
        self.scorer = scorer or LikelihoodScorer(kb)
        self._key: tuple[object, ...] | None = None
        self._posterior: FloatArray | None = None

    def posterior(self, view: ConsultationView) -> FloatArray:
        """Posterior over diseases, cached for the findings it was computed from."""
        key = (
            *sorted((c, tuple(v) if isinstance(v, list) else v) for c, v in view.findings.items()),
            ("asked", tuple(view.asked)),
        )
        if key != self._key or self._posterior is None:
            present, absent, confirmed = split_view(self.kb, view)
            self._posterior = posterior(self.scorer.scores(present, absent, confirmed))
            self._key = key
        return self._posterior

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        probabilities = self.posterior(view)
        order = np.argsort(-probabilities, kind="stable")[: self.listed]
        names = self.kb.disease_names
        return [
            RankedCondition.model_construct(name=names[i], probability=float(probabilities[i]))
            for i in order
        ]

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int = 5
    ) -> list[ConditionExplanation]:
        """For each leading disease: the patient terms for and against it (log likelihood
        ratios), and its most frequent annotated terms that nobody has asked about yet."""
        present, absent, confirmed = split_view(self.kb, view)
        effects: list[tuple[int, bool, FloatArray]] = [
            (t, True, np.log(self.scorer.term_ratios(t))) for t in present
        ]
        effects += [(t, True, np.log(self.scorer.term_ratios(t, True))) for t in confirmed]
        effects += [(t, False, np.log(self.scorer.absent_ratios(t))) for t in absent]
        known = self._known_terms([*present, *confirmed], absent)
        result = []
        for ranked in differential[:top_k]:
            d = self.kb.disease_by_name(ranked.name)
            if d is None:
                continue
            listed = [
                FindingEffect(
                    code=self.kb.term_ids[t],
                    statement=f"{self.kb.term_names[t]}: {'yes' if yes else 'no'}",
                    weight=round(float(weights[d]), 3),
                )
                for t, yes, weights in effects
                if abs(float(weights[d])) > 0.05
            ]
            listed.sort(key=lambda e: e.weight, reverse=True)
            result.append(
                ConditionExplanation(
                    name=ranked.name,
                    probability=ranked.probability,
                    icd10="",
                    severity=0,
                    raised_by=[e for e in listed if e.weight > 0][:5],
                    lowered_by=[e for e in reversed(listed) if e.weight < 0][:5],
                    not_yet_asked=self.hallmarks(d, known),
                )
            )
        return result

    def hallmarks(self, disease: int, known: set[int], limit: int = HALLMARKS_SHOWN) -> list[str]:
        """The disease's most frequent annotated terms that are not yet known either way."""
        terms, freqs = self.kb.disease_terms(disease)
        freqs = np.where(freqs == UNKNOWN_FREQUENCY, self.scorer.params.default_frequency, freqs)
        order = np.argsort(-freqs, kind="stable")
        names = [self.kb.term_names[terms[i]] for i in order if int(terms[i]) not in known]
        return names[:limit]

    def _known_terms(self, present: Sequence[int], absent: Sequence[int]) -> set[int]:
        """Terms whose answer follows from the findings: ancestors of present terms."""
        known: set[int] = set(absent)
        for t in present:
            known.update(int(a) for a in self.kb.ancestors_of(t))
        return known


class PhenotypeHistoryTaker:
    """History-taking role: the HPO term with the largest expected information gain over the
    leading diseases, phrased in plain English from the term's name and definition.

    A term whose answer already follows from the findings is never asked: an ancestor of a
    present term (it is present too) or a descendant of an absent term (absent too).
    """

    def __init__(
        self,
        diagnoser: PhenotypeDiagnoser,
        candidates: int = 30,
        focus: float = 1.0,
        review_of_systems: bool = True,
    ) -> None:
        self.review_of_systems = review_of_systems
        """Open with the review of systems (``agent.phenotype.review``) before single terms."""
        self.focus = focus
        """Exponent on the leaders' probabilities before the gain is computed (> 1: questions
        aimed at the very top of the differential)."""
        self.diagnoser = diagnoser
        self.kb = diagnoser.kb
        self.scorer = diagnoser.scorer
        self.candidates = candidates
        self._descendants = self.kb.ancestors.T.tocsr()
        self._presence_rows = self.scorer.presence.tocsr()

    def _implied(self, findings: Mapping[str, FindingValue]) -> set[int]:
        present, absent = split_findings(self.kb, findings)
        implied: set[int] = set()
        for t in present:
            implied.update(int(a) for a in self.kb.ancestors_of(t))
        for t in absent:
            start, end = self._descendants.indptr[t], self._descendants.indptr[t + 1]
            implied.update(int(x) for x in self._descendants.indices[start:end])
        return implied

    def expected_gains(
        self, weights: FloatArray, leaders: Sequence[int], terms: Sequence[int]
    ) -> FloatArray:
        """Expected entropy reduction (bits) of asking each term, over the leaders' weights."""
        presence = self._presence_rows[np.asarray(leaders)][:, np.asarray(terms)].toarray()
        s = self.scorer.params.sensitivity
        eta = self.scorer.params.noise
        background = self.scorer.background[np.asarray(terms)]
        p_yes = np.clip(s * presence + eta * background[None, :], 1e-6, 1 - 1e-6)
        weights = weights / weights.max()
        prior = weights / weights.sum()
        yes = prior[:, None] * p_yes
        no = prior[:, None] * (1.0 - p_yes)
        py, pn = yes.sum(axis=0), no.sum(axis=0)

        def entropy(joint: FloatArray, total: FloatArray) -> FloatArray:
            q = joint / total[None, :]
            return np.asarray(-(q * np.log2(np.where(q > 0, q, 1.0))).sum(axis=0))

        h_prior = float(-(prior * np.log2(np.where(prior > 0, prior, 1.0))).sum())
        return np.asarray(h_prior - py * entropy(yes, py) - pn * entropy(no, pn))

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
        leaders = [int(d) for d in np.argsort(-probabilities, kind="stable")[: self.candidates]]
        implied = self._implied(view.findings)
        asked = {self.kb.resolve(code) for code in (*view.asked, *view.findings)}
        reachable = np.unique(self._presence_rows[leaders].indices)
        terms = [
            int(t)
            for t in reachable
            if int(t) not in implied and self.kb.term_ids[int(t)] not in asked
        ]
        if not terms:
            return None
        gains = self.expected_gains(probabilities[leaders] ** self.focus, leaders, terms)
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
