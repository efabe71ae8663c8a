"""Evaluate a ranker on DrRank-format queries: nDCG@1/5/10, MAP, MRR@10 and PNR.

nDCG, MAP and MRR come from ``eval.ir_metrics`` (``ir-measures``, pytrec_eval's definitions:
linear gains, relevance ≥ 1 counts as relevant for MAP and MRR). PNR is not in those libraries
and is defined in :func:`pnr`.

The candidates of a DrRank line come positives first; a ranker that leaves ties in input order
would be rewarded for that. Every query's candidates are therefore shuffled with a fixed seed
before ranking, identically for every ranker.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from retrieval.doctors.criteria import CriteriaProvider
from retrieval.doctors.drrank import DrRankQuery
from retrieval.doctors.profiles import DoctorProfile
from retrieval.doctors.rankers import Preparing, Ranker

METRICS = ("ndcg@1", "ndcg@5", "ndcg@10", "map", "mrr@10")
SUMMARY_KEYS = ("n_queries", *METRICS, "pnr", "seconds")


def pnr(scores: Mapping[str, float], relevance: Mapping[str, int]) -> float:
    """Positive–negative pair ratio of one query (as in DrRank).

    Over every pair of candidates (i, j) with different grades, rel_i > rel_j, a pair is
    *concordant* when the ranker scores i above j and *discordant* when it scores i below j;
    score ties count as neither. PNR = concordant / discordant. When no pair is discordant the
    ratio is unbounded; we then return the number of concordant pairs (dividing by 1), so a
    perfect ranking of more pairs scores higher and the value stays finite. Candidates missing
    from ``scores`` score minus infinity (ranked last). Queries whose candidates all share one
    grade have no pairs: 0.0.
    """
    items = [(grade, scores.get(doc, float("-inf"))) for doc, grade in relevance.items()]
    concordant = discordant = 0
    for a, (grade_a, score_a) in enumerate(items):
        for grade_b, score_b in items[a + 1 :]:
            if grade_a == grade_b or score_a == score_b:
                continue
            if (grade_a > grade_b) == (score_a > score_b):
                concordant += 1
            else:
                discordant += 1
    if concordant + discordant == 0:
        return 0.0
    return concordant / max(discordant, 1)


@dataclass
class Evaluation:
    """Mean metrics, each query's own values, and each query's ranked candidate ids."""

    ranker: str
    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    rankings: dict[str, list[str]]
    seconds: float
    skipped_queries: list[str] = field(default_factory=list)

    @property
    def n_queries(self) -> int:
        return len(self.per_query)

    def summary(self) -> dict[str, float | int | str]:
        """The ``summary.json`` payload (keys in SUMMARY_KEYS, plus the ranker's name)."""
        result: dict[str, float | int | str] = {"ranker": self.ranker, "n_queries": self.n_queries}
        result.update({k: round(v, 6) for k, v in self.means.items()})
        result["seconds"] = round(self.seconds, 3)
        return result


def shuffled_candidates(query: DrRankQuery, seed: int = 0) -> list[DoctorProfile]:
    """The query's candidates in a fixed pseudo-random order (seeded by the query id)."""
    candidates = query.candidates()
    random.Random(seed * 1_000_003 + zlib.crc32(query.id.encode())).shuffle(candidates)
    return candidates


def evaluate(
    queries: Sequence[DrRankQuery],
    ranker: Ranker,
    criteria: CriteriaProvider,
    *,
    need_of: Callable[[DrRankQuery], str] = lambda q: q.query,
    seed: int = 0,
    progress: bool = False,
) -> Evaluation:
    """Rank every query's candidates with ``ranker`` and score the rankings."""
    from tqdm import tqdm

    from eval.ir_metrics import evaluate_run

    started = time.perf_counter()
    if isinstance(ranker, Preparing):
        ranker.prepare([c for q in queries for c in q.candidates()], progress=progress)
    run: dict[str, dict[str, float]] = {}
    rankings: dict[str, list[str]] = {}
    for query in tqdm(queries, desc=f"ranking ({ranker.name})", disable=not progress):
        need = need_of(query)
        candidates = shuffled_candidates(query, seed)
        scores = ranker.score(need, candidates, criteria.criteria_for(need))
        run[query.id] = {p.id: s for p, s in zip(candidates, scores, strict=True)}
        order = sorted(range(len(candidates)), key=lambda i: -scores[i])
        rankings[query.id] = [candidates[i].id for i in order]
    seconds = time.perf_counter() - started
    qrels = {q.id: q.relevance() for q in queries}
    scored = evaluate_run(_tie_broken(run, rankings), qrels, METRICS)
    per_query = {qid: dict(values) for qid, values in scored.per_query.items()}
    for qid in per_query:
        per_query[qid]["pnr"] = pnr(run[qid], qrels[qid])
    means = dict(scored.means)
    means["pnr"] = sum(v["pnr"] for v in per_query.values()) / len(per_query) if per_query else 0.0
    return Evaluation(ranker.name, means, per_query, rankings, seconds, scored.skipped_queries)


def _tie_broken(
    run: Mapping[str, Mapping[str, float]], rankings: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Scores that follow our ranking exactly: trec_eval breaks score ties by document id,
    which would let the id order (positives first in DrRank files) leak into the metrics. A
    tie keeps the shuffled order instead."""
    result: dict[str, dict[str, float]] = {}
    for qid, order in rankings.items():
        result[qid] = {doc: float(len(order) - i) for i, doc in enumerate(order)}
    return result
