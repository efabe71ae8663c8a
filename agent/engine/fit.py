"""Fitting the likelihood model from a split's statistics (the default model's recipe).

From :class:`~agent.engine.split_stats.SplitStats` (probabilities over ALL of a condition's
patients) to the engine's parametrisation (conditional on the parent question):

* binary: P(e | c, parent) = P(e | c) / P(parent | c) (a child implies its parent);
* categorical and multi-choice: P(present | c, parent) = (1 − P(default | c)) / P(parent | c),
  since a patient without the parent counts as having the default; values conditional on being
  present: P(v | c) / (1 − P(default | c));
* multi-choice values whose marginal the statistics do not give (seen with the condition, but
  outside the profile's top five, or E_133/E_152): estimated from the sample patients, shrunk
  towards the statistics' lower bound with ``multi_choice_strength`` pseudo-patients and kept
  within [lower bound, cap];
* anything never seen with a condition: ``leak`` (a finding) or ``value_leak`` (a value);
* age and sex: :mod:`agent.engine.demographics`, from the sample patients.

The settings' defaults were chosen on the train/validate samples (BENCHMARKS.md, "DDXPlus").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from agent.engine.demographics import fit_demographics
from agent.engine.likelihood import FloatArray, LikelihoodModel
from agent.engine.split_stats import UNSEEN, ConditionStats, MultiChoiceStats, SplitStats
from agent.findings import is_present
from retrieval.ddxplus_kb import Evidence, EvidenceKind, KnowledgeBase
from simulator.records import PatientRecord

CEILING = 1 - 1e-6
"""No finding is certain: an answer the model calls impossible only lowers a condition."""
PRIOR_FLOOR = 1e-6


@dataclass(frozen=True)
class FitSettings:
    leak: float = 1e-3
    """P(present | c) of a finding never seen with c in the split."""
    value_leak: float = 1e-3
    """P(value | c, present) of a value never seen with c (before renormalising)."""
    multi_choice_strength: float = 2.0
    """Pseudo-patients of the lower bound when a multi-choice marginal is learnt from samples."""
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
    counts = _multi_choice_counts(kb, samples)
    for ci, name in enumerate(names):
        cond = stats.conditions[name]
        for code, ev in kb.evidences.items():
            parent = _parent_share(cond, ev)
            ei = kb.evidence_index[code]
            if ev.kind is EvidenceKind.BINARY:
                share = cond.binary.get(code, 0.0)
                if share > UNSEEN and parent > 0:
                    p_present[ci, ei] = np.clip(share / parent, s.leak, CEILING)
                continue
            present, row = _values(cond, ev, s, counts.get(code), ci)
            if present > UNSEEN and parent > 0 and row is not None:
                p_present[ci, ei] = np.clip(present / parent, s.leak, CEILING)
                value_probs[code][ci] = row
            elif ev.kind is EvidenceKind.CATEGORICAL:
                value_probs[code][ci] = 1.0 / len(ev.non_default_values)
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
            "settings": {**s.to_json(), "demographic_strength": demographics.strength},
            "restricted": demographics.restricted,
        },
    )


def _parent_share(cond: ConditionStats, ev: Evidence) -> float:
    """P(parent present | c) over all patients (1 for a root question)."""
    return 1.0 if ev.parent is None else cond.binary.get(ev.parent, 0.0)


def _values(
    cond: ConditionStats,
    ev: Evidence,
    s: FitSettings,
    counts: tuple[FloatArray, FloatArray] | None,
    ci: int,
) -> tuple[float, FloatArray | None]:
    """(P(non-default | c) over all patients, the value row conditional on being present)."""
    values = [str(v) for v in ev.non_default_values]
    if ev.kind is EvidenceKind.CATEGORICAL:
        shares = {k: p for k, p in cond.categorical.get(ev.code, {}).items() if p > UNSEEN}
        row = np.array([shares.get(v, 0.0) for v in values])
        present = float(row.sum())
        if present <= 0:
            return 0.0, None
        row = np.maximum(row / present, s.value_leak)
        return present, row / row.sum()
    mc = cond.multi_choice.get(ev.code)
    if mc is None or mc.default >= 1 - UNSEEN:
        return 0.0, None
    present = 1.0 - mc.default
    return present, _multi_choice_row(mc, values, present, s, counts, ci)


def _multi_choice_row(
    mc: MultiChoiceStats,
    values: list[str],
    present: float,
    s: FitSettings,
    counts: tuple[FloatArray, FloatArray] | None,
    ci: int,
) -> FloatArray:
    row = np.full(len(values), s.value_leak)
    chosen, asked = counts if counts is not None else (None, None)
    for vi, value in enumerate(values):
        if value in mc.marginals:
            row[vi] = mc.marginals[value] / present
        elif value in mc.seen:
            low, high = mc.seen[value] / present, max(mc.cap / present, mc.seen[value] / present)
            seen = chosen[ci, vi] if chosen is not None else 0.0
            n = asked[ci] if asked is not None else 0.0
            estimate = (seen + s.multi_choice_strength * low) / (n + s.multi_choice_strength)
            row[vi] = min(max(estimate, low), high)
    return np.asarray(np.clip(row, s.value_leak, CEILING))


def _multi_choice_counts(
    kb: KnowledgeBase, samples: Sequence[PatientRecord]
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Per multi-choice evidence: (patients choosing each value [K, V], patients with the
    evidence present [K]) among the sample patients."""
    result: dict[str, tuple[FloatArray, FloatArray]] = {}
    for code, ev in kb.evidences.items():
        if ev.kind is not EvidenceKind.MULTI_CHOICE:
            continue
        index = {v: i for i, v in enumerate(ev.non_default_values)}
        chosen = np.zeros((len(kb.condition_names), len(index)))
        asked = np.zeros(len(kb.condition_names))
        for record in samples:
            value = record.evidences.get(code)
            if value is None or not is_present(ev, value):
                continue
            ci = kb.condition_index[record.pathology]
            asked[ci] += 1
            for v in value if isinstance(value, list) else [value]:
                if v in index:
                    chosen[ci, index[v]] += 1
        result[code] = (chosen, asked)
    return result
