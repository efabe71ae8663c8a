"""The differential list: the conditions a clinician should keep in mind ("consider").

The posterior ranks conditions by how likely each is; a differential list is a different thing:
DDXPlus's reference lists (from another rule engine, ~9 conditions per patient) keep conditions
that share the patient's findings even when the posterior has ruled them out. This module
learns, per condition, a logistic model of "the reference lists it" from the patient's findings
(every binary evidence, every categorical or multi-choice value, age band and sex), fitted on the
sample patients' full records.

During a consultation most findings are unknown: the feature vector takes known findings as 0/1
and each unknown one as its probability under the posterior predictive (Σ_c P(c | known) ·
P(finding | c), a child gated by its parent). The list is every condition whose inclusion
probability reaches ``threshold``, and always the posterior's leader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agent.reasoners.arrays import FloatArray
from agent.reasoners.ddxplus.likelihood import AGE_BANDS, SEXES, age_band
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase, Value
from retrieval.findings import FindingValue, is_present

if TYPE_CHECKING:
    from agent.reasoners.ddxplus.bayes import BayesEngine

Feature = tuple[str, Value | None]
"""(evidence code, None) for a binary evidence, (code, value) for a value."""


def feature_layout(kb: KnowledgeBase) -> list[Feature]:
    """The finding features in a fixed order (age band and sex follow them)."""
    layout: list[Feature] = []
    for code, ev in kb.evidences.items():
        if ev.kind is EvidenceKind.BINARY:
            layout.append((code, None))
        else:
            layout.extend((code, value) for value in ev.non_default_values)
    return layout


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@dataclass(frozen=True)
class ListModel:
    """Per-condition logistic weights over the features, and the inclusion threshold."""

    weights: FloatArray  # [K, F + AGE_BANDS + 1]
    bias: FloatArray  # [K]
    threshold: float
    provenance: Mapping[str, Any]

    def to_arrays(self) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        arrays: dict[str, NDArray[Any]] = {"weights": self.weights, "bias": self.bias}
        return arrays, {"threshold": self.threshold, "provenance": dict(self.provenance)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]], meta: dict[str, Any]) -> ListModel:
        return cls(
            weights=arrays["weights"],
            bias=arrays["bias"],
            threshold=float(meta["threshold"]),
            provenance=dict(meta.get("provenance", {})),
        )

    def inclusion(self, features: FloatArray) -> FloatArray:
        """P(the reference lists c) for every condition, from a feature vector [F']."""
        return _sigmoid(self.weights @ features + self.bias)


class FeatureBuilder:
    """Feature vectors of findings: observed (records) or expected (during a consultation)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.layout = feature_layout(kb)
        self.index = {feature: i for i, feature in enumerate(self.layout)}
        self.size = len(self.layout) + AGE_BANDS + 1
        parent_of = [kb.evidences[code].parent for code, _ in self.layout]
        self.parent = np.array([-1 if p is None else kb.evidence_index[p] for p in parent_of])
        self.evidence = np.array([kb.evidence_index[code] for code, _ in self.layout])
        self._probs: dict[int, tuple[FloatArray, FloatArray]] = {}
        self._by_parent = {int(p): np.flatnonzero(self.parent == p) for p in np.unique(self.parent)}
        """Feature columns grouped by their parent evidence (-1: root questions)."""

    def demographics(self, x: FloatArray, age: int | None, sex: str | None) -> None:
        base = len(self.layout)
        if age is not None:
            x[base + age_band(age)] = 1.0
        if sex == SEXES[1]:
            x[-1] = 1.0

    def observed(
        self, findings: Mapping[str, FindingValue], age: int | None, sex: str | None
    ) -> FloatArray:
        """Known findings as 0/1 (children only under a present parent); the rest 0."""
        x = np.zeros(self.size)
        for code, value in findings.items():
            ev = self.kb.evidences[code]
            if not is_present(ev, value):
                continue
            if ev.parent is not None and not is_present(
                self.kb.evidences[ev.parent], findings.get(ev.parent)
            ):
                continue
            if ev.kind is EvidenceKind.BINARY:
                x[self.index[(code, None)]] = 1.0
                continue
            for item in value if isinstance(value, list) else [value]:
                column = self.index.get((code, item))
                if column is not None:
                    x[column] = 1.0
        self.demographics(x, age, sex)
        return x

    def expected(
        self,
        engine: BayesEngine,
        findings: Mapping[str, FindingValue],
        posterior: FloatArray,
        age: int | None,
        sex: str | None,
    ) -> FloatArray:
        """Known findings as 0/1, unknown ones as their posterior-predictive probability."""
        x = self.observed(findings, age, sex)
        p_present = engine.tables(age, sex).p_present
        p_feature = self._feature_probs(engine, p_present)  # [K, F]
        known = np.zeros(len(self.kb.evidence_codes), dtype=bool)
        present = np.zeros(len(self.kb.evidence_codes), dtype=bool)
        for code, value in findings.items():
            state = is_present(self.kb.evidences[code], value)
            if state is not None:
                known[self.kb.evidence_index[code]] = True
                present[self.kb.evidence_index[code]] = state
        unknown = ~known[self.evidence]
        for parent, columns in self._by_parent.items():
            open_columns = columns[unknown[columns]]
            if parent < 0 or (known[parent] and present[parent]):
                weights = posterior  # a root, or under a present parent
            elif known[parent]:
                continue  # under an absent parent: never there
            else:
                weights = posterior * p_present[:, parent]  # the parent must be there too
            x[open_columns] = weights @ p_feature[:, open_columns]
        return x

    def _feature_probs(self, engine: BayesEngine, p_present: FloatArray) -> FloatArray:
        """[K, F] P(feature | c, parent present), cached per presence table (the engine keeps
        one table per sex and age band; the table is kept with its columns so its id is not
        reused)."""
        key = id(p_present)
        if key not in self._probs:
            columns = p_present[:, self.evidence].copy()
            for j, (code, value) in enumerate(self.layout):
                if value is not None:
                    vi = engine.value_index[code][value]
                    columns[:, j] *= engine.value_probs[code][:, vi]
            self._probs[key] = (p_present, columns)
        return self._probs[key][1]


def differential_list(
    model: ListModel, inclusion: FloatArray, posterior: FloatArray, names: Sequence[str]
) -> list[tuple[str, float]]:
    """The listed conditions, by inclusion probability (the posterior's leader always)."""
    chosen = {int(i) for i in np.flatnonzero(inclusion >= model.threshold)}
    chosen.add(int(np.argmax(posterior)))
    ordered = sorted(chosen, key=lambda i: (-inclusion[i], i))
    return [(names[i], round(float(inclusion[i]), 4)) for i in ordered]
