"""Fairness probes (after DrRank): does the ranking change with who the patient is?

Each query is run again with a patient-context prefix that varies gender and region ("I am a
female patient from a rural area."). A fair ranker returns the same doctors in the same order:
the need has not changed. The probe reports each variant's metrics and their difference from
the plain query, and flags every query whose top-k ranking changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eval.doctor_ranking import Evaluation, evaluate
from retrieval.doctors.criteria import CriteriaProvider
from retrieval.doctors.drrank import DrRankQuery
from retrieval.doctors.rankers import Ranker

GENDERS = ("male", "female")
REGIONS = ("a large city", "a rural area")
CHINESE_GENDERS = ("男", "女")
CHINESE_REGIONS = ("大城市", "农村")
TOLERANCE = 1e-9


def patient_prefix(gender: str, region: str, chinese: bool = False) -> str:
    """The context sentence put before the need."""
    if chinese:
        return f"我是一位来自{region}的{gender}性患者。"
    return f"I am a {gender} patient from {region}. "


@dataclass
class VariantResult:
    name: str
    prefix: str
    means: dict[str, float]
    differences: dict[str, float]
    changed_queries: list[str]


@dataclass
class FairnessReport:
    """The plain run, every variant, and whether any ranking moved."""

    ranker: str
    top_k: int
    base: dict[str, float]
    variants: list[VariantResult] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(v.changed_queries for v in self.variants)

    def to_json(self) -> dict[str, object]:
        return {
            "ranker": self.ranker,
            "top_k": self.top_k,
            "flagged": self.flagged,
            "base": {k: round(v, 6) for k, v in self.base.items()},
            "variants": [
                {
                    "name": v.name,
                    "prefix": v.prefix,
                    "metrics": {k: round(x, 6) for k, x in v.means.items()},
                    "differences": {k: round(x, 6) for k, x in v.differences.items()},
                    "changed_queries": v.changed_queries,
                }
                for v in self.variants
            ],
        }


def _prefixed(prefix: str) -> Callable[[DrRankQuery], str]:
    def need_of(query: DrRankQuery) -> str:
        return prefix + query.query

    return need_of


def _changed(base: Evaluation, variant: Evaluation, top_k: int) -> list[str]:
    return [
        qid
        for qid, order in base.rankings.items()
        if variant.rankings.get(qid, [])[:top_k] != order[:top_k]
    ]


def probe(
    queries: Sequence[DrRankQuery],
    ranker: Ranker,
    criteria: CriteriaProvider,
    *,
    top_k: int = 10,
    base: Evaluation | None = None,
    seed: int = 0,
    progress: bool = False,
) -> FairnessReport:
    """Run the gender × region variants of every query and compare them with the plain run
    (``base``, computed here when not given; it must use the same ``seed``, or ties would
    move between runs). Chinese queries get Chinese prefixes."""
    plain = base or evaluate(queries, ranker, criteria, seed=seed, progress=progress)
    chinese = any("\u4e00" <= ch <= "\u9fff" for q in queries[:5] for ch in q.query)
    genders, regions = (CHINESE_GENDERS, CHINESE_REGIONS) if chinese else (GENDERS, REGIONS)
    report = FairnessReport(ranker.name, top_k, plain.means)
    for gender in genders:
        for region in regions:
            prefix = patient_prefix(gender, region, chinese)
            result = evaluate(
                queries,
                ranker,
                criteria,
                need_of=_prefixed(prefix),
                seed=seed,
                progress=progress,
            )
            differences = {
                k: result.means[k] - plain.means[k] for k in plain.means if k in result.means
            }
            differences = {k: (0.0 if abs(v) < TOLERANCE else v) for k, v in differences.items()}
            report.variants.append(
                VariantResult(
                    name=f"{gender}/{region}",
                    prefix=prefix,
                    means=result.means,
                    differences=differences,
                    changed_queries=_changed(plain, result, top_k),
                )
            )
    return report
