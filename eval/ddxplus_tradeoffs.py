"""Trade-offs a threshold decides, recomputed from finished cases without re-running them.

* The differential list at another inclusion threshold: every case keeps its conditions' list
  weights (:attr:`~eval.schema.CaseResult.list_weights`), so the list at threshold t is the
  conditions weighing at least t (and always the posterior's leader, as the engine builds it).
* The posterior-threshold differential (DDXPlus's DDF1) at another probability threshold.
* The urgent banner at another posterior threshold: its false-alarm rate on non-severe truths
  and its recall of severe truths.

These give the list-size / DDF1 frontier of ``ddx eval report --frontier`` and the choices of
``python -m eval.ddxplus_tuning`` (on the train/validate samples, never on dev).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.ddxplus_summary import URGENT_SEVERITY
from eval.metrics import differential_scores
from eval.schema import CaseResult

LIST_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
POSTERIOR_THRESHOLDS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3)


@dataclass(frozen=True)
class ListPoint:
    threshold: float
    size: float
    ddr: float
    ddp: float
    ddf1: float


def _point(threshold: float, lists: Sequence[list[str]], cases: Sequence[CaseResult]) -> ListPoint:
    scores = [
        differential_scores([(n, 1.0) for n in listed], case.reference_differential, 0.0)
        for listed, case in zip(lists, cases, strict=True)
    ]
    return ListPoint(
        threshold=threshold,
        size=float(np.mean([len(listed) for listed in lists])),
        ddr=float(np.mean([s[0] for s in scores])),
        ddp=float(np.mean([s[1] for s in scores])),
        ddf1=float(np.mean([s[2] for s in scores])),
    )


def list_at(case: CaseResult, threshold: float) -> list[str]:
    """The case's differential list had the inclusion threshold been ``threshold``."""
    listed = [name for name, weight in case.list_weights if weight >= threshold]
    leader = case.differential[0][0] if case.differential else None
    if leader is not None and leader not in listed:
        listed.append(leader)
    return listed


def list_frontier(
    cases: Sequence[CaseResult], thresholds: Sequence[float] = LIST_THRESHOLDS
) -> list[ListPoint]:
    """(threshold, mean list size, DDR, DDP, DDF1) of the differential list per threshold."""
    scored = [c for c in cases if c.reference_differential and c.list_weights]
    return (
        [_point(t, [list_at(c, t) for c in scored], scored) for t in thresholds] if scored else []
    )


def posterior_frontier(
    cases: Sequence[CaseResult], thresholds: Sequence[float] = POSTERIOR_THRESHOLDS
) -> list[ListPoint]:
    """The same for the posterior-threshold differential (probability >= t)."""
    scored = [c for c in cases if c.reference_differential]
    points = []
    for t in thresholds:
        lists = [[n for n, p in c.differential if p >= t] for c in scored]
        points.append(_point(t, lists, scored))
    return points


@dataclass(frozen=True)
class UrgentPoint:
    threshold: float
    banner_rate: float
    """Share of non-severe truths that end with a banner."""
    recall: float
    """Share of severe truths that end flagged themselves."""
    intake_banner_rate: float
    """Share of non-severe truths with a banner right after the intake (before any question):
    what a person sees at question 1."""


def urgent_tradeoff(
    cases: Sequence[CaseResult], severity: dict[str, int], thresholds: Sequence[float]
) -> list[UrgentPoint]:
    """The urgent banner's false-alarm rate and recall per posterior threshold (``severity``:
    condition name → severity, to know which listed conditions are severe)."""
    points = []
    benign = [c for c in cases if c.severity > URGENT_SEVERITY]
    severe = [c for c in cases if c.severity <= URGENT_SEVERITY]

    def flagged(pairs: Sequence[tuple[str, float]], threshold: float) -> set[str]:
        return {n for n, p in pairs if p >= threshold and severity.get(n, 5) <= URGENT_SEVERITY}

    def at_intake(case: CaseResult) -> Sequence[tuple[str, float]]:
        first = min(case.steps, key=lambda s: s.questions, default=None)
        return first.top if first is not None else case.differential

    for t in thresholds:
        points.append(
            UrgentPoint(
                threshold=t,
                banner_rate=_share([bool(flagged(c.differential, t)) for c in benign]),
                recall=_share([c.pathology in flagged(c.differential, t) for c in severe]),
                intake_banner_rate=_share([bool(flagged(at_intake(c), t)) for c in benign]),
            )
        )
    return points


def _share(flags: Sequence[bool]) -> float:
    return float(np.mean(flags)) if flags else 0.0
