"""The consultation's state: what goes in (intake), what the graph keeps, what comes out.

The internal state holds plain JSON types only (dicts, lists, numbers, strings) so that every
checkpoint serialises quickly and reads back identically after a restart. Pydantic models guard
the boundaries: :class:`CaseIntake` on the way in, ``agent.report.FinalReport`` on the way out.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from agent.catalogue import FindingCatalogue
from agent.errors import DdxError
from retrieval.findings import FindingValue, InvalidAnswerError


class CaseIntake(BaseModel):
    """How a consultation starts: demographics, what the patient says first, and the limits."""

    model_config = ConfigDict(extra="forbid")

    age: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["M", "F"] | None = None
    findings: dict[str, FindingValue] = Field(
        default_factory=dict,
        description="Known findings at the start, e.g. the chief complaint {'E_91': True}.",
    )
    regions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Multi-choice evidences the patient named only as a region, e.g. "
        "{'E_55': [the chest's places]} for 'my chest hurts': at least one of these values.",
    )
    max_questions: int = Field(default=10, ge=0, le=500)
    confidence_threshold: float = Field(default=0.99, gt=0.0, le=1.0)
    refinement_rounds: int = Field(
        default=1,
        ge=1,
        le=10,
        description="MEDDxAgent's refinement rounds: the question budget is split over them and "
        "the differential refined at the end of each, the previous round's fed back.",
    )


class InputState(TypedDict):
    intake: dict[str, Any]


class OutputState(TypedDict):
    report: dict[str, Any]
    trace: list[dict[str, Any]]


class ConsultState(TypedDict, total=False):
    intake: dict[str, Any]
    age: int | None
    sex: str | None
    max_questions: int
    confidence_threshold: float
    findings: dict[str, FindingValue]
    regions: dict[str, list[str]]
    """Evidences known only as "at least one of these values", until asked (CaseIntake)."""
    asked: list[str]
    pending: dict[str, Any] | None
    needs_diagnosis: bool
    """True when the findings changed since the last differential."""
    differential: list[list[Any]]
    passages: list[dict[str, Any]]
    retrieved_for: list[str]
    rounds: int
    """Refinement rounds of the consultation (CaseIntake.refinement_rounds)."""
    round: int
    """The round under way, from 1."""
    previous: list[list[Any]]
    """The differential at the end of the previous round, fed back to the diagnoser."""
    summary: str
    """The working profile rewritten at a round's end (free text); "" until then."""
    summary_covers: int
    """How many of the asked questions the summary covers (later answers follow it)."""
    stop_reason: str
    stop_requested: bool
    """The person chose to finish now (resume value ``{"stop": True}``)."""
    report: dict[str, Any]
    trace: Annotated[list[dict[str, Any]], operator.add]


def validate_regions(catalogue: FindingCatalogue, intake: CaseIntake) -> dict[str, list[str]]:
    """The intake's regions, normalised like a multi-choice answer; a region for an evidence
    the intake also states exactly is dropped (the exact answer says more)."""
    regions: dict[str, list[str]] = {}
    for code, values in intake.regions.items():
        if code in intake.findings:
            continue
        if not catalogue.knows(code):
            raise DdxError(f"Unknown evidence code {code!r} in the intake's regions.")
        try:
            value = catalogue.normalize(code, list(values))
        except InvalidAnswerError as exc:
            raise DdxError(f"Intake region {code}: {exc}") from None
        if not isinstance(value, list):
            raise DdxError(f"Intake region {code}: only a several-choice question has regions.")
        regions[code] = [str(v) for v in value]
    return regions


def validate_intake(catalogue: FindingCatalogue, intake: CaseIntake) -> dict[str, FindingValue]:
    """Check the intake's findings against the knowledge base; returns them normalised."""
    findings: dict[str, FindingValue] = {}
    for code, value in intake.findings.items():
        if not catalogue.knows(code):
            raise DdxError(f"Unknown evidence code {code!r} in the intake.")
        try:
            findings[code] = catalogue.normalize(code, value)
        except InvalidAnswerError as exc:
            raise DdxError(f"Intake finding {code}: {exc}") from None
    return findings
