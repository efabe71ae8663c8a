"""Two checks of doctor ranking on a DrRank-format set with a directory (the synthetic one of
``ddx doctors synth``), the figures of BENCHMARKS.md "Doctor ranking", issue 15:

* ``evidence`` — of the disease criteria the rationales of the top-10 doctors call *met*, how
  many quote a profile piece that does not name the disease, or that names it only to refer it
  ("refers", "suspected");
* ``recall`` — the share of each need's well-graded candidates (grade ≥ 3, and ≥ 1) that the
  first stage's pool holds when searching the whole directory.

``python -m retrieval.doctors.audit evidence --data runs/doctors/syn.jsonl`` (the directory is
read from ``<stem>.directory.jsonl``; ``recall`` takes ``--state-dir`` for the index).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from retrieval.ddxplus_kb import KnowledgeBase, load_from_data_dir
from retrieval.doctors.kb_criteria import KbCriteria
from retrieval.doctors.profiles import DoctorProfile, load_directory

REFERRAL_WORDS = ("refers", "referred", "suspected")


def _queries(data: Path) -> Iterator[dict[str, Any]]:
    with data.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _directory(data: Path) -> dict[str, DoctorProfile]:
    return load_directory(data.with_name(data.stem + ".directory.jsonl")).by_id()


def evidence(data: Path, kb: KnowledgeBase) -> dict[str, int]:
    """Met disease criteria in the top-10 rationales, and how many quote a wrong piece."""
    from retrieval.doctors.rankers import make_ranker, rank, rationale_matcher

    directory, provider, ranker = _directory(data), KbCriteria(kb), make_ranker("embedded")
    counts = {"met": 0, "quoting a referral": 0, "not naming the disease": 0}
    for query in _queries(data):
        candidates = [directory[i] for i in query["pos_ids"] + query["neg_ids"]]
        criteria = provider.criteria_for(query["query"])
        diseases = {
            c.key: c.text.removeprefix("treats ")
            for c in criteria.criteria
            if c.text.startswith("treats ")
        }
        matcher = rationale_matcher(ranker)
        ranking = rank(ranker, query["query"], candidates, criteria, top=10, rationale=matcher)
        for doctor in ranking.doctors:
            for item in doctor.rationale:
                if not item.met or item.key not in diseases:
                    continue
                counts["met"] += 1
                quote = item.evidence.lower()
                if any(word in quote for word in REFERRAL_WORDS):
                    counts["quoting a referral"] += 1
                elif diseases[item.key].lower() not in quote:
                    counts["not naming the disease"] += 1
    return counts


def recall(data: Path, kb: KnowledgeBase, state_dir: Path) -> dict[str, float]:
    """Share of grade ≥ 3 and grade ≥ 1 candidates in the first stage's pool, and how long
    opening the directory took (building its index when ``state_dir`` has none)."""
    from retrieval.doctors.recommend import DoctorRecommender

    directory_file = data.with_name(data.stem + ".directory.jsonl")
    started = time.perf_counter()
    recommender = DoctorRecommender.open(directory_file, state_dir=state_dir, kb=kb)
    opened = time.perf_counter() - started
    found = {3: 0, 1: 0}
    total = {3: 0, 1: 0}
    for query in _queries(data):
        criteria = recommender.criteria.criteria_for(query["query"])
        pool = {p.id for p in recommender.first_stage(query["query"], criteria)}
        for doctor, grade in zip(query["pos_ids"], query["pos_scores"], strict=True):
            for level in found:
                if grade >= level:
                    total[level] += 1
                    found[level] += doctor in pool
    shares = {f"grade >= {k}": round(found[k] / total[k], 3) for k in found if total[k]}
    return {"open seconds (index built when new)": round(opened, 1), **shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("check", choices=("evidence", "recall"))
    parser.add_argument("--data", type=Path, required=True, help="DrRank-format JSONL.")
    parser.add_argument("--data-dir", type=Path, default=None, help="DDXPlus data folder.")
    parser.add_argument("--state-dir", type=Path, default=Path("runs/doctors/state"))
    args = parser.parse_args()
    from agent.settings import load_settings

    kb = load_from_data_dir(args.data_dir or load_settings().data_dir)
    result: dict[str, Any] = (
        evidence(args.data, kb)
        if args.check == "evidence"
        else recall(args.data, kb, args.state_dir)
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
