"""Training conversations distilled from the embedded engine: the engine is the teacher.

For each DDXPlus patient, the consultation graph runs with the embedded engine's roles
(information-gain history taking, the Bayesian diagnoser and its likelihood-ratio
explanations) and the simulated patient answering inside it — the same graph, driver and stop
rules (question budget, confidence threshold, no informative question left) as every other
consultation. The graph's report is then written as a chat: the intake, one assistant turn per
question in the :class:`~agent.llm.schemas.NextStep` schema (the question and why, from the
trace), the simulator's plain-English answer, the stop and its reason, and at the end the
:class:`~agent.llm.schemas.Differential` with the findings that support each diagnosis. The
assistant turns are exactly the JSON the LLM roles must produce, so a model tuned on them
learns the schema along with the questions.

The teacher's context asks no differential-list questions and writes no report explanations
or list (the dialogue has its own, for the diagnoses it names), so the graph does only the
work the dialogue shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.consult.policy import teacher_stop_text
from agent.consult.session import ConsultationSession, batch_session
from agent.finetune.chat_data import Dialogue
from agent.llm.base import Message
from agent.llm.schemas import Differential, NextStep, RankedDiagnosis
from agent.reasoners.ddxplus.roles import BayesDiagnoser
from agent.reasoners.llm import prompts
from agent.reasoners.llm.render import known_lines, patient_line
from agent.report import FinalReport
from agent.roles import ConsultationView, RankedCondition
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import PatientRecord

SYSTEM = (
    prompts.DOCTOR_SYSTEM
    + " Reply with one JSON object only: the next step while taking the history, and the "
    "ranked differential diagnosis when asked for it."
)
DIFFERENTIAL_REQUEST = (
    "Give your differential diagnosis: the most likely first, with the findings that support "
    "each, and a rationale for the clinician."
)
MIN_LISTED = 0.01
"""Diagnoses below this posterior are left out of the teacher's differential."""
MAX_LISTED = 5
REASONS_PER_DIAGNOSIS = 3


@dataclass(frozen=True)
class EngineTeacher:
    """A batch session of the consultation graph over the embedded engine's roles."""

    session: ConsultationSession
    diagnoser: BayesDiagnoser

    @classmethod
    def build(cls, kb: KnowledgeBase, model_path: Path | None = None) -> EngineTeacher:
        from agent.assembly import ConsultOptions, assemble

        options = ConsultOptions(retrieval="off", doctors=False, model_path=model_path)
        context = assemble(None, kb, options).context
        # the teacher's dialogues ask single findings and list no differential: no list questions
        context = dataclasses.replace(
            context, list_taker=None, differential_lister=None, explain_top_k=0
        )
        assert isinstance(context.diagnoser, BayesDiagnoser)
        return cls(batch_session(context), context.diagnoser)


@dataclass(frozen=True)
class TeacherSettings:
    """The consultation limits, as in ``ddx eval ddxplus`` (same defaults)."""

    questions: int = 10
    confidence_threshold: float = 0.95


def _view(record: PatientRecord, report: FinalReport, budget: int) -> ConsultationView:
    return ConsultationView(
        age=record.age,
        sex=record.sex,
        findings=report.findings,
        asked=[entry.code for entry in report.transcript],
        differential=(),
        max_questions=budget,
    )


def _intake_turn(kb: KnowledgeBase, intake: CaseIntake) -> str:
    view = ConsultationView(
        age=intake.age,
        sex=intake.sex,
        findings=intake.findings,
        asked=(),
        differential=(),
        max_questions=intake.max_questions,
    )
    return (
        f"Patient: {patient_line(view.age, view.sex)}\n\n"
        f"What the patient says first:\n{known_lines(kb, view)}\n\n"
        f"Questions left in the budget: {intake.max_questions}.\nChoose the next step."
    )


def _differential(
    teacher: EngineTeacher, view: ConsultationView, ranked: Sequence[RankedCondition]
) -> Differential:
    listed = [r for r in ranked[:MAX_LISTED] if r.probability >= MIN_LISTED] or list(ranked[:1])
    explanations = teacher.diagnoser.explain(view, listed, len(listed))
    diagnoses = []
    for item in explanations:
        support = [e.finding or e.statement for e in item.raised_by[:REASONS_PER_DIAGNOSIS]]
        reason = "; ".join(support) if support else "no finding speaks strongly for it"
        diagnoses.append(RankedDiagnosis(name=item.name, reason=reason))
    top = listed[0]
    rationale = f"{top.name} is the most likely diagnosis ({top.probability:.0%})"
    if len(listed) > 1:
        rationale += f"; {listed[1].name} ({listed[1].probability:.0%}) is the main alternative"
    return Differential(diagnoses=diagnoses, rationale=rationale + ".")


def _json(step: NextStep | Differential) -> str:
    return step.model_dump_json(exclude_defaults=True)


def dialogue_of(
    teacher: EngineTeacher, record: PatientRecord, intake: CaseIntake, report: FinalReport
) -> Dialogue:
    """A finished consultation's report as a training conversation: the transcript's questions
    (with the reason the trace gives) and answers, the graph's stop, the final differential."""
    messages = [
        Message(role="system", content=SYSTEM),
        Message(role="user", content=_intake_turn(teacher.diagnoser.kb, intake)),
    ]
    for entry in report.transcript:
        step = NextStep(action="ask", question=entry.question, reason=entry.reason)
        messages.append(Message(role="assistant", content=_json(step)))
        messages.append(Message(role="user", content=entry.answer))
    top = report.differential[0].probability if report.differential else 0.0
    stop = NextStep(action="stop", reason=teacher_stop_text(report.stop_reason, top))
    messages.append(Message(role="assistant", content=_json(stop)))
    messages.append(Message(role="user", content=DIFFERENTIAL_REQUEST))
    view = _view(record, report, intake.max_questions)
    final = _differential(teacher, view, report.differential)
    messages.append(Message(role="assistant", content=_json(final)))
    return Dialogue(id=record.case_id, messages=tuple(messages))


def teach(teacher: EngineTeacher, record: PatientRecord, settings: TeacherSettings) -> Dialogue:
    """One consultation of ``record``'s simulated patient through the graph, as a training
    conversation."""
    patient = SimulatedPatient(teacher.diagnoser.kb, record)
    intake = CaseIntake(
        age=record.age,
        sex=record.sex,
        findings=patient.intake(),
        max_questions=settings.questions,
        confidence_threshold=settings.confidence_threshold,
    )
    report = teacher.session.consult_to_end(record.case_id, intake, patient.answer)
    return dialogue_of(teacher, record, intake, report)


def teach_all(
    teacher: EngineTeacher, records: Sequence[PatientRecord], settings: TeacherSettings
) -> Iterator[Dialogue]:
    for record in records:
        yield teach(teacher, record, settings)
