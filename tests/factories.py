"""Small builders of the records tests compare against: only the fields a test cares about."""

from __future__ import annotations

from agent.trace import DifferentialSnapshot
from eval.schema import CaseResult


def make_case(
    pathology: str = "Flu",
    truth_rank: int = 1,
    *,
    severity: int = 3,
    differential: list[tuple[str, float]] | None = None,
    reference: list[tuple[str, float]] | None = None,
    steps: list[tuple[int, str]] | None = None,
    questions: int = 0,
    seconds: float = 1.0,
    case_id: str = "c",
    listed: list[tuple[str, float]] | None = None,
    list_weights: list[tuple[str, float]] | None = None,
    urgent: list[str] | None = None,
) -> CaseResult:
    """A CaseResult with only the fields a test cares about; steps as (questions, top-1)."""
    return CaseResult(
        case_id=case_id,
        pathology=pathology,
        severity=severity,
        age=40,
        sex="F",
        initial_evidence="E_1",
        questions_asked=questions,
        stop_reason="budget",
        transcript=[],
        differential=differential if differential is not None else [(pathology, 1.0)],
        truth_rank=truth_rank,
        steps=[DifferentialSnapshot(questions=q, top=[(top, 0.5)]) for q, top in steps or []],
        reference_differential=reference or [],
        differential_list=listed or [],
        list_weights=list_weights or [],
        urgent_flags=urgent or [],
        seconds=seconds,
    )
