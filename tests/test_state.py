"""The typed state and trace through the checkpointers: what a front end saved is read back as
the same models (not dicts), by the app's SQLite saver after a restart and by an in-memory
saver, with LangGraph's permissive or strict serializer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agent.consult.graph import compile_graph
from agent.consult.session import Answer, ConsultationSession, Turn
from agent.context import ConsultContext
from agent.report import FinalReport
from agent.roles import ConsultationView, Passage
from agent.state import CaseIntake, PendingQuestion, Ranking
from agent.trace import (
    AnswerGiven,
    DifferentialMoved,
    Finished,
    IntakeRecorded,
    KnowledgeRetrieved,
    QuestionAsked,
    StopRequested,
)

INTAKE = CaseIntake(age=30, sex="F", findings={"E_1": True}, confidence_threshold=0.9999)


class LeaderPages:
    def retrieve(self, view: ConsultationView) -> list[Passage]:
        return [
            Passage(doc_id=f"page:{name}", title=name, text="…", source="test", score=1.0)
            for name, _ in view.differential[:1]
        ]


def with_pages(context: ConsultContext) -> ConsultContext:
    from dataclasses import replace

    return replace(context, retriever=LeaderPages(), leaders_for_retrieval=1)


def two_answers_then_stop(session: ConsultationSession) -> tuple[Turn, Turn]:
    """Two answers, then "Finish now": every kind of entry but a refinement round."""
    turn = session.start("t", INTAKE)
    for reply in ("no", "yes"):
        turn = session.answer("t", Answer.of_text(reply))
    assert turn.question is not None
    return turn, session.finish_now("t")


def test_the_trace_comes_back_typed_from_the_apps_saver_after_a_restart(
    mini_context: ConsultContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = str(tmp_path / "consultations.sqlite")
    context = with_pages(mini_context)
    with SqliteSaver.from_conn_string(database) as saver:
        session = ConsultationSession(compile_graph(saver), context, durability="exit")
        turn = session.start("t", INTAKE)
        turn = session.answer("t", Answer.of_text("no"))
        assert turn.question is not None
    with caplog.at_level(logging.WARNING), SqliteSaver.from_conn_string(database) as saver:
        session = ConsultationSession(compile_graph(saver), context, durability="exit")
        restored = session.current("t")
        assert restored == turn  # question, trace and differential, each as its model
        assert isinstance(restored.question, PendingQuestion)
        assert restored.questions_asked == 1 and restored.differential
        assert [type(e) for e in restored.trace][:4] == [
            IntakeRecorded,
            DifferentialMoved,
            KnowledgeRetrieved,
            QuestionAsked,
        ]
        session.answer("t", Answer.of_text("yes"))
        done = session.finish_now("t")
        again = session.current("t")
    assert not [r for r in caplog.records if "unregistered" in r.getMessage()]
    assert again is not None and again == done
    assert isinstance(again.report, FinalReport) and again.report.passages
    kinds = {type(e) for e in again.trace}
    assert {AnswerGiven, StopRequested, Finished} <= kinds
    assert again.differential == [(r.name, r.probability) for r in again.report.differential]


@pytest.mark.parametrize("strict", [False, True], ids=["permissive", "strict"])
def test_the_state_comes_back_typed_from_an_in_memory_saver(
    mini_context: ConsultContext, strict: bool
) -> None:
    # strict: LangGraph's serializer that restores no class it was not told about.
    serde = JsonPlusSerializer(allowed_msgpack_modules=None) if strict else None
    graph = compile_graph(InMemorySaver(serde=serde))
    session = ConsultationSession(graph, with_pages(mini_context))
    asked, done = two_answers_then_stop(session)

    values = graph.get_state({"configurable": {"thread_id": "t"}}).values
    assert isinstance(values["intake"], CaseIntake) and values["intake"] == INTAKE
    assert isinstance(values["differential"], Ranking)
    assert all(isinstance(p, tuple) for p in values["differential"].pairs)
    assert all(isinstance(p, Passage) for p in values["passages"])
    assert isinstance(values["report"], FinalReport) and values["report"] == done.report
    assert values["trace"] == done.trace
    assert [type(e) for e in values["trace"]] == [type(e) for e in done.trace]
    answers = [e for e in done.trace if isinstance(e, AnswerGiven)]
    assert [e.value for e in answers] == [False, True]
    assert asked.question is not None and asked.question.number == 3
