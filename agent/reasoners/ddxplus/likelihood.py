"""Likelihood models P(finding | condition) for the embedded Bayesian engine.

A model holds, in the knowledge base's order of conditions (K) and evidences (E):

* ``log_prior`` [K] — log P(condition);
* ``p_present`` [K, E] — P(evidence present | condition, its parent question present);
* ``value_probs`` — per categorical evidence [K, V] P(value | c, present) over its non-default
  values (rows sum to 1); per multi-choice evidence [K, V] independent P(value chosen | c,
  present);
* ``log_sex`` [K, 2] and ``log_age`` [K, bands] — log P(sex | c), log P(age band | c), or None
  when the model knows nothing about demographics;
* ``allowed_sex`` [E, 2] and ``allowed_age`` [E, bands] — whether an evidence can occur at all
  in a sex or age band (a man is never pregnant), or None when every evidence can.

Two models exist: the *structural* one from the knowledge base's structure alone
(:func:`structural_model`, no data), and the fitted one (:mod:`agent.reasoners.ddxplus.fit`) from
the train
split's statistics, which ships with the package (:mod:`agent.reasoners.ddxplus.shipped`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agent.reasoners.arrays import BoolArray, FloatArray
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase

AGE_BAND_EDGES: tuple[int, ...] = (1, 5, 15, 30, 45, 60, 75)
"""Upper bounds (exclusive) of the age bands; the last band is 75 and over."""
AGE_BANDS = len(AGE_BAND_EDGES) + 1
SEXES = ("M", "F")


def age_band(age: int) -> int:
    """The band of an age: 0 for under 1, … 7 for 75 and over."""
    return bisect.bisect_right(AGE_BAND_EDGES, age)


@dataclass(frozen=True)
class StructuralSettings:
    """Parameters of the structural model, chosen a priori (see BENCHMARKS.md for sensitivity).

    ``p_symptom`` 0.5 is the maximum-ignorance value for 'a listed symptom is present'.
    ``leak`` is the chance of a finding that the knowledge base does not list for the condition
    (documentation gaps, comorbidity, a patient's mistake).
    """

    p_symptom: float = 0.5
    p_antecedent: float = 0.5
    leak: float = 0.002


@dataclass
class LikelihoodModel:
    """Arrays over (condition, evidence) in the knowledge base's order, plus provenance."""

    kb_fingerprint: str
    source: str
    log_prior: FloatArray  # [K]
    p_present: FloatArray  # [K, E]: P(present | c, parent present)
    value_probs: dict[str, FloatArray] = field(default_factory=dict)
    log_sex: FloatArray | None = None  # [K, 2]
    log_age: FloatArray | None = None  # [K, AGE_BANDS]
    allowed_sex: BoolArray | None = None  # [E, 2]
    allowed_age: BoolArray | None = None  # [E, AGE_BANDS]
    provenance: dict[str, Any] = field(default_factory=dict)
    """JSON: what the model was fitted from (files and their SHA-256) and with which settings."""

    def arrays(self) -> dict[str, NDArray[Any]]:
        """Every array under the name it is saved with (the model file, written and read by
        :mod:`agent.reasoners.ddxplus.model_file`)."""
        arrays: dict[str, NDArray[Any]] = {"log_prior": self.log_prior, "p_present": self.p_present}
        arrays.update({f"value:{code}": probs for code, probs in self.value_probs.items()})
        optional = {
            "log_sex": self.log_sex,
            "log_age": self.log_age,
            "allowed_sex": self.allowed_sex,
            "allowed_age": self.allowed_age,
        }
        arrays.update({name: value for name, value in optional.items() if value is not None})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]], meta: dict[str, Any]) -> LikelihoodModel:
        values = {k.removeprefix("value:"): v for k, v in arrays.items() if k.startswith("value:")}
        return cls(
            kb_fingerprint=str(meta["kb"]),
            source=str(meta["source"]),
            log_prior=arrays["log_prior"],
            p_present=arrays["p_present"],
            value_probs=values,
            log_sex=arrays.get("log_sex"),
            log_age=arrays.get("log_age"),
            allowed_sex=arrays.get("allowed_sex"),
            allowed_age=arrays.get("allowed_age"),
            provenance=dict(meta.get("provenance", {})),
        )


@dataclass(frozen=True)
class PatientTables:
    """The model's presence probabilities for one sex and age band (None: unknown), which a
    patient's findings are weighed with (``BayesEngine.tables``)."""

    p_present: FloatArray  # [K, E]
    log_yes: FloatArray
    log_no: FloatArray
    possible: BoolArray  # [E]: the evidence can occur for this patient


def structural_model(
    kb: KnowledgeBase, settings: StructuralSettings | None = None
) -> LikelihoodModel:
    """The model from the knowledge base's structure alone (no data):

    * P(present | c) = ``p_symptom`` (or ``p_antecedent``) when the evidence is listed for c, a
      small ``leak`` otherwise (an unlisted finding makes c unlikely, not impossible);
    * values of categorical and multi-choice evidences, age and sex carry no information; the
      prior over conditions is uniform.
    """
    s = settings or StructuralSettings()
    n_cond, n_ev = len(kb.condition_names), len(kb.evidence_codes)
    p_present = np.full((n_cond, n_ev), s.leak)
    for ci, name in enumerate(kb.condition_names):
        cond = kb.conditions[name]
        for code in cond.symptoms:
            p_present[ci, kb.evidence_index[code]] = s.p_symptom
        for code in cond.antecedents:
            p_present[ci, kb.evidence_index[code]] = s.p_antecedent
    value_probs: dict[str, FloatArray] = {}
    for code, ev in kb.evidences.items():
        n_values = len(ev.non_default_values)
        if ev.kind is EvidenceKind.CATEGORICAL:
            value_probs[code] = np.full((n_cond, n_values), 1.0 / n_values)
        elif ev.kind is EvidenceKind.MULTI_CHOICE:
            value_probs[code] = np.full((n_cond, n_values), 0.5)
    return LikelihoodModel(
        kb_fingerprint=kb.fingerprint(),
        source="structural",
        log_prior=np.full(n_cond, -np.log(n_cond)),
        p_present=p_present,
        value_probs=value_probs,
        provenance={"kind": "structural", "settings": s.__dict__},
    )
