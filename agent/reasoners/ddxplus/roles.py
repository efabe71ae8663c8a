"""The embedded engine in the agent roles: a Bayesian diagnoser and an information-gain history
taker over the DDXPlus knowledge base. No model weights, microseconds per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agent.reasoners.ddxplus.bayes import BayesEngine, PatientTables
from agent.reasoners.ddxplus.explain import explain_differential
from agent.reasoners.ddxplus.gain import Criterion, expected_gain
from agent.reasoners.ddxplus.likelihood import FloatArray
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


class _PosteriorCache:
    """The last posterior, keyed by the findings it was computed from.

    The driver asks the diagnoser and the history taker about the same findings in turn; the
    cache saves recomputing the posterior for the second of them. One answer more than last
    time only adds that finding's weight (unless it is the parent of a known finding, whose
    weight then changes: recomputed from scratch).
    """

    def __init__(self, engine: BayesEngine) -> None:
        self.engine = engine
        self._key: tuple[object, ...] | None = None
        self._log_joint: FloatArray | None = None
        self._value: FloatArray | None = None

    def get(self, view: ConsultationView) -> FloatArray:
        items = tuple((c, repr(v)) for c, v in view.findings.items())
        regions = tuple((c, tuple(v)) for c, v in view.regions.items() if c not in view.findings)
        key = (view.age, view.sex, regions, items)
        if key == self._key and self._value is not None:
            return self._value
        log_joint = self._extended(view, key)
        if log_joint is None:
            log_joint = self.engine.log_joint(
                view.findings, view.age, view.sex, dict(regions) if regions else None
            )
        shifted = np.exp(log_joint - log_joint.max())
        self._key, self._log_joint, self._value = key, log_joint, shifted / shifted.sum()
        return self._value

    def _extended(self, view: ConsultationView, key: tuple[object, ...]) -> FloatArray | None:
        """The last log joint plus the one new finding, when that is all that changed."""
        old = self._key
        if old is None or self._log_joint is None or old[:3] != key[:3]:
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
        return self._log_joint if weight is None else self._log_joint + weight


class BayesDiagnoser:
    """Diagnoser role: posterior over all conditions; explanation by likelihood ratios."""

    def __init__(self, engine: BayesEngine) -> None:
        self.engine = engine
        self.kb: KnowledgeBase = engine.kb
        self._cache = _PosteriorCache(engine)

    def posterior(self, view: ConsultationView) -> FloatArray:
        return self._cache.get(view)

    def ranking(self, view: ConsultationView) -> list[tuple[str, float]]:
        """Every condition with its posterior, most probable first."""
        posterior = self.posterior(view)
        order = np.argsort(-posterior, kind="stable")
        names = self.kb.condition_names
        return [
            (names[i], p) for i, p in zip(order.tolist(), posterior[order].tolist(), strict=True)
        ]

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        # Values come straight from the engine (valid by construction): skip re-validation.
        return [
            RankedCondition.model_construct(name=name, probability=p)
            for name, p in self.ranking(view)
        ]

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
            self.engine,
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
        ei = self.kb.evidence_index[code]
        top = np.argsort(-posterior, kind="stable")[:6]
        p_yes = self.engine.p_present[top, ei]
        names = self.kb.condition_names
        favoured = [names[i] for i, p in zip(top, p_yes, strict=True) if p >= 0.2][:3]
        against = [names[i] for i, p in zip(top, p_yes, strict=True) if p < 0.2][:3]
        if favoured and against:
            split = f"separates {', '.join(favoured)} from {', '.join(against)}"
        elif favoured:
            split = f"tells apart {', '.join(favoured)} by how often it occurs with each"
        else:
            split = f"would argue against {', '.join(against)}"
        return f"It {split} (expected gain {gain:.2f} bits)."
