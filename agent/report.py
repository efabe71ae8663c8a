"""The final report of a consultation: what every front end shows at the end."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from agent.findings import FindingValue
from agent.roles import ConditionExplanation, Passage, RankedCondition
from retrieval.ddxplus_kb import KnowledgeBase

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
    passages: list[Passage] = Field(default_factory=list)
    disclaimer: str = DISCLAIMER


def urgent_conditions(
    kb: KnowledgeBase, differential: Sequence[RankedCondition], threshold: float
) -> list[str]:
    """Severity-1/2 conditions whose probability reaches ``threshold``: never to be missed."""
    return [
        r.name
        for r in differential
        if kb.conditions[r.name].is_urgent and r.probability >= threshold
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
    for exp in report.explanations:
        lines.append(f"## {exp.name} ({exp.probability:.1%}, ICD-10 {exp.icd10 or '—'})")
        if exp.raised_by:
            lines.append("For: " + "; ".join(e.statement for e in exp.raised_by))
        if exp.lowered_by:
            lines.append("Against: " + "; ".join(e.statement for e in exp.lowered_by))
        lines.append("")
    lines.append(f"{report.questions_asked} questions asked; stopped because {report.stop_reason}.")
    if report.passages:
        lines += ["", "## Sources"]
        lines += [f"- [{p.doc_id}] {p.title} ({p.source})" for p in report.passages]
    return "\n".join(lines) + "\n"
