"""The DDXPlus knowledge base: conditions, evidences, and the structure that links them.

Files (official release, figshare article 20043374):

``release_evidences.json`` — dict keyed by evidence code ``E_n``:

=================  ===========================  ==============================================
field              type                         meaning (example)
=================  ===========================  ==============================================
name               str                          the code again (``"E_55"``)
code_question      str                          the parent question that gates this one; equal
                                                to ``name`` for a root question (``"E_53"``)
question_en/fr     str                          question text (``"Do you feel pain somewhere?"``)
is_antecedent      bool                         history/risk factor rather than a symptom
data_type          ``"B"`` / ``"C"`` / ``"M"``  binary, categorical (one value), multi-choice
default_value      int or str                   the value meaning "absent" (``0``, ``"V_123"``)
possible-values    list[int] or list[str]       allowed values; ints are 0–10 scales
value_meaning      dict[str, {en, fr}]          text of each value code
=================  ===========================  ==============================================

``release_conditions.json`` — dict keyed by English condition name: ``condition_name``,
``cond-name-eng``, ``cond-name-fr``, ``icd10-id``, ``symptoms`` and ``antecedents`` (dicts keyed
by evidence code; their values are empty in the release), ``severity`` (1 most severe … 5).

Quirks of the released files, handled deliberately:

* Five evidences name a parent question that is not in the file (``E_69``→``E_68``,
  ``E_37``→``E_36``, ``E_118``→``E_117``, ``E_123``→``E_122``, ``E_87``→``E_85``). Those parents
  were screening questions dropped from the release; their children are ordinary yes/no
  questions, so we treat them as root questions (asked without gating) and record a note in
  ``KnowledgeBase.quirks``.
* Value codes such as ``"V_11"`` (``"NA"``) serve as the default of some categorical and
  multi-choice questions; a default value always means "absent" here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.errors import DataFormatError

Value = str | int
"""A categorical or multi-choice value: a value code ``V_n`` or a scale point 0–10."""


class EvidenceKind(StrEnum):
    BINARY = "B"
    CATEGORICAL = "C"
    MULTI_CHOICE = "M"


class ValueText(BaseModel):
    model_config = ConfigDict(frozen=True)
    en: str
    fr: str = ""


class RawEvidence(BaseModel):
    """One entry of ``release_evidences.json``, validated as released."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    name: str
    code_question: str
    question_en: str = Field(min_length=1)
    question_fr: str = ""
    is_antecedent: bool
    data_type: EvidenceKind
    default_value: Value
    possible_values: list[Value] = Field(alias="possible-values")
    value_meaning: dict[str, ValueText] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _values_consistent(self) -> RawEvidence:
        if self.data_type is EvidenceKind.BINARY:
            return self
        if not self.possible_values:
            raise ValueError(f"{self.data_type.name.lower()} evidence without possible-values")
        if self.default_value not in self.possible_values:
            raise ValueError(f"default_value {self.default_value!r} not in possible-values")
        return self


class RawCondition(BaseModel):
    """One entry of ``release_conditions.json``, validated as released."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    condition_name: str
    cond_name_eng: str = Field(alias="cond-name-eng")
    cond_name_fr: str = Field(default="", alias="cond-name-fr")
    icd10_id: str = Field(default="", alias="icd10-id")
    symptoms: dict[str, Any]
    antecedents: dict[str, Any] = Field(default_factory=dict)
    severity: int = Field(ge=1, le=5)


class Evidence(BaseModel):
    """A question the agent can ask, with the parent that gates it (None for a root)."""

    model_config = ConfigDict(frozen=True)

    code: str
    question: str
    question_fr: str = ""
    kind: EvidenceKind
    is_antecedent: bool
    parent: str | None = None
    default: Value = 0
    values: tuple[Value, ...] = ()
    value_text: Mapping[str, ValueText] = Field(default_factory=dict)

    @property
    def is_scale(self) -> bool:
        """A 0–10 scale (pain intensity, speed of onset …)."""
        return self.kind is EvidenceKind.CATEGORICAL and all(
            isinstance(v, int) for v in self.values
        )

    @property
    def non_default_values(self) -> tuple[Value, ...]:
        return tuple(v for v in self.values if v != self.default)

    def describe_value(self, value: Value) -> str:
        """Plain-English text of one value ('tonsil(R)', '7/10')."""
        if not isinstance(value, str):
            return f"{value}/10" if self.is_scale else str(value)
        meaning = self.value_text.get(value)
        return meaning.en if meaning else value

    def parse_value(self, token: str) -> Value | None:
        """Map a user or file token to one of this evidence's values, or None if it is not one."""
        token = token.strip()
        if self.is_scale:
            token = token.removesuffix("/10").strip()
        for value in self.values:
            if str(value) == token:
                return value
        lowered = token.lower()
        for value in self.values:
            if isinstance(value, str) and self.describe_value(value).lower() == lowered:
                return value
        return None


class Condition(BaseModel):
    """A pathology of the knowledge base with the evidences the release links to it."""

    model_config = ConfigDict(frozen=True)

    name: str
    name_fr: str = ""
    icd10: str = ""
    symptoms: frozenset[str]
    antecedents: frozenset[str]
    severity: int = Field(ge=1, le=5)

    @property
    def evidences(self) -> frozenset[str]:
        return self.symptoms | self.antecedents

    @property
    def is_urgent(self) -> bool:
        """Severity 1–2: conditions a clinician must not miss."""
        return self.severity <= 2


class KnowledgeBase(BaseModel):
    """The validated DDXPlus knowledge base, in a fixed order for vectorised reasoning."""

    model_config = ConfigDict(frozen=True)

    evidences: Mapping[str, Evidence]
    conditions: Mapping[str, Condition]
    quirks: tuple[str, ...] = ()

    @cached_property
    def evidence_codes(self) -> tuple[str, ...]:
        return tuple(self.evidences)

    @cached_property
    def condition_names(self) -> tuple[str, ...]:
        return tuple(self.conditions)

    @cached_property
    def evidence_index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.evidence_codes)}

    @cached_property
    def condition_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.condition_names)}

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        """Parent code → the evidences it gates."""
        result: dict[str, list[str]] = {}
        for ev in self.evidences.values():
            if ev.parent is not None:
                result.setdefault(ev.parent, []).append(ev.code)
        return {parent: tuple(kids) for parent, kids in result.items()}

    def evidence(self, code: str) -> Evidence:
        try:
            return self.evidences[code]
        except KeyError:
            raise KeyError(f"unknown evidence code {code!r}") from None

    def condition(self, name: str) -> Condition:
        try:
            return self.conditions[name]
        except KeyError:
            raise KeyError(f"unknown condition {name!r}") from None

    def fingerprint(self) -> str:
        """A short hash of the structure, stored with fitted models to refuse a mismatch."""
        import hashlib

        digest = hashlib.sha256()
        for code in self.evidence_codes:
            ev = self.evidences[code]
            digest.update(f"{code}|{ev.kind}|{ev.parent}|{ev.default}|{ev.values}\n".encode())
        for name in self.condition_names:
            cond = self.conditions[name]
            digest.update(f"{name}|{sorted(cond.symptoms)}|{sorted(cond.antecedents)}\n".encode())
        return digest.hexdigest()[:16]


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            payload = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text.") from None
    if not isinstance(payload, dict) or not payload:
        raise DataFormatError(f"{path} must hold a non-empty JSON object keyed by code or name.")
    return payload


def _validation_message(path: Path, key: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "entry"
    return f"{path}: entry {key!r} is malformed ({where}: {first['msg']})."


def _build_evidences(path: Path, raw: dict[str, Any], quirks: list[str]) -> dict[str, Evidence]:
    parsed: dict[str, RawEvidence] = {}
    for key, entry in raw.items():
        try:
            item = RawEvidence.model_validate(entry)
        except ValidationError as exc:
            raise DataFormatError(_validation_message(path, key, exc)) from None
        if item.name != key:
            raise DataFormatError(f"{path}: entry {key!r} has name {item.name!r}; they must match.")
        parsed[key] = item

    evidences: dict[str, Evidence] = {}
    for code, item in parsed.items():
        parent: str | None = item.code_question if item.code_question != code else None
        if parent is not None and parent not in parsed:
            quirks.append(
                f"{code} names parent question {parent}, which is not in the release; "
                f"{code} is asked as a root question."
            )
            parent = None
        elif parent is not None and parsed[parent].data_type is not EvidenceKind.BINARY:
            raise DataFormatError(
                f"{path}: {code} is gated by {parent}, which is not a yes/no question."
            )
        evidences[code] = Evidence(
            code=code,
            question=item.question_en,
            question_fr=item.question_fr,
            kind=item.data_type,
            is_antecedent=item.is_antecedent,
            parent=parent,
            default=item.default_value,
            values=tuple(item.possible_values),
            value_text=dict(item.value_meaning),
        )
    return evidences


def _build_conditions(
    path: Path, raw: dict[str, Any], evidences: Mapping[str, Evidence]
) -> dict[str, Condition]:
    conditions: dict[str, Condition] = {}
    for key, entry in raw.items():
        try:
            item = RawCondition.model_validate(entry)
        except ValidationError as exc:
            raise DataFormatError(_validation_message(path, key, exc)) from None
        unknown = sorted((set(item.symptoms) | set(item.antecedents)) - set(evidences))
        if unknown:
            raise DataFormatError(
                f"{path}: condition {key!r} refers to evidences that are not in the evidence "
                f"file: {', '.join(unknown)}."
            )
        if not item.symptoms and not item.antecedents:
            raise DataFormatError(f"{path}: condition {key!r} has no symptoms or antecedents.")
        conditions[key] = Condition(
            name=key,
            name_fr=item.cond_name_fr,
            icd10=item.icd10_id,
            symptoms=frozenset(item.symptoms),
            antecedents=frozenset(item.antecedents),
            severity=item.severity,
        )
    return conditions


def load_knowledge_base(evidences_path: Path, conditions_path: Path) -> KnowledgeBase:
    """Load and validate the two release files; any malformed entry is a DataFormatError."""
    quirks: list[str] = []
    evidences = _build_evidences(evidences_path, _read_json_object(evidences_path), quirks)
    conditions = _build_conditions(conditions_path, _read_json_object(conditions_path), evidences)
    return KnowledgeBase(evidences=evidences, conditions=conditions, quirks=tuple(quirks))


def load_from_data_dir(data_dir: Path) -> KnowledgeBase:
    """Load the knowledge base from ``<data_dir>/ddxplus/``, naming the fetch command if absent."""
    from data.locations import DDXPLUS, DDXPLUS_CONDITIONS, DDXPLUS_EVIDENCES, require_file

    return load_knowledge_base(
        require_file(data_dir, DDXPLUS, DDXPLUS_EVIDENCES),
        require_file(data_dir, DDXPLUS, DDXPLUS_CONDITIONS),
    )


def askable_roots(kb: KnowledgeBase) -> Iterable[str]:
    """Evidences with no gating parent: what can be asked before anything is known."""
    return (code for code, ev in kb.evidences.items() if ev.parent is None)
