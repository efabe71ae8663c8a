"""Criteria written rather than derived: by an LLM backend, DrRank's first step
(:class:`LlmCriteria`), or beforehand in DrRank's file format (:class:`CriteriaFile`:
``criteria_qwen2.5-7b-instruct.json``, key ``疾病-治疗``, Markdown with ``###`` sections and
``- **name**：text`` bullets)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.errors import DataFormatError, MissingDataError
from retrieval.doctors.criteria import CriteriaProvider, CriteriaSet, Criterion, NeedCriteria

if TYPE_CHECKING:
    from agent.llm.client import LLMClient

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
