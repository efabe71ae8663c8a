"""The consultation graph: intake → diagnose → driver → ask / retrieve / diagnose → finish.

Node functions first, then the routers, then the builder. A person is reached through
``interrupt()`` in :func:`ask`; whoever runs the graph resumes it with
``Command(resume={"value": ...})`` (a structured answer) or ``Command(resume={"text": ...})``
(what a person typed). A simulated patient in the context (``ConsultContext.patient``, batch
runs) answers in the same place with a structured value, without the interrupt. ``builder``
is exported so tests compile their own copy with an in-memory checkpointer;
:func:`compile_graph` is what front ends use.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.catalogue import FindingCatalogue
from agent.context import ConsultContext
from agent.report import (
    FinalReport,
    history_from,
    rationale_from,
    transcript_from,
    urgent_conditions,
)
from agent.roles import ConsultationView, RankedCondition, ReasoningDiagnoser
from agent.state import (
    CaseIntake,
    ConsultGraph,
    ConsultState,
    InputState,
    OutputState,
    PendingQuestion,
    Ranking,
    consultation_checkpointer,
    validate_intake,
    validate_regions,
)
from agent.trace import (
    AnswerGiven,
    DifferentialMoved,
    Finished,
    IntakeRecorded,
    KnowledgeRetrieved,
    QuestionAsked,
    StopRequested,
    TraceEntry,
)
from retrieval.findings import FindingValue, InvalidAnswerError

SNAPSHOT_SIZE = 10

StopReason = Literal[
    "question budget reached", "confident", "no informative question left", "finished on request"
]


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
    )


# -- nodes ------------------------------------------------------------------------------------


def intake(
    state: InputState, runtime: Runtime[ConsultContext]
) -> Command[Literal["diagnose", "ask", "retrieve", "finish"]]:
    """Validate the intake and open the consultation's state (then, with the embedded engine,
    the first diagnosis and the driver's first decision in the same step; see :func:`ask`)."""
    case = CaseIntake.model_validate(state["intake"])  # a model already, or its JSON form
    findings = validate_intake(runtime.context.catalogue, case)
    regions = validate_regions(runtime.context.catalogue, case)
    opened: dict[str, Any] = {
        "age": case.age,
        "sex": case.sex,
        "max_questions": case.max_questions,
        "confidence_threshold": case.confidence_threshold,
        "findings": findings,
        "regions": regions,
        "asked": [],
        "pending": None,
        "needs_diagnosis": True,
        "differential": Ranking(),
        "passages": [],
        "retrieved_for": [],
        "trace": [IntakeRecorded(findings=findings, regions=regions, age=case.age, sex=case.sex)],
    }
    if not runtime.context.diagnose_each_answer:
        return Command(goto="diagnose", update=opened)
    return _diagnose_and_decide(runtime.context, {}, opened)


Step = Literal["ask", "diagnose", "retrieve", "finish"]


def driver(state: ConsultState, runtime: Runtime[ConsultContext]) -> Command[Step]:
    """Decide the next step (MEDDxAgent's DDxDriver): diagnose, retrieve, ask or finish."""
    return _decide(state, runtime.context)


def _decide(state: ConsultState, ctx: ConsultContext) -> Command[Step]:
    """The driver's decision (the one place it is made; :func:`ask` hands over to it too).

    Questions come from the history taker while the leader is below the confidence threshold;
    then (or when it has nothing left to ask) from the list taker, for the differential list.
    """
    if state["needs_diagnosis"]:
        return Command(goto="diagnose")
    stop = _stop_reason(state)
    if stop is not None:
        return Command(goto="finish", update={"stop_reason": stop})
    if ctx.retriever is not None:
        leaders = sorted(n for n, _ in state["differential"].top(ctx.leaders_for_retrieval))
        if leaders != state["retrieved_for"]:
            return Command(goto="retrieve", update={"retrieved_for": leaders})
    view = view_of(state)
    confident = _confident(state)
    purpose = "diagnosis"
    question = None if confident else ctx.history_taker.next_question(view)
    if question is None and ctx.list_taker is not None:
        question, purpose = ctx.list_taker.next_question(view), "differential list"
    if question is None:
        reason: StopReason = "confident" if confident else "no informative question left"
        return Command(goto="finish", update={"stop_reason": reason})
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


def ask(
    state: ConsultState, runtime: Runtime[ConsultContext]
) -> Command[Literal["driver", "ask", "diagnose", "retrieve", "finish"]]:
    """Put the pending question to the patient (interrupt) and record the answer.

    An answer that does not fit the question is sent back with an ``error`` and asked again.
    With the embedded engine (``diagnose_each_answer``) the same step updates the differential
    and hands over to the driver's decision (:func:`_decide`), so a question costs two graph
    steps instead of three; otherwise the driver node decides next.
    """
    catalogue = runtime.context.catalogue
    pending = state["pending"]
    assert pending is not None, "driver routes to ask only with a pending question"
    code = pending.code
    prompt = pending
    simulated = runtime.context.patient
    while True:
        reply = interrupt(prompt) if simulated is None else {"value": simulated(code)}
        if isinstance(reply, dict) and reply.get("stop"):
            # "Finish now": leave the question unanswered and let the driver finish.
            stop = {"pending": None, "stop_requested": True, "trace": [StopRequested()]}
            return Command(goto="driver", update=stop)
        try:
            value = _read_answer(catalogue, code, reply)
            break
        except InvalidAnswerError as exc:
            if simulated is not None:  # asking a program again would get the same answer
                raise
            prompt = pending.model_copy(update={"error": str(exc)})
    findings = {**state["findings"], code: value}
    entry = AnswerGiven(
        code=code,
        value=value,
        text=catalogue.phrase_answer(code, value),
        present=catalogue.is_present(code, value),
    )
    update: dict[str, Any] = {
        "findings": findings,
        "regions": {c: v for c, v in state.get("regions", {}).items() if c != code},
        "asked": [*state["asked"], code],
        "pending": None,
        "needs_diagnosis": True,
        "trace": [entry],
    }
    ctx = runtime.context
    if not ctx.diagnose_each_answer:
        return Command(goto="driver", update=update)
    return _diagnose_and_decide(ctx, state, update)


def _diagnose_and_decide(
    ctx: ConsultContext, state: ConsultState, update: dict[str, Any]
) -> Command[Any]:
    """``update`` (new findings) plus the differential it leads to and the driver's decision,
    as one step's update (the embedded engine diagnoses after every change of findings)."""
    diagnosis = _diagnosis(ctx, {**state, **update})  # type: ignore[typeddict-item]
    update = {**update, **diagnosis, "trace": [*update["trace"], *diagnosis["trace"]]}
    decision = _decide({**state, **update}, ctx)  # type: ignore[typeddict-item]
    following = dict(decision.update or {})
    trace = [*update["trace"], *following.pop("trace", [])]
    return Command(goto=decision.goto, update={**update, **following, "trace": trace})


def diagnose(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Update the differential from everything known so far (with the diagnoser's rationale
    when its ranking carries one, as the LLM diagnoser's does)."""
    return _diagnosis(runtime.context, state)


@runtime_checkable
class RankingDiagnoser(Protocol):
    """A diagnoser that can also give its ranking as plain (name, probability) pairs, which the
    state stores, without building a RankedCondition per condition (the embedded engine)."""

    def ranking(self, view: ConsultationView) -> list[tuple[str, float]]: ...


def _diagnosis(ctx: ConsultContext, state: ConsultState) -> dict[str, Any]:
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


def retrieve(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Fetch knowledge for the leading candidates (only routed to when a retriever is set)."""
    retriever = runtime.context.retriever
    assert retriever is not None, "driver routes to retrieve only with a retriever"
    passages = retriever.retrieve(view_of(state))
    known = {p.doc_id for p in state["passages"]}
    new = []
    for passage in passages:
        if passage.doc_id not in known:
            known.add(passage.doc_id)
            new.append(passage)
    entry = KnowledgeRetrieved(candidates=state["retrieved_for"], doc_ids=[p.doc_id for p in new])
    return {"passages": [*state["passages"], *new], "trace": [entry]}


def finish(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Write the final report: differential, explanations, urgent flags, transcript."""
    ctx = runtime.context
    view = view_of(state)
    ranked = [RankedCondition(name=n, probability=p) for n, p in state["differential"].pairs]
    urgent = urgent_conditions(ctx.catalogue, ranked, ctx.urgent_threshold)
    explanations = [
        e.model_copy(update={"urgent": e.name in urgent})
        for e in ctx.diagnoser.explain(view, ranked, ctx.explain_top_k)
    ]
    trace: list[TraceEntry] = state["trace"]
    report = FinalReport(
        differential=ranked,
        explanations=explanations,
        urgent=urgent,
        questions_asked=len(state["asked"]),
        stop_reason=state["stop_reason"],
        transcript=transcript_from(trace, ctx.catalogue.question_text),
        findings=state["findings"],
        history=history_from(trace),
        rationale=rationale_from(trace),
        passages=state["passages"],
        age=state.get("age"),
        sex=state.get("sex"),
        differential_list=(
            ctx.differential_lister.differential_list(view) if ctx.differential_lister else []
        ),
    )
    if ctx.doctor_finder is not None and ranked:
        leading = ranked[0].name
        report.doctors_for = leading
        report.doctors = ctx.doctor_finder.recommend_for(leading)
    return {"report": report, "trace": [Finished(reason=state["stop_reason"])]}


# -- helpers and routers ----------------------------------------------------------------------


def _stop_reason(state: ConsultState) -> StopReason | None:
    if state.get("stop_requested"):
        return "finished on request"
    if len(state["asked"]) >= state["max_questions"]:
        return "question budget reached"
    return None


def _confident(state: ConsultState) -> bool:
    """The leader reached the confidence threshold: no more diagnostic questions."""
    pairs = state["differential"].pairs
    return bool(pairs) and pairs[0][1] >= state["confidence_threshold"]


def _read_answer(catalogue: FindingCatalogue, code: str, reply: object) -> FindingValue:
    """A resume value is {"value": structured answer} or {"text": what a person typed}."""
    if isinstance(reply, dict) and "text" in reply:
        return catalogue.parse_text(code, str(reply["text"]))
    if isinstance(reply, dict) and "value" in reply:
        return catalogue.normalize(code, reply["value"])
    raise InvalidAnswerError('Resume with {"value": ...}, {"text": "..."} or {"stop": true}.')


# -- builder ----------------------------------------------------------------------------------

builder = StateGraph(
    ConsultState, context_schema=ConsultContext, input_schema=InputState, output_schema=OutputState
)
builder.add_node("intake", intake)
builder.add_node("driver", driver)
builder.add_node("ask", ask)
builder.add_node("diagnose", diagnose)
builder.add_node("retrieve", retrieve)
builder.add_node("finish", finish)
builder.add_edge(START, "intake")
builder.add_edge("diagnose", "driver")
builder.add_edge("retrieve", "driver")
builder.add_edge("finish", END)


def compile_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> ConsultGraph:
    """The graph every front end runs (CLI chat, UI, batch harness)."""
    if checkpointer is not None:
        checkpointer = consultation_checkpointer(checkpointer)
    return builder.compile(checkpointer=checkpointer)
