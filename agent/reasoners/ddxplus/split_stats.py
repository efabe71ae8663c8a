"""Per-condition statistics of a DDXPlus split: what a likelihood model is fitted from.

Two sources give the same :class:`SplitStats`:

* :func:`read_train_stats` — the train split's statistics as published (``train_stats.json``,
  computed by the DDXPlus authors' code in Casande-RL, MIT) with the correct pain multi-choice
  marginals of ``train_profile.json`` (MENINBLOX/graph-ddxplus);
* :func:`stats_from_records` — counted from patient records (e.g. the official
  ``release_train_patients.csv``), exactly.

Conventions (those of the published statistics): every probability is over ALL of a condition's
patients, not conditional on the parent question; a patient whose record lacks a categorical or
multi-choice evidence counts as having its default value; values are keyed by their text form
(``"V_10"``, ``"7"``).

``train_stats.json`` file format, per condition name: ``{"prior": P(condition), "findings":
{code: entry}}`` where a binary entry is a float P(present | c), a categorical entry is
``{value: P(value | c)}``, and a multi-choice entry is a distribution of ONE surviving value per
patient (a bug of that code keeps the last value it iterates over): it tells which values were
seen (> 1e-6; unseen values are written as 1e-7) and gives a lower bound of each value's
marginal, but not the marginal. ``train_profile.json``, per condition: ``count_train``,
``binary_freq``, and ``multi_choice_top_marginals`` {code: [[value, P(value chosen | c)], …]}
for the top ≤ 5 values of E_54, E_55 and E_57.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import DataFormatError
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from simulator.records import PatientRecord

UNSEEN = 1e-6
"""Entries at or below this are 'never seen' (the published file writes unseen values as 1e-7;
the rarest real frequency, one patient of the largest condition, is above 1e-5)."""
PROFILE_TOP = 5
"""How many values ``multi_choice_top_marginals`` lists at most."""


@dataclass(frozen=True)
class MultiChoiceStats:
    """One multi-choice evidence for one condition.

    ``marginals`` are known P(value chosen | c); ``seen`` are values seen with c whose marginal
    is not known, each with a lower bound of it (``seen[v]`` ≤ P(v chosen | c)); every such
    marginal is at most ``cap`` (the smallest listed top value when the list was truncated).
    """

    default: float
    marginals: Mapping[str, float] = field(default_factory=dict)
    seen: Mapping[str, float] = field(default_factory=dict)
    cap: float = 1.0


@dataclass(frozen=True)
class ConditionStats:
    prior: float
    binary: Mapping[str, float]
    categorical: Mapping[str, Mapping[str, float]]
    multi_choice: Mapping[str, MultiChoiceStats]


@dataclass(frozen=True)
class SplitStats:
    conditions: Mapping[str, ConditionStats]
    source: str


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path} is not a readable JSON file ({exc}).") from None
    if not isinstance(payload, dict) or not payload:
        raise DataFormatError(f"{path} must hold a JSON object keyed by condition name.")
    return payload


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DataFormatError(f"{where}: {value!r} is not a probability.")
    return float(value)


def _distribution(value: object, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise DataFormatError(f"{where}: expected {{value: probability}}, got {value!r}.")
    return {str(k): _number(p, f"{where}[{k}]") for k, p in value.items()}


def _top_marginals(profile: dict[str, Any] | None, name: str, code: str) -> dict[str, float]:
    if profile is None:
        return {}
    entry = profile.get(name, {}).get("multi_choice_top_marginals", {}).get(code, [])
    where = f"train_profile.json {name} {code}"
    return {str(v): _number(p, where) for v, p in entry}


def _multi_choice(
    distribution: dict[str, float], top: dict[str, float], default: str
) -> MultiChoiceStats:
    """The default's share is exact (it is always a patient's only value); the top values'
    marginals come from the profile; the other seen values keep their surviving share as a
    lower bound, capped by the smallest listed marginal when the list was truncated."""
    listed = {v: p for v, p in top.items() if v != default}
    cap = min(listed.values()) if len(top) >= PROFILE_TOP and listed else 1.0
    seen = {
        v: p for v, p in distribution.items() if p > UNSEEN and v != default and v not in listed
    }
    return MultiChoiceStats(
        default=distribution.get(default, 0.0) if distribution.get(default, 0.0) > UNSEEN else 0.0,
        marginals=listed,
        seen=seen,
        cap=cap,
    )


def read_train_stats(
    kb: KnowledgeBase, stats_path: Path, profile_path: Path | None = None
) -> SplitStats:
    """Read ``train_stats.json`` (and the multi-choice marginals of ``train_profile.json``)."""
    raw = _read_json(stats_path)
    profile = _read_json(profile_path) if profile_path is not None else None
    unknown = sorted(set(raw) - set(kb.conditions))
    if unknown:
        raise DataFormatError(f"{stats_path}: unknown condition(s) {', '.join(unknown[:3])}.")
    missing = sorted(set(kb.conditions) - set(raw))
    if missing:
        raise DataFormatError(f"{stats_path}: no statistics for {', '.join(missing[:3])}.")
    conditions = {}
    for name in kb.condition_names:
        entry = raw[name]
        if not isinstance(entry, dict) or "prior" not in entry or "findings" not in entry:
            raise DataFormatError(f"{stats_path}: {name!r} needs 'prior' and 'findings'.")
        binary: dict[str, float] = {}
        categorical: dict[str, dict[str, float]] = {}
        multi: dict[str, MultiChoiceStats] = {}
        for code, value in entry["findings"].items():
            ev = kb.evidences.get(code)
            where = f"{stats_path.name} {name} {code}"
            if ev is None:
                raise DataFormatError(f"{where}: unknown evidence code.")
            if ev.kind is EvidenceKind.BINARY:
                binary[code] = _number(value, where)
            elif ev.kind is EvidenceKind.CATEGORICAL:
                categorical[code] = _distribution(value, where)
            else:
                top = _top_marginals(profile, name, code)
                multi[code] = _multi_choice(_distribution(value, where), top, str(ev.default))
        prior = _number(entry["prior"], f"{stats_path.name} {name} prior")
        conditions[name] = ConditionStats(prior, binary, categorical, multi)
    return SplitStats(conditions=conditions, source=stats_path.name)


def stats_from_records(kb: KnowledgeBase, records: Iterable[PatientRecord]) -> SplitStats:
    """Count the same statistics from patient records, with exact multi-choice marginals."""
    patients: Counter[str] = Counter()
    present: dict[str, Counter[str]] = defaultdict(Counter)
    with_value: dict[str, Counter[str]] = defaultdict(Counter)
    values: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for record in records:
        name = record.pathology
        patients[name] += 1
        for code, value in record.evidences.items():
            ev = kb.evidences[code]
            if ev.kind is EvidenceKind.BINARY:
                present[name][code] += bool(value)
                continue
            picked = value if isinstance(value, list) else [value]
            chosen = {str(v) for v in picked if v is not None and v != ev.default}
            with_value[name][code] += bool(chosen)
            for item in chosen:
                values[name][code][item] += 1
    if not patients:
        raise DataFormatError("No usable patient records to fit the model on.")
    total = sum(patients.values())
    conditions = {}
    for name in kb.condition_names:
        n = patients.get(name, 0)
        binary = {code: count / n for code, count in present[name].items() if count}
        categorical: dict[str, dict[str, float]] = {}
        multi: dict[str, MultiChoiceStats] = {}
        for code, counter in values[name].items():
            ev = kb.evidences[code]
            shares = {v: c / n for v, c in counter.items()}
            default = 1.0 - with_value[name][code] / n
            if ev.kind is EvidenceKind.CATEGORICAL:
                categorical[code] = {**shares, str(ev.default): default}
            else:
                multi[code] = MultiChoiceStats(default=default, marginals=shares)
        conditions[name] = ConditionStats(n / total, binary, categorical, multi)
    return SplitStats(conditions=conditions, source="records")
