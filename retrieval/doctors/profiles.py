"""Doctor profiles and the directory file they come from (JSONL or CSV, streamed).

A directory file holds one profile per JSONL line or CSV row:

=============  ==========  ===============================================================
field          type        meaning (example)
=============  ==========  ===============================================================
id             str         unique in the directory, required (``"dr-0042"``)
name           str         display name (``"Dr A. Rivera"``)
title          str         position (``"Chief physician, professor"``)
department     str         (``"Pulmonology"``)
hospital       str         (``"North Valley University Hospital"``)
region         str         city or region (``"Lyon"``)
specialties    list[str]   conditions or fields (``["pneumonia", "bronchiectasis"]``)
expertise      str         free text: what the doctor is skilled at
procedures     list[str]   treatments performed (``["bronchoscopy"]``)
publications   list[str]   titles
awards         list[str]
introduction   str         free-text biography
=============  ==========  ===============================================================

Everything but ``id`` is optional, but a profile needs some text. In CSV, list fields hold
items separated by ``;`` or ``|``. A bad row (not JSON, no id, no text, a duplicate id) is
reported with its line number and skipped; the rest of the file still loads.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import DataFormatError, MissingDataError
from retrieval.corpus import jsonl_rows

LIST_FIELDS = ("specialties", "procedures", "publications", "awards")
TEXT_FIELDS = ("title", "department", "hospital", "region", "expertise", "introduction")
_LIST_SEPARATOR = re.compile(r"\s*[;|]\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")
MAX_PROBLEMS_SHOWN = 20


class DoctorProfile(BaseModel):
    """One doctor, as the directory describes them (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    name: str = ""
    title: str = ""
    department: str = ""
    hospital: str = ""
    region: str = ""
    specialties: tuple[str, ...] = ()
    expertise: str = ""
    procedures: tuple[str, ...] = ()
    publications: tuple[str, ...] = ()
    awards: tuple[str, ...] = ()
    introduction: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> str:
        text = str(value).strip() if value is not None else ""
        if not text:
            raise ValueError("id is blank")
        return text

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        items = _LIST_SEPARATOR.split(value) if isinstance(value, str) else list(value)
        return tuple(str(item).strip() for item in items if str(item).strip())

    @field_validator(*TEXT_FIELDS, "name", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> str:
        return "" if value is None else str(value).strip()

    @classmethod
    def from_text(cls, profile_id: str, text: str) -> DoctorProfile:
        """A profile known only as free text (the DrRank release)."""
        return cls(id=profile_id, introduction=text)

    def sections(self) -> list[tuple[str, str]]:
        """The profile cut into short, labelled pieces: what criteria are matched against and
        what a rationale quotes. Long free text is cut into sentences."""
        pieces: list[tuple[str, str]] = []
        for label in ("title", "department", "hospital", "region"):
            value = getattr(self, label)
            if value:
                pieces.append((label, value))
        for label in LIST_FIELDS:
            pieces.extend((label, item) for item in getattr(self, label))
        for label in ("expertise", "introduction"):
            pieces.extend((label, sentence) for sentence in split_sentences(getattr(self, label)))
        return pieces

    def text(self) -> str:
        """The whole profile as one text, for lexical and dense matching and for LLM prompts."""
        lines = [f"{label}: {value}" for label, value in _labelled(self) if value]
        return "\n".join(lines)

    def headline(self) -> str:
        """One line a person recognises the doctor by."""
        parts = [self.name or self.id, self.title, self.department, self.hospital, self.region]
        return ", ".join(p for p in parts if p)

    def has_text(self) -> bool:
        return any(value for _, value in _labelled(self))


def _labelled(profile: DoctorProfile) -> Iterator[tuple[str, str]]:
    for label in ("title", "department", "hospital", "region"):
        yield label, getattr(profile, label)
    for label in LIST_FIELDS:
        yield label, "; ".join(getattr(profile, label))
    yield "expertise", profile.expertise
    yield "introduction", profile.introduction


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (Latin and CJK punctuation, line breaks), blanks dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


@dataclass
class Directory:
    """The loaded profiles, the rows that were skipped and why, and the file's fingerprint."""

    path: Path
    profiles: list[DoctorProfile]
    problems: list[str] = field(default_factory=list)
    fingerprint: str = ""

    def by_id(self) -> dict[str, DoctorProfile]:
        return {p.id: p for p in self.profiles}

    def summary(self) -> str:
        skipped = f", {len(self.problems)} bad rows skipped" if self.problems else ""
        return f"{len(self.profiles)} doctor profiles from {self.path.name}{skipped}"

    def problems_shown(self) -> list[str]:
        """At most MAX_PROBLEMS_SHOWN problems, then a count of the rest."""
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        rest = len(self.problems) - len(shown)
        return shown + ([f"... and {rest} more bad rows"] if rest > 0 else [])


def iter_profiles(path: Path, problems: list[str]) -> Iterator[DoctorProfile]:
    """Stream the profiles of a ``.jsonl`` or ``.csv`` directory file, one row at a time.

    Bad rows are appended to ``problems`` (with their line number) and skipped; duplicate ids
    keep the first row.
    """
    if not path.is_file():
        raise MissingDataError(f"{path} not found. It should be a doctor directory (.jsonl/.csv).")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise DataFormatError(f"{path}: a doctor directory must be a .jsonl or .csv file.")
    rows = jsonl_rows(path) if suffix == ".jsonl" else _csv_rows(path)
    yield from validated_rows(path, rows, DoctorProfile, problems, _textless)


def _textless(profile: DoctorProfile) -> str | None:
    return None if profile.has_text() else f"profile {profile.id!r} has no text"


class _HasId(Protocol):
    id: str


RowT = TypeVar("RowT", bound=BaseModel)


def validated_rows(
    path: Path,
    rows: Iterable[tuple[int, dict[str, Any] | str]],
    model: type[RowT],
    problems: list[str],
    check: Callable[[RowT], str | None] | None = None,
) -> Iterator[RowT]:
    """Validate streamed rows as ``model``: a row that is malformed, fails ``check`` (which
    returns what is wrong, or None) or repeats an earlier ``id`` is reported in ``problems``
    with its line number and skipped."""
    seen: set[str] = set()
    try:
        for line, row in rows:
            if isinstance(row, str):
                problems.append(f"{path.name} line {line}: {row}")
                continue
            try:
                item = model.model_validate(row)
            except ValidationError as exc:
                problems.append(row_problem(path.name, line, exc))
                continue
            problem = check(item) if check is not None else None
            identifier = str(cast(_HasId, item).id)
            if problem is None and identifier in seen:
                problem = f"duplicate id {identifier!r}"
            if problem is not None:
                problems.append(f"{path.name} line {line}: {problem}")
                continue
            seen.add(identifier)
            yield item
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text.") from None


def row_problem(file_name: str, line: int, exc: ValidationError) -> str:
    """One line saying where a row is wrong and why (the first validation error)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "row"
    return f"{file_name} line {line}: {where}: {first['msg']}"


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise DataFormatError(f"{path}: the CSV header must name an 'id' column.")
        for row in reader:
            if None in row:
                yield reader.line_num, "more cells than header columns"
                continue
            yield reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}


def file_fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes (read in blocks): a persisted index refuses another file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def load_directory(path: Path) -> Directory:
    """Load a whole directory file; a file with no usable profile is a DataFormatError."""
    problems: list[str] = []
    profiles = list(iter_profiles(path, problems))
    if not profiles:
        detail = f" ({problems[0]})" if problems else ""
        raise DataFormatError(f"{path} has no usable doctor profile{detail}.")
    return Directory(path, profiles, problems, file_fingerprint(path))
