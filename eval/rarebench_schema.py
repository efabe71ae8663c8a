"""The files a RareBench run writes, as typed records (same layout as the DDXPlus runs).

``DIR/cases.jsonl`` — one :class:`PhenotypeCaseResult` per finished case.
``DIR/summary.json`` — one :class:`RareBenchSummary`: ``n``, ``gtpa@1``, ``gtpa@3``,
``gtpa@10`` (``top1`` … before issue 13, still read), ``median_rank``, ``avg_questions``,
``seconds`` (and what the run was).
``DIR/run.json`` — the :class:`RareBenchConfig` that a resumed run must match.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agent.report import TranscriptTurn
from agent.trace import DifferentialSnapshot
from eval.schema import RunStatus, gtpa_field


class PhenotypeCaseResult(BaseModel):
    """One rare-disease consultation, as it ran through the graph."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    truth: list[str] = Field(description="The record's RareDisease ids.")
    opening: list[str] = Field(description="HPO ids the consultation started from.")
    questions_asked: int
    stop_reason: str
    transcript: list[TranscriptTurn]
    differential: list[tuple[str, float]] = Field(description="Top 10: name, probability.")
    truth_rank: int | None = Field(
        ge=1, description="1-based rank of the first matching disease; None: not ranked."
    )
    matched_by: str | None = Field(description="'id', 'xref' or 'name'.")
    group: str = Field(default="", description="The record's Subset (else Department).")
    rank_after: dict[int, int | None] = Field(
        default_factory=dict,
        description="Rank of the truth in the top 10 after 0, 5, 10, 20 … answers (None: "
        "not in the top 10 then); a consultation that stopped earlier keeps its last rank.",
    )
    steps: list[DifferentialSnapshot]
    seconds: float


class RareBenchConfig(BaseModel):
    """What defines a run; resuming with a different config is refused."""

    benchmark: str = "rarebench"
    cases: str
    cases_sha256: str
    questions: int
    full_profile: bool
    opening_share: float
    opening_seed: int | None = Field(
        default=0, description="Seed of the shuffle before the opening; None: record order."
    )
    unmentioned: str = Field(default="unknown", description="Answer to unmentioned terms.")
    review_of_systems: bool = True
    checklist: int = Field(
        default=1, description="HPO terms offered per question after the review."
    )
    refinement_rounds: int = Field(default=1, description="The driver's refinement rounds.")
    limit: int | None
    seed: int
    knowledge_base: str = Field(description="HPO annotation version.")


class TopK(BaseModel):
    """Top-k accuracy of a group of cases."""

    model_config = ConfigDict(populate_by_name=True)

    n: int
    gtpa_1: float = gtpa_field(1, "top1")
    gtpa_3: float = gtpa_field(3, "top3")
    gtpa_10: float = gtpa_field(10, "top10")


class RareBenchSummary(RunStatus):
    n: int
    skipped: int
    gtpa_1: float = gtpa_field(1, "top1")
    gtpa_3: float = gtpa_field(3, "top3")
    gtpa_10: float = gtpa_field(10, "top10")
    median_rank: float | None = Field(
        description="Median rank of the truth; unranked cases count as one past the last "
        "disease of the knowledge base."
    )
    unranked: int = Field(
        description="Cases whose diagnosis is not in the listed differential (the top 200 "
        "diseases) or not in the knowledge base at all."
    )
    avg_questions: float
    matched_by: dict[str, int]
    seconds: float
    questions_budget: int
    full_profile: bool
    label: str
    after_questions: dict[int, TopK] = Field(
        default_factory=dict, description="Top-k after 0, 5, 10, 20 … answers (≤ the budget)."
    )
    by_group: dict[str, TopK] = Field(
        default_factory=dict, description="Top-k per Subset / Department, when records have one."
    )


def top_k(ranks: Sequence[int | None]) -> TopK:
    """Top-1/3/10 of ranks (None: not ranked in the top 10)."""
    values = np.array([r if r is not None else 10**9 for r in ranks])

    def share(k: int) -> float:
        return round(float(np.mean(values <= k)), 4) if len(values) else 0.0

    return TopK(n=len(values), gtpa_1=share(1), gtpa_3=share(3), gtpa_10=share(10))


def summarize_rarebench(
    cases: Sequence[PhenotypeCaseResult],
    *,
    skipped: int,
    seconds: float,
    n_diseases: int,
    questions_budget: int,
    full_profile: bool,
    label: str,
) -> RareBenchSummary:
    """Top-k accuracy, median rank and question count over finished cases (pure)."""
    ranks = np.array([c.truth_rank if c.truth_rank is not None else n_diseases + 1 for c in cases])

    def top(k: int) -> float:
        return round(float(np.mean(ranks <= k)), 4) if len(ranks) else 0.0

    kinds: dict[str, int] = {}
    for case in cases:
        if case.matched_by:
            kinds[case.matched_by] = kinds.get(case.matched_by, 0) + 1
    return RareBenchSummary(
        n=len(cases),
        skipped=skipped,
        gtpa_1=top(1),
        gtpa_3=top(3),
        gtpa_10=top(10),
        median_rank=float(np.median(ranks)) if len(ranks) else None,
        unranked=sum(c.truth_rank is None for c in cases),
        avg_questions=round(float(np.mean([c.questions_asked for c in cases])), 3)
        if cases
        else 0.0,
        matched_by=kinds,
        seconds=round(seconds, 3),
        questions_budget=questions_budget,
        full_profile=full_profile,
        label=label,
        after_questions={
            k: top_k([c.rank_after.get(k) for c in cases])
            for k in sorted({k for c in cases for k in c.rank_after})
        },
        by_group={
            group: top_k([c.truth_rank for c in cases if c.group == group])
            for group in sorted({c.group for c in cases if c.group})
        },
    )
