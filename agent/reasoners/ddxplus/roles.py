"""The embedded engine in the agent roles: a Bayesian diagnoser and an information-gain history
taker over the DDXPlus knowledge base. No model weights, microseconds per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agent.reasoners.arrays import FloatArray
from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.explain import explain_differential
from agent.reasoners.ddxplus.gain import Criterion, expected_gain
from agent.reasoners.ddxplus.likelihood import PatientTables
from agent.reasoners.explanation import question_reason
from agent.reasoners.posterior import Posterior, PosteriorDiagnoser
from agent.roles import (
    ConditionExplanation,
    ConsultationView,
    Question,
    RankedCondition,
)
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from retrieval.findings import FindingValue, choices, is_present
from simulator.ddxplus_patient import phrase_answer

MIN_GAIN_BITS = 1e-4
"""Below this expected gain a question cannot change the differential: stop asking."""

FindingsKey = tuple[object, ...]
"""(age, sex, regions not yet asked, findings in the order they came)."""


class BayesDiagnoser(PosteriorDiagnoser[FindingsKey]):
    """Diagnoser role: posterior over all conditions; explanation by likelihood ratios.

    The posterior is kept for the findings it was computed from (the driver asks the
    diagnoser and the history taker in turn); one answer more than last time only adds that
    finding's weight, unless it is the parent of a known finding, whose weight then changes.
    """

    def __init__(self, engine: BayesEngine) -> None:
        super().__init__(engine.kb.condition_names)
        self.engine = engine
        self.kb: KnowledgeBase = engine.kb

    def posterior_key(self, view: ConsultationView) -> FindingsKey:
        items = tuple((c, repr(v)) for c, v in view.findings.items())
        regions = tuple((c, tuple(v)) for c, v in view.regions.items() if c not in view.findings)
        return (view.age, view.sex, regions, items)

    def log_scores(
        self, view: ConsultationView, last: tuple[FindingsKey, Posterior] | None
    ) -> FloatArray:
        extended = self._extended(view, last)
        if extended is not None:
            return extended
        regions = {c: v for c, v in view.regions.items() if c not in view.findings}
        return self.engine.log_joint(view.findings, view.age, view.sex, regions or None)

    def _extended(
        self, view: ConsultationView, last: tuple[FindingsKey, Posterior] | None
    ) -> FloatArray | None:
        """The last log joint plus the one new finding, when that is all that changed."""
        if last is None:
            return None
        old, key = last[0], self.posterior_key(view)
        if old[:3] != key[:3]:
            return None
        old_items, items = old[3], key[3]
        assert isinstance(old_items, tuple) and isinstance(items, tuple)
        if len(items) != len(old_items) + 1 or items[:-1] != old_items:
            return None
        code = items[-1][0]
        evidences = self.engine.kb.evidences
        if any(evidences[known].parent == code for known in [*view.findings, *view.regions]):
            return None  # a parent's answer re-weighs its known children
        tables = self.engine.tables(view.age, view.sex)
        weight = self.engine.finding_loglik(code, view.findings[code], view.findings, tables)
        return last[1].log_scores if weight is None else last[1].log_scores + weight

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int = 5
    ) -> list[ConditionExplanation]:
        """For each leading condition, the findings that raised and lowered it most, with the
        rates behind them compared with the runner-up (see
        :mod:`agent.reasoners.ddxplus.explain`)."""
        return explain_differential(
            self.engine, view, self.posterior(view), differential, self._statement, top_k
        )

    def _statement(self, code: str, value: FindingValue) -> str:
        question = self.kb.evidences[code].question.rstrip("?")
        return f"{question}: {phrase_answer(self.kb, code, value).rstrip('.').lower()}"


@dataclass(frozen=True)
class QuestionPolicy:
    """How the history taker values a question (alternatives compared in BENCHMARKS.md).

    ``criterion``: expected information gain ("entropy") or expected reduction of the top-1
    error ("error"). ``lookahead``: when > 0, the best of the top ``lookahead`` questions by
    the criterion plus the best follow-up question after each of its answers (two steps).
    ``multi_choice_values``: value a multi-choice question by the values its answer picks
    (default) rather than by presence alone.
    """

    criterion: Criterion = "entropy"
    lookahead: int = 0
    follow_ups: int = 0
    """With lookahead: follow-ups only among the best ``follow_ups`` questions by one-step
    value (and the child questions an answer opens); 0: every candidate."""
    multi_choice_values: bool = True


class InformationGainHistoryTaker:
    """History-taking role: ask the evidence with the largest expected information gain.

    Candidates are evidences not yet asked or known whose parent question (if any) was answered
    present, so a child question ("where is the pain?") is never asked before its parent, and
    that can occur for the patient's sex and age band under the model (never "are you pregnant"
    to a man).
    """

    def __init__(self, diagnoser: BayesDiagnoser, policy: QuestionPolicy | None = None) -> None:
        self.diagnoser = diagnoser
        self.engine = diagnoser.engine
        self.kb = diagnoser.kb
        self.policy = policy or QuestionPolicy()
        index = self.kb.evidence_index
        # Slot 0 stands for "no parent" (always open); slot i + 1 for evidence i being present.
        self._parent_slot = np.array(
            [0 if ev.parent is None else index[ev.parent] + 1 for ev in self.kb.evidences.values()]
        )
        self._no_parent = np.zeros(len(index) + 1, dtype=bool)
        self._no_parent[0] = True
        self._choices: dict[str, list[tuple[str, str | int]]] = {}

    def candidates(
        self,
        findings: Mapping[str, FindingValue],
        asked: Sequence[str],
        possible: NDArray[np.bool_] | None = None,
    ) -> list[str]:
        known = self._no_parent.copy()
        for code, value in findings.items():
            if is_present(self.kb.evidences[code], value):
                known[self.kb.evidence_index[code] + 1] = True
        askable = known[self._parent_slot]
        if possible is not None:
            askable &= possible
        for code in (*asked, *findings):
            askable[self.kb.evidence_index[code]] = False
        codes = self.kb.evidence_codes
        return [codes[i] for i in np.flatnonzero(askable)]

    def next_question(self, view: ConsultationView) -> Question | None:
        tables = self.engine.tables(view.age, view.sex)
        codes = self.candidates(view.findings, view.asked, tables.possible)
        if not codes:
            return None
        posterior = self.diagnoser.posterior(view)
        gains = self.values(posterior, codes, tables)
        if self.policy.lookahead > 0:
            gains = self._with_lookahead(view, posterior, codes, gains)
        best = int(np.argmax(gains))
        if gains[best] < MIN_GAIN_BITS:
            return None
        return self.question(codes[best], posterior, float(gains[best]))

    def values(self, posterior: FloatArray, codes: list[str], tables: PatientTables) -> FloatArray:
        """The policy's criterion for each candidate."""
        return expected_gain(
            self.engine.outcomes,
            posterior,
            codes,
            tables,
            self.policy.criterion,
            multi_choice_values=self.policy.multi_choice_values,
        )

    def question(self, code: str, posterior: FloatArray, gain: float) -> Question:
        ev = self.kb.evidences[code]
        options = self._choices.get(code)
        if options is None:
            options = self._choices[code] = [(label, value) for label, value in choices(ev)]
        return Question(
            code=code,
            text=ev.question,
            kind=ev.kind.value,
            choices=options,
            reason=self._reason(code, posterior, gain),
            expected_gain=round(gain, 4),
        )

    def _with_lookahead(
        self, view: ConsultationView, posterior: FloatArray, codes: list[str], gains: FloatArray
    ) -> FloatArray:
        """Two-step value of the top questions: its gain plus, averaged over its present /
        absent answers (a present value's details left out), the best follow-up's gain; the
        other questions keep their one-step value."""
        tables = self.engine.tables(view.age, view.sex)
        result = gains.copy()
        order = np.argsort(-gains, kind="stable")
        shortlist = {codes[int(i)] for i in order[: self.policy.follow_ups]}
        known = set(codes)  # a follow-up outside these is a child the answer opens
        for j in order[: self.policy.lookahead]:
            code = codes[int(j)]
            binary = self.kb.evidences[code].kind is EvidenceKind.BINARY
            p_yes = tables.p_present[:, self.kb.evidence_index[code]]
            follow_up = 0.0
            for answer, likelihood in ((True, p_yes), (False, 1.0 - p_yes)):
                joint = posterior * likelihood
                weight = float(joint.sum())
                if weight <= 0:
                    continue
                findings = {**view.findings, code: answer} if binary else view.findings
                rest = self.candidates(findings, [*view.asked, code], tables.possible)
                if self.policy.follow_ups:
                    rest = [c for c in rest if c in shortlist or c not in known]
                if rest:
                    follow_up += weight * float(self.values(joint / weight, rest, tables).max())
            result[j] = gains[j] + follow_up
        return result

    def _reason(self, code: str, posterior: FloatArray, gain: float) -> str:
        """Name the leading conditions a 'yes' favours and those it speaks against."""
        top = np.argsort(-posterior, kind="stable")[:6]
        p_yes = self.engine.p_present[top, self.kb.evidence_index[code]]
        names = self.kb.condition_names
        return question_reason([names[i] for i in top], p_yes.tolist(), gain, 0.2, 3)
