"""The consultation graph: intake → diagnose → driver → ask / retrieve / diagnose → finish.

Node functions first, then the routers, then the builder. The patient is reached only through
``interrupt()`` in :func:`ask`; whoever runs the graph resumes it with
``Command(resume={"value": ...})`` (a structured answer) or ``Command(resume={"text": ...})``
(what a person typed). ``builder`` is exported so tests compile their own copy with an in-memory
checkpointer; :func:`compile_graph` is what front ends use.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.catalogue import FindingCatalogue
from agent.context import ConsultContext
from agent.findings import FindingValue, InvalidAnswerError
from agent.report import DifferentialSnapshot, FinalReport, TranscriptEntry, urgent_conditions
from agent.roles import ConsultationView, Passage, RankedCondition
from agent.session import ConsultGraph
from agent.state import CaseIntake, ConsultState, InputState, OutputState, validate_intake

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
        differential=[(str(n), float(p)) for n, p in state.get("differential", [])],
        max_questions=state.get("max_questions", 0),
    )


# -- nodes ------------------------------------------------------------------------------------


def intake(state: InputState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Validate the intake and open the consultation's state."""
    case = CaseIntake.model_validate(state["intake"])
    findings = validate_intake(runtime.context.catalogue, case)
    return {
        "age": case.age,
        "sex": case.sex,
        "max_questions": case.max_questions,
        "confidence_threshold": case.confidence_threshold,
        "findings": findings,
        "asked": [],
        "pending": None,
        "needs_diagnosis": True,
        "differential": [],
        "passages": [],
        "retrieved_for": [],
        "trace": [{"kind": "intake", "findings": findings, "age": case.age, "sex": case.sex}],
    }


def driver(
    state: ConsultState, runtime: Runtime[ConsultContext]
) -> Command[Literal["ask", "diagnose", "retrieve", "finish"]]:
    """Decide the next step (MEDDxAgent's DDxDriver): diagnose, retrieve, ask or finish."""
    ctx = runtime.context
    if state["needs_diagnosis"]:
        return Command(goto="diagnose")
    stop = _stop_reason(state)
    if stop is not None:
        return Command(goto="finish", update={"stop_reason": stop})
    if ctx.retriever is not None:
        leaders = sorted(str(n) for n, _ in state["differential"][: ctx.leaders_for_retrieval])
        if leaders != state["retrieved_for"]:
            return Command(goto="retrieve", update={"retrieved_for": leaders})
    question = ctx.history_taker.next_question(view_of(state))
    if question is None:
        return Command(goto="finish", update={"stop_reason": "no informative question left"})
    payload = question.model_dump(mode="json")
    payload["number"] = len(state["asked"]) + 1
    payload["budget"] = state["max_questions"]
    payload["leading"] = state["differential"][:3]
    entry = {
        "kind": "question",
        "code": question.code,
        "reason": question.reason,
        "gain": question.expected_gain,
        "number": payload["number"],
    }
    return Command(goto="ask", update={"pending": payload, "trace": [entry]})


def ask(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Put the pending question to the patient (interrupt) and record the answer.

    An answer that does not fit the question is sent back with an ``error`` and asked again.
    """
    catalogue = runtime.context.catalogue
    pending = state["pending"]
    assert pending is not None, "driver routes to ask only with a pending question"
    code = pending["code"]
    prompt = dict(pending)
    while True:
        reply = interrupt(prompt)
        if isinstance(reply, dict) and reply.get("stop"):
            # "Finish now": leave the question unanswered and let the driver finish.
            return {"pending": None, "stop_requested": True, "trace": [{"kind": "stop"}]}
        try:
            value = _read_answer(catalogue, code, reply)
            break
        except InvalidAnswerError as exc:
            prompt = {**pending, "error": str(exc)}
    findings = {**state["findings"], code: value}
    text = catalogue.phrase_answer(code, value)
    entry = {
        "kind": "answer",
        "code": code,
        "value": value,
        "text": text,
        "present": catalogue.is_present(code, value),
    }
    return {
        "findings": findings,
        "asked": [*state["asked"], code],
        "pending": None,
        "needs_diagnosis": True,
        "trace": [entry],
    }


def diagnose(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Update the differential from everything known so far (with the diagnoser's rationale
    when its ranking carries one, as the LLM diagnoser's does)."""
    ranked = runtime.context.diagnoser.diagnose(view_of(state))
    differential = [[r.name, round(r.probability, 6)] for r in ranked]
    entry: dict[str, Any] = {
        "kind": "diagnosis",
        "questions": len(state["asked"]),
        "top": differential[:SNAPSHOT_SIZE],
    }
    rationale = getattr(ranked, "rationale", "")
    if rationale:
        entry["rationale"] = str(rationale)
    return {"differential": differential, "needs_diagnosis": False, "trace": [entry]}


def retrieve(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Fetch knowledge for the leading candidates (only routed to when a retriever is set)."""
    retriever = runtime.context.retriever
    assert retriever is not None, "driver routes to retrieve only with a retriever"
    passages = retriever.retrieve(view_of(state))
    known = {p["doc_id"] for p in state["passages"]}
    new = []
    for passage in passages:
        if passage.doc_id not in known:
            known.add(passage.doc_id)
            new.append(passage.model_dump(mode="json"))
    entry = {
        "kind": "retrieval",
        "for": state["retrieved_for"],
        "doc_ids": [p["doc_id"] for p in new],
    }
    return {"passages": [*state["passages"], *new], "trace": [entry]}


def finish(state: ConsultState, runtime: Runtime[ConsultContext]) -> dict[str, Any]:
    """Write the final report: differential, explanations, urgent flags, transcript."""
    ctx = runtime.context
    view = view_of(state)
    ranked = [RankedCondition(name=str(n), probability=float(p)) for n, p in state["differential"]]
    urgent = urgent_conditions(ctx.catalogue, ranked, ctx.urgent_threshold)
    explanations = [
        e.model_copy(update={"urgent": e.name in urgent})
        for e in ctx.diagnoser.explain(view, ranked, ctx.explain_top_k)
    ]
    reasons = {e["code"]: e["reason"] for e in state["trace"] if e["kind"] == "question"}
    transcript = [
        TranscriptEntry(
            code=e["code"],
            question=ctx.catalogue.question_text(e["code"]),
            answer=e["text"],
            value=e["value"],
            present=e["present"],
            reason=reasons.get(e["code"], ""),
        )
        for e in state["trace"]
        if e["kind"] == "answer"
    ]
    diagnoses = [e for e in state["trace"] if e["kind"] == "diagnosis"]
    history = [
        DifferentialSnapshot(questions=e["questions"], top=[(n, p) for n, p in e["top"]])
        for e in diagnoses
    ]
    report = FinalReport(
        differential=ranked,
        explanations=explanations,
        urgent=urgent,
        questions_asked=len(state["asked"]),
        stop_reason=state["stop_reason"],
        transcript=transcript,
        findings=state["findings"],
        history=history,
        rationale=diagnoses[-1].get("rationale", "") if diagnoses else "",
        passages=[Passage.model_validate(p) for p in state["passages"]],
        age=state.get("age"),
        sex=state.get("sex"),
    )
    if ctx.doctor_finder is not None and ranked:
        leading = ranked[0].name
        report.doctors_for = leading
        report.doctors = ctx.doctor_finder.recommend_for(leading)
    entry = {"kind": "finish", "reason": state["stop_reason"]}
    return {"report": report.model_dump(mode="json"), "trace": [entry]}


# -- helpers and routers ----------------------------------------------------------------------


def _stop_reason(state: ConsultState) -> StopReason | None:
    if state.get("stop_requested"):
        return "finished on request"
    if len(state["asked"]) >= state["max_questions"]:
        return "question budget reached"
    differential = state["differential"]
    if differential and float(differential[0][1]) >= state["confidence_threshold"]:
        return "confident"
    return None


def _read_answer(catalogue: FindingCatalogue, code: str, reply: object) -> FindingValue:
    """A resume value is {"value": structured answer} or {"text": what a person typed}."""
    if isinstance(reply, dict) and "text" in reply:
        return catalogue.parse_text(code, str(reply["text"]))
    if isinstance(reply, dict) and "value" in reply:
        return catalogue.normalize(code, reply["value"])
    raise InvalidAnswerError('Resume with {"value": ...}, {"text": "..."} or {"stop": true}.')


def after_answer(
    state: ConsultState, runtime: Runtime[ConsultContext]
) -> Literal["diagnose", "driver"]:
    """The embedded engine re-diagnoses after every answer; an LLM diagnoser lets the driver
    choose when (saving a step either way)."""
    return "diagnose" if runtime.context.diagnose_each_answer else "driver"


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
builder.add_edge("intake", "diagnose")
builder.add_conditional_edges("ask", after_answer)
builder.add_edge("diagnose", "driver")
builder.add_edge("retrieve", "driver")
builder.add_edge("finish", END)


def compile_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> ConsultGraph:
    """The graph every front end runs (CLI chat, UI, batch harness)."""
    return builder.compile(checkpointer=checkpointer)
