"""The driver (MEDDxAgent's DDxDriver): after every step it decides the next one — diagnose,
retrieve, ask, refine or finish — and it closes each refinement round.

The rules it decides by (question budget, confidence, rounds) are
:mod:`agent.consult.policy`'s; this module applies them to the state and the roles.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.consult import policy
from agent.consult.diagnosis import SNAPSHOT_SIZE, diagnosis_update, view_of
from agent.context import ConsultContext
from agent.roles import StopAsking, StopReason
from agent.state import ConsultState, PendingQuestion
from agent.trace import QuestionAsked, RefinementRound

Step = Literal["ask", "diagnose", "retrieve", "refine", "finish"]


def driver(state: ConsultState, runtime: Runtime[ConsultContext]) -> Command[Step]:
    """Decide the next step (MEDDxAgent's DDxDriver): diagnose, retrieve, ask, refine or finish."""
    return decide(state, runtime.context)


def decide(state: ConsultState, ctx: ConsultContext) -> Command[Step]:
    """The driver's decision (the one place it is made; :func:`ask` hands over to it too).

    Questions come from the history taker while the leader is below the confidence threshold;
    then (or when it has nothing left to ask) from the list taker, for the differential list.
    A round whose share of the budget is spent goes to :func:`refine`; the rules themselves
    are :mod:`agent.consult.policy`'s.
    """
    if state["needs_diagnosis"] and ctx.diagnosis_at == "each answer":
        return Command(goto="diagnose")
    asked, requested = len(state["asked"]), bool(state.get("stop_requested"))
    rounds, number = state.get("rounds", 1), state.get("round", 1)
    if not requested and policy.round_over(asked, state["max_questions"], rounds, number):
        return Command(goto="refine")  # every round is refined, even one left no question
    stop = policy.budget_stop(asked, state["max_questions"], requested)
    if stop is not None:
        return close(state, ctx, stop)
    if ctx.retriever is not None:
        leaders = sorted(n for n, _ in state["differential"].top(ctx.leaders_for_retrieval))
        if leaders != state["retrieved_for"]:
            return Command(goto="retrieve", update={"retrieved_for": leaders})
    view = view_of(state)
    confident = ctx.confidence_stop and policy.is_confident(
        state["differential"].pairs, state["confidence_threshold"]
    )
    purpose: Literal["diagnosis", "differential list"] = "diagnosis"
    question = None if confident else ctx.history_taker.next_question(view)
    if question is None and ctx.list_taker is not None:
        question, purpose = ctx.list_taker.next_question(view), "differential list"
    if isinstance(question, StopAsking):
        return close(state, ctx, question.reason)
    if question is None:
        return close(state, ctx, policy.no_question_reason(confident))
    pending = PendingQuestion(
        **question.model_dump(),
        number=len(state["asked"]) + 1,
        budget=state["max_questions"],
        leading=state["differential"].top(3),
        purpose=purpose,
    )
    entry = QuestionAsked(
        code=question.code,
        reason=question.reason,
        gain=question.expected_gain,
        number=pending.number,
        purpose=purpose,
    )
    return Command(goto="ask", update={"pending": pending, "trace": [entry]})


def close(state: ConsultState, ctx: ConsultContext, reason: StopReason) -> Command[Step]:
    """End the questioning: through the last round's refinement when there is one to make."""
    last_refinement = policy.refines_at_close(state.get("rounds", 1), ctx.diagnosis_at)
    goto: Step = "refine" if last_refinement else "finish"
    return Command(goto=goto, update={"stop_reason": reason})


def refine(
    state: ConsultState, runtime: Runtime[ConsultContext]
) -> Command[Literal["driver", "finish"]]:
    """A refinement round's end (MEDDxAgent): the working profile rewritten when there is a
    summariser and several rounds, the differential diagnosed again with the previous round's
    fed back (``ConsultationView.previous``), then the next round — or, once the questioning
    is closed, the report."""
    ctx = runtime.context
    update: dict[str, Any] = {"trace": []}
    asked = len(state["asked"])
    if ctx.summariser is not None and state["rounds"] > 1 and state["summary_covers"] < asked:
        summary = ctx.summariser.summarise(view_of(state))
        if summary is not None:
            update.update(summary=summary, summary_covers=asked)
    if ctx.diagnosis_at == "round end" or state["needs_diagnosis"]:
        diagnosis = diagnosis_update(ctx, {**state, **update})  # type: ignore[typeddict-item]
        update = {**update, **diagnosis, "trace": [*update["trace"], *diagnosis["trace"]]}
    number = state["round"]
    entry = RefinementRound(
        round=number,
        previous=state["previous"][:SNAPSHOT_SIZE],
        doc_ids=[p.doc_id for p in state["passages"]],
    )
    update["trace"] = [*update["trace"], entry]
    if state.get("stop_reason"):
        return Command(goto="finish", update=update)
    differential = update.get("differential", state["differential"])
    return Command(
        goto="driver", update={**update, "round": number + 1, "previous": differential.pairs}
    )


def diagnose_and_decide(
    ctx: ConsultContext, state: ConsultState, update: dict[str, Any]
) -> Command[Any]:
    """``update`` (new findings) plus the differential it leads to and the driver's decision,
    as one step's update (the embedded engine diagnoses after every change of findings)."""
    diagnosis = diagnosis_update(ctx, {**state, **update})  # type: ignore[typeddict-item]
    update = {**update, **diagnosis, "trace": [*update["trace"], *diagnosis["trace"]]}
    decision = decide({**state, **update}, ctx)  # type: ignore[typeddict-item]
    following = dict(decision.update or {})
    trace = [*update["trace"], *following.pop("trace", [])]
    return Command(goto=decision.goto, update={**update, **following, "trace": trace})
