"""Criteria from the DDXPlus knowledge base, the embedded default (no LLM): the department
that treats the condition (from its ICD-10 chapter), the condition itself, the conditions that
share most of its findings, its most specific symptoms, and the treatment the need names."""

from __future__ import annotations

import difflib
import re

from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from retrieval.doctors.criteria import CriteriaSet, Criterion, NeedCriteria, split_need

# ICD-10 chapter (letter, first and last two-digit block) → the department that usually treats
# it. Narrower ranges come first: the first match wins.
_DEPARTMENTS: tuple[tuple[str, int, int, str], ...] = (
    ("J", 0, 6, "Otolaryngology (ENT)"),
    ("J", 30, 39, "Otolaryngology (ENT)"),
    ("J", 0, 99, "Pulmonology"),
    ("I", 26, 28, "Pulmonology"),
    ("I", 0, 99, "Cardiology"),
    ("K", 40, 46, "General surgery"),
    ("K", 0, 99, "Gastroenterology"),
    ("G", 0, 99, "Neurology"),
    ("C", 0, 97, "Oncology"),
    ("D", 0, 48, "Oncology"),
    ("D", 50, 89, "Hematology"),
    ("A", 0, 99, "Infectious diseases"),
    ("B", 0, 99, "Infectious diseases"),
    ("E", 0, 90, "Endocrinology"),
    ("F", 0, 99, "Psychiatry"),
    ("H", 0, 59, "Ophthalmology"),
    ("H", 60, 95, "Otolaryngology (ENT)"),
    ("L", 0, 99, "Dermatology"),
    ("M", 0, 99, "Rheumatology"),
    ("N", 0, 99, "Nephrology and urology"),
    ("O", 0, 99, "Obstetrics and gynecology"),
    ("T", 78, 78, "Allergy and immunology"),
    ("S", 0, 99, "Emergency medicine and trauma"),
    ("T", 0, 99, "Emergency medicine and toxicology"),
    ("R", 0, 99, "Internal medicine"),
)
DEFAULT_DEPARTMENT = "Internal medicine"
DEPARTMENTS = tuple(sorted({d for *_, d in _DEPARTMENTS}))

_QUESTION_LEAD = re.compile(
    r"^(?:do you (?:have|feel|suffer from)|have you (?:had|noticed|felt|been)|"
    r"are you(?: experiencing)?|do you|have you)\s+(?:(?:recently|ever|currently)\s+)?"
    r"(?:(?:had|have|noticed)\s+)?(?:a |an |any )?",
    re.IGNORECASE,
)
MAX_SYMPTOM_WORDS = 8
_PARENTHESES = re.compile(r"\s*\([^)]*\)")


def department_for(icd10: str) -> str:
    """The department that usually treats a condition with this ICD-10 code (first code of a
    list such as ``"j17, j18"``)."""
    code = icd10.split(",")[0].strip().upper()
    match = re.match(r"^([A-Z])(\d{2})", code)
    if match is None:
        return DEFAULT_DEPARTMENT
    letter, block = match.group(1), int(match.group(2))
    for chapter, first, last, department in _DEPARTMENTS:
        if chapter == letter and first <= block <= last:
            return department
    return DEFAULT_DEPARTMENT


def symptom_phrase(question: str) -> str:
    """The finding a DDXPlus yes/no question asks about, as a short phrase
    ("Do you have a fever (either felt …)?" → "fever"); empty when the question is not of the
    "do you have / have you had …" kind or the phrase would be long."""
    text = _PARENTHESES.sub("", question).strip().rstrip("?").strip()
    phrase, count = _QUESTION_LEAD.subn("", text)
    phrase = phrase.strip()
    if count == 0 or len(phrase.split()) > MAX_SYMPTOM_WORDS:
        return ""
    return phrase


def related_conditions(kb: KnowledgeBase, name: str, top: int = 3) -> list[str]:
    """The conditions whose findings overlap most with ``name``'s (Jaccard), most first."""
    own = kb.conditions[name].evidences
    scored = []
    for other, condition in kb.conditions.items():
        if other == name:
            continue
        union = own | condition.evidences
        overlap = len(own & condition.evidences) / len(union) if union else 0.0
        if overlap > 0:
            scored.append((overlap, other))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [other for _, other in scored[:top]]


def specific_symptoms(kb: KnowledgeBase, name: str, top: int = 4) -> list[str]:
    """The condition's symptoms that fewest other conditions share (the telling ones)."""
    counts = {
        code: sum(code in c.symptoms for c in kb.conditions.values())
        for code in kb.conditions[name].symptoms
        if kb.evidences[code].kind is EvidenceKind.BINARY
    }
    ranked = sorted(counts, key=lambda code: (counts[code], code))
    phrases = [symptom_phrase(kb.evidences[code].question) for code in ranked]
    return [p for p in phrases if p][:top]


def match_condition(kb: KnowledgeBase, disease: str) -> str | None:
    """The knowledge-base condition a need names: exact (case-insensitive), contained, or a
    close spelling; None when there is no convincing match."""
    lowered = disease.lower()
    names = {name.lower(): name for name in kb.conditions}
    if lowered in names:
        return names[lowered]
    contained = [name for low, name in names.items() if low in lowered]
    if contained:
        return max(contained, key=len)
    close = difflib.get_close_matches(lowered, list(names), n=1, cutoff=0.8)
    return names[close[0]] if close else None


class KbCriteria:
    """The embedded default: criteria built from the DDXPlus knowledge base (no LLM)."""

    name = "kb"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._fallback = NeedCriteria()

    def criteria_for(self, need: str) -> CriteriaSet:
        disease_words, treatment = split_need(need)
        condition = match_condition(self.kb, disease_words) or match_condition(self.kb, need)
        if condition is None:
            return self._fallback.criteria_for(need)
        return self.for_condition(condition, treatment, need)

    def for_condition(self, condition: str, treatment: str = "", need: str = "") -> CriteriaSet:
        """Criteria for a knowledge-base condition (the consultation's leading diagnosis)."""
        info = self.kb.conditions[condition]
        department = department_for(info.icd10)
        criteria = [
            Criterion(key="department", text=department, weight=1.0, group="background"),
            Criterion(
                key="condition",
                text=f"treats {condition}",
                weight=2.0,
                group="disease",
                subject=condition,
            ),
        ]
        criteria += [
            Criterion(
                key=f"related: {other}",
                text=f"treats {other}",
                weight=0.4,
                group="disease",
                subject=other,
            )
            for other in related_conditions(self.kb, condition)
        ]
        symptoms = specific_symptoms(self.kb, condition)
        if symptoms:
            criteria.append(
                Criterion(
                    key="symptoms",
                    text="manages patients with " + "; ".join(symptoms),
                    weight=0.5,
                    group="disease",
                )
            )
        if treatment:
            criteria.append(
                Criterion(key="treatment", text=treatment, weight=1.5, group="treatment")
            )
        return CriteriaSet(
            need=need or condition,
            disease=condition,
            treatment=treatment,
            source=self.name,
            criteria=criteria,
        )
