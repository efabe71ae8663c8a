"""Ranking criteria: what a good doctor for one disease–treatment need looks like.

DrRank has an LLM write disease-specific criteria before grading. Criteria come from one of
these providers (all behind :class:`CriteriaProvider`), wrapped in a cache, and are shown to the
user with every ranking:

* :class:`KbCriteria` (the embedded default, no LLM): from the DDXPlus knowledge base — the
  department that treats the condition (from its ICD-10 chapter), the condition itself, the
  conditions that share most of its findings, its most specific symptoms, and the treatment.
* :class:`NeedCriteria`: the disease and the treatment as the need words them (when the
  knowledge base does not know the disease).
* :class:`LlmCriteria`: written by an LLM backend (DrRank's way), one structured call per need.
* :class:`CriteriaFile`: criteria written beforehand, e.g. DrRank's LLM-written criteria
  (``criteria_qwen2.5-7b-instruct.json``: key ``疾病-治疗``, Markdown with ``###`` sections and
  ``- **name**：text`` bullets).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import DataFormatError, MissingDataError
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase

if TYPE_CHECKING:
    from agent.llm.client import LLMClient

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
CRITERIA_VERSION = 2
"""Bumped when criteria gain meaning (2: ``subject``): cached criteria of before are rebuilt."""
DEPARTMENTS = tuple(sorted({d for *_, d in _DEPARTMENTS}))

_QUESTION_LEAD = re.compile(
    r"^(?:do you (?:have|feel|suffer from)|have you (?:had|noticed|felt|been)|"
    r"are you(?: experiencing)?|do you|have you)\s+(?:(?:recently|ever|currently)\s+)?"
    r"(?:(?:had|have|noticed)\s+)?(?:a |an |any )?",
    re.IGNORECASE,
)
MAX_SYMPTOM_WORDS = 8
_PARENTHESES = re.compile(r"\s*\([^)]*\)")
_NEED_SPLIT = re.compile(r"\s+(?:with|by|using|through|via)\s+|\s*[-–—]\s*|用|手术治疗", re.I)
_NEED_FILLER = re.compile(
    r"^(i need |i want |find |looking for )?(a |an )?(doctor|specialist|physician)?\s*"
    r"(who is )?(skilled|experienced|expert|specialised|specialized)?\s*(in|at|for)?\s*"
    r"(treating|managing|treatment of|the treatment of)?\s*",
    re.I,
)


class Criterion(BaseModel):
    """One thing a suitable doctor shows in their profile."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Short name, e.g. 'department' or '学历与资质'.")
    text: str = Field(min_length=1, description="What to look for, matched against profiles.")
    weight: float = Field(gt=0.0, description="Relative importance in the overall score.")
    group: str = Field(default="", description="background / disease / treatment.")
    subject: str = Field(
        default="",
        description="The one disease the criterion is about ('treats X' → X): a profile meets "
        "it only by naming X without denying, referring or doubting it (retrieval.doctors."
        "claims); '' for criteria about no one disease.",
    )


class CriteriaSet(BaseModel):
    """The criteria for one need, with where they came from (shown to the user)."""

    model_config = ConfigDict(frozen=True)

    need: str
    disease: str
    treatment: str = ""
    source: str = Field(description="'kb', 'need', a criteria file name, or an LLM backend.")
    criteria: list[Criterion] = Field(min_length=1)

    def total_weight(self) -> float:
        return sum(c.weight for c in self.criteria)

    def describe(self) -> list[str]:
        """One line per criterion, as the CLI shows them."""
        return [f"[{c.weight:g}] {c.key}: {c.text}" for c in self.criteria]


class CriteriaProvider(Protocol):
    """Anything that writes the criteria for a need (knowledge base, file, LLM)."""

    name: str

    def criteria_for(self, need: str) -> CriteriaSet: ...


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


def split_need(need: str) -> tuple[str, str]:
    """(disease, treatment) of a need such as "a doctor skilled in treating pneumonia with
    antibiotics" or "甲状腺癌-手术"; the treatment is empty when none is named."""
    text = _NEED_FILLER.sub("", need.strip()).strip()
    parts = [p.strip(" .,;，。") for p in _NEED_SPLIT.split(text, maxsplit=1)]
    disease = parts[0] or need.strip()
    treatment = parts[1] if len(parts) > 1 else ""
    return disease, treatment


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


class NeedCriteria:
    """Criteria from the need's own words: the disease, the treatment, the whole need."""

    name = "need"

    def criteria_for(self, need: str) -> CriteriaSet:
        disease, treatment = split_need(need)
        criteria = [
            Criterion(
                key="disease",
                text=f"treats {disease}",
                weight=2.0,
                group="disease",
                subject=disease,
            )
        ]
        if treatment:
            criteria.append(
                Criterion(key="treatment", text=treatment, weight=1.5, group="treatment")
            )
        criteria.append(Criterion(key="need", text=need, weight=1.0, group="disease"))
        return CriteriaSet(
            need=need, disease=disease, treatment=treatment, source=self.name, criteria=criteria
        )


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


_SECTION = re.compile(r"^#{1,6}\s*(?:\d+[.、]\s*)?(.+?)\s*$")
_BULLET = re.compile(r"^\s*[-*]\s*(?:\*\*(.+?)\*\*\s*[:：]?)?\s*(.*)$")
_GROUP_WEIGHTS = {0: ("background", 0.5), 1: ("disease", 1.0), 2: ("treatment", 1.0)}


def parse_markdown_criteria(markdown: str) -> list[Criterion]:
    """Criteria from DrRank-style Markdown: ``###`` sections (background, disease, treatment)
    holding ``- **name**：text`` bullets; background bullets weigh half."""
    criteria: list[Criterion] = []
    section = -1
    for line in markdown.splitlines():
        if _SECTION.match(line):
            section += 1
            continue
        bullet = _BULLET.match(line)
        if bullet is None or not (bullet.group(2) or "").strip():
            continue
        group, weight = _GROUP_WEIGHTS.get(max(section, 0), ("other", 1.0))
        key = (bullet.group(1) or f"criterion {len(criteria) + 1}").strip()
        criteria.append(
            Criterion(key=key, text=bullet.group(2).strip(), weight=weight, group=group)
        )
    return criteria


class CriteriaFile:
    """Criteria written beforehand, keyed by ``disease-treatment`` (DrRank's JSON format).

    A need gets the entry whose disease and treatment it both mentions (the longest disease
    wins); else the entry whose disease it mentions; else ``fallback``'s criteria.
    """

    def __init__(self, path: Path, fallback: CriteriaProvider | None = None) -> None:
        if not path.is_file():
            raise MissingDataError(f"{path} not found. It should be a criteria JSON file.")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"{path} is not a UTF-8 JSON file ({exc}).") from None
        if not isinstance(raw, dict) or not raw:
            raise DataFormatError(f"{path} must map 'disease-treatment' keys to criteria text.")
        self.name = f"file:{path.name}"
        self.entries: dict[tuple[str, str], list[Criterion]] = {}
        for key, text in raw.items():
            criteria = parse_markdown_criteria(str(text))
            if criteria:
                disease, _, treatment = str(key).partition("-")
                self.entries[(disease.strip(), treatment.strip())] = criteria
        if not self.entries:
            raise DataFormatError(f"{path} holds no criteria in the expected Markdown form.")
        self.fallback = fallback or NeedCriteria()

    def criteria_for(self, need: str) -> CriteriaSet:
        both = [k for k in self.entries if k[0] in need and k[1] and k[1] in need]
        either = both or [k for k in self.entries if k[0] in need]
        if not either:
            return self.fallback.criteria_for(need)
        disease, treatment = max(either, key=lambda k: (len(k[0]), len(k[1])))
        return CriteriaSet(
            need=need,
            disease=disease,
            treatment=treatment,
            source=self.name,
            criteria=self.entries[(disease, treatment)],
        )


class CachedCriteria:
    """Criteria computed once per need and provider, kept in memory and (optionally) on disk
    as JSON, so an LLM writes each need's criteria once."""

    def __init__(self, inner: CriteriaProvider, folder: Path | None = None, tag: str = "") -> None:
        self.inner = inner
        self.name = inner.name
        self.folder = folder
        self.tag = tag
        self._memory: dict[str, CriteriaSet] = {}

    def _file(self, need: str) -> Path | None:
        if self.folder is None:
            return None
        tag = f"{self.name}|{self.tag}|v{CRITERIA_VERSION}|{need}"
        key = hashlib.sha256(tag.encode()).hexdigest()[:20]
        return self.folder / f"{key}.json"

    def criteria_for(self, need: str) -> CriteriaSet:
        if need in self._memory:
            return self._memory[need]
        path = self._file(need)
        result: CriteriaSet | None = None
        if path is not None and path.is_file():
            try:
                result = CriteriaSet.model_validate_json(path.read_text(encoding="utf-8"))
            except (ValidationError, UnicodeDecodeError):
                result = None  # an unreadable cache entry is rebuilt and overwritten
        if result is None:
            result = self.inner.criteria_for(need)
            if path is not None:
                # A cache that cannot be written costs a recomputation later, not this answer.
                with contextlib.suppress(OSError):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    temporary = path.with_suffix(".tmp")
                    temporary.write_text(result.model_dump_json(indent=1), encoding="utf-8")
                    temporary.replace(path)
        self._memory[need] = result
        return result


def criteria_table(sets: Mapping[str, CriteriaSet]) -> dict[str, list[str]]:
    """need → criteria lines, for summary files."""
    return {need: s.describe() for need, s in sets.items()}


class WrittenCriterion(BaseModel):
    """One criterion as an LLM writes it."""

    key: str = Field(min_length=1, description="A short name, e.g. 'surgical experience'.")
    text: str = Field(min_length=1, description="What a suitable doctor's profile shows.")
    group: str = Field(default="", description="background, disease or treatment.")
    weight: float = Field(default=1.0, gt=0.0, le=5.0, description="Importance, 1 = normal.")


class WrittenCriteria(BaseModel):
    """The structured answer of a criteria-writing call."""

    disease: str = Field(min_length=1, description="The disease the need is about.")
    treatment: str = Field(default="", description="The treatment it names, if any.")
    criteria: list[WrittenCriterion] = Field(min_length=2, max_length=12)


CRITERIA_PROMPT = (
    "A patient needs a doctor: {need}\n\nWrite the criteria for ranking doctor profiles for this "
    "need, as DrRank does, in three groups: the doctor's background (title, training, "
    "hospital), relevance to the disease, relevance to the treatment. Each criterion names "
    "what a suitable profile shows, in the language of the need."
)


class LlmCriteria:
    """Criteria written by an LLM backend (DrRank's first step), through the bounded-retry
    structured call; wrap it in :class:`CachedCriteria` so each need costs one call."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client
        self.name = f"llm:{client.name}"

    def criteria_for(self, need: str) -> CriteriaSet:
        from agent.llm.base import Message
        from agent.llm.structured import generate_structured

        messages = [Message(role="user", content=CRITERIA_PROMPT.format(need=need))]
        written = generate_structured(self.client, messages, WrittenCriteria)
        return CriteriaSet(
            need=need,
            disease=written.disease,
            treatment=written.treatment,
            source=self.name,
            criteria=[
                Criterion(key=c.key, text=c.text, weight=c.weight, group=c.group)
                for c in written.criteria
            ],
        )
