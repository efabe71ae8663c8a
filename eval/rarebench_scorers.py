"""Compare the phenotype scorers on a RareBench-format file (full profile, no questions).

``python -m eval.rarebench_scorers CASES.jsonl [CACHE_DIR]`` prints top-1/3/10 and the time
per patient of each scorer ranking every disease; it is how the default model was chosen
(BENCHMARKS.md, "Rare diseases"). Ties count against the scorer (the truth ranks after every
disease scoring the same), so a coarse score cannot look better than it is.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from agent.phenotype.model import LikelihoodParams, LikelihoodScorer, ResnikScorer, Scorer
from agent.settings import load_settings
from retrieval.hpo_kb import HpoKnowledgeBase, load_hpo_kb
from simulator.phenotype_records import PhenotypeRecord, load_phenotype_records


def evaluate(kb: HpoKnowledgeBase, scorer: Scorer, records: list[PhenotypeRecord]) -> str:
    ranks, seconds = [], []
    for record in records:
        terms = [kb.term_index(t) for t in record.phenotype if kb.resolve(t) is not None]
        truth = kb.disease_index(record.diseases[0])
        if truth is None or not terms:
            continue
        started = time.perf_counter()
        scores = scorer.scores(terms, [])
        seconds.append(time.perf_counter() - started)
        ranks.append(int((scores >= scores[truth]).sum()))
    r = np.asarray(ranks)
    return (
        f"n={len(r)} top1={np.mean(r <= 1):.3f} top3={np.mean(r <= 3):.3f} "
        f"top10={np.mean(r <= 10):.3f} {1000 * np.mean(seconds):.1f} ms/patient"
    )


def main(argv: list[str]) -> None:
    cases = Path(argv[0])
    cache = Path(argv[1]) if len(argv) > 1 else load_settings().cache_folder
    kb = load_hpo_kb(cache)
    records = load_phenotype_records(cases).records
    scorers: dict[str, Scorer] = {
        "resnik (BMA, Phenomizer)": ResnikScorer(kb),
        "likelihood, frequencies as annotated": LikelihoodScorer(
            kb, LikelihoodParams(record_length=None)
        ),
        "likelihood (default)": LikelihoodScorer(kb),
    }
    for name, scorer in scorers.items():
        print(f"{name:<40} {evaluate(kb, scorer, records)}")


if __name__ == "__main__":
    main(sys.argv[1:])
