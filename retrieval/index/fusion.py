"""Fusing the dense and the lexical ranking into one.

Both functions take rankings of document positions (best first) and return ``(position,
fused score)`` best first. Reciprocal-rank fusion (Cormack et al., SIGIR 2009) uses ranks only,
so the two scorers' scales never matter; convex fusion min–max normalises each scorer's
candidate scores and mixes them with a weight, which keeps how much better the first hit is than
the tenth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60
"""The constant of Cormack et al.; larger values flatten the rank differences."""


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = RRF_K
) -> list[tuple[int, float]]:
    """Score each document by the sum of 1 / (k + rank) over the rankings it appears in."""
    if k < 0:
        raise ValueError("k must be >= 0")
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _min_max(scores: Mapping[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    return {doc: (score - low) / (high - low) for doc, score in scores.items()}


def convex_fusion(
    scored: Sequence[Mapping[int, float]], weights: Sequence[float]
) -> list[tuple[int, float]]:
    """Weighted sum of min–max normalised scores; a document missing from a scorer's
    candidates gets 0 from it (it scored below every candidate)."""
    if len(scored) != len(weights):
        raise ValueError("one weight per scorer")
    fused: dict[int, float] = {}
    for scores, weight in zip(scored, weights, strict=True):
        for doc, value in _min_max(scores).items():
            fused[doc] = fused.get(doc, 0.0) + weight * value
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
