"""One DDXPlus benchmark case through the real consultation graph, the simulator answering.

As in DDXPlus and MEDDxAgent, a consultation starts from age, sex and the initial evidence
(the chief complaint); ``full_profile`` gives every answer up front and asks nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from agent.consult.session import ConsultationSession, batch_session
from agent.context import ConsultContext
from agent.reasoners.llm.ddxplus_roles import PatientFactory
from agent.report import FinalReport
from agent.roles import ConsultationView
from agent.state import CaseIntake
from eval.schema import CaseResult, steps_of, transcript_of
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import PatientRecord

MIN_LISTED_PROBABILITY = 1e-4
MIN_LISTED_WEIGHT = 0.01

__all__ = ["DdxPlusCaseRunner", "PatientFactory", "run_case"]


def run_case(
    session: ConsultationSession,
    record: PatientRecord,
    questions: int,
    full_profile: bool,
    confidence_threshold: float,
    patient_factory: PatientFactory = SimulatedPatient,
    refinement_rounds: int = 1,
) -> CaseResult:
    """Consult one simulated patient and score the outcome against its record."""
    kb = session.context.kb
    started = time.perf_counter()
    patient = patient_factory(kb, record)
    intake = CaseIntake(
        age=record.age,
        sex=record.sex,
        findings=patient.full_profile() if full_profile else patient.intake(),
        max_questions=0 if full_profile else questions,
        confidence_threshold=confidence_threshold,
        refinement_rounds=refinement_rounds,
    )
    report = session.consult_to_end(record.case_id, intake, patient.answer)
    ranking = [item.name for item in report.differential]
    truth_rank = (
        ranking.index(record.pathology) + 1 if record.pathology in ranking else len(ranking) + 1
    )
    return CaseResult(
        case_id=record.case_id,
        pathology=record.pathology,
        severity=kb.conditions[record.pathology].severity,
        age=record.age,
        sex=record.sex,
        initial_evidence=record.initial_evidence,
        questions_asked=report.questions_asked,
        stop_reason=report.stop_reason,
        transcript=transcript_of(report),
        differential=[
            (item.name, item.probability)
            for item in report.differential
            if item.probability >= MIN_LISTED_PROBABILITY
        ],
        truth_rank=truth_rank,
        steps=steps_of(report),
        reference_differential=record.differential,
        urgent_flags=report.urgent,
        differential_list=[(item.name, item.weight) for item in report.differential_list],
        list_weights=_list_weights(session, record, report),
        seconds=round(time.perf_counter() - started, 6),
    )


def _list_weights(
    session: ConsultationSession, record: PatientRecord, report: FinalReport
) -> list[tuple[str, float]]:
    lister = session.context.differential_lister
    if lister is None:
        return []
    view = ConsultationView(
        age=record.age,
        sex=record.sex,
        findings=report.findings,
        asked=[t.code for t in report.transcript],
        differential=[(r.name, r.probability) for r in report.differential],
        max_questions=report.questions_asked,
    )
    return [(n, w) for n, w in lister.list_weights(view) if w >= MIN_LISTED_WEIGHT]


class DdxPlusCaseRunner:
    """Per-worker runner: one compiled graph (``batch_session``), the engine loaded
    once, cases run one after another (threads are forgotten when they finish)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        records: Sequence[PatientRecord],
        *,
        questions: int,
        full_profile: bool,
        confidence_threshold: float,
        refinement_rounds: int = 1,
        model_path: Path | str | None = None,
        context: ConsultContext | None = None,
        patient_factory: PatientFactory = SimulatedPatient,
    ) -> None:
        from agent.assembly import ConsultOptions, assemble

        self.records = records
        self.questions = questions
        self.full_profile = full_profile
        self.confidence_threshold = confidence_threshold
        self.refinement_rounds = refinement_rounds
        self.patient_factory = patient_factory
        if context is None:
            chosen = Path(model_path) if model_path is not None else None
            options = ConsultOptions(retrieval="off", doctors=False, model_path=chosen)
            context = assemble(None, kb, options).context
        self.session = batch_session(context)

    def warm_up(self) -> None:
        """One consultation of the first record, its result discarded: what is built lazily on
        first use (report schemas, engine caches) is then built once, before workers fork."""
        if self.records:
            self.run(0)

    def run(self, index: int) -> CaseResult:
        return run_case(
            self.session,
            self.records[index],
            self.questions,
            self.full_profile,
            self.confidence_threshold,
            self.patient_factory,
            self.refinement_rounds,
        )
