"""Age and sex in the likelihood model, learnt from sample patients.

Two effects, both from the patients' records (the split statistics carry no demographics):

* **per condition** — P(sex | c) and P(age band | c): each condition's counts shrunk towards the
  pooled distribution with ``strength`` pseudo-patients, the strength chosen by leave-one-out
  log-likelihood over the samples when not given;
* **per evidence** — whether an evidence can occur at all in a sex or age band. A stratum is
  *restricted* (the evidence never occurs there) when no sample patient of it has the evidence
  and the Bayes factor of "never here, proportionally more elsewhere" against "no effect" reaches
  ``bayes_factor``: with ``exp_s`` and ``exp_r`` the counts the condition probabilities predict
  inside and outside the stratum, ``exp_r'`` the count outside it under restriction (each
  patient's P(e | c) divided by P(outside | c)) and ``obs_r`` the count seen outside,
  log BF = obs_r · log(exp_r' / exp_r) − exp_r' + exp_r + exp_s.

Nothing here is a hand list: in DDXPlus the samples restrict pregnancy and hormone intake to
women; questions the data show at every age (alcohol, smoking) stay askable at every age.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agent.reasoners.arrays import BoolArray, FloatArray
from agent.reasoners.ddxplus.likelihood import AGE_BAND_EDGES, AGE_BANDS, SEXES, age_band
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from simulator.records import PatientRecord

STRENGTHS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 300.0, 1000.0, 1e6)
"""Candidate shrinkage strengths (pseudo-patients) for leave-one-out selection; 1e6 means "no
effect" (every condition gets the pooled distribution)."""


@dataclass(frozen=True)
class Demographics:
    log_sex: FloatArray | None = None
    log_age: FloatArray | None = None
    allowed_sex: BoolArray | None = None
    allowed_age: BoolArray | None = None
    strength: dict[str, float] = field(default_factory=dict)
    """The shrinkage used for sex and for age (pseudo-patients)."""
    restricted: list[str] = field(default_factory=list)
    """Readable list of the restrictions found, e.g. 'E_167 never in sex M'."""


def fit_demographics(
    kb: KnowledgeBase,
    samples: Sequence[PatientRecord],
    p_present: FloatArray,
    strength: float | None,
    bayes_factor: float,
) -> Demographics:
    """Both effects from ``samples``; nothing (None arrays) without samples."""
    if not samples:
        return Demographics()
    cond = np.array([kb.condition_index[r.pathology] for r in samples])
    sex = np.array([SEXES.index(r.sex) for r in samples])
    band = np.array([age_band(r.age) for r in samples])
    n_cond = len(kb.condition_names)
    sex_counts = _counts(cond, sex, n_cond, len(SEXES))
    age_counts = _counts(cond, band, n_cond, AGE_BANDS)
    chosen = {
        "sex": strength if strength is not None else _leave_one_out_strength(sex_counts),
        "age": strength if strength is not None else _leave_one_out_strength(age_counts),
    }
    sex_probs = _shrunk(sex_counts, chosen["sex"])
    age_probs = _shrunk(age_counts, chosen["age"])
    present = _presence(kb, samples)
    allowed_sex, found_sex = _allowed(
        kb, present, p_present[cond], sex, sex_probs[cond], "sex", bayes_factor
    )
    allowed_age, found_age = _allowed(
        kb, present, p_present[cond], band, age_probs[cond], "age", bayes_factor
    )
    return Demographics(
        log_sex=np.log(sex_probs),
        log_age=np.log(age_probs),
        allowed_sex=allowed_sex,
        allowed_age=allowed_age,
        strength=chosen,
        restricted=found_sex + found_age,
    )


def _counts(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> FloatArray:
    counts = np.zeros((n_rows, n_cols))
    np.add.at(counts, (rows, cols), 1.0)
    return counts


def _pooled(counts: FloatArray) -> FloatArray:
    totals = counts.sum(axis=0) + 1.0
    return np.asarray(totals / totals.sum())


def _shrunk(counts: FloatArray, strength: float) -> FloatArray:
    """(count + strength · pooled) / (n + strength), per condition."""
    pooled = _pooled(counts)
    return np.asarray((counts + strength * pooled) / (counts.sum(axis=1, keepdims=True) + strength))


def _leave_one_out_strength(counts: FloatArray) -> float:
    """The strength under which each sample's own stratum is best predicted from the others."""
    pooled = _pooled(counts)
    n = counts.sum(axis=1, keepdims=True)
    mask = counts > 0

    rows = np.broadcast_to(n, counts.shape)[mask]
    pooled_at = np.broadcast_to(pooled, counts.shape)[mask]

    def loo_loglik(strength: float) -> float:
        held_out = (counts[mask] - 1 + strength * pooled_at) / (rows - 1 + strength)
        return float((counts[mask] * np.log(held_out)).sum())

    return max(STRENGTHS, key=loo_loglik)


def _presence(kb: KnowledgeBase, samples: Sequence[PatientRecord]) -> FloatArray:
    """[samples, E]: 1 where a sample patient has a binary root evidence."""
    present = np.zeros((len(samples), len(kb.evidence_codes)))
    for i, record in enumerate(samples):
        for code, value in record.evidences.items():
            ev = kb.evidences[code]
            if ev.kind is EvidenceKind.BINARY and ev.parent is None and value is True:
                present[i, kb.evidence_index[code]] = 1.0
    return present


def _allowed(
    kb: KnowledgeBase,
    present: FloatArray,
    p_patient: FloatArray,
    stratum: np.ndarray,
    stratum_probs: FloatArray,
    label: str,
    bayes_factor: float,
) -> tuple[BoolArray, list[str]]:
    """[E, strata] True where the evidence can occur (see the module docstring)."""
    n_strata = stratum_probs.shape[1]
    allowed = np.ones((present.shape[1], n_strata), dtype=bool)
    found: list[str] = []
    binary_roots = [
        kb.evidence_index[c]
        for c, ev in kb.evidences.items()
        if ev.kind is EvidenceKind.BINARY and ev.parent is None
    ]
    for s in range(n_strata):
        inside = stratum == s
        if not inside.any() or inside.all():
            continue
        outside_share = 1.0 - stratum_probs[~inside, s]  # P(outside s | c) per patient
        for ei in binary_roots:
            if present[inside, ei].any():
                continue
            observed = float(present[~inside, ei].sum())
            expected_in = float(p_patient[inside, ei].sum())
            expected_out = float(p_patient[~inside, ei].sum())
            if observed == 0 or expected_out <= 0:
                continue
            restricted_out = float((p_patient[~inside, ei] / outside_share).sum())
            log_bf = (
                observed * np.log(restricted_out / expected_out)
                - restricted_out
                + expected_out
                + expected_in
            )
            if log_bf >= np.log(bayes_factor):
                allowed[ei, s] = False
                found.append(f"{kb.evidence_codes[ei]} never in {label} {stratum_name(label, s)}")
    return allowed, found


def stratum_name(label: str, index: int) -> str:
    """'M' / 'F' for a sex; '15-29' (years) for an age band."""
    if label == "sex":
        return SEXES[index]
    low = 0 if index == 0 else AGE_BAND_EDGES[index - 1]
    return f"{low}+" if index == len(AGE_BAND_EDGES) else f"{low}-{AGE_BAND_EDGES[index] - 1}"
