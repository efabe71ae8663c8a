"""The recipe of a fitted engine model: inputs, settings, provenance — what `ddx kb fit` runs.

Two ways in, one model out (likelihoods, the differential-list model, the urgent threshold):

* ``--stats train_stats.json [--profile train_profile.json] --patients samples.csv ...`` — the
  train split's published statistics, with what only patients show (multi-choice values outside
  the profile's top five, age and sex, the reference differentials) learnt from the sample
  patients. This builds the shipped default model.
* ``--patients release_train_patients.csv`` — every statistic counted from the records.

The model file records each input file with its SHA-256 and every setting, so the shipped model
can be checked against the files it claims to come from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import DdxError
from agent.files import file_sha256
from agent.reasoners.ddxplus.fit import FitSettings, fit_from_stats
from agent.reasoners.ddxplus.fit_list import fit_list_model
from agent.reasoners.ddxplus.model_file import Decisions, EngineModel
from agent.reasoners.ddxplus.split_stats import read_train_stats, stats_from_records
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import PatientRecord, load_patients


@dataclass(frozen=True)
class ListSettings:
    """The differential list's settings, chosen on the train/validate samples (BENCHMARKS.md)."""

    regularisation: float = 1.0
    """scikit-learn's C of each condition's logistic regression."""
    threshold: float = 0.5
    """A condition is listed when its inclusion probability reaches this."""


@dataclass(frozen=True)
class RecipeSettings:
    fit: FitSettings = field(default_factory=FitSettings)
    list: ListSettings = field(default_factory=ListSettings)
    urgent_threshold: float = 0.1
    """A severity-1/2 condition at or above this posterior is flagged urgent."""


@dataclass(frozen=True)
class FitInputs:
    stats: Path | None = None
    profile: Path | None = None
    patients: Sequence[Path] = ()


def _described(path: Path) -> dict[str, str]:
    return {"file": path.name, "sha256": file_sha256(path)}


def load_records(
    kb: KnowledgeBase,
    paths: Sequence[Path],
    warn: Callable[[str], None],
    note: Callable[[str], None] = lambda _: None,
) -> list[PatientRecord]:
    """Every usable record of ``paths``; bad rows go to ``warn``, each file's count to ``note``."""
    records: list[PatientRecord] = []
    for path in paths:
        loaded = load_patients(kb, path)
        for problem in loaded.problems():
            warn(f"{path.name} {problem}")
        note(f"{path.name}: {loaded.summary()}")
        records.extend(loaded.records)
    return records


def fit_engine_model(
    kb: KnowledgeBase,
    inputs: FitInputs,
    settings: RecipeSettings | None = None,
    warn: Callable[[str], None] = lambda _: None,
    note: Callable[[str], None] = lambda _: None,
) -> EngineModel:
    """Fit the whole engine model from ``inputs`` (see the module docstring)."""
    s = settings or RecipeSettings()
    if inputs.stats is None and not inputs.patients:
        raise DdxError("Give --stats (the train split's statistics) or --patients to fit on.")
    records = load_records(kb, inputs.patients, warn, note)
    if inputs.stats is None and not records:
        raise DdxError("The --patients files have no usable patient rows to fit on.")
    provenance: dict[str, Any] = {
        "recipe": "ddx kb fit",
        "stats": _described(inputs.stats) if inputs.stats else None,
        "profile": _described(inputs.profile) if inputs.profile else None,
        "patients": [_described(p) for p in inputs.patients],
        "records": len(records),
    }
    if inputs.stats is not None:
        split = read_train_stats(kb, inputs.stats, inputs.profile)
    else:
        split = stats_from_records(kb, records)
    likelihood = fit_from_stats(kb, split, records, s.fit, provenance)
    differential = None
    if any(r.differential for r in records):
        differential = fit_list_model(
            kb,
            records,
            regularisation=s.list.regularisation,
            threshold=s.list.threshold,
            provenance={"patients": provenance["patients"]},
        )
    else:
        warn("no patient carries a reference differential: the model has no differential list")
    likelihood.provenance["list"] = asdict(s.list)
    likelihood.provenance["urgent_threshold"] = s.urgent_threshold
    return EngineModel(likelihood, differential, Decisions(urgent_threshold=s.urgent_threshold))
