"""The consultation's steps besides the driver's: intake, ask, retrieve and finish.

A person is reached through ``interrupt()`` in :func:`ask`; whoever runs the graph resumes it
with ``Command(resume={"value": ...})`` (a structured answer) or ``Command(resume={"text":
...})`` (what a person typed). A simulated patient in the context (``ConsultContext.patient``,
batch runs) answers in the same place with a structured value, without the interrupt.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.catalogue import FindingCatalogue
from agent.consult.diagnosis import view_of
from agent.consult.driver import diagnose_and_decide
from agent.context import ConsultContext
from agent.report import (
    FinalReport,
    history_from,
    rationale_from,
    transcript_from,
    urgent_conditions,
)
from agent.roles import RankedCondition
from agent.state import (
    CaseIntake,
    ConsultState,
    InputState,
    Ranking,
    validate_intake,
    validate_regions,
)
from agent.trace import (
    AnswerGiven,
    Finished,
    IntakeRecorded,
    KnowledgeRetrieved,
    StopRequested,
    TraceEntry,
)
from retrieval.findings import FindingValue, InvalidAnswerError


def intake(
    state: InputState, runtime: Runtime[ConsultContext]
) -> Command[Literal["driver", "ask", "diagnose", "retrieve", "refine", "finish"]]:
    """Validate the intake and open the consultation's state (then, with the embedded engine,
    the first diagnosis and the driver's first decision in the same step; see :func:`ask`).
    A consultation diagnosed at round ends only starts with the history taker's question."""
    case = CaseIntake.model_validate(state["intake"])  # a model already, or its JSON form
    findings = validate_intake(runtime.context.catalogue, case)
    regions = validate_regions(runtime.context.catalogue, case)
    opened: dict[str, Any] = {
        "age": case.age,
        "sex": case.sex,
        "max_questions": case.max_questions,
        "confidence_threshold": case.confidence_threshold,
        "rounds": case.refinement_rounds,
        "round": 1,
        "previous": [],
        "summary": "",
        "summary_covers": 0,
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
    if runtime.context.diagnosis_at == "round end":
        return Command(goto="driver", update=opened)
    if not runtime.context.diagnose_each_answer:
        return Command(goto="diagnose", update=opened)
    return diagnose_and_decide(runtime.context, {}, opened)


def ask(
    state: ConsultState, runtime: Runtime[ConsultContext]
) -> Command[Literal["driver", "ask", "diagnose", "retrieve", "finish"]]:
    """Put the pending question to the patient (interrupt) and record the answer.

    An answer that does not fit the question is sent back with an ``error`` and asked again.
    With the embedded engine (``diagnose_each_answer``) the same step updates the differential
    and hands over to the driver's decision (:func:`decide`), so a question costs two graph
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
            value = read_answer(catalogue, code, reply)
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
    if not ctx.diagnose_each_answer or ctx.diagnosis_at != "each answer":
        return Command(goto="driver", update=update)
    return diagnose_and_decide(ctx, state, update)


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
    explained = ctx.diagnoser.explain(view, ranked, ctx.explain_top_k) if ctx.explain_top_k else []
    explanations = [e.model_copy(update={"urgent": e.name in urgent}) for e in explained]
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


def read_answer(catalogue: FindingCatalogue, code: str, reply: object) -> FindingValue:
    """A resume value is {"value": structured answer} or {"text": what a person typed}."""
    if isinstance(reply, dict) and "text" in reply:
        return catalogue.parse_text(code, str(reply["text"]))
    if isinstance(reply, dict) and "value" in reply:
        return catalogue.normalize(code, reply["value"])
    raise InvalidAnswerError('Resume with {"value": ...}, {"text": "..."} or {"stop": true}.')
