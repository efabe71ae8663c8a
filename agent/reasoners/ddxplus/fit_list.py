"""Fitting the differential-list model on patients whose reference differential is known.

One L2-regularised logistic regression per condition (scikit-learn's liblinear solver, fast
and deterministic with a fixed seed), on the patients' full
records (:meth:`~agent.reasoners.ddxplus.differential_list.FeatureBuilder.observed`): "does the
reference
differential list this condition, given these findings?". A condition every patient lists (or
none does) gets a constant. ``regularisation`` (scikit-learn's C) and ``threshold`` were chosen
on the train/validate samples (BENCHMARKS.md).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.errors import DataFormatError
from agent.reasoners.ddxplus.differential_list import FeatureBuilder, ListModel
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import PatientRecord

MAX_RECORDS = 20_000
"""Records used at most (drawn with a fixed seed): the official split has a million."""
CONSTANT = 20.0
"""Logit of a condition that every patient (or no patient) lists."""


def fit_list_model(
    kb: KnowledgeBase,
    records: Sequence[PatientRecord],
    *,
    regularisation: float,
    threshold: float,
    provenance: dict[str, Any] | None = None,
) -> ListModel:
    from sklearn.linear_model import LogisticRegression

    usable = [r for r in records if r.differential]
    if not usable:
        raise DataFormatError("No patient record carries a reference differential to learn from.")
    if len(usable) > MAX_RECORDS:
        usable = random.Random(0).sample(usable, MAX_RECORDS)
    builder = FeatureBuilder(kb)
    features = np.array([builder.observed(r.evidences, r.age, r.sex) for r in usable])
    names = kb.condition_names
    listed = np.array([[name in dict(r.differential) for name in names] for r in usable])
    weights = np.zeros((len(names), builder.size))
    bias = np.zeros(len(names))
    for ci in range(len(names)):
        labels = listed[:, ci]
        if labels.all() or not labels.any():
            bias[ci] = CONSTANT if labels.all() else -CONSTANT
            continue
        fitted = LogisticRegression(
            C=regularisation, solver="liblinear", random_state=0, max_iter=1000
        ).fit(features, labels)
        weights[ci] = fitted.coef_[0]
        bias[ci] = fitted.intercept_[0]
    return ListModel(
        weights=weights,
        bias=bias,
        threshold=threshold,
        provenance={
            **(provenance or {}),
            "records": len(usable),
            "regularisation": regularisation,
            "threshold": threshold,
        },
    )
