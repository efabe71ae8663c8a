"""Ranking metrics (nDCG@k, recall@k, MRR@k, MAP, P@k) computed by ``ir-measures``.

Used by the retrieval benchmark and the doctor-ranking evaluation. A run maps each query id to
``{doc_id: score}`` (higher is better); qrels map each query id to ``{doc_id: relevance}``
(graded, 0 = not relevant). Metric names are lower case, as in our summary files:
``ndcg@10``, ``recall@100``, ``mrr@10``, ``map``, ``map@100``, ``p@5``.

Every query of the qrels counts: a query the run has no results for scores 0 (``ir-measures``
alone would skip it and flatter the run). Queries that have no relevant document at all are
left out, as the BEIR and TREC tools do, and reported in ``skipped_queries``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

_NAME = re.compile(r"^(ndcg|recall|mrr|map|p)(?:@(\d+))?$")
_IR_MEASURES = {"ndcg": "nDCG", "recall": "R", "mrr": "RR", "map": "AP", "p": "P"}
_NEEDS_CUTOFF = {"recall", "p"}


def measure_for(name: str) -> Any:
    """The ``ir-measures`` measure for one of our metric names (ValueError if unknown)."""
    import ir_measures

    match = _NAME.match(name.strip().lower())
    if match is None:
        raise ValueError(
            f"Unknown metric {name!r}: use ndcg@k, recall@k, mrr@k, map, map@k or p@k."
        )
    family, cutoff = match.group(1), match.group(2)
    if family in _NEEDS_CUTOFF and cutoff is None:
        raise ValueError(f"Metric {name!r} needs a cut-off, e.g. {family}@10.")
    text = _IR_MEASURES[family] + (f"@{cutoff}" if cutoff else "")
    return ir_measures.parse_measure(text)


@dataclass(frozen=True)
class RankingScores:
    """Mean of each metric over the judged queries, and each query's own values."""

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    skipped_queries: list[str]

    @property
    def n_queries(self) -> int:
        return len(self.per_query)


def evaluate_run(
    run: Run, qrels: Qrels, metrics: Sequence[str] = ("ndcg@10", "recall@100", "mrr@10")
) -> RankingScores:
    """Score ``run`` against ``qrels``; see the module docstring for what counts."""
    import ir_measures

    if not metrics:
        raise ValueError("Name at least one metric.")
    measures = {name: measure_for(name) for name in metrics}
    judged = {
        qid: {doc: int(rel) for doc, rel in docs.items()}
        for qid, docs in qrels.items()
        if any(rel > 0 for rel in docs.values())
    }
    skipped = sorted(set(qrels) - set(judged))
    per_query: dict[str, dict[str, float]] = {qid: dict.fromkeys(metrics, 0.0) for qid in judged}
    ranked = {
        qid: {doc: float(score) for doc, score in docs.items()}
        for qid, docs in run.items()
        if qid in judged and docs
    }
    by_measure = {measure: name for name, measure in measures.items()}
    if ranked:
        for row in ir_measures.iter_calc(list(measures.values()), judged, ranked):
            per_query[row.query_id][by_measure[row.measure]] = float(row.value)
    means = {
        name: (sum(q[name] for q in per_query.values()) / len(per_query) if per_query else 0.0)
        for name in metrics
    }
    return RankingScores(means=means, per_query=per_query, skipped_queries=skipped)


def run_from_rankings(
    rankings: Mapping[str, Iterable[tuple[str, float]]],
) -> dict[str, dict[str, float]]:
    """A run dict from ``{query_id: [(doc_id, score), ...]}`` (the first score of a doc wins)."""
    run: dict[str, dict[str, float]] = {}
    for qid, hits in rankings.items():
        docs: dict[str, float] = {}
        for doc_id, score in hits:
            docs.setdefault(doc_id, float(score))
        run[qid] = docs
    return run
