"""The final report of a consultation: what every front end shows at the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from agent.catalogue import FindingCatalogue
from agent.findings import FindingValue
from agent.roles import ConditionExplanation, ConsultationView, Passage, RankedCondition

DISCLAIMER = (
    "Decision support for learning and research, not a diagnosis. "
    "A clinician must examine the patient and decide."
)


class TranscriptEntry(BaseModel):
    code: str
    question: str
    answer: str
    value: FindingValue
    present: bool | None


class DifferentialSnapshot(BaseModel):
    """The differential after a number of answers (top 10), for curves and replays."""

    questions: int
    top: list[tuple[str, float]]


class RecommendedDoctor(BaseModel):
    """A doctor suggested for the leading diagnosis, with the criteria their profile shows."""

    doctor_id: str
    headline: str
    score: float
    criteria_met: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="'criterion: profile text'.")


class DoctorFinder(Protocol):
    """Recommends doctors for a condition (``retrieval.doctors.recommend.DoctorRecommender``)."""

    def recommend_for(self, condition: str, top: int = ...) -> list[RecommendedDoctor]: ...


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
    """Builds the differential list of a consultation (``agent.engine.list_questions``)."""

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
    doctors: list[RecommendedDoctor] = Field(
        default_factory=list, description="Empty unless a doctor directory is configured."
    )
    disclaimer: str = DISCLAIMER


def urgent_conditions(
    catalogue: FindingCatalogue, differential: Sequence[RankedCondition], threshold: float
) -> list[str]:
    """Severity-1/2 conditions whose probability reaches ``threshold``: never to be missed."""
    return [
        r.name for r in differential if r.probability >= threshold and catalogue.is_urgent(r.name)
    ]


def to_markdown(report: FinalReport) -> str:
    """The report as Markdown, for the terminal and for download."""
    lines = ["# Differential diagnosis", "", f"_{report.disclaimer}_", ""]
    if report.urgent:
        lines += [f"**Urgent: consider {', '.join(report.urgent)} (severe, not ruled out).**", ""]
    lines += ["| # | Condition | Probability |", "|---|---|---|"]
    for i, item in enumerate(report.differential[:10], start=1):
        lines.append(f"| {i} | {item.name} | {item.probability:.1%} |")
    lines.append("")
    if report.rationale:
        lines += [f"Rationale: {report.rationale}", ""]
    for exp in report.explanations:
        lines.append(f"## {exp.name} ({exp.probability:.1%}, ICD-10 {exp.icd10 or '—'})")
        if exp.raised_by:
            lines.append("For: " + "; ".join(e.statement for e in exp.raised_by))
        if exp.lowered_by:
            lines.append("Against: " + "; ".join(e.statement for e in exp.lowered_by))
        if exp.not_yet_asked:
            lines.append("Not yet asked: " + "; ".join(exp.not_yet_asked))
        lines.append("")
    lines.append(f"{report.questions_asked} questions asked; stopped because {report.stop_reason}.")
    if report.passages:
        lines += ["", "## Sources"]
        lines += [f"- [{p.doc_id}] {p.title} ({p.source})" for p in report.passages]
    if report.doctors:
        lines += ["", f"## Doctors for {report.doctors_for}"]
        for doctor in report.doctors:
            met = f" — meets: {', '.join(doctor.criteria_met)}" if doctor.criteria_met else ""
            lines.append(f"- {doctor.headline}{met}")
    return "\n".join(lines) + "\n"
