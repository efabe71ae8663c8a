"""Top-k of a finished RareBench run on each half of its cases (held-out check).

``python -m eval.rarebench_halves RUN_DIR [RUN_DIR …]`` splits a run's ``cases.jsonl`` by the
parity of the SHA-256 of each case id (``eval.rarebench_scorers.even_half``: the even half is
where parameters may be chosen, the odd half is held out) and prints top-1/3/10 at the end of
the run and after each recorded number of answers, for all cases and for each half.
"""

from __future__ import annotations

import sys
from pathlib import Path

from eval.rarebench_schema import PhenotypeCaseResult, top_k
from eval.rarebench_scorers import even_half
from eval.results_file import read_results


def describe(run_dir: Path) -> list[str]:
    cases = read_results(run_dir / "cases.jsonl", PhenotypeCaseResult)
    halves = {
        "all": cases,
        "even": [c for c in cases if even_half(c.case_id)],
        "odd (held out)": [c for c in cases if not even_half(c.case_id)],
    }
    lines = []
    for name, group in halves.items():
        final = top_k([c.truth_rank for c in group])
        parts = [f"end {final.gtpa_1:.3f} / {final.gtpa_3:.3f} / {final.gtpa_10:.3f}"]
        for k in sorted({k for c in group for k in c.rank_after}):
            after = top_k([c.rank_after.get(k) for c in group])
            parts.append(
                f"after {k}: {after.gtpa_1:.3f} / {after.gtpa_3:.3f} / {after.gtpa_10:.3f}"
            )
        lines.append(f"{run_dir.name} {name} (n={len(group)}): " + "; ".join(parts))
    return lines


def main(argv: list[str]) -> None:
    for arg in argv:
        print("\n".join(describe(Path(arg))))


if __name__ == "__main__":
    main(sys.argv[1:])
