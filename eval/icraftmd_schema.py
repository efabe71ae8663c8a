"""The summary of an iCraft-MD run (``DIR/summary.json``), in the family of every benchmark's.

Kept apart from the runner so the report reads it without importing the run machinery.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from eval.icraftmd_cases import IcraftCaseResult
from eval.metrics import gtpa_at_k
from eval.schema import RunStatus, gtpa_field

NOT_LISTED = 10**6
"""The rank given to a truth the differential does not list (it counts for no k)."""


class IcraftSummary(RunStatus):
    """Metrics of an iCraft-MD run: top-k accuracy as in every benchmark (``gtpa@1`` is the
    multiple-choice accuracy, read from older summaries' ``accuracy``), and what the LLM calls
    cost."""

    n: int
    skipped: int = 0
    mode: str
    gtpa_1: float = gtpa_field(1, "accuracy")
    gtpa_3: float = gtpa_field(3)
    gtpa_5: float = gtpa_field(5)
    gtpa_10: float = gtpa_field(10)
    avg_questions: float
    llm_calls: int
    invalid_outputs: int
    cache_hits: int
    fallbacks: int
    failed_steps: int = Field(description="Cases with a step whose answers never fitted.")
    seconds: float
    questions_budget: int | None = None
    label: str | None = None


def summarize(
    results: Sequence[IcraftCaseResult],
    mode: str,
    seconds: float,
    *,
    questions_budget: int | None = None,
    label: str | None = None,
) -> IcraftSummary:
    """Top-k accuracy, question count and LLM-call counts over finished cases (pure)."""
    n = len(results)
    ranks = [r.truth_rank if r.truth_rank is not None else NOT_LISTED for r in results]

    def top(k: int) -> float:
        return round(gtpa_at_k(ranks, k), 4) if n else 0.0

    return IcraftSummary(
        n=n,
        mode=mode,
        gtpa_1=top(1),
        gtpa_3=top(3),
        gtpa_5=top(5),
        gtpa_10=top(10),
        avg_questions=round(sum(r.questions_asked for r in results) / n, 3) if n else 0.0,
        llm_calls=sum(r.llm_calls for r in results),
        invalid_outputs=sum(r.invalid_outputs for r in results),
        cache_hits=sum(r.cache_hits for r in results),
        fallbacks=sum(r.fallbacks for r in results),
        failed_steps=sum(r.failed_step is not None for r in results),
        seconds=round(seconds, 3),
        questions_budget=questions_budget,
        label=label,
    )
