"""The presenting complaint, typed freely, turned into candidate starting findings.

Two readings, offered side by side for the person to confirm (nothing starts from a guess):
the whole message read clause by clause with negations ("fever since Monday, no cough" →
fever yes, cough no; :mod:`agent.free_text`, a local sentence encoder), then the knowledge
base's yes/no symptom questions that share words with it (:mod:`agent.complaints`).
"""

from __future__ import annotations

from pydantic import BaseModel

from agent.complaints import search_complaints
from agent.errors import DdxError
from agent.findings import FindingValue
from agent.free_text import question_as_statement, read_intake
from retrieval.ddxplus_kb import KnowledgeBase

MAX_OPTIONS = 6


class ComplaintOption(BaseModel):
    """One reading of the complaint: how it is shown, and the findings it starts with."""

    label: str
    findings: dict[str, FindingValue]


def complaint_options(
    kb: KnowledgeBase, text: str, *, read_sentences: bool = True
) -> list[ComplaintOption]:
    """Candidate readings of the complaint, best first; empty when nothing matches.

    ``read_sentences`` adds the clause-by-clause reading first (it loads the sentence encoder
    once per process on first use).
    """
    query = text.strip()
    if query in kb.evidences:
        return [ComplaintOption(label=kb.evidences[query].question, findings={query: True})]
    options: list[ComplaintOption] = []
    if read_sentences and query:
        options += _sentence_reading(kb, query)
    seen = [option.findings for option in options]
    for code in search_complaints(kb, query, MAX_OPTIONS):
        option = ComplaintOption(label=kb.evidences[code].question, findings={code: True})
        if option.findings not in seen:
            options.append(option)
    return options[:MAX_OPTIONS]


def _sentence_reading(kb: KnowledgeBase, text: str) -> list[ComplaintOption]:
    try:
        intake = read_intake(kb, text)
    except DdxError:  # no symptom understood: the keyword readings remain
        return []
    parts = [
        f"{question_as_statement(kb.evidences[m.label].question)}: {'yes' if m.present else 'no'}"
        for m in intake.matches
    ]
    return [ComplaintOption(label="; ".join(parts), findings=dict(intake.findings))]
