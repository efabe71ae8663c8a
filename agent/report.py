"""The final report of a consultation: what every front end shows at the end, built from the
typed trace (``agent.trace``), and its Markdown form (the terminal, the app's download;
``agent.report_html`` prints it as HTML)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from agent.catalogue import FindingCatalogue
from agent.roles import ConditionExplanation, ConsultationView, Passage, RankedCondition
from agent.trace import (
    AnswerGiven,
    DifferentialMoved,
    DifferentialSnapshot,
    QuestionAsked,
    TraceEntry,
)
from retrieval.doctors.rankers import RankedDoctor
from retrieval.findings import FindingValue

DISCLAIMER = (
    "Decision support for learning and research, not a diagnosis. "
    "A clinician must examine the patient and decide."
)


class TranscriptTurn(BaseModel):
    """One question and the patient's answer, in plain words (what a case result keeps)."""

    code: str = Field(description="Evidence code asked, e.g. 'E_91'.")
    question: str
    answer: str = Field(description="The answer in plain English.")
    present: bool | None = Field(description="Whether the answer says the evidence is there.")


class TranscriptEntry(TranscriptTurn):
    """A turn of the report's transcript: also the answer's value and why it was asked."""

    value: FindingValue
    reason: str = Field(default="", description="Why the question was asked (the trace's).")


def transcript_from(
    trace: Sequence[TraceEntry], question_text: Callable[[str], str]
) -> list[TranscriptEntry]:
    """Each answer of the trace with its question and the reason the question was asked."""
    reasons = {e.code: e.reason for e in trace if isinstance(e, QuestionAsked)}
    return [
        TranscriptEntry(
            code=e.code,
            question=question_text(e.code),
            answer=e.text,
            value=e.value,
            present=e.present,
            reason=reasons.get(e.code, ""),
        )
        for e in trace
        if isinstance(e, AnswerGiven)
    ]


def history_from(trace: Sequence[TraceEntry]) -> list[DifferentialSnapshot]:
    """The differential after each diagnosis of the trace (top 10)."""
    return [
        DifferentialSnapshot(questions=e.questions, top=e.top)
        for e in trace
        if isinstance(e, DifferentialMoved)
    ]


def rationale_from(trace: Sequence[TraceEntry]) -> str:
    """The rationale of the last diagnosis: the reasoning behind the final differential (empty
    when the last diagnoser gave none, e.g. the engine's fallback after a bad model answer)."""
    for entry in reversed(trace):
        if isinstance(entry, DifferentialMoved):
            return entry.rationale
    return ""


class DoctorFinder(Protocol):
    """Recommends doctors for a condition (``retrieval.doctors.recommend.DoctorRecommender``)."""

    def recommend_for(self, condition: str, top: int = ...) -> list[RankedDoctor]: ...


class ListedCondition(BaseModel):
    """A condition of the differential list: one a clinician should keep in mind ("consider"),
    which need not be probable (the list keeps alternatives that share the patient's findings)."""

    name: str
    weight: float = Field(
        ge=0.0,
        le=1.0,
        description="How strongly the list model keeps it (0–1), not a probability of disease.",
    )
    probability: float = Field(ge=0.0, le=1.0, description="Its posterior probability.")


class DifferentialLister(Protocol):
    """Builds the differential list of a consultation
    (``agent.reasoners.ddxplus.list_questions``).
    """

    def differential_list(self, view: ConsultationView) -> list[ListedCondition]: ...

    def list_weights(self, view: ConsultationView) -> list[tuple[str, float]]:
        """Every condition's list weight, highest first (for the list-size trade-off)."""
        ...


class FinalReport(BaseModel):
    differential: list[RankedCondition] = Field(
        description="Every condition of the knowledge base, most probable first."
    )
    explanations: list[ConditionExplanation]
    urgent: list[str] = Field(description="Severity-1/2 conditions with real probability.")
    questions_asked: int
    stop_reason: str
    transcript: list[TranscriptEntry]
    findings: dict[str, FindingValue]
    history: list[DifferentialSnapshot]
    rationale: str = Field(
        default="", description="The LLM diagnoser's reasoning behind the final differential."
    )
    passages: list[Passage] = Field(default_factory=list)
    differential_list: list[ListedCondition] = Field(
        default_factory=list,
        description="The conditions to consider, most strongly kept first (empty when the "
        "engine has no list model, e.g. the structural model).",
    )
    doctors_for: str = Field(default="", description="The diagnosis the doctors are for.")
    doctors: list[RankedDoctor] = Field(
        default_factory=list, description="Empty unless a doctor directory is configured."
    )
    disclaimer: str = DISCLAIMER
    age: int | None = Field(default=None, description="The patient's age at intake, if given.")
    sex: str | None = Field(default=None, description="'M' or 'F' at intake, if given.")


class PatientSummary(BaseModel):
    """What the front end knows of the consultation beyond the graph: the complaint as the
    person gave it, which knowledge was used, when, and the consultation's id."""

    complaint: str = ""
    knowledge: str = ""
    consultation: str = ""
    when: str = ""


References = Mapping[str, Sequence[tuple[str, str]]]
"""Condition name → (identifier, address) pairs, e.g. ("OMIM:154700", "https://omim.org/…")."""


def urgent_conditions(
    catalogue: FindingCatalogue, differential: Sequence[RankedCondition], threshold: float
) -> list[str]:
    """Severity-1/2 conditions whose probability reaches ``threshold``: never to be missed."""
    return [
        r.name for r in differential if r.probability >= threshold and catalogue.is_urgent(r.name)
    ]


def to_markdown(
    report: FinalReport,
    summary: PatientSummary | None = None,
    references: References | None = None,
) -> str:
    """The whole report as Markdown: patient, urgent flags, differential with probabilities
    (and identifiers as links), why each leading diagnosis, the transcript with why each
    question was asked, sources, doctors with what their profile shows, the disclaimer."""
    lines = ["# Differential diagnosis report", "", f"_{report.disclaimer}_", ""]
    lines += _patient(report, summary or PatientSummary())
    if report.urgent:
        lines += [f"**Urgent: consider {', '.join(report.urgent)} (severe, not ruled out).**", ""]
    lines += ["## Differential diagnosis", ""]
    lines += _differential(report, references or {})
    if report.differential_list:
        lines += ["**Consider:** " + consider_line(report), ""]
    if report.rationale:
        lines += [f"Rationale: {report.rationale}", ""]
    for exp in report.explanations:
        icd = f", ICD-10 {exp.icd10.upper()}" if exp.icd10 else ""  # the release mixes cases
        lines.append(f"### {exp.name} ({exp.probability:.1%}{icd})")
        if exp.compared_with:
            lines.append(f"- Compared with: {exp.compared_with}")
        if exp.note:
            lines.append(f"- {exp.note}")
        lines += [f"- For: {e.statement}" for e in exp.raised_by]
        lines += [f"- Against: {e.statement}" for e in exp.lowered_by]
        if exp.not_yet_asked:
            lines.append("- Not yet asked: " + "; ".join(exp.not_yet_asked))
        cited = [f"[{p.doc_id}]" for p in report.passages if p.about == exp.name]
        if cited:
            lines.append("- Sources: " + ", ".join(cited))
        lines.append("")
    lines += _transcript(report)
    if report.passages:
        lines += ["## Sources", ""]
        lines += [f"- [{p.doc_id}] {p.title} ({p.source})" for p in report.passages]
        lines.append("")
    if report.doctors:
        lines += [f"## Doctors for {report.doctors_for}", ""]
        for i, doctor in enumerate(report.doctors, start=1):
            met = f" — meets: {', '.join(doctor.criteria_met)}" if doctor.criteria_met else ""
            lines.append(f"{i}. {doctor.headline}{met}")
            lines += [f"    - {line}" for line in doctor.evidence]
        lines.append("")
    lines += ["---", "", f"_{report.disclaimer}_"]
    return "\n".join(lines) + "\n"


def consider_line(report: FinalReport) -> str:
    """The differential list (conditions to keep in mind, not only the probable ones) in one
    line, each with its posterior so a clinician sees which are alternatives, not leaders."""
    return "; ".join(f"{c.name} ({c.probability:.0%})" for c in report.differential_list)


def _patient(report: FinalReport, summary: PatientSummary) -> list[str]:
    sex = {"M": "male", "F": "female"}.get(report.sex or "", "not given")
    age = f"{report.age} years" if report.age is not None else "not given"
    rows = [("Age", age), ("Sex", sex), ("Presenting complaint", summary.complaint or "—")]
    rows += [
        (label, value)
        for label, value in (
            ("Knowledge", summary.knowledge),
            ("Consultation", summary.consultation),
            ("Date", summary.when),
        )
        if value
    ]
    return ["## Patient", "", *(f"- **{label}:** {value}" for label, value in rows), ""]


def _differential(report: FinalReport, references: References) -> list[str]:
    with_ids = any(references.get(item.name) for item in report.differential[:10])
    header = "| # | Condition | Probability |" + (" Identifiers |" if with_ids else "")
    lines = [header, "|---|---|---|" + ("---|" if with_ids else "")]
    for i, item in enumerate(report.differential[:10], start=1):
        row = f"| {i} | {_cell(item.name)} | {item.probability:.1%} |"
        if with_ids:
            links = ", ".join(f"[{ident}]({url})" for ident, url in references.get(item.name, ()))
            row += f" {links or '—'} |"
        lines.append(row)
    stop = f"{report.questions_asked} questions asked; stopped because {report.stop_reason}."
    return [*lines, "", stop, ""]


def _transcript(report: FinalReport) -> list[str]:
    lines = ["## Transcript", ""]
    if not report.transcript:
        return [*lines, "No question was asked.", ""]
    lines += ["| # | Question | Answer | Why it was asked |", "|---|---|---|---|"]
    for i, entry in enumerate(report.transcript, start=1):
        cells = (_cell(entry.question), _cell(entry.answer), _cell(entry.reason or "—"))
        lines.append(f"| {i} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
