"""ConsultationSession: start / answer / current / forget, and consultations that outlive the
process (SQLite checkpoints read back by a new saver and a new compiled graph)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from agent.consult.graph import builder
from agent.consult.session import Answer, ConsultationSession, Turn
from agent.context import ConsultContext
from agent.state import CaseIntake
from agent.trace import Finished
from retrieval.ddxplus_kb import KnowledgeBase


def memory_session(ctx: ConsultContext) -> ConsultationSession:
    return ConsultationSession(builder.compile(checkpointer=InMemorySaver()), ctx)


def fever_intake(
    fever: bool = True, *, max_questions: int = 10, confidence_threshold: float = 0.95
) -> CaseIntake:
    return CaseIntake(
        age=30,
        sex="F",
        findings={"E_1": fever},
        max_questions=max_questions,
        confidence_threshold=confidence_threshold,
    )


def finish(session: ConsultationSession, thread_id: str, turn: Turn, reply: str) -> Turn:
    """Answer every remaining question with the same text."""
    for _ in range(50):
        if turn.question is None:
            return turn
        turn = session.answer(thread_id, Answer.of_text(reply))
    raise AssertionError("the consultation did not finish")


def test_answer_kinds_resume_the_graph_as_documented() -> None:
    assert Answer.of_value(True).as_resume() == {"value": True}
    assert Answer.of_value(["V_1", "V_2"]).as_resume() == {"value": ["V_1", "V_2"]}
    assert Answer.of_text("no").as_resume() == {"text": "no"}


def test_start_answer_and_finish(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)

    turn = session.start("a", fever_intake(confidence_threshold=0.9))
    assert turn.question is not None and not turn.finished
    assert turn.question.code == "E_6" and turn.question.number == 1
    assert turn.question.error is None
    turn = session.answer("a", Answer.of_value(True))

    assert turn.finished and turn.report is not None and turn.question is None
    assert turn.report.stop_reason == "confident"
    assert turn.report.differential[0].name == "Pneumonia"
    assert [(t.code, t.value) for t in turn.report.transcript] == [("E_6", True)]
    assert turn.trace[-1] == Finished(reason="confident")


def test_an_unusable_answer_comes_back_with_an_error(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)
    first = session.start("a", fever_intake())
    assert first.question is not None

    again = session.answer("a", Answer.of_text("maybe later"))

    assert again.question is not None
    assert again.question.error
    assert again.question.code == first.question.code
    assert session.current("a") == again


def test_current_after_a_restart_returns_the_pending_question(
    mini_context: ConsultContext, tmp_path: Path
) -> None:
    database = str(tmp_path / "consultations.sqlite")
    answered: list[str] = []
    with SqliteSaver.from_conn_string(database) as saver:
        session = ConsultationSession(builder.compile(checkpointer=saver), mini_context)
        turn = session.start("case-1", fever_intake(confidence_threshold=0.9999))
        for reply in ("no", "don't know"):
            assert turn.question is not None
            answered.append(turn.question.code)
            turn = session.answer("case-1", Answer.of_text(reply))
        pending = turn.question
        assert pending is not None and pending.number == 3
    # The connection is closed: a new process opens the same file with a new saver and graph.
    with SqliteSaver.from_conn_string(database) as saver:
        session = ConsultationSession(builder.compile(checkpointer=saver), mini_context)

        restored = session.current("case-1")

        assert restored is not None
        assert restored.question == pending
        final = finish(session, "case-1", restored, "no")
        assert final.report is not None
        transcript = [(t.code, t.value) for t in final.report.transcript]
        assert transcript[:2] == [(answered[0], False), (answered[1], None)]
        assert transcript[2][0] == pending.code
        assert final.report.questions_asked == len(transcript) >= 3
        assert final.report.findings["E_1"] is True
        after = session.current("case-1")
        assert after is not None and after.report == final.report


def test_unknown_thread_is_none(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)
    session.start("known", fever_intake())

    assert session.current("never-started") is None
    assert session.current("known") is not None


def test_forget_drops_a_thread(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)
    finished = finish(session, "gone", session.start("gone", fever_intake()), "yes")
    assert finished.finished
    session.start("kept", fever_intake())
    assert session.current("gone") is not None

    session.forget("gone")

    assert session.current("gone") is None
    kept = session.current("kept")
    assert kept is not None and kept.question is not None


def test_threads_never_see_each_other(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)
    turns = {
        "fever": session.start(
            "fever", fever_intake(True, max_questions=4, confidence_threshold=0.9999)
        ),
        "no-fever": session.start(
            "no-fever", fever_intake(False, max_questions=4, confidence_threshold=0.9999)
        ),
    }
    replies = {"fever": "yes", "no-fever": "no"}
    numbers: dict[str, list[int]] = {"fever": [], "no-fever": []}
    while any(t.question is not None for t in turns.values()):
        for thread_id, turn in turns.items():  # interleaved, one answer each in turn
            if turn.question is not None:
                numbers[thread_id].append(turn.question.number)
                reply = replies[thread_id] if turn.question.kind == "B" else "no"
                turns[thread_id] = session.answer(thread_id, Answer.of_text(reply))

    for thread_id, turn in turns.items():
        report = turn.report
        assert report is not None
        assert len(numbers[thread_id]) >= 2, "both threads are really interleaved"
        assert numbers[thread_id] == list(range(1, len(numbers[thread_id]) + 1))
        asked = {t.code for t in report.transcript}
        assert set(report.findings) == asked | {"E_1"}, thread_id
        assert report.questions_asked == len(report.transcript)
    fever, no_fever = turns["fever"].report, turns["no-fever"].report
    assert fever is not None and no_fever is not None
    assert fever.findings["E_1"] is True and no_fever.findings["E_1"] is False
    assert all(t.value is not True for t in no_fever.transcript)
    assert any(t.value is True for t in fever.transcript)


@pytest.mark.parametrize("budget", [0, 2])
def test_start_returns_the_report_when_nothing_is_asked(
    mini_context: ConsultContext, budget: int
) -> None:
    session = memory_session(mini_context)
    turn = session.start("a", fever_intake(max_questions=budget, confidence_threshold=0.3))

    assert turn.finished and turn.report is not None
    assert turn.report.questions_asked == 0
    expected = "question budget reached" if budget == 0 else "confident"
    assert turn.report.stop_reason == expected


def test_a_batch_session_consults_exactly_like_a_front_end_session(
    mini_context: ConsultContext, mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    # The batch session runs LangGraph's background saves inline, saves only at exit and lets
    # the simulated patient answer inside the graph; the consultation itself must not change
    # from one held turn by turn through interrupts, as a person holds it.
    from agent.consult.session import Answer, batch_session
    from simulator.ddxplus_patient import SimulatedPatient
    from simulator.records import load_patients

    front = memory_session(mini_context)
    batch = batch_session(mini_context)
    asked = 0
    for record in load_patients(mini_kb, mini_patients_csv).records:
        patient = SimulatedPatient(mini_kb, record)
        intake = CaseIntake(age=record.age, sex=record.sex, findings=patient.intake())
        turn = front.start(record.case_id, intake)
        while turn.question is not None:
            answer = Answer.of_value(patient.answer(turn.question.code))
            turn = front.answer(record.case_id, answer)
        assert turn.report is not None
        a = turn.report
        b = batch.consult_to_end(record.case_id, intake, patient.answer)
        assert a.model_dump() == b.model_dump()
        asked += a.questions_asked
    assert asked > 0
