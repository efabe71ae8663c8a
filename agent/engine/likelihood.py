"""Likelihood models P(finding | condition) for the embedded Bayesian engine.

The DDXPlus release says which evidences belong to each condition but gives no probabilities, so
the default model is *structural*:

* P(present | c) = ``p_symptom`` (or ``p_antecedent``) when the evidence is listed for c, and a
  small ``leak`` otherwise (never zero: an unlisted finding makes c unlikely, not impossible);
* for a gated evidence the probability is conditional on its parent being present;
* values of categorical and multi-choice evidences, age and sex carry no information (uniform),
  because the release has nothing on them; the prior over conditions is uniform.

``fit_model`` refines every part from patient records (e.g. the official training split): counts
with a Beta/Dirichlet prior centred on the structural model, so conditions or values never seen
in the records keep the structural estimate instead of a zero.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from agent.errors import DataFormatError
from agent.findings import is_present
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from simulator.records import PatientRecord

FloatArray = NDArray[np.float64]

AGE_BAND_EDGES: tuple[int, ...] = (1, 5, 15, 30, 45, 60, 75)
"""Upper bounds (exclusive) of the age bands; the last band is 75 and over."""
SEXES = ("M", "F")
FORMAT_VERSION = 1


def age_band(age: int) -> int:
    return int(np.searchsorted(AGE_BAND_EDGES, age, side="right"))


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
    """Per categorical evidence: [K, V] P(value | c, present) over non-default values (rows sum
    to 1). Per multi-choice evidence: [K, V] independent P(value chosen | c, present)."""
    log_sex: FloatArray | None = None  # [K, 2]
    log_age: FloatArray | None = None  # [K, len(AGE_BAND_EDGES) + 1]

    def save(self, path: Path) -> None:
        """Write ``path`` (.npz) atomically: a killed save never leaves a loadable half-file."""
        arrays: dict[str, FloatArray] = {"log_prior": self.log_prior, "p_present": self.p_present}
        for code, probs in self.value_probs.items():
            arrays[f"value:{code}"] = probs
        if self.log_sex is not None:
            arrays["log_sex"] = self.log_sex
        if self.log_age is not None:
            arrays["log_age"] = self.log_age
        meta = {"format": FORMAT_VERSION, "kb": self.kb_fingerprint, "source": self.source}
        tmp = path.with_name(path.name + ".partial")
        with tmp.open("wb") as handle:
            np.savez_compressed(handle, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, kb: KnowledgeBase) -> LikelihoodModel:
        """Load a fitted model, refusing one fitted on a different knowledge base."""
        if not path.is_file():
            raise DataFormatError(f"{path} not found: fit a model with `ddx kb fit` first.")
        try:
            with np.load(path, allow_pickle=False) as payload:
                meta = json.loads(str(payload["meta"]))
                arrays = {key: payload[key] for key in payload.files if key != "meta"}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise DataFormatError(f"{path} is not a ddx likelihood model ({exc}).") from None
        if meta.get("format") != FORMAT_VERSION:
            raise DataFormatError(f"{path} has model format {meta.get('format')}, expected 1.")
        if meta.get("kb") != kb.fingerprint():
            raise DataFormatError(
                f"{path} was fitted on a different DDXPlus knowledge base; fit it again with "
                "`ddx kb fit` on this data directory."
            )
        return cls(
            kb_fingerprint=meta["kb"],
            source=meta["source"],
            log_prior=arrays.pop("log_prior"),
            p_present=arrays.pop("p_present"),
            log_sex=arrays.pop("log_sex", None),
            log_age=arrays.pop("log_age", None),
            value_probs={k.removeprefix("value:"): v for k, v in arrays.items()},
        )


def structural_model(
    kb: KnowledgeBase, settings: StructuralSettings | None = None
) -> LikelihoodModel:
    """The default model, from the knowledge base's structure alone."""
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
    )


def fit_model(
    kb: KnowledgeBase,
    records: Iterable[PatientRecord],
    source: str,
    strength: float = 2.0,
    settings: StructuralSettings | None = None,
) -> LikelihoodModel:
    """Fit every probability from records, shrunk towards the structural model.

    ``strength`` is the weight (in pseudo-patients) of the structural model in each estimate.
    """
    base = structural_model(kb, settings)
    n_cond, n_ev = base.p_present.shape
    present = np.zeros((n_cond, n_ev))
    askable = np.zeros((n_cond, n_ev))
    n_per_cond = np.zeros(n_cond)
    sex_counts = np.zeros((n_cond, len(SEXES)))
    age_counts = np.zeros((n_cond, len(AGE_BAND_EDGES) + 1))
    value_counts = {code: np.zeros_like(p) for code, p in base.value_probs.items()}
    ev_codes = kb.evidence_codes
    parents = [kb.evidences[code].parent for code in ev_codes]
    for record in records:
        ci = kb.condition_index[record.pathology]
        n_per_cond[ci] += 1
        sex_counts[ci, SEXES.index(record.sex)] += 1
        age_counts[ci, age_band(record.age)] += 1
        for ei, code in enumerate(ev_codes):
            parent = parents[ei]
            if parent is not None and parent not in record.evidences:
                continue
            askable[ci, ei] += 1
            if code not in record.evidences:
                continue
            value = record.evidences[code]
            ev = kb.evidences[code]
            if not is_present(ev, value):
                continue
            present[ci, ei] += 1
            if code in value_counts:
                picked = value if isinstance(value, list) else [value]
                index = {v: i for i, v in enumerate(ev.non_default_values)}
                for v in picked:
                    if v in index:
                        value_counts[code][ci, index[v]] += 1
    if n_per_cond.sum() == 0:
        raise DataFormatError("No usable patient records to fit the model on.")
    p_present = (present + strength * base.p_present) / (askable + strength)
    value_probs: dict[str, FloatArray] = {}
    for code, counts in value_counts.items():
        ev = kb.evidences[code]
        prior = base.value_probs[code]
        n_present = present[:, kb.evidence_index[code]][:, None]
        if ev.kind is EvidenceKind.CATEGORICAL:
            value_probs[code] = (counts + strength * prior) / (
                counts.sum(axis=1, keepdims=True) + strength
            )
        else:
            value_probs[code] = (counts + strength * prior) / (n_present + strength)
    log_prior = np.log((n_per_cond + 1.0) / (n_per_cond.sum() + n_cond))
    log_sex = np.log((sex_counts + 1.0) / (n_per_cond[:, None] + len(SEXES)))
    log_age = np.log((age_counts + 1.0) / (n_per_cond[:, None] + age_counts.shape[1]))
    return LikelihoodModel(
        kb_fingerprint=base.kb_fingerprint,
        source=source,
        log_prior=log_prior,
        p_present=p_present,
        value_probs=value_probs,
        log_sex=log_sex,
        log_age=log_age,
    )
