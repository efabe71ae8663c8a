"""The diagnosis step: the roles' view of the state, and the differential it leads to.

Shared by every step that diagnoses: the ``diagnose`` node, the embedded engine's answer step
(``agent.consult.driver.diagnose_and_decide``) and a refinement round's end.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from langgraph.runtime import Runtime

from agent.context import ConsultContext
from agent.roles import ConsultationView, ReasoningDiagnoser
from agent.state import ConsultState, Ranking
from agent.trace import DifferentialMoved

SNAPSHOT_SIZE = 10
"""Conditions kept in a trace entry's differential (top 10)."""


def view_of(state: ConsultState) -> ConsultationView:
    """The read-only view the roles get of the state."""
    return ConsultationView(
        age=state.get("age"),
        sex=state.get("sex"),
        findings=state.get("findings", {}),
        asked=state.get("asked", []),
        differential=state["differential"].pairs if "differential" in state else [],
        max_questions=state.get("max_questions", 0),
        regions=state.get("regions", {}),
        passages=state.get("passages", []),
        round=state.get("round", 1),
        previous=state.get("previous", []),
        summary=state.get("summary", ""),
        summary_covers=state.get("summary_covers", 0),
    )


@runtime_checkable
class RankingDiagnoser(Protocol):
    """A diagnoser that can also give its ranking as plain (name, probability) pairs, which the
    state stores, without building a RankedCondition per condition (the embedded engine)."""

    def ranking(self, view: ConsultationView) -> list[tuple[str, float]]: ...


def diagnosis_update(ctx: ConsultContext, state: ConsultState) -> dict[str, Any]:
    """The state update of a new diagnosis: the differential, its trace entry, and the
    findings marked as diagnosed."""
    view = view_of(state)
    rationale = ""
    if isinstance(ctx.diagnoser, RankingDiagnoser):
        pairs = [(name, round(p, 6)) for name, p in ctx.diagnoser.ranking(view)]
    else:
        if isinstance(ctx.diagnoser, ReasoningDiagnoser):
            diagnosis = ctx.diagnoser.diagnosis(view)
            ranked, rationale = diagnosis.ranked, diagnosis.rationale
        else:
            ranked = ctx.diagnoser.diagnose(view)
        pairs = [(r.name, round(r.probability, 6)) for r in ranked]
    # The pairs are the diagnoser's own, checked where they were made: not validated again.
    differential = Ranking.model_construct(pairs=pairs)
    entry = DifferentialMoved(
        questions=len(state["asked"]), top=pairs[:SNAPSHOT_SIZE], rationale=rationale
    )
    return {"differential": differential, "needs_diagnosis": False, "trace": [entry]}


def diagnose(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Update the differential from everything known so far (with the diagnoser's rationale
    when its ranking carries one, as the LLM diagnoser's does)."""
    return diagnosis_update(runtime.context, state)
