"""What each benchmark metric means, in a clinician's words, for the Benchmarks page.

The names are the ones the papers publish and ``ddx eval`` writes (DDXPlus: Fansi Tchango et
al. 2022; MEDDxAgent: Rose et al. 2025; RareBench: Chen et al. 2024).
"""

from __future__ import annotations

import re

MEANINGS: dict[str, str] = {
    "n": "Cases scored.",
    "skipped": "Cases left out (unreadable, or their disease is unknown to the knowledge).",
    "gtpa@k": "Ground-truth pathology accuracy: share of cases whose true condition is among the "
    "k most probable of the final differential (every benchmark's top-k accuracy).",
    "avg_rank": "Average rank of the true condition in the final differential (1 = first).",
    "median_rank": "Median rank of the true disease (among cases where it is ranked at all).",
    "unranked": "Cases whose true disease is not in the listed differential.",
    "ddr": "Differential recall: share of the dataset's reference differential that the final "
    "differential also lists.",
    "ddp": "Differential precision: share of the final differential that the reference "
    "differential also lists.",
    "ddf1": "Harmonic mean of differential recall (ddr) and precision (ddp).",
    "avg_questions": "Questions asked per consultation, on average.",
    "ece": "Expected calibration error: how far the stated probabilities are from how often "
    "the leading diagnosis is right (0 = perfectly calibrated).",
    "urgent_recall@k": "Share of cases with a severe (severity 1–2) true condition where it is "
    "among the k most probable: the ones never to be missed.",
    "seconds": "Wall time of the whole run.",
    "cases_per_second": "Throughput of the run.",
    "questions_budget": "Most questions a consultation may ask.",
    "full_profile": "Every finding given up front, nothing asked (an upper bound).",
    "matched_by": "How the true disease was matched (by id or by name).",
    "ndcg@k": "Normalised discounted cumulative gain of the first k results (1 = ideal order).",
    "recall@k": "Share of the relevant documents among the first k results.",
    "mrr@k": "Mean reciprocal rank of the first relevant result within the first k.",
    "incomplete": "Some selected cases failed or were not run: the figures cover the finished "
    "ones only.",
    "failed": "Selected cases that failed (listed in failed.json, retried on the next run).",
    "not_run": "Selected cases not tried because the run stopped early.",
}
_GENERIC = (
    (re.compile(r"^gtpa@\d+$"), "gtpa@k"),
    (re.compile(r"^urgent_recall@\d+$"), "urgent_recall@k"),
    (re.compile(r"^ndcg@\d+$"), "ndcg@k"),
    (re.compile(r"^recall@\d+$"), "recall@k"),
    (re.compile(r"^mrr@\d+$"), "mrr@k"),
)


def meaning(metric: str) -> str:
    """The explanation of a metric name ('' for names without one)."""
    if metric in MEANINGS:
        return MEANINGS[metric]
    for pattern, generic in _GENERIC:
        if pattern.match(metric):
            k = re.sub(r"\D", "", metric)
            return MEANINGS[generic].replace(" k ", f" {k} ").replace("first k", f"first {k}")
    return ""
