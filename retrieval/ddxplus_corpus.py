"""The built-in DDXPlus corpus: one plain-English page per condition of the knowledge base.

A page gives the condition's ICD-10 codes, its severity (1 most severe … 5), the symptoms and
the antecedents (history, risk factors) the release links to it — written as statements from
the question texts ("Do you have a cough?" → "cough") — and the details a consultation asks
about them. It is what the retrieval agent cites in the embedded mode: generated from the same
release files as the engine, so it never disagrees with the knowledge base.
"""

from __future__ import annotations

from retrieval.ddxplus_kb import Condition, KnowledgeBase
from retrieval.documents import Document

SOURCE = "DDXPlus knowledge base (Fansi Tchango et al., NeurIPS 2022)"
LICENCE = "CC-BY 4.0"
URL = "https://figshare.com/articles/dataset/DDXPlus_Dataset/20043374"
ID_PREFIX = "ddxplus:"

SEVERITY_WORDS = {
    1: "1 of 5 (most severe: must not be missed)",
    2: "2 of 5 (severe: must not be missed)",
    3: "3 of 5 (moderate)",
    4: "4 of 5 (mild)",
    5: "5 of 5 (least severe)",
}

_REWRITES = (
    ("have you ever had ", "history of "),
    ("have you ever been ", "history of being "),
    ("do you have ", ""),
    ("have you had ", ""),
    ("have you been ", "been "),
    ("have you ", ""),
    ("are you experiencing ", ""),
    ("are you ", "being "),
    ("do you ", ""),
)


def statement(question: str) -> str:
    """A yes/no question as the finding it asks about ('Do you have a cough?' → 'a cough')."""
    text = question.strip().rstrip("?:").strip()
    lowered = text.lower()
    for prefix, replacement in _REWRITES:
        if lowered.startswith(prefix):
            return replacement + text[len(prefix) :]
    return text[:1].lower() + text[1:]


def _findings(kb: KnowledgeBase, codes: frozenset[str]) -> tuple[list[str], list[str]]:
    """Statements of the root findings, and the questions asked about their details."""
    roots, details = [], []
    for code in sorted(codes, key=lambda c: kb.evidence_index[c]):
        evidence = kb.evidences[code]
        if evidence.parent is None:
            roots.append(statement(evidence.question))
        else:
            details.append(evidence.question.strip())
    return roots, details


def condition_page(kb: KnowledgeBase, condition: Condition) -> Document:
    """The page of one condition (see the module docstring)."""
    symptoms, symptom_details = _findings(kb, condition.symptoms)
    antecedents, antecedent_details = _findings(kb, condition.antecedents)
    icd10 = ", ".join(code.strip().upper() for code in condition.icd10.split(",") if code.strip())
    lines = [
        f"{condition.name}"
        + (f" (French: {condition.name_fr})" if condition.name_fr else "")
        + ".",
        f"ICD-10: {icd10 or 'not given'}. Severity: {SEVERITY_WORDS[condition.severity]}.",
    ]
    if symptoms:
        lines.append("Typical symptoms: " + "; ".join(symptoms) + ".")
    if antecedents:
        lines.append("Antecedents and risk factors: " + "; ".join(antecedents) + ".")
    details = symptom_details + antecedent_details
    if details:
        lines.append("Details a consultation asks about: " + " ".join(details))
    return Document(
        id=ID_PREFIX + condition.name,
        title=condition.name,
        text="\n".join(lines),
        source=SOURCE,
        licence=LICENCE,
        url=URL,
    )


def ddxplus_pages(kb: KnowledgeBase) -> list[Document]:
    """One page per condition, in the knowledge base's order."""
    return [condition_page(kb, condition) for condition in kb.conditions.values()]
