"""The phenotype reasoner's diagnoser role: every HPO disease ranked, explanations by term
(the history taker is ``agent.reasoners.hpo.questions``).

Findings are HPO ids with ``True`` (present), ``False`` (absent) or ``None`` (don't know).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from agent.reasoners.arrays import FloatArray
from agent.reasoners.explanation import empty_note, for_and_against
from agent.reasoners.hpo.model import LikelihoodScorer
from agent.reasoners.posterior import Posterior, PosteriorDiagnoser
from agent.roles import ConditionExplanation, ConsultationView, FindingEffect, RankedCondition
from retrieval.findings import FindingValue
from retrieval.hpo_kb import UNKNOWN_FREQUENCY, HpoKnowledgeBase
from retrieval.hpo_review import expand_findings, split_review

HALLMARKS_SHOWN = 5

TEMPERATURE = 4.0
"""Scores are divided by this before the softmax: the terms of a record are not independent,
so summed log ratios are over-confident. Chosen on the real dev cases as a whole: with it, a
leading disease at ≥ 0.95 is right about nine times in ten (at 1.0, seven in ten)."""

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


@dataclass(frozen=True)
class PatientTerms:
    """What the consultation knows, as term indices, by how it became known."""

    present: list[int]
    """Volunteered (the opening, a record)."""
    absent: list[int]
    """Volunteered as absent, or answered "no" when asked."""
    confirmed: list[int]
    """Answered "yes" when asked, and the branches ticked in the review of systems."""
    unticked: list[int]
    """Review-of-systems branches left unticked: a weak "no"."""


def split_view(kb: HpoKnowledgeBase, view: ConsultationView) -> PatientTerms:
    """The consultation's findings sorted into :class:`PatientTerms` ("don't know" dropped)."""
    asked = set(view.asked)
    rest, ticked, unticked = split_review(kb, view.findings)
    volunteered = {c: v for c, v in rest.items() if c not in asked}
    answered = {c: v for c, v in rest.items() if c in asked}
    present, absent = split_findings(kb, volunteered)
    confirmed, denied = split_findings(kb, answered)
    return PatientTerms(present, absent + denied, confirmed + ticked, unticked)


FindingsKey = tuple[object, ...]
"""The findings, sorted, and which of them were asked (a "yes" when asked weighs more)."""


class PhenotypeDiagnoser(PosteriorDiagnoser[FindingsKey]):
    """Diagnoser role: every disease ranked by the likelihood model; explanations by term."""

    def __init__(
        self,
        kb: HpoKnowledgeBase,
        scorer: LikelihoodScorer | None = None,
        listed: int = LISTED,
        temperature: float = TEMPERATURE,
    ) -> None:
        super().__init__(kb.disease_names)
        self.kb = kb
        self.listed = listed
        self.temperature = temperature
        self.scorer = scorer or LikelihoodScorer(kb)

    def posterior_key(self, view: ConsultationView) -> FindingsKey:
        return (
            *sorted((c, tuple(v) if isinstance(v, list) else v) for c, v in view.findings.items()),
            ("asked", tuple(view.asked)),
        )

    def log_scores(
        self, view: ConsultationView, last: tuple[FindingsKey, Posterior] | None
    ) -> FloatArray:
        terms = split_view(self.kb, view)
        return self.scorer.scores(terms.present, terms.absent, terms.confirmed, terms.unticked)

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int = 5
    ) -> list[ConditionExplanation]:
        """For each leading disease: the patient terms for and against it (log likelihood
        ratios), and its most frequent annotated terms that nobody has asked about yet."""
        terms = split_view(self.kb, view)
        effects: list[tuple[int, bool, FloatArray]] = [
            (t, True, self.scorer.term_effects(t)) for t in terms.present
        ]
        effects += [(t, True, self.scorer.term_effects(t, True)) for t in terms.confirmed]
        effects += [(t, False, np.log(self.scorer.absent_ratios(t))) for t in terms.absent]
        known = self._known_terms([*terms.present, *terms.confirmed], terms.absent)
        result = []
        for ranked in differential[:top_k]:
            d = self.kb.disease_by_name(ranked.name)
            if d is None:
                continue
            raised, lowered = for_and_against(
                [
                    FindingEffect(
                        code=self.kb.term_ids[t],
                        statement=f"{self.kb.term_names[t]}: {'yes' if yes else 'no'}",
                        present=yes,
                        weight=round(float(weights[d]), 3),
                    )
                    for t, yes, weights in effects
                    if weights[d] != 0
                ]
            )
            result.append(
                ConditionExplanation(
                    name=ranked.name,
                    probability=ranked.probability,
                    icd10="",
                    severity=0,
                    raised_by=raised,
                    lowered_by=lowered,
                    not_yet_asked=self.hallmarks(d, known),
                    note=empty_note(view, ranked.name, raised or lowered),
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
