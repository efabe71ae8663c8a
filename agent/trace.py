"""The consultation's trace: one typed entry per decision, in the order they were taken.

The trace is the explanation every front end shows and the final report is built from
(``agent.report``): which question was asked and why, what the patient answered, what was
retrieved for which candidates, how the differential moved (with the diagnoser's rationale),
each refinement round, and why the consultation ended. Entries are a discriminated union on
``kind``, so a reader matches on the class (``isinstance(entry, AnswerGiven)``), never on a
string, and a checkpoint restores each entry as its own class.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.findings import FindingValue

Regions = dict[str, list[str]]
"""Multi-choice evidences the patient named only as a region ("my chest hurts"): evidence code
→ the values it may be, at least one of them (``CaseIntake.regions``)."""

Pairs = list[tuple[str, float]]
"""(condition, probability) pairs, most probable first."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DifferentialSnapshot(_Entry):
    """The differential after ``questions`` answers (0 = right after intake): top 10 only, for
    curves and replays."""

    questions: int
    top: Pairs


class IntakeRecorded(_Entry):
    """What the consultation started from."""

    kind: Literal["intake"] = "intake"
    findings: dict[str, FindingValue]
    regions: Regions = Field(default_factory=dict)
    age: int | None = None
    sex: str | None = None


class QuestionAsked(_Entry):
    """A question put to the patient, and why it was chosen."""

    kind: Literal["question"] = "question"
    code: str
    reason: str = Field(description="Why this question now, in one sentence.")
    gain: float = Field(description="Expected information gain in bits.")
    number: int = Field(ge=1, description="1-based: the how-many-th question.")
    purpose: Literal["diagnosis", "differential list"] = "diagnosis"


class AnswerGiven(_Entry):
    """The patient's answer to the question on ``code``."""

    kind: Literal["answer"] = "answer"
    code: str
    value: FindingValue
    text: str = Field(description="The answer in plain English.")
    present: bool | None


class DifferentialMoved(DifferentialSnapshot):
    """A new differential (top 10) after ``questions`` answers, with the diagnoser's rationale
    when it gives one (an LLM diagnoser; the embedded engine writes none)."""

    kind: Literal["diagnosis"] = "diagnosis"
    rationale: str = ""


class KnowledgeRetrieved(_Entry):
    """Passages fetched for the leading candidates (``doc_ids``: the new ones only)."""

    kind: Literal["retrieval"] = "retrieval"
    candidates: list[str] = Field(description="The leading candidates it was retrieved for.")
    doc_ids: list[str]


class RefinementRound(_Entry):
    """A refinement round of the driver (MEDDxAgent): the differential before it was refined
    with the previous round's one fed back, and the passages the refinement saw."""

    kind: Literal["refinement"] = "refinement"
    round: int = Field(ge=1)
    previous: Pairs = Field(description="The differential fed back (top 10).")
    doc_ids: list[str] = Field(default_factory=list)


class StopRequested(_Entry):
    """The person chose "Finish now": the pending question stays unanswered."""

    kind: Literal["stop"] = "stop"


class Finished(_Entry):
    """The consultation ended, and why (the report's ``stop_reason``)."""

    kind: Literal["finish"] = "finish"
    reason: str


TraceEntry = Annotated[
    IntakeRecorded
    | QuestionAsked
    | AnswerGiven
    | DifferentialMoved
    | KnowledgeRetrieved
    | RefinementRound
    | StopRequested
    | Finished,
    Field(discriminator="kind"),
]

TRACE_ENTRY_TYPES: tuple[type[BaseModel], ...] = (
    IntakeRecorded,
    QuestionAsked,
    AnswerGiven,
    DifferentialMoved,
    KnowledgeRetrieved,
    RefinementRound,
    StopRequested,
    Finished,
)
