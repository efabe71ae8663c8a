"""A DDXPlus run's scores over its finished cases, and its summary: pure functions, no I/O.

==================  ===========================================================  ===============
metric              definition                                                   source
==================  ===========================================================  ===============
urgent recall@k     GTPA@k restricted to severity 1-2 ground truths              this project
banner rate         share of non-severe truths that ended with an urgent flag    this project
accuracy curve      GTPA@1 after q answers, q = 0 … budget                        this project
==================  ===========================================================  ===============

The rank, differential and calibration metrics themselves are in :mod:`eval.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, Unpack

import numpy as np

from eval.metrics import (
    DDX_THRESHOLD,
    Match,
    average_rank,
    differential_scores,
    exact,
    expected_calibration_error,
    gtpa_at_k,
)
from eval.schema import CaseResult, RunSummary

URGENT_SEVERITY = 2
"""Severities 1 and 2 are the conditions a triage must not miss."""


def urgent_recall_at_k(cases: Sequence[CaseResult], k: int = 5) -> float | None:
    """Among cases whose ground truth has severity 1 or 2, the share ranked in the top k.

    A triage tool's worst failure is dropping a severe condition off the list; overall GTPA
    hides that when severe cases are rare. None when the run has no such case (0.0 would read
    as "missed them all").
    """
    urgent = [c.truth_rank for c in cases if c.severity <= URGENT_SEVERITY]
    if not urgent:
        return None
    return gtpa_at_k(urgent, k)


def urgent_banner_rates(cases: Sequence[CaseResult]) -> tuple[float | None, float | None]:
    """(false-alarm rate, recall) of the urgent banner at the end of the consultation.

    The false-alarm rate is the share of cases whose truth is not severe (severity 3–5) that
    raised any urgent flag; the recall, the share of severe (1–2) truths flagged themselves.
    None when the run has no case of that kind.
    """
    benign = [bool(c.urgent_flags) for c in cases if c.severity > URGENT_SEVERITY]
    severe = [c.pathology in c.urgent_flags for c in cases if c.severity <= URGENT_SEVERITY]
    return (
        float(np.mean(benign)) if benign else None,
        float(np.mean(severe)) if severe else None,
    )


def _top1_after(case: CaseResult, max_questions: int) -> list[str | None]:
    """The case's top-1 condition after q answers, q = 0..max_questions (None: no snapshot yet)."""
    snapshots = sorted(case.steps, key=lambda s: s.questions)
    out: list[str | None] = []
    current: str | None = None
    i = 0
    for q in range(max_questions + 1):
        while i < len(snapshots) and snapshots[i].questions <= q:
            top = snapshots[i].top
            current = top[0][0] if top else None
            i += 1
        out.append(current)
    return out


def accuracy_curve(
    cases: Sequence[CaseResult], max_questions: int, match: Match = exact
) -> list[float]:
    """GTPA@1 after q answers, for q = 0..max_questions: how much each question buys.

    A case's top-1 at q is the first condition of its last snapshot taken after at most q
    answers, so a case that stopped early keeps its final answer for every larger q (it would
    not have changed its mind). A case with no snapshot yet at q counts as wrong. No cases
    gives a curve of zeros.
    """
    if max_questions < 0:
        raise ValueError(f"max_questions must be >= 0, got {max_questions}")
    if not cases:
        return [0.0] * (max_questions + 1)
    hits = np.array(
        [
            [
                top is not None and match(top, case.pathology)
                for top in _top1_after(case, max_questions)
            ]
            for case in cases
        ],
        dtype=float,
    )
    return [float(x) for x in hits.mean(axis=0)]


class SummaryExtras(TypedDict, total=False):
    """The optional, descriptive fields of :class:`RunSummary` a caller may fill in."""

    questions_budget: int | None
    full_profile: bool | None
    label: str | None


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def summarize(
    cases: Sequence[CaseResult],
    skipped: int,
    seconds: float,
    *,
    threshold: float = DDX_THRESHOLD,
    match: Match = exact,
    **extra: Unpack[SummaryExtras],
) -> RunSummary:
    """All metrics of a run, as the :class:`RunSummary` written to summary.json.

    - GTPA@k and average rank from each case's ``truth_rank``;
    - DDR / DDP / DDF1: means of per-case :func:`differential_scores` over the cases that have
      a reference differential (cases without one have nothing to be scored against);
    - ``*_list``: the same for the report's differential list (every listed condition), over
      the cases that have both (None when none has a list);
    - urgent banner rate and recall: :func:`urgent_banner_rates`;
    - ECE of the final top-1 probability, "correct" meaning ``truth_rank == 1``;
    - ``cases_per_second`` = n / seconds, None when ``seconds`` is 0.

    With no cases every metric is 0.0 and ``urgent_recall@5`` is None, so a run killed before
    its first case still gets a summary. ``extra`` fills the optional fields
    (``questions_budget``, ``full_profile``, ``label``).
    """
    unknown = set(extra) - set(SummaryExtras.__annotations__)
    if unknown:
        raise TypeError(f"summarize() got unexpected keyword arguments: {sorted(unknown)}")
    ranks = [c.truth_rank for c in cases]
    scored = [
        differential_scores(c.differential, c.reference_differential, threshold, match)
        for c in cases
        if c.reference_differential
    ]
    listed = [
        differential_scores(c.differential_list, c.reference_differential, 0.0, match)
        for c in cases
        if c.reference_differential and c.differential_list
    ]
    banner_rate, banner_recall = urgent_banner_rates(cases)
    # Clipped: a probability summed from floats can land a hair above 1.
    confidences = [
        min(max(c.differential[0][1], 0.0), 1.0) if c.differential else 0.0 for c in cases
    ]
    n = len(cases)
    return RunSummary(
        n=n,
        skipped=skipped,
        gtpa_1=gtpa_at_k(ranks, 1),
        gtpa_3=gtpa_at_k(ranks, 3),
        gtpa_5=gtpa_at_k(ranks, 5),
        gtpa_10=gtpa_at_k(ranks, 10),
        avg_rank=average_rank(ranks),
        ddr=_mean([s[0] for s in scored]),
        ddp=_mean([s[1] for s in scored]),
        ddf1=_mean([s[2] for s in scored]),
        ddr_list=_mean([s[0] for s in listed]) if listed else None,
        ddp_list=_mean([s[1] for s in listed]) if listed else None,
        ddf1_list=_mean([s[2] for s in listed]) if listed else None,
        list_size=_mean([len(c.differential_list) for c in cases]) if listed else None,
        avg_questions=_mean([c.questions_asked for c in cases]),
        ece=expected_calibration_error(confidences, [r == 1 for r in ranks]),
        urgent_recall_5=urgent_recall_at_k(cases, 5),
        urgent_banner_rate=banner_rate,
        urgent_banner_recall=banner_recall,
        seconds=seconds,
        cases_per_second=n / seconds if seconds > 0 else None,
        **extra,
    )
