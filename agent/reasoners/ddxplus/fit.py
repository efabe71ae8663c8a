"""Fitting the likelihood model from a split's statistics (the default model's recipe).

From :class:`~agent.reasoners.ddxplus.split_stats.SplitStats` (probabilities over ALL of a
condition's
patients) to the engine's parametrisation (conditional on the parent question):

* binary: P(e | c, parent) = P(e | c) / P(parent | c) (a child implies its parent);
* categorical and multi-choice: P(present | c, parent) = (1 − P(default | c)) / P(parent | c),
  since a patient without the parent counts as having the default; values conditional on being
  present: P(v | c) / (1 − P(default | c));
* multi-choice values whose marginal the statistics do not give (outside the profile's top
  five, and every value of E_133/E_152): estimated from the sample patients
  (:mod:`agent.reasoners.ddxplus.multi_choice`);
* anything never seen with a condition: ``leak`` (a finding) or ``value_leak`` (a value);
* age and sex: :mod:`agent.reasoners.ddxplus.demographics`, from the sample patients.

The settings' defaults were chosen on the train/validate samples (BENCHMARKS.md, "DDXPlus").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from agent.reasoners.arrays import FloatArray
from agent.reasoners.ddxplus.demographics import fit_demographics
from agent.reasoners.ddxplus.likelihood import LikelihoodModel
from agent.reasoners.ddxplus.multi_choice import (
    ValueBounds,
    ValueSamples,
    choose_strength,
    estimate,
)
from agent.reasoners.ddxplus.split_stats import UNSEEN, ConditionStats, SplitStats
from retrieval.ddxplus_kb import Evidence, EvidenceKind, KnowledgeBase
from simulator.records import PatientRecord

CEILING = 1 - 1e-6
"""No finding is certain: an answer the model calls impossible only lowers a condition."""
PRIOR_FLOOR = 1e-6


@dataclass(frozen=True)
class FitSettings:
    leak: float = 1e-3
    """P(present | c) of a finding never seen with c in the split. On the cross-fitted
    train/validate samples 1e-5 … 1e-3 are within 3 of 1,186 patients (BENCHMARKS.md, "leak");
    1e-3 is the best calibrated and the least harsh on a finding off a condition's profile, which
    real patients report (the vignette suite: 1e-4 loses a groin swelling to anaphylaxis)."""
    value_leak: float = 1e-3
    """P(value | c, present) of a value never seen with c (before renormalising)."""
    multi_choice_strength: float | None = 2.0
    """Pseudo-patients of the pooled frequency when a multi-choice marginal is learnt from the
    samples; None: chosen per evidence by leave-one-out likelihood of the samples' answers
    (which picks 0.03–0.25; consultations on the samples are better with 2, BENCHMARKS.md)."""
    demographic_strength: float | None = None
    """Pseudo-patients of the pooled age/sex distribution in each condition's; None: chosen by
    leave-one-out likelihood on the sample patients."""
    restriction_bayes_factor: float = 20.0
    """Bayes factor above which an evidence is taken to never occur in a sex or age band."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fit_from_stats(
    kb: KnowledgeBase,
    stats: SplitStats,
    samples: Sequence[PatientRecord],
    settings: FitSettings | None = None,
    provenance: dict[str, Any] | None = None,
) -> LikelihoodModel:
    """The likelihood model of ``stats``, with what only patients show learnt from ``samples``."""
    s = settings or FitSettings()
    names = kb.condition_names
    prior = np.array([max(stats.conditions[n].prior, PRIOR_FLOOR) for n in names])
    p_present = np.full((len(names), len(kb.evidence_codes)), s.leak)
    value_probs: dict[str, FloatArray] = {
        code: np.full((len(names), len(ev.non_default_values)), s.value_leak)
        for code, ev in kb.evidences.items()
        if ev.kind is not EvidenceKind.BINARY
    }
    for ci, name in enumerate(names):
        cond = stats.conditions[name]
        for code, ev in kb.evidences.items():
            parent = _parent_share(cond, ev)
            ei = kb.evidence_index[code]
            if ev.kind is EvidenceKind.BINARY:
                share = cond.binary.get(code, 0.0)
                if share > UNSEEN and parent > 0:
                    p_present[ci, ei] = np.clip(share / parent, s.leak, CEILING)
            elif ev.kind is EvidenceKind.CATEGORICAL:
                present, row = _categorical(cond, ev, s)
                if present > UNSEEN and parent > 0 and row is not None:
                    p_present[ci, ei] = np.clip(present / parent, s.leak, CEILING)
                    value_probs[code][ci] = row
                else:
                    value_probs[code][ci] = 1.0 / len(ev.non_default_values)
    strengths = {
        code: _fit_multi_choice(kb, stats, ev, samples, s, p_present, value_probs)
        for code, ev in kb.evidences.items()
        if ev.kind is EvidenceKind.MULTI_CHOICE
    }
    demographics = fit_demographics(
        kb, samples, p_present, s.demographic_strength, s.restriction_bayes_factor
    )
    return LikelihoodModel(
        kb_fingerprint=kb.fingerprint(),
        source=f"fitted:{stats.source}",
        log_prior=np.log(prior / prior.sum()),
        p_present=p_present,
        value_probs=value_probs,
        log_sex=demographics.log_sex,
        log_age=demographics.log_age,
        allowed_sex=demographics.allowed_sex,
        allowed_age=demographics.allowed_age,
        provenance={
            **(provenance or {}),
            "settings": {
                **s.to_json(),
                "demographic_strength": demographics.strength,
                "multi_choice_strength": strengths,
            },
            "restricted": demographics.restricted,
        },
    )


def _parent_share(cond: ConditionStats, ev: Evidence) -> float:
    """P(parent present | c) over all patients (1 for a root question)."""
    return 1.0 if ev.parent is None else cond.binary.get(ev.parent, 0.0)


def _categorical(
    cond: ConditionStats, ev: Evidence, s: FitSettings
) -> tuple[float, FloatArray | None]:
    """(P(non-default | c) over all patients, the value row conditional on being present)."""
    values = [str(v) for v in ev.non_default_values]
    shares = {k: p for k, p in cond.categorical.get(ev.code, {}).items() if p > UNSEEN}
    row = np.array([shares.get(v, 0.0) for v in values])
    present = float(row.sum())
    if present <= 0:
        return 0.0, None
    row = np.maximum(row / present, s.value_leak)
    return present, row / row.sum()


def _fit_multi_choice(
    kb: KnowledgeBase,
    stats: SplitStats,
    ev: Evidence,
    samples: Sequence[PatientRecord],
    s: FitSettings,
    p_present: FloatArray,
    value_probs: dict[str, FloatArray],
) -> float:
    """Fill one multi-choice evidence's presence and values (see
    :mod:`agent.reasoners.ddxplus.multi_choice`); returns the strength used."""
    values = [str(v) for v in ev.non_default_values]
    n_cond, n_values = len(kb.condition_names), len(values)
    known = np.zeros((n_cond, n_values), dtype=bool)
    given, low, high = (
        np.zeros((n_cond, n_values)),
        np.zeros((n_cond, n_values)),
        np.ones((n_cond, n_values)),
    )
    present = np.zeros(n_cond)
    for ci, name in enumerate(kb.condition_names):
        mc = stats.conditions[name].multi_choice.get(ev.code)
        if mc is None or mc.default >= 1 - UNSEEN:
            continue
        present[ci] = 1.0 - mc.default
        for vi, value in enumerate(values):
            if value in mc.marginals:
                known[ci, vi], given[ci, vi] = True, mc.marginals[value] / present[ci]
            low[ci, vi] = mc.seen.get(value, 0.0) / present[ci]
            high[ci, vi] = mc.cap / present[ci]
    bounds = ValueBounds(known=known, value=given, low=low, high=high)
    observed = ValueSamples.of(kb, ev, samples)
    strength = s.multi_choice_strength or choose_strength(bounds, observed, s.value_leak)
    value_probs[ev.code] = np.clip(estimate(bounds, observed, strength), s.value_leak, CEILING)
    ei = kb.evidence_index[ev.code]
    for ci, name in enumerate(kb.condition_names):
        parent = _parent_share(stats.conditions[name], ev)
        if present[ci] > UNSEEN and parent > 0:
            p_present[ci, ei] = np.clip(present[ci] / parent, s.leak, CEILING)
    return strength
