"""The differential list in the consultation: what it holds, and the questions it still needs.

Once the leading diagnosis is settled (or no question can move the posterior), the remaining
question budget is worth spending on the *list*: the alternatives a clinician should keep in
mind depend on findings the diagnosis no longer needs (does this breathless patient also have
palpitations? then atrial fibrillation and PSVT stay on the list). :class:`ListHistoryTaker`
asks the yes/no question whose answer is expected to settle the list most: the largest expected
reduction, summed over conditions, of the entropy of "the list includes c" under the list model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agent.reasoners.arrays import FloatArray
from agent.reasoners.ddxplus.differential_list import FeatureBuilder, ListModel, differential_list
from agent.reasoners.posterior import LastResult, binary_entropy_bits
from agent.report import ListedCondition
from agent.roles import ConsultationView, Question
from retrieval.ddxplus_kb import EvidenceKind

if TYPE_CHECKING:
    from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker

MIN_LIST_GAIN_BITS = 0.03
"""Below this a question no longer changes the list: stop (chosen on the train/validate
samples, BENCHMARKS.md)."""


class EngineDifferentialList:
    """Builds the final report's differential list from the posterior and the list model."""

    def __init__(self, diagnoser: BayesDiagnoser, model: ListModel) -> None:
        self.diagnoser = diagnoser
        self.model = model
        self.features = FeatureBuilder(diagnoser.kb)
        self._last: LastResult[object, tuple[FloatArray, FloatArray, FloatArray]] = LastResult()

    def inclusion(self, view: ConsultationView) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(posterior, expected features, P(listed) per condition) for the view (the last one
        is kept: the list taker and the report ask about the same findings in turn)."""
        key = (view.age, view.sex, tuple((c, repr(v)) for c, v in view.findings.items()))
        return self._last.get(key, lambda _: self._inclusion(view))

    def _inclusion(self, view: ConsultationView) -> tuple[FloatArray, FloatArray, FloatArray]:
        posterior = self.diagnoser.posterior(view)
        x = self.features.expected(
            self.diagnoser.engine, view.findings, posterior, view.age, view.sex
        )
        return posterior, x, self.model.inclusion(x)

    def differential_list(self, view: ConsultationView) -> list[ListedCondition]:
        posterior, _, inclusion = self.inclusion(view)
        index = self.diagnoser.kb.condition_index
        return [
            ListedCondition(name=name, weight=weight, probability=float(posterior[index[name]]))
            for name, weight in differential_list(
                self.model, inclusion, posterior, self.diagnoser.kb.condition_names
            )
        ]

    def list_weights(self, view: ConsultationView) -> list[tuple[str, float]]:
        _, _, inclusion = self.inclusion(view)
        names = self.diagnoser.kb.condition_names
        order = np.argsort(-inclusion, kind="stable")
        return [(names[i], round(float(inclusion[i]), 4)) for i in order]


class ListHistoryTaker:
    """History taking for the differential list (see the module docstring)."""

    def __init__(
        self,
        lister: EngineDifferentialList,
        diagnostic: InformationGainHistoryTaker,
        min_gain: float = MIN_LIST_GAIN_BITS,
    ) -> None:
        self.lister = lister
        self.diagnostic = diagnostic
        self.min_gain = min_gain
        kb = lister.diagnoser.kb
        self.kb = kb
        weights = lister.model.weights
        self._column = {
            code: column
            for code, ev in kb.evidences.items()
            if ev.kind is EvidenceKind.BINARY
            and np.any(weights[:, column := lister.features.index[(code, None)]] != 0)
        }
        """Yes/no questions the list model weighs at all (the others cannot move the list)."""

    def next_question(self, view: ConsultationView) -> Question | None:
        engine = self.lister.diagnoser.engine
        tables = engine.tables(view.age, view.sex)
        codes = [
            code
            for code in self.diagnostic.candidates(view.findings, view.asked, tables.possible)
            if code in self._column
        ]
        if not codes:
            return None
        posterior, x, _ = self.lister.inclusion(view)
        gains, moved = self._gains(codes, x)
        best = int(np.argmax(gains))
        if gains[best] < self.min_gain:
            return None
        question = self.diagnostic.question(codes[best], posterior, float(gains[best]))
        names = [self.kb.condition_names[i] for i in moved[:, best]]
        reason = (
            f"The diagnosis is settled; this decides whether {', '.join(names)} stay on the "
            f"list of conditions to consider (expected {gains[best]:.2f} bits)."
        )
        return question.model_copy(update={"reason": reason})

    def _gains(self, codes: list[str], x: FloatArray) -> tuple[FloatArray, np.ndarray]:
        """Expected reduction of Σ_c H(listed_c) per candidate, and the two conditions each
        candidate moves most."""
        model = self.lister.model
        columns = np.array([self._column[c] for c in codes])
        z = model.weights @ x + model.bias  # [K]
        p_yes = x[columns]  # the posterior-predictive P(yes) of each unknown finding
        w = model.weights[:, columns]  # [K, m]
        z_yes = z[:, None] + w * (1 - p_yes)[None, :]
        z_no = z[:, None] - w * p_yes[None, :]
        before = binary_entropy_bits(1 / (1 + np.exp(-z)))[:, None]
        after = p_yes[None, :] * binary_entropy_bits(1 / (1 + np.exp(-z_yes))) + (
            1 - p_yes[None, :]
        ) * binary_entropy_bits(1 / (1 + np.exp(-z_no)))
        per_condition = before - after
        return per_condition.sum(axis=0), np.argsort(-per_condition, axis=0)[:2]
