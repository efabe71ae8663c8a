"""The files a RareBench run writes, as typed records (same layout as the DDXPlus runs).

``DIR/cases.jsonl`` — one :class:`PhenotypeCaseResult` per finished case.
``DIR/summary.json`` — one :class:`RareBenchSummary`: ``n``, ``top1``, ``top3``, ``top10``,
``median_rank``, ``avg_questions``, ``seconds`` (and what the run was).
``DIR/run.json`` — the :class:`RareBenchConfig` that a resumed run must match.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from eval.schema import StepSnapshot, TranscriptTurn


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
    steps: list[StepSnapshot]
    seconds: float


class RareBenchConfig(BaseModel):
    """What defines a run; resuming with a different config is refused."""

    benchmark: str = "rarebench"
    cases: str
    cases_sha256: str
    questions: int
    full_profile: bool
    opening_share: float
    review_of_systems: bool = True
    limit: int | None
    seed: int
    knowledge_base: str = Field(description="HPO annotation version.")


class RareBenchSummary(BaseModel):
    n: int
    skipped: int
    top1: float
    top3: float
    top10: float
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
        top1=top(1),
        top3=top(3),
        top10=top(10),
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
    )
