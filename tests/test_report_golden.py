"""The final report of fixed consultations, held turn by turn through interrupts, against the
report the code wrote before the state and trace were typed (issue 13): the Markdown and the
parts built from the trace (transcript with why each question was asked, differential history,
the LLM diagnoser's rationale, cited passages) must not change.

The golden files were written by the untyped code (commit 1d0bb28); set
``DDX_WRITE_GOLDEN=1`` to rewrite them after a deliberate change of the report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.consult.graph import compile_graph
from agent.consult.session import Answer, ConsultationSession
from agent.context import ConsultContext, embedded_context
from agent.llm.client import LLMClient
from agent.llm.factory import RoleClients
from agent.llm.fake import FakeChat
from agent.reasoners.llm.context import llm_context
from agent.report import FinalReport, PatientSummary, to_markdown
from agent.roles import ConsultationView, Passage
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import FindingValue
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import load_patients

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
SUMMARY = PatientSummary(complaint="cough", knowledge="mini", consultation="golden", when="today")
TRACE_PARTS = {"transcript", "history", "rationale", "passages", "questions_asked", "stop_reason"}


class LeaderPages:
    """A retriever that returns one fixed page per leading candidate (no index needed)."""

    def retrieve(self, view: ConsultationView) -> list[Passage]:
        return [
            Passage(doc_id=f"page:{name}", title=name, text="…", source="test pages", score=1.0)
            for name, _ in view.differential[:2]
        ]


def hold(
    context: ConsultContext, intake: CaseIntake, answer: Callable[[str], FindingValue]
) -> FinalReport:
    """A consultation as a person holds it: start, then one resume per question."""
    session = ConsultationSession(compile_graph(InMemorySaver()), context)
    turn = session.start("golden", intake)
    for _ in range(intake.max_questions + 1):
        if turn.question is None:
            break
        assert turn.question.error is None, turn.question.error
        turn = session.answer("golden", Answer.of_value(answer(turn.question.code)))
    assert turn.report is not None
    return turn.report


def check(name: str, report: FinalReport) -> None:
    markdown = to_markdown(report, SUMMARY, {"Pneumonia": [("J18", "https://icd.who.int/J18")]})
    parts = report.model_dump(mode="json", include=TRACE_PARTS)
    md_file, json_file = GOLDEN / f"{name}.md", GOLDEN / f"{name}.json"
    if os.environ.get("DDX_WRITE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        md_file.write_text(markdown, encoding="utf-8")
        json_file.write_text(json.dumps(parts, indent=1) + "\n", encoding="utf-8")
    assert markdown == md_file.read_text(encoding="utf-8")
    assert parts == json.loads(json_file.read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", [0, 1])
def test_an_embedded_consultation_writes_the_same_report(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, row: int
) -> None:
    record = load_patients(mini_kb, mini_patients_csv).records[row]
    patient = SimulatedPatient(mini_kb, record)
    intake = CaseIntake(
        age=record.age, sex=record.sex, findings=patient.intake(), confidence_threshold=0.99
    )
    report = hold(embedded_context(mini_kb, retriever=LeaderPages()), intake, patient.answer)
    assert report.transcript and report.passages and len(report.history) > 1
    check(f"embedded-{row}", report)


def test_an_llm_diagnosers_consultation_writes_the_same_report(
    mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    reasoned = {"diagnoses": [{"name": "Pneumonia"}, {"name": "Flu"}], "rationale": "Cough."}
    client = LLMClient(FakeChat(lambda request: json.dumps(reasoned)))
    clients = RoleClients(doctor=None, diagnoser=client, patient=None, judge=None)
    context = llm_context(embedded_context(mini_kb), clients)
    patient = SimulatedPatient(mini_kb, load_patients(mini_kb, mini_patients_csv).records[0])
    intake = CaseIntake(
        age=40, sex="F", findings=patient.intake(), max_questions=2, confidence_threshold=1.0
    )
    report = hold(context, intake, patient.answer)
    assert report.rationale == "Cough." and report.questions_asked == 2
    check("llm", report)
