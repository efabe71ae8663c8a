"""The DrRank query format (github YangLab-BUPT/DrRank, ``DrRank_V2.jsonl``), streamed.

One query per JSONL line:

============  ==========  ==================================================================
field         type        meaning (example)
============  ==========  ==================================================================
query         str         the patient's need (``"擅长手术治疗甲状腺癌的医生"``)
pos           list[str]   candidate doctor profiles as text (names masked in the release)
pos_scores    list[int]   graded relevance of each ``pos`` profile, 0 (none) … 4 (best)
neg           list[str]   optional: more candidates, usually irrelevant
neg_scores    list[int]   optional: their grades (0 when absent)
id            str         optional: a query id (default ``q<line number>``)
pos_ids       list[str]   optional (our synthetic set): directory ids of the ``pos`` profiles
neg_ids       list[str]   optional: directory ids of the ``neg`` profiles
============  ==========  ==================================================================

The release is Chinese; rankers match it with the CJK-aware tokenizer and a multilingual
embedding model. A malformed line is reported with its line number and skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.errors import DataFormatError, MissingDataError
from retrieval.corpus import jsonl_rows
from retrieval.doctors.profiles import DoctorProfile, validated_rows


class DrRankQuery(BaseModel):
    """One DrRank line: a need and its graded candidates."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = ""
    query: str = Field(min_length=1)
    pos: list[str] = Field(min_length=1)
    pos_scores: list[int]
    neg: list[str] = Field(default_factory=list)
    neg_scores: list[int] = Field(default_factory=list)
    pos_ids: list[str] = Field(default_factory=list)
    neg_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DrRankQuery:
        if len(self.pos_scores) != len(self.pos):
            raise ValueError(f"{len(self.pos)} pos profiles but {len(self.pos_scores)} pos_scores")
        if self.neg_scores and len(self.neg_scores) != len(self.neg):
            raise ValueError(f"{len(self.neg)} neg profiles but {len(self.neg_scores)} neg_scores")
        for name in ("pos_ids", "neg_ids"):
            ids = getattr(self, name)
            if ids and len(ids) != len(getattr(self, name.removesuffix("_ids"))):
                raise ValueError(f"{name} does not match its profiles in length")
        if any(not 0 <= s <= 4 for s in [*self.pos_scores, *self.neg_scores]):
            raise ValueError("scores must be grades from 0 to 4")
        if any(not text.strip() for text in [*self.pos, *self.neg]):
            raise ValueError("a candidate profile is blank")
        return self

    def candidates(self) -> list[DoctorProfile]:
        """Every candidate as a profile (ids from ``pos_ids``/``neg_ids``, else generated)."""
        pos_ids = self.pos_ids or [f"{self.id}:pos{i}" for i in range(len(self.pos))]
        neg_ids = self.neg_ids or [f"{self.id}:neg{i}" for i in range(len(self.neg))]
        return [
            DoctorProfile.from_text(pid, text)
            for pid, text in [
                *zip(pos_ids, self.pos, strict=True),
                *zip(neg_ids, self.neg, strict=True),
            ]
        ]

    def relevance(self) -> dict[str, int]:
        """Candidate id → grade (0–4): the qrels of this query."""
        grades = [*self.pos_scores, *(self.neg_scores or [0] * len(self.neg))]
        return {p.id: grade for p, grade in zip(self.candidates(), grades, strict=True)}


@dataclass
class DrRankSet:
    """The loaded queries and the lines that were skipped and why."""

    path: Path
    queries: list[DrRankQuery]
    problems: list[str] = field(default_factory=list)

    def qrels(self) -> dict[str, dict[str, int]]:
        return {q.id: q.relevance() for q in self.queries}


def iter_queries(path: Path, problems: list[str]) -> Iterator[DrRankQuery]:
    """Stream the queries of a DrRank-format JSONL file; bad lines go to ``problems``."""
    if not path.is_file():
        raise MissingDataError(f"{path} not found. It should be a DrRank-format JSONL file.")
    yield from validated_rows(path, _with_ids(jsonl_rows(path)), DrRankQuery, problems)


def _with_ids(
    rows: Iterator[tuple[int, dict[str, Any] | str]],
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Rows with an ``id`` (``q<line number>`` unless the line has one)."""
    for number, row in rows:
        if isinstance(row, dict):
            row["id"] = str(row.get("id", f"q{number}"))
        yield number, row


def load_drrank(path: Path, limit: int | None = None) -> DrRankSet:
    """Load a DrRank-format file (the first ``limit`` usable queries when given)."""
    problems: list[str] = []
    queries: list[DrRankQuery] = []
    for query in iter_queries(path, problems):
        queries.append(query)
        if limit is not None and len(queries) >= limit:
            break
    if not queries:
        detail = f" ({problems[0]})" if problems else ""
        raise DataFormatError(f"{path} has no usable DrRank query{detail}.")
    return DrRankSet(path, queries, problems)
