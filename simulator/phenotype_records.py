"""RareBench patient records: JSONL, one patient per line, read and written safely.

==============  ===========  ================================================================
field           type         meaning (example)
==============  ===========  ================================================================
Phenotype       list[str]    HPO ids observed, in the record's (curators') order
                             (``["HP:0001166"]``)
Excluded        list[str]    optional: HPO ids recorded as absent (phenopacket "excluded"
                             features) — the only real "no" a record holds
RareDisease     list[str]    the diagnosis under one or more ids (``["OMIM:154700",
                             "ORPHA:558"]``; RareBench also uses ``CCRD:n``)
Department      str          clinical department (may be empty)
Subset          str          optional: the sub-collection a case belongs to (may be empty)
id              str          optional case id; default ``<file name>:<line number>``
==============  ===========  ================================================================

Other fields (a phenopacket's ``DiseaseName``, ``Source``) are ignored. A line that is not
a JSON object with a non-empty ``Phenotype`` and ``RareDisease`` list is reported with its
line number and skipped; a file with no usable line is an error.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import DataFormatError, DdxError


class PhenotypeRecord(BaseModel):
    """One patient: phenotype terms (in the record's order) and the diagnosis ids."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    case_id: str = Field(alias="id", description="Stable id of the case.")
    phenotype: list[str] = Field(alias="Phenotype", min_length=1)
    diseases: list[str] = Field(alias="RareDisease", min_length=1)
    excluded: list[str] = Field(default_factory=list, alias="Excluded")
    department: str = Field(default="", alias="Department")
    subset: str = Field(default="", alias="Subset")

    @property
    def group(self) -> str:
        """The subset the case is reported under: ``Subset``, else ``Department`` (or '')."""
        return self.subset or self.department


OPENING_SHARE = 0.2
"""MEDDxAgent's RareBench setting: the consultation starts from the first 20 % of the terms."""


def opening_terms(
    terms: Sequence[str], share: float = OPENING_SHARE, shuffle_key: str | None = None
) -> list[str]:
    """What the patient says first: the first ``share`` of the terms (rounded down), at least
    one. ``shuffle_key`` (e.g. ``"<seed>:<case id>"``): shuffle the terms first with
    ``random.Random(shuffle_key)``, so that a curator's order (often the most telling feature
    first) does not leak into the opening; None keeps the record's order."""
    ordered = list(terms)
    if shuffle_key is not None:
        random.Random(shuffle_key).shuffle(ordered)
    return ordered[: max(1, int(len(ordered) * share))]


@dataclass
class PhenotypeLoad:
    """The usable records of a file and the lines skipped, each with its reason."""

    records: list[PhenotypeRecord] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def problems(self, limit: int = 20) -> list[str]:
        shown = [f"line {line}: {reason}" for line, reason in self.skipped[:limit]]
        if len(self.skipped) > limit:
            shown.append(f"… and {len(self.skipped) - limit} more")
        return shown


def load_phenotype_records(path: Path) -> PhenotypeLoad:
    """Read a RareBench-format JSONL file; bad lines are reported and skipped."""
    loaded = PhenotypeLoad()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"Cannot read {path}: {exc}.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            raw.setdefault("id", f"{path.name}:{number}")
            raw["id"] = str(raw["id"])
            loaded.records.append(PhenotypeRecord.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            loaded.skipped.append((number, f"{where}: {first['msg']}"))
        except ValueError as exc:
            loaded.skipped.append((number, f"not valid JSON ({exc})"))
    if not loaded.records:
        raise DataFormatError(
            f"{path} has no usable RareBench record (JSON lines with 'Phenotype' and "
            "'RareDisease' lists)."
        )
    return loaded


def write_phenotype_records(path: Path, records: Iterable[PhenotypeRecord]) -> int:
    """Write records in the RareBench format (with ``id``); returns how many were written."""
    count = 0
    try:
        with path.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record.model_dump(by_alias=True)) + "\n")
                count += 1
    except OSError as exc:
        raise DdxError(f"Cannot write {path}: {exc.strerror}.") from None
    return count
