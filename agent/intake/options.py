"""The choices a person is offered at intake, the same in the chat and the app.

First the reader's readings of the message (best first, only those that state a symptom: a
consultation cannot start from denials alone), then the yes/no symptom questions that share
words with what the message affirms (:mod:`agent.complaints`: a fallback when the sentence
reading misses). An evidence code typed as such is taken as it is. The front end adds "none
of these" and lets the person type again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from agent.complaints import search_complaints
from agent.findings import FindingValue
from agent.free_text import split_clauses
from agent.intake.models import IntakeReading
from retrieval.ddxplus_kb import KnowledgeBase

MAX_OPTIONS = 6


class IntakeOption(BaseModel):
    """One reading of the complaint: how it is shown, and the findings it starts with."""

    model_config = ConfigDict(frozen=True)

    label: str
    findings: dict[str, FindingValue]
    none_of_these: bool = False
    """The choice that rejects every reading (the person types the complaint again)."""


def intake_options(
    kb: KnowledgeBase, text: str, read: IntakeReading | None, limit: int = MAX_OPTIONS
) -> list[IntakeOption]:
    """The readings of ``text`` (``read``, None to skip the sentence reading) and the keyword
    matches of its affirmed words, best first, at most ``limit``; empty when nothing matches."""
    query = text.strip()
    if query in kb.evidences:
        return [IntakeOption(label=kb.evidences[query].question, findings={query: True})]
    options: list[IntakeOption] = []
    for reading in read.readings if read else ():
        if reading.states_a_symptom:
            options.append(
                IntakeOption(label=reading.describe(kb), findings=reading.as_findings(kb))
            )
    affirmed = " ".join(clause.text for clause in split_clauses(query) if not clause.negated)
    for code in search_complaints(kb, affirmed, limit):
        option = IntakeOption(label=kb.evidences[code].question, findings={code: True})
        if all(option.findings != known.findings for known in options):
            options.append(option)
    return options[:limit]
