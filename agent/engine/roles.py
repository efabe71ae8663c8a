"""The embedded engine in the agent roles: a Bayesian diagnoser and an information-gain history
taker over the DDXPlus knowledge base. No model weights, microseconds per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from agent.engine.bayes import BayesEngine
from agent.engine.explain import explain_differential
from agent.engine.likelihood import FloatArray
from agent.findings import FindingValue, choices, is_present
from agent.roles import (
    ConditionExplanation,
    ConsultationView,
    Question,
    RankedCondition,
)
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import phrase_answer

MIN_GAIN_BITS = 1e-4
"""Below this expected gain a question cannot change the differential: stop asking."""


class _PosteriorCache:
    """The last posterior, keyed by the findings it was computed from.

    The driver asks the diagnoser and the history taker about the same findings in turn; the
    cache saves recomputing the posterior for the second of them.
    """

    def __init__(self, engine: BayesEngine) -> None:
        self.engine = engine
        self._key: tuple[object, ...] | None = None
        self._value: FloatArray | None = None

    def get(self, view: ConsultationView) -> FloatArray:
        key = (view.age, view.sex, tuple((c, repr(v)) for c, v in view.findings.items()))
        if key != self._key or self._value is None:
            self._value = self.engine.posterior(view.findings, view.age, view.sex)
            self._key = key
        return self._value


class BayesDiagnoser:
    """Diagnoser role: posterior over all conditions; explanation by likelihood ratios."""

    def __init__(self, engine: BayesEngine) -> None:
        self.engine = engine
        self.kb: KnowledgeBase = engine.kb
        self._cache = _PosteriorCache(engine)

    def posterior(self, view: ConsultationView) -> FloatArray:
        return self._cache.get(view)

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        posterior = self.posterior(view)
        order = np.argsort(-posterior, kind="stable")
        names = self.kb.condition_names
        # Values come straight from the engine (valid by construction): skip re-validation.
        return [
            RankedCondition.model_construct(name=names[i], probability=float(posterior[i]))
            for i in order
        ]

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int = 5
    ) -> list[ConditionExplanation]:
        """For each leading condition, the findings that raised and lowered it most, with the
        rates behind them compared with the runner-up (see :mod:`agent.engine.explain`)."""
        return explain_differential(
            self.engine, view, self.posterior(view), differential, self._statement, top_k
        )

    def _statement(self, code: str, value: FindingValue) -> str:
        question = self.kb.evidences[code].question.rstrip("?")
        return f"{question}: {phrase_answer(self.kb, code, value).rstrip('.').lower()}"


class InformationGainHistoryTaker:
    """History-taking role: ask the evidence with the largest expected information gain.

    Candidates are evidences not yet asked or known whose parent question (if any) was answered
    present, so a child question ("where is the pain?") is never asked before its parent.
    """

    def __init__(self, diagnoser: BayesDiagnoser) -> None:
        self.diagnoser = diagnoser
        self.engine = diagnoser.engine
        self.kb = diagnoser.kb
        index = self.kb.evidence_index
        # Slot 0 stands for "no parent" (always open); slot i + 1 for evidence i being present.
        self._parent_slot = np.array(
            [0 if ev.parent is None else index[ev.parent] + 1 for ev in self.kb.evidences.values()]
        )
        self._no_parent = np.zeros(len(index) + 1, dtype=bool)
        self._no_parent[0] = True

    def candidates(self, findings: Mapping[str, FindingValue], asked: Sequence[str]) -> list[str]:
        known = self._no_parent.copy()
        for code, value in findings.items():
            if is_present(self.kb.evidences[code], value):
                known[self.kb.evidence_index[code] + 1] = True
        askable = known[self._parent_slot]
        for code in (*asked, *findings):
            askable[self.kb.evidence_index[code]] = False
        codes = self.kb.evidence_codes
        return [codes[i] for i in np.flatnonzero(askable)]

    def next_question(self, view: ConsultationView) -> Question | None:
        codes = self.candidates(view.findings, view.asked)
        if not codes:
            return None
        posterior = self.diagnoser.posterior(view)
        gains = self.engine.expected_gain(posterior, codes)
        best = int(np.argmax(gains))
        if gains[best] < MIN_GAIN_BITS:
            return None
        code = codes[best]
        ev = self.kb.evidences[code]
        return Question(
            code=code,
            text=ev.question,
            kind=ev.kind.value,
            choices=[(label, value) for label, value in choices(ev)],
            reason=self._reason(code, posterior, float(gains[best])),
            expected_gain=round(float(gains[best]), 4),
        )

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
