"""The consultation's state: what goes in (intake), what the graph keeps, what comes out.

Every value of the state is typed: pydantic models for the intake, the pending question, the
differential, the passages, the trace entries (``agent.trace``) and the final report, plain
JSON types (findings, codes) elsewhere. The state itself is a ``TypedDict``, not a model:
LangGraph would rebuild and validate a model state on every step of every consultation, while
the models inside it are validated once, where they are made, and again only when a checkpoint
is read back (:func:`consultation_checkpointer` lets the checkpointer restore them as their
own classes).
"""

from __future__ import annotations

import copy
import operator
from typing import Annotated, Any, Literal, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, ConfigDict, Field

from agent.catalogue import FindingCatalogue
from agent.errors import DdxError
from agent.report import FinalReport
from agent.roles import Passage, Question
from agent.trace import TRACE_ENTRY_TYPES, Pairs, Regions, TraceEntry
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


class PendingQuestion(Question):
    """The question the consultation waits on: the interrupt's value, and what the session
    hands a front end (``error``: the last answer did not fit, asked again)."""

    number: int = Field(ge=1, description="1-based: the how-many-th question this is.")
    budget: int = Field(ge=0, description="The consultation's question budget.")
    leading: Pairs = Field(default_factory=list, description="The top 3 when it was asked.")
    purpose: Literal["diagnosis", "differential list"] = "diagnosis"
    error: str | None = None


class Ranking(BaseModel):
    """The current differential: every condition the diagnoser ranks, most probable first."""

    model_config = ConfigDict(frozen=True)

    pairs: Pairs = Field(default_factory=list, description="(condition, probability) pairs.")

    def top(self, n: int) -> Pairs:
        return self.pairs[:n]


class InputState(TypedDict):
    intake: CaseIntake


class OutputState(TypedDict, total=False):
    """What a call of the graph returns: the trace so far, the current differential, and the
    report once the consultation is over."""

    differential: Ranking
    trace: list[TraceEntry]
    report: FinalReport


class ConsultState(TypedDict, total=False):
    intake: CaseIntake
    age: int | None
    sex: Literal["M", "F"] | None
    max_questions: int
    confidence_threshold: float
    findings: dict[str, FindingValue]
    regions: Regions
    """Evidences known only as "at least one of these values", until asked (CaseIntake)."""
    asked: list[str]
    pending: PendingQuestion | None
    needs_diagnosis: bool
    """True when the findings changed since the last differential."""
    differential: Ranking
    passages: list[Passage]
    retrieved_for: list[str]
    rounds: int
    """Refinement rounds of the consultation (CaseIntake.refinement_rounds)."""
    round: int
    """The round under way, from 1."""
    previous: Pairs
    """The differential at the end of the previous round, fed back to the diagnoser."""
    summary: str
    """The working profile rewritten at a round's end (free text); "" until then."""
    summary_covers: int
    """How many of the asked questions the summary covers (later answers follow it)."""
    stop_reason: str
    stop_requested: bool
    """The person chose to finish now (resume value ``{"stop": True}``)."""
    report: FinalReport
    trace: Annotated[list[TraceEntry], operator.add]


CHECKPOINTED_MODELS: tuple[type[BaseModel], ...] = (
    CaseIntake,
    PendingQuestion,
    Ranking,
    Passage,
    FinalReport,
    *TRACE_ENTRY_TYPES,
)
"""The models a consultation's checkpoint holds at its top level (nested ones are saved and
restored inside these)."""


def consultation_checkpointer(saver: BaseCheckpointSaver[Any]) -> BaseCheckpointSaver[Any]:
    """``saver`` restoring the consultation's models as their own classes, without a warning.

    LangGraph's default serializer restores any class it finds in a checkpoint but warns about
    each one it was not told of (and refuses them all with ``LANGGRAPH_STRICT_MSGPACK``). A
    saver with an allowlist already gets ours added; a saver with the default, permissive
    serializer gets a copy (sharing its storage) whose serializer allows exactly ours.
    """
    allowed = saver.with_allowlist([(m.__module__, m.__name__) for m in CHECKPOINTED_MODELS])
    if allowed is not saver or type(saver.serde) is not JsonPlusSerializer:
        return allowed
    clone = copy.copy(saver)
    clone.serde = JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINTED_MODELS)
    return clone


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
