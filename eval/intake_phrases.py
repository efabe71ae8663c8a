"""Precision and recall of the free-text intake on lay phrases with their expected findings.

The phrase files (``tests/fixtures/intake/*.jsonl``, format in the README there) list, per
phrase, the findings that must be read (``expect``) and those that may be (``allow``). The
first reading the intake offers is scored. Each finding it holds (a multi-choice evidence with
all its values counts as one) is right when it matches an ``expect`` entry (every value does),
neutral when it matches only ``allow`` entries, and wrong otherwise; an ``expect`` entry is
found when some finding matches it. Precision = right / (right + wrong); recall = found /
expected; a phrase is exact when everything expected is found and nothing is wrong.
``in_readings`` counts the phrases whose exact reading is among all the readings offered (the
person can pick it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import DataFormatError
from agent.intake.models import IntakeReading, ReadFinding, Reading
from retrieval.ddxplus_kb import KnowledgeBase, Value


class Phrase(BaseModel):
    """One line of a phrase file."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    expect: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)


class Expected(BaseModel):
    """An ``expect`` / ``allow`` entry: evidences (any of them), present or not, or values."""

    model_config = ConfigDict(frozen=True)

    token: str
    codes: frozenset[str]
    present: bool = True
    values: frozenset[Value] | None = None

    def matches(self, found: ReadFinding) -> bool:
        if found.code not in self.codes:
            return False
        if self.values is None:
            return isinstance(found.value, bool) and found.value is self.present
        return found.value in self.values


class PhraseScore(BaseModel):
    text: str
    right: int
    wrong: list[str]
    missing: list[str]
    neutral: int
    in_readings: bool


class IntakeScores(BaseModel):
    """The figures of one phrase file."""

    phrases: int
    precision: float
    recall: float
    exact: float
    in_readings: float
    details: list[PhraseScore]


def load_phrases(path: Path) -> list[Phrase]:
    """The phrases of a JSONL file; a malformed line is a DataFormatError naming it."""
    phrases: list[Phrase] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            phrases.append(Phrase.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise DataFormatError(f"{path}:{number}: not a phrase line ({exc}).") from None
    if not phrases:
        raise DataFormatError(f"{path} holds no phrase.")
    return phrases


def parse_expected(kb: KnowledgeBase, token: str) -> Expected:
    """``E_91``, ``!E_91``, ``E_64|E_66`` or ``E_55=forehead|V_62`` against the knowledge base."""
    present = not token.startswith("!")
    body = token.lstrip("!")
    code_part, _, value_part = body.partition("=")
    codes = frozenset(code_part.split("|"))
    for code in codes:
        if code not in kb.evidences:
            raise DataFormatError(f"{token!r}: {code} is not an evidence of the knowledge base.")
    if not value_part:
        return Expected(token=token, codes=codes, present=present)
    ev = kb.evidence(next(iter(codes)))
    values: set[Value] = set()
    for text in value_part.split("|"):
        value = ev.parse_value(text)
        if value is None:
            raise DataFormatError(f"{token!r}: {text!r} is not a value of {ev.code}.")
        values.add(value)
    return Expected(token=token, codes=codes, values=frozenset(values))


def score_phrase(kb: KnowledgeBase, phrase: Phrase, read: IntakeReading) -> PhraseScore:
    """How the first reading (and all the readings) of one phrase compare with its findings."""
    expect = [parse_expected(kb, t) for t in phrase.expect]
    allow = [parse_expected(kb, t) for t in phrase.allow]
    first = read.best.findings if read.best else ()
    right, wrong, neutral = _classify(first, expect, allow)
    missing = [e.token for e in expect if not any(e.matches(f) for f in first)]
    exact_somewhere = any(_is_exact(r, expect, allow) for r in read.readings) or (
        not expect and not read.readings
    )
    return PhraseScore(
        text=phrase.text,
        right=right,
        wrong=wrong,
        missing=missing,
        neutral=neutral,
        in_readings=exact_somewhere,
    )


def _classify(
    findings: Sequence[ReadFinding], expect: list[Expected], allow: list[Expected]
) -> tuple[int, list[str], int]:
    right, neutral, wrong = 0, 0, []
    for group in _by_evidence(findings):
        if all(any(e.matches(f) for e in expect) for f in group):
            right += 1
        elif all(any(e.matches(f) for e in [*expect, *allow]) for f in group):
            neutral += 1
        else:
            wrong.append(f"{group[0].code}=" + "|".join(str(f.value) for f in group))
    return right, wrong, neutral


def _by_evidence(findings: Sequence[ReadFinding]) -> list[list[ReadFinding]]:
    """Yes/no findings one by one; the values of one evidence together."""
    groups: dict[str, list[ReadFinding]] = {}
    for i, found in enumerate(findings):
        key = f"#{i}" if isinstance(found.value, bool) else found.code
        groups.setdefault(key, []).append(found)
    return list(groups.values())


def _is_exact(reading: Reading, expect: list[Expected], allow: list[Expected]) -> bool:
    _, wrong, _ = _classify(reading.findings, expect, allow)
    return not wrong and all(any(e.matches(f) for f in reading.findings) for e in expect)


def summarise(kb: KnowledgeBase, phrases: list[Phrase], reads: list[IntakeReading]) -> IntakeScores:
    """The figures over a phrase file (``reads`` in the order of ``phrases``)."""
    details = [score_phrase(kb, p, r) for p, r in zip(phrases, reads, strict=True)]
    right = sum(d.right for d in details)
    wrong = sum(len(d.wrong) for d in details)
    expected = sum(len(p.expect) for p in phrases)
    found = expected - sum(len(d.missing) for d in details)
    return IntakeScores(
        phrases=len(phrases),
        precision=round(right / (right + wrong), 3) if right + wrong else 1.0,
        recall=round(found / expected, 3) if expected else 1.0,
        exact=round(sum(1 for d in details if not d.wrong and not d.missing) / len(details), 3),
        in_readings=round(sum(1 for d in details if d.in_readings) / len(details), 3),
        details=details,
    )
