"""Ranking criteria: what a good doctor for one disease–treatment need looks like.

DrRank has an LLM write disease-specific criteria before grading. Criteria come from one of
these providers (all behind :class:`CriteriaProvider`), wrapped in :class:`CachedCriteria`, and
are shown to the user with every ranking:

* ``retrieval.doctors.kb_criteria.KbCriteria`` (the embedded default, no LLM): from the DDXPlus
  knowledge base — department, condition, related conditions, telling symptoms, treatment.
* :class:`NeedCriteria` (here): the disease and the treatment as the need words them (when the
  knowledge base does not know the disease).
* ``retrieval.doctors.written_criteria``: criteria written by an LLM (``LlmCriteria``, DrRank's
  way) or beforehand in DrRank's file format (``CriteriaFile``).

This module holds what every provider shares: the criterion and criteria-set models, the
provider interface, the need's own words and the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CRITERIA_VERSION = 2
"""Bumped when criteria gain meaning (2: ``subject``): cached criteria of before are rebuilt."""
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


def split_need(need: str) -> tuple[str, str]:
    """(disease, treatment) of a need such as "a doctor skilled in treating pneumonia with
    antibiotics" or "甲状腺癌-手术"; the treatment is empty when none is named."""
    text = _NEED_FILLER.sub("", need.strip()).strip()
    parts = [p.strip(" .,;，。") for p in _NEED_SPLIT.split(text, maxsplit=1)]
    disease = parts[0] or need.strip()
    treatment = parts[1] if len(parts) > 1 else ""
    return disease, treatment


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
