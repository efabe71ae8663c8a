"""The choices a person is offered at intake, the same in the chat and the app.

The reader's readings of the message, best first, only those that state a symptom (a
consultation cannot start from denials alone). When it reads none, the yes/no symptom
questions that share words with what the message affirms (:mod:`agent.complaints`) are the
fallback. An evidence code typed as such is taken as it is. The front end adds "none of these"
and lets the person type again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from agent.complaints import search_complaints
from agent.free_text import split_clauses
from agent.intake.models import IntakeReading
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import FindingValue

MAX_OPTIONS = 5


class IntakeOption(BaseModel):
    """One reading of the complaint: how it is shown, and the findings it starts with."""

    model_config = ConfigDict(frozen=True)

    label: str
    findings: dict[str, FindingValue]
    regions: dict[str, list[str]] = {}
    """Several-choice evidences named only as a region: at least one of these values
    (``CaseIntake.regions``); their exact values are left for a question."""
    none_of_these: bool = False
    """The choice that rejects every reading (the person types the complaint again)."""


def intake_options(
    kb: KnowledgeBase, text: str, read: IntakeReading | None, limit: int = MAX_OPTIONS
) -> list[IntakeOption]:
    """The readings of ``text`` (``read``, None to skip the sentence reading), or else the
    keyword matches of its affirmed words, best first, at most ``limit``; empty when nothing
    matches."""
    query = text.strip()
    if query in kb.evidences:
        return [IntakeOption(label=kb.evidences[query].question, findings={query: True})]
    options: list[IntakeOption] = []
    for reading in read.readings if read else ():
        if reading.states_a_symptom:
            regions = {code: [str(v) for v in vs] for code, vs in reading.regions(kb).items()}
            exact = {c: v for c, v in reading.as_findings(kb).items() if c not in regions}
            options.append(
                IntakeOption(label=reading.describe(kb), findings=exact, regions=regions)
            )
    if options:
        return options[:limit]
    affirmed = " ".join(clause.text for clause in split_clauses(query) if not clause.negated)
    return [
        IntakeOption(label=kb.evidences[code].question, findings={code: True})
        for code in search_complaints(kb, affirmed, limit)
    ]
