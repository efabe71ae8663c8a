"""The consultation graph's routing, run for real on the mini knowledge base.

Each test compiles its own graph with an in-memory checkpointer and drives it the way front ends
do: ``invoke``/``stream`` with the intake, then ``Command(resume=...)`` per answer. Roles are the
embedded engine, or small test doubles implementing the role protocols; nodes are never mocked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent.consult.graph import builder
from agent.context import ConsultContext
from agent.errors import DdxError
from agent.report import FinalReport
from agent.roles import ConsultationView, HistoryTaker, Passage, Question, Retriever
from agent.state import PendingQuestion
from agent.trace import AnswerGiven, DifferentialMoved, KnowledgeRetrieved, QuestionAsked
from retrieval.ddxplus_kb import KnowledgeBase

Graph = CompiledStateGraph[Any, Any, Any, Any]


def compile_fresh() -> Graph:
    return builder.compile(checkpointer=InMemorySaver())


def config(thread_id: str = "t") -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def intake(
    findings: dict[str, Any] | None = None,
    *,
    max_questions: int = 10,
    confidence_threshold: float = 0.95,
) -> dict[str, Any]:
    return {
        "intake": {
            "age": 30,
            "sex": "F",
            "findings": {"E_1": True} if findings is None else findings,
            "max_questions": max_questions,
            "confidence_threshold": confidence_threshold,
        }
    }


def step(
    graph: Graph, payload: Any, ctx: ConsultContext, thread_id: str = "t"
) -> tuple[list[str], PendingQuestion | None]:
    """Run until the graph pauses or ends: the nodes that completed, and the interrupt's
    question."""
    nodes: list[str] = []
    pending: PendingQuestion | None = None
    for chunk in graph.stream(payload, config(thread_id), context=ctx, stream_mode="updates"):
        for key, value in chunk.items():
            if key == "__interrupt__":
                pending = value[0].value
            else:
                nodes.append(key)
    return nodes, pending


def answer(
    graph: Graph, reply: dict[str, Any], ctx: ConsultContext, thread_id: str = "t"
) -> tuple[list[str], PendingQuestion | None]:
    return step(graph, Command(resume=reply), ctx, thread_id)


def values(graph: Graph, thread_id: str = "t") -> dict[str, Any]:
    return dict(graph.get_state(config(thread_id)).values)


def consult(
    graph: Graph, ctx: ConsultContext, start: dict[str, Any], replies: list[str]
) -> tuple[list[str], FinalReport]:
    """A whole consultation answered with ``replies`` (typed text), then "don't know"."""
    nodes, pending = step(graph, start, ctx)
    queue = list(replies)
    while pending is not None:
        more, pending = answer(graph, {"text": queue.pop(0) if queue else "don't know"}, ctx)
        nodes += more
    report = values(graph)["report"]
    assert isinstance(report, FinalReport)
    return nodes, report


class NoQuestions:
    """History-taker double: never finds anything worth asking, and records what it saw."""

    def __init__(self) -> None:
        self.views: list[ConsultationView] = []

    def next_question(self, view: ConsultationView) -> Question | None:
        self.views.append(view)
        return None


class LeaderRetriever:
    """Retriever double: one passage about the leading candidates it is asked about, plus one
    shared passage returned every time (which the report must list only once)."""

    def __init__(self, leaders: int) -> None:
        self.leaders = leaders
        self.calls: list[list[str]] = []

    def retrieve(self, view: ConsultationView) -> list[Passage]:
        names = sorted(name for name, _ in view.differential[: self.leaders])
        self.calls.append(names)
        return [
            Passage(doc_id="shared", title="General", text="...", source="test", score=0.5),
            Passage(
                doc_id="about:" + "+".join(names),
                title=", ".join(names),
                text="...",
                source="test",
                score=1.0,
            ),
        ]


# -- intake (diagnose, decide) → ask ----------------------------------------------------------


def test_first_turn_diagnoses_and_decides_in_the_intake_step_and_asks(
    mini_context: ConsultContext, mini_kb: KnowledgeBase
) -> None:
    graph = compile_fresh()
    nodes, pending = step(graph, intake(max_questions=7), mini_context)

    # The engine's first diagnosis and the driver's decision run in the intake step.
    assert nodes == ["intake"]
    assert [e.kind for e in values(graph)["trace"]] == ["intake", "diagnosis", "question"]
    assert pending is not None
    assert isinstance(pending, PendingQuestion)
    assert pending.error is None
    ev = mini_kb.evidences[pending.code]
    assert pending.code != "E_1", "the intake finding is never asked again"
    assert pending.text == ev.question
    assert pending.kind == ev.kind.value
    assert pending.reason
    assert pending.number == 1
    assert pending.budget == 7
    state = values(graph)
    assert pending.leading == state["differential"].top(3)
    assert state["pending"] == pending
    assert graph.get_state(config()).next == ("ask",)


def test_an_answer_is_diagnosed_and_decided_on_in_the_ask_step(
    mini_context: ConsultContext,
) -> None:
    graph = compile_fresh()
    _, first = step(graph, intake(), mini_context)
    assert first is not None

    nodes, second = answer(graph, {"text": "no"}, mini_context)

    # The engine diagnoses after each answer and hands over to the driver's decision in the
    # same step: the next question is pending without a separate driver step.
    assert nodes == ["ask"]
    diagnoses = [e for e in values(graph)["trace"] if isinstance(e, DifferentialMoved)]
    assert [e.questions for e in diagnoses] == [0, 1]
    assert second is not None
    assert second.number == 2
    assert second.code != first.code
    state = values(graph)
    assert state["asked"] == [first.code]
    assert len(state["asked"]) == 1
    assert first.kind == "B"
    assert state["findings"][first.code] is False


# -- the three ways to finish -----------------------------------------------------------------


def test_budget_zero_finishes_without_asking(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    nodes, pending = step(graph, intake(max_questions=0), mini_context)

    assert pending is None
    assert nodes == ["intake", "finish"]
    report = values(graph)["report"]
    assert report.stop_reason == "question budget reached"
    assert report.questions_asked == 0
    assert report.transcript == []
    assert len(report.differential) == len(mini_context.kb.conditions)


def test_budget_stops_after_that_many_answers(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    nodes, report = consult(graph, mini_context, intake(max_questions=2), ["no", "no"])

    assert nodes.count("ask") == 2
    assert report.stop_reason == "question budget reached"
    assert report.questions_asked == 2
    assert len(report.transcript) == 2


def test_threshold_reached_at_intake_finishes_confident(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    # After a fever the three febrile conditions share the lead at about 1/3 each.
    nodes, pending = step(graph, intake(confidence_threshold=0.3), mini_context)

    assert pending is None
    assert "ask" not in nodes
    report = values(graph)["report"]
    assert report.stop_reason == "confident"
    assert report.differential[0].probability >= 0.3


def test_threshold_reached_after_an_answer_finishes_confident(
    mini_context: ConsultContext,
) -> None:
    graph = compile_fresh()
    _, pending = step(graph, intake(confidence_threshold=0.9), mini_context)
    assert pending is not None and pending.code == "E_6"  # smoking: only Pneumonia has it

    nodes, pending = answer(graph, {"value": True}, mini_context)

    assert pending is None
    assert nodes == ["ask", "finish"]
    report = values(graph)["report"]
    assert report.stop_reason == "confident"
    assert report.questions_asked == 1
    assert report.differential[0].name == "Pneumonia"
    assert report.differential[0].probability >= 0.9


def test_no_question_from_the_history_taker_finishes(mini_context: ConsultContext) -> None:
    taker = NoQuestions()
    assert isinstance(taker, HistoryTaker)
    ctx = dataclasses.replace(mini_context, history_taker=taker)
    graph = compile_fresh()

    nodes, pending = step(graph, intake(), ctx)

    assert pending is None
    assert nodes == ["intake", "finish"]
    assert values(graph)["report"].stop_reason == "no informative question left"
    assert len(taker.views) == 1
    assert dict(taker.views[0].findings) == {"E_1": True}
    assert taker.views[0].differential, "the history taker sees the differential"


# -- retrieval --------------------------------------------------------------------------------


def test_retrieves_once_when_the_leaders_never_change(mini_context: ConsultContext) -> None:
    everything = len(mini_context.kb.conditions)
    retriever = LeaderRetriever(everything)
    assert isinstance(retriever, Retriever)
    ctx = dataclasses.replace(mini_context, retriever=retriever, leaders_for_retrieval=everything)
    graph = compile_fresh()

    nodes, report = consult(
        graph, ctx, intake(max_questions=4, confidence_threshold=0.9999), ["yes", "no"]
    )

    every_condition = sorted(mini_context.kb.conditions)
    assert retriever.calls == [every_condition]
    assert nodes.count("retrieve") == 1
    assert nodes[:3] == ["intake", "retrieve", "driver"]
    assert nodes.count("ask") == 4
    assert [p.doc_id for p in report.passages] == [
        "shared",
        "about:" + "+".join(every_condition),
    ]


def test_retrieves_again_for_each_new_set_of_leaders(mini_context: ConsultContext) -> None:
    retriever = LeaderRetriever(1)
    ctx = dataclasses.replace(mini_context, retriever=retriever, leaders_for_retrieval=1)
    graph = compile_fresh()

    # Fever: Flu leads (tied, first in file order); smoking: Pneumonia takes the lead for good.
    nodes, report = consult(
        graph, ctx, intake(max_questions=4, confidence_threshold=0.9999), ["yes"]
    )

    assert retriever.calls == [["Flu"], ["Pneumonia"]]
    assert nodes.count("retrieve") == 2
    trace = values(graph)["trace"]
    retrievals = [e.candidates for e in trace if isinstance(e, KnowledgeRetrieved)]
    assert retrievals == retriever.calls
    # Every question is asked with knowledge about the current leader, fetched once per leader.
    latest_leaders: list[str] = []
    latest_retrieval: list[str] = []
    for entry in trace:
        if isinstance(entry, DifferentialMoved):
            latest_leaders = sorted(name for name, _ in entry.top[:1])
        elif isinstance(entry, KnowledgeRetrieved):
            latest_retrieval = entry.candidates
        elif isinstance(entry, QuestionAsked):
            assert latest_retrieval == latest_leaders
    assert [p.doc_id for p in report.passages] == ["shared", "about:Flu", "about:Pneumonia"]


def test_leaders_are_compared_as_a_set(mini_context: ConsultContext) -> None:
    retriever = LeaderRetriever(2)
    ctx = dataclasses.replace(mini_context, retriever=retriever, leaders_for_retrieval=2)
    graph = compile_fresh()

    # Flu, Pneumonia lead at first; after smoking it is Pneumonia, Flu: the same two.
    _, report = consult(graph, ctx, intake(max_questions=3, confidence_threshold=0.9999), ["yes"])

    assert retriever.calls == [["Flu", "Pneumonia"]]
    assert len(report.passages) == 2


def test_without_a_retriever_never_retrieves(mini_context: ConsultContext) -> None:
    assert mini_context.retriever is None
    graph = compile_fresh()

    nodes, report = consult(graph, mini_context, intake(confidence_threshold=0.9999), ["yes"])

    assert "retrieve" not in nodes
    assert nodes.count("ask") >= 2
    assert report.passages == []
    assert not [e for e in values(graph)["trace"] if isinstance(e, KnowledgeRetrieved)]


# -- diagnosing when the driver chooses -------------------------------------------------------


def test_diagnose_each_answer_off_routes_ask_to_driver_which_diagnoses(
    mini_context: ConsultContext,
) -> None:
    ctx = dataclasses.replace(mini_context, diagnose_each_answer=False)
    graph = compile_fresh()
    _, pending = step(graph, intake(), ctx)
    assert pending is not None

    nodes, pending = answer(graph, {"text": "no"}, ctx)

    assert nodes == ["ask", "driver", "diagnose", "driver"]
    assert pending is not None and pending.number == 2
    state = values(graph)
    assert state["needs_diagnosis"] is False
    diagnoses = [e for e in state["trace"] if isinstance(e, DifferentialMoved)]
    assert [e.questions for e in diagnoses] == [0, 1]


# -- answers that do not fit ------------------------------------------------------------------


def test_invalid_text_answer_asks_the_same_question_again(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    _, first = step(graph, intake(), mini_context)
    assert first is not None and first.kind == "B"

    nodes, again = answer(graph, {"text": "banana"}, mini_context)

    assert nodes == []
    assert again is not None
    assert again.error == "Please answer yes, no, or don't know."
    assert again.model_copy(update={"error": None}) == first
    assert values(graph)["asked"] == []

    _, again = answer(graph, {"text": "perhaps"}, mini_context)
    assert again is not None and again.code == first.code and again.error

    nodes, second = answer(graph, {"text": "No."}, mini_context)
    assert nodes[0] == "ask"
    assert second is not None and second.error is None
    assert second.number == 2
    state = values(graph)
    assert state["findings"][first.code] is False
    assert [e.code for e in state["trace"] if isinstance(e, AnswerGiven)] == [first.code]


@pytest.mark.parametrize(
    "reply",
    [{"value": 1}, {"value": "V_1"}, {"value": [True]}, {"answer": True}],
    ids=["int-for-yes-no", "value-code-for-yes-no", "list-for-yes-no", "no-value-or-text"],
)
def test_invalid_structured_answer_asks_the_same_question_again(
    mini_context: ConsultContext, reply: dict[str, Any]
) -> None:
    graph = compile_fresh()
    _, first = step(graph, intake(), mini_context)
    assert first is not None and first.kind == "B"

    nodes, again = answer(graph, reply, mini_context)

    assert nodes == []
    assert again is not None and again.error
    assert again.code == first.code and again.number == first.number
    _, nxt = answer(graph, {"value": False}, mini_context)
    assert nxt is not None and nxt.number == 2 and nxt.error is None


def test_invalid_value_for_a_categorical_question(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    _, first = step(graph, intake({"E_3": True}), mini_context)
    assert first is not None and first.code == "E_7"  # travel: categorical
    assert first.kind == "C"

    _, again = answer(graph, {"value": "V_99"}, mini_context)
    assert again is not None and again.error is not None and "V_99" in again.error
    assert again.code == "E_7"
    _, again = answer(graph, {"value": ["V_20", "V_21"]}, mini_context)
    assert again is not None and again.error and again.code == "E_7"

    nodes, _ = answer(graph, {"value": "V_20"}, mini_context)
    assert nodes[:1] == ["ask"]
    state = values(graph)
    assert state["findings"]["E_7"] == "V_20"
    assert len(state["asked"]) == 1


# -- intake -----------------------------------------------------------------------------------


def test_unknown_intake_code_is_rejected(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    with pytest.raises(DdxError, match="E_404"):
        step(graph, intake({"E_1": True, "E_404": True}), mini_context)


def test_intake_value_that_does_not_fit_is_rejected(mini_context: ConsultContext) -> None:
    graph = compile_fresh()
    with pytest.raises(DdxError, match="E_1"):
        step(graph, intake({"E_1": "V_1"}), mini_context)
