"""Training conversations distilled from the embedded engine: the engine is the teacher.

For each DDXPlus patient, the same roles the consultation graph runs (information-gain history
taking, the Bayesian diagnoser and its likelihood-ratio explanations) consult the simulated
patient, with the graph's stop rules (question budget, confidence threshold, no informative
question left). The consultation is written as a chat: the intake, then one assistant turn per
step in the :class:`~agent.llm.schemas.NextStep` schema (the engine's question and why), the
simulator's plain-English answer, and at the end the :class:`~agent.llm.schemas.Differential`
with the findings that support each diagnosis. The assistant turns are exactly the JSON the LLM
roles must produce, so a model tuned on them learns the schema along with the questions.

The roles are driven directly rather than through the LangGraph graph: the graph's
checkpointing and interrupts are for interactive sessions, and cost more than the engine itself
(≥ 200 conversations a second needs the bare loop).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.finetune.chat_data import Dialogue
from agent.llm.base import Message
from agent.llm.schemas import Differential, NextStep, RankedDiagnosis
from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
from agent.reasoners.llm import prompts
from agent.reasoners.llm.render import known_lines, patient_line
from agent.roles import ConsultationView, RankedCondition
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
    """The embedded engine's roles, as the consultation graph's default context builds them."""

    diagnoser: BayesDiagnoser
    history_taker: InformationGainHistoryTaker

    @classmethod
    def build(cls, kb: KnowledgeBase, model_path: Path | None = None) -> EngineTeacher:
        from agent.assembly import ConsultOptions, assemble

        options = ConsultOptions(retrieval="off", doctors=False, model_path=model_path)
        context = assemble(None, kb, options).context
        assert isinstance(context.diagnoser, BayesDiagnoser)
        assert isinstance(context.history_taker, InformationGainHistoryTaker)
        return cls(context.diagnoser, context.history_taker)


@dataclass(frozen=True)
class TeacherSettings:
    """The consultation limits, as in ``ddx eval ddxplus`` (same defaults)."""

    questions: int = 10
    confidence_threshold: float = 0.95


def _intake_turn(teacher: EngineTeacher, view: ConsultationView, budget: int) -> str:
    return (
        f"Patient: {patient_line(view.age, view.sex)}\n\n"
        f"What the patient says first:\n{known_lines(teacher.diagnoser.kb, view)}\n\n"
        f"Questions left in the budget: {budget}.\nChoose the next step."
    )


def _stop_reason(asked: int, budget: int, top: float, threshold: float, left: bool) -> str:
    if asked >= budget:
        return "The question budget is used up."
    if top >= threshold:
        return f"The leading diagnosis is already very likely ({top:.0%})."
    if not left:
        return "No remaining question would change the differential."
    return ""


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


def teach(teacher: EngineTeacher, record: PatientRecord, settings: TeacherSettings) -> Dialogue:
    """One consultation of ``record``'s simulated patient, as a training conversation."""
    kb = teacher.diagnoser.kb
    patient = SimulatedPatient(kb, record)
    findings = dict(patient.intake())
    asked: list[str] = []

    def view() -> ConsultationView:
        return ConsultationView(
            age=record.age,
            sex=record.sex,
            findings=findings,
            asked=asked,
            differential=(),
            max_questions=settings.questions,
        )

    messages = [
        Message(role="system", content=SYSTEM),
        Message(role="user", content=_intake_turn(teacher, view(), settings.questions)),
    ]
    diagnoser = teacher.diagnoser
    while True:
        # The leader's probability alone decides the confidence stop: the full ranking (49
        # pydantic objects) is built once, for the final differential.
        top = float(diagnoser.posterior(view()).max())
        question = None
        if len(asked) < settings.questions and top < settings.confidence_threshold:
            question = teacher.history_taker.next_question(view())
        if question is None:
            reason = _stop_reason(
                len(asked), settings.questions, top, settings.confidence_threshold, False
            )
            stop = NextStep(action="stop", reason=reason)
            messages.append(Message(role="assistant", content=_json(stop)))
            break
        step = NextStep(action="ask", question=question.text, reason=question.reason)
        messages.append(Message(role="assistant", content=_json(step)))
        messages.append(Message(role="user", content=patient.say(question.code)))
        findings[question.code] = patient.answer(question.code)
        asked.append(question.code)
    messages.append(Message(role="user", content=DIFFERENTIAL_REQUEST))
    final = _differential(teacher, view(), diagnoser.diagnose(view()))
    messages.append(Message(role="assistant", content=_json(final)))
    return Dialogue(id=record.case_id, messages=tuple(messages))


def teach_all(
    teacher: EngineTeacher, records: Sequence[PatientRecord], settings: TeacherSettings
) -> Iterator[Dialogue]:
    for record in records:
        yield teach(teacher, record, settings)
