"""A DDXPlus consultation as the text an LLM reads: who the patient is and what is known."""

from __future__ import annotations

from collections.abc import Mapping

from agent.catalogue import FindingCatalogue
from agent.roles import ConsultationView
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import FindingValue
from simulator.ddxplus_patient import phrase_answer


def patient_line(age: int | None, sex: str | None) -> str:
    who = {"M": "male", "F": "female"}.get(sex or "", "sex not given")
    return f"{age if age is not None else 'age not given'} years, {who}"


def known_lines(kb: KnowledgeBase, view: ConsultationView) -> str:
    """One line per finding: the question and the answer in plain English."""
    return findings_lines(kb, view.findings)


def findings_lines(kb: KnowledgeBase, findings: Mapping[str, FindingValue]) -> str:
    """:func:`known_lines` of a findings mapping (a retrieval query's)."""
    lines = [
        f"- {kb.evidences[code].question} {phrase_answer(kb, code, value)}"
        for code, value in findings.items()
    ]
    return "\n".join(lines) or "- nothing yet"


def findings_text(catalogue: FindingCatalogue, findings: Mapping[str, FindingValue]) -> str:
    """:func:`findings_lines` over any knowledge base, as its catalogue asks and phrases each
    finding (the same text for DDXPlus)."""
    lines = [
        f"- {catalogue.question_text(code)} {catalogue.phrase_answer(code, value)}"
        for code, value in findings.items()
    ]
    return "\n".join(lines) or "- nothing yet"


def ranking_text(ranking: list[tuple[str, float]], k: int = 10) -> str:
    return "\n".join(f"{i}. {name} ({p:.0%})" for i, (name, p) in enumerate(ranking[:k], 1))
