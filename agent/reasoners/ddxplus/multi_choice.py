"""Multi-choice value probabilities the split statistics do not give, learnt from samples.

For a multi-choice evidence (where is the pain? where is the rash?) the published statistics are
broken: they keep one surviving value per patient, so a value every patient of a condition picks
can show a share of 0 (the validate samples' anaphylaxis patients all have a rash on V_30, whose
share in the statistics is 0). What they do give: the default's share (exact: it is always a
patient's only value), a lower bound of each value's marginal (its surviving share), and for
E_54/E_55/E_57 the true marginals of the top five values (the profile), which cap all others.

Every other value is estimated from the sample patients: per condition,
(patients choosing it + s · m) / (patients with the evidence + s), where m is the value's pooled
frequency over all conditions' sample patients, kept within [lower bound, cap]. The strength s
is chosen per evidence by leave-one-out log-likelihood of the sample patients' answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.reasoners.arrays import FloatArray
from retrieval.ddxplus_kb import Evidence, KnowledgeBase
from retrieval.findings import is_present
from simulator.records import PatientRecord

STRENGTHS = (0.03, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""Candidate pseudo-patients of the pooled frequency (leave-one-out selection)."""


@dataclass(frozen=True)
class ValueBounds:
    """Per condition and value [K, V], conditional on the evidence being present."""

    known: np.ndarray  # bool: the marginal is given
    value: FloatArray  # the given marginal where known
    low: FloatArray
    high: FloatArray


@dataclass(frozen=True)
class ValueSamples:
    """Sample patients with the evidence present: their conditions and value indicators."""

    condition: np.ndarray  # [N]
    chosen: FloatArray  # [N, V]

    @classmethod
    def of(cls, kb: KnowledgeBase, ev: Evidence, samples: Sequence[PatientRecord]) -> ValueSamples:
        index = {v: i for i, v in enumerate(ev.non_default_values)}
        rows, conditions = [], []
        for record in samples:
            value = record.evidences.get(ev.code)
            if value is None or not is_present(ev, value):
                continue
            row = np.zeros(len(index))
            for v in value if isinstance(value, list) else [value]:
                if v in index:
                    row[index[v]] = 1.0
            rows.append(row)
            conditions.append(kb.condition_index[record.pathology])
        chosen = np.array(rows) if rows else np.zeros((0, len(index)))
        return cls(np.array(conditions, dtype=np.intp), chosen)

    def counts(self, n_cond: int) -> tuple[FloatArray, FloatArray]:
        """(patients choosing each value [K, V], patients with the evidence [K])."""
        chosen = np.zeros((n_cond, self.chosen.shape[1]))
        np.add.at(chosen, self.condition, self.chosen)
        asked = np.bincount(self.condition, minlength=n_cond).astype(float)
        return chosen, asked

    def pooled(self) -> FloatArray:
        return np.asarray((self.chosen.sum(axis=0) + 0.5) / (len(self.chosen) + 1.0))


def estimate(bounds: ValueBounds, samples: ValueSamples, strength: float) -> FloatArray:
    """[K, V] P(value chosen | c, present): given marginals, else the shrunk sample estimate."""
    chosen, asked = samples.counts(bounds.known.shape[0])
    shrunk = (chosen + strength * samples.pooled()) / (asked[:, None] + strength)
    estimated = np.clip(shrunk, bounds.low, np.maximum(bounds.high, bounds.low))
    return np.asarray(np.where(bounds.known, bounds.value, estimated))


def choose_strength(bounds: ValueBounds, samples: ValueSamples, floor: float) -> float:
    """The strength under which each sample patient's answer is best predicted from the
    others' (leave-one-out), over the values not given by the statistics; probabilities are
    kept within [floor, 1 − floor] as the model keeps them."""
    if len(samples.chosen) == 0:
        return STRENGTHS[len(STRENGTHS) // 2]
    chosen, asked = samples.counts(bounds.known.shape[0])
    pooled = samples.pooled()
    c, x = samples.condition, samples.chosen
    free = ~bounds.known[c]
    low, high = bounds.low[c], np.maximum(bounds.high[c], bounds.low[c])

    def loo(strength: float) -> float:
        q = (chosen[c] - x + strength * pooled) / (asked[c][:, None] - 1.0 + strength)
        q = np.clip(np.clip(q, low, high), floor, 1 - floor)
        loglik = x * np.log(q) + (1 - x) * np.log1p(-q)
        return float(loglik[free].sum())

    return max(STRENGTHS, key=loo)
