"""What a pydantic model as the graph's state would cost per node, for BENCHMARKS.md ("Issue
13 — typed state"): LangGraph builds ``schema(**values)`` before every node of a model-typed
state (``langgraph/graph/state.py``, ``_coerce_state``). Times that on a real state after five
answers of a dev patient."""

import os
import timeit
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, Field

from agent.consult.graph import compile_graph
from agent.consult.session import Answer, ConsultationSession
from agent.context import embedded_context
from agent.report import FinalReport
from agent.roles import Passage
from agent.state import CaseIntake, PendingQuestion, Ranking
from agent.trace import Regions, TraceEntry
from retrieval.ddxplus_kb import load_from_data_dir
from retrieval.findings import FindingValue
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import load_patients


class ModelState(BaseModel):
    """``agent.state.ConsultState`` as a pydantic model."""

    intake: CaseIntake | None = None
    age: int | None = None
    sex: Literal["M", "F"] | None = None
    max_questions: int = 0
    confidence_threshold: float = 1.0
    findings: dict[str, FindingValue] = Field(default_factory=dict)
    regions: Regions = Field(default_factory=dict)
    asked: list[str] = Field(default_factory=list)
    pending: PendingQuestion | None = None
    needs_diagnosis: bool = False
    differential: Ranking = Field(default_factory=Ranking)
    passages: list[Passage] = Field(default_factory=list)
    retrieved_for: list[str] = Field(default_factory=list)
    stop_reason: str = ""
    stop_requested: bool = False
    report: FinalReport | None = None
    trace: list[TraceEntry] = Field(default_factory=list)


data = Path(os.environ["DDX_DATA_DIR"])
kb = load_from_data_dir(data)
record = load_patients(kb, data / "ddxplus/dev_patients.csv").records[0]
patient = SimulatedPatient(kb, record)
session = ConsultationSession(compile_graph(InMemorySaver()), embedded_context(kb))
turn = session.start("t", CaseIntake(age=record.age, sex=record.sex, findings=patient.intake()))
for _ in range(5):
    assert turn.question is not None
    turn = session.answer("t", Answer.of_value(patient.answer(turn.question.code)))
values = dict(session.graph.get_state({"configurable": {"thread_id": "t"}}).values)
seconds = min(timeit.repeat(lambda: ModelState(**values), number=200, repeat=20)) / 200
entries = len(values["trace"])
print(f"ModelState(**values), {entries} trace entries: {seconds * 1e6:.1f} µs per node")
