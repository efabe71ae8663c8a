"""DDXPlus patient records: the official patient CSV, parsed safely and validated.

Columns of the official release (``release_{train,validate,test}_patients``):

======================  =========================================================================
column                  meaning (example)
======================  =========================================================================
AGE                     age in years (``31``)
SEX                     ``M`` or ``F``
PATHOLOGY               ground-truth condition, English name (``Chronic rhinosinusitis``)
EVIDENCES               Python-style list: ``E_n`` for a binary evidence, ``E_n_@_V`` for a
                        categorical or multi-choice value (``['E_53', 'E_56_@_4', 'E_55_@_V_89']``)
INITIAL_EVIDENCE        the chief complaint, a binary evidence code (``E_103``)
DIFFERENTIAL_DIAGNOSIS  list of ``[condition, probability]``: the dataset's reference differential
======================  =========================================================================

Lists are parsed with ``ast.literal_eval`` (literals only, never ``eval``). A row that cannot be
used (unknown evidence or condition, unparseable list, bad age or sex) is reported with its line
number and skipped.
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import DataFormatError
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase, Value
from retrieval.findings import Findings, normalize

REQUIRED_COLUMNS = ("AGE", "SEX", "PATHOLOGY", "EVIDENCES", "INITIAL_EVIDENCE")
VALUE_SEPARATOR = "_@_"


class PatientRecord(BaseModel):
    """One synthetic patient: demographics, ground truth and every evidence they have."""

    model_config = ConfigDict(frozen=True)

    case_id: str = Field(description="Stable id: '<file name>:<line number>'.")
    age: int = Field(ge=0, le=130)
    sex: Literal["M", "F"]
    pathology: str
    initial_evidence: str
    evidences: Findings = Field(description="Present evidences only, as finding values.")
    differential: list[tuple[str, float]] = Field(default_factory=list)


@dataclass
class LoadReport:
    """What a load kept and what it skipped, with a reason per skipped line."""

    records: list[PatientRecord] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.records)} patients loaded, {len(self.skipped)} rows skipped"

    def problems(self, limit: int = 20) -> list[str]:
        """One line per skipped row (the first ``limit``), then how many more were skipped."""
        lines = [f"line {line} skipped: {reason}" for line, reason in self.skipped[:limit]]
        if len(self.skipped) > limit:
            lines.append(f"… and {len(self.skipped) - limit} more rows skipped")
        return lines


class RowError(ValueError):
    """A row that cannot be used; the message says why."""


def _literal_list(text: str, column: str) -> list[object]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise RowError(f"{column} is not a list literal") from None
    if not isinstance(value, list):
        raise RowError(f"{column} is not a list")
    return value


def parse_evidences(kb: KnowledgeBase, items: list[object]) -> Findings:
    """Turn ``['E_53', 'E_56_@_4', 'E_55_@_V_89', ...]`` into findings keyed by evidence code."""
    binary: set[str] = set()
    values: dict[str, list[Value]] = {}
    for item in items:
        if not isinstance(item, str):
            raise RowError(f"evidence {item!r} is not a string")
        code, _, raw_value = item.partition(VALUE_SEPARATOR)
        ev = kb.evidences.get(code)
        if ev is None:
            raise RowError(f"unknown evidence code {code!r}")
        if ev.kind is EvidenceKind.BINARY:
            if raw_value:
                raise RowError(f"binary evidence {code} carries a value ({item!r})")
            binary.add(code)
            continue
        value = ev.parse_value(raw_value) if raw_value else None
        if value is None:
            raise RowError(f"{item!r}: {raw_value!r} is not a value of {code}")
        values.setdefault(code, []).append(value)
    findings: Findings = dict.fromkeys(sorted(binary), True)
    for code, picked in values.items():
        ev = kb.evidences[code]
        if ev.kind is EvidenceKind.CATEGORICAL:
            if len(set(picked)) != 1:
                raise RowError(f"categorical evidence {code} has several values {picked}")
            findings[code] = picked[0]
        else:
            findings[code] = normalize(ev, picked)
    return findings


def _parse_differential(kb: KnowledgeBase, text: str) -> list[tuple[str, float]]:
    if not text.strip():
        return []
    result: list[tuple[str, float]] = []
    for pair in _literal_list(text, "DIFFERENTIAL_DIAGNOSIS"):
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise RowError("DIFFERENTIAL_DIAGNOSIS entries must be [condition, probability]")
        name, prob = pair
        if name not in kb.conditions:
            raise RowError(f"unknown condition {name!r} in DIFFERENTIAL_DIAGNOSIS")
        if not isinstance(prob, int | float) or isinstance(prob, bool):
            raise RowError(f"probability of {name!r} is not a number")
        result.append((str(name), float(prob)))
    return result


def parse_row(kb: KnowledgeBase, row: dict[str, str], case_id: str) -> PatientRecord:
    """Validate one CSV row against the knowledge base; RowError says what is wrong."""
    empty = [c for c in REQUIRED_COLUMNS if not (row.get(c) or "").strip()]
    if empty:
        raise RowError(f"empty or missing cell(s): {', '.join(empty)}")
    try:
        age = int(float(row["AGE"]))
    except (ValueError, OverflowError):
        raise RowError(f"AGE {row['AGE']!r} is not a number") from None
    if not 0 <= age <= 130:
        raise RowError(f"AGE {age} is out of range")
    sex = row["SEX"].strip().upper()
    if sex not in ("M", "F"):
        raise RowError(f"SEX {row['SEX']!r} is not M or F")
    pathology = row["PATHOLOGY"].strip()
    if pathology not in kb.conditions:
        raise RowError(f"unknown condition {pathology!r}")
    evidences = parse_evidences(kb, _literal_list(row["EVIDENCES"], "EVIDENCES"))
    initial = row["INITIAL_EVIDENCE"].strip()
    if initial not in kb.evidences:
        raise RowError(f"unknown initial evidence {initial!r}")
    if initial not in evidences:
        raise RowError(f"initial evidence {initial} is not among the patient's evidences")
    return PatientRecord(
        case_id=case_id,
        age=age,
        sex=sex,
        pathology=pathology,
        initial_evidence=initial,
        evidences=evidences,
        differential=_parse_differential(kb, row.get("DIFFERENTIAL_DIAGNOSIS") or ""),
    )


def iter_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; fails early, naming the missing columns, on a wrong file."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataFormatError(
                    f"{path} is not a DDXPlus patient file: missing column(s) "
                    f"{', '.join(missing)} (expected {', '.join(REQUIRED_COLUMNS)})."
                )
            for row in reader:
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text.") from None


def load_patients(kb: KnowledgeBase, path: Path) -> LoadReport:
    """Load every usable patient; bad rows are listed with their line number and reason."""
    report = LoadReport()
    for line, row in iter_rows(path):
        try:
            report.records.append(parse_row(kb, row, f"{path.name}:{line}"))
        except RowError as exc:
            report.skipped.append((line, str(exc)))
    return report
