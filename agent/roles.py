"""The three agent roles the graph talks to, and the values they exchange.

The graph only knows these interfaces: the embedded engine implements them now, LLM-backed
agents implement the same protocols later, and the graph does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from retrieval.findings import FindingValue
from retrieval.passages import Passage

StopReason = Literal[
    "question budget reached",
    "confident",
    "no informative question left",
    "finished on request",
    "doctor stopped",
    "doctor gave no valid question",
]
"""Why a consultation stopped asking (the report's ``stop_reason``; the stop rules themselves
are :mod:`agent.consult.policy`'s)."""


__all__ = [
    "ConditionExplanation",
    "ConsultationView",
    "Diagnoser",
    "FindingEffect",
    "HistoryTaker",
    "Passage",
    "Question",
    "RankedCondition",
    "Retriever",
]


@dataclass(frozen=True)
class ConsultationView:
    """What a role sees of the consultation: read-only, built from the graph state."""

    age: int | None
    sex: str | None
    findings: Mapping[str, FindingValue]
    asked: Sequence[str]
    differential: Sequence[tuple[str, float]]
    max_questions: int
    regions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Multi-choice evidences known only as "one or more of these values" (the patient named a
    region: "my chest hurts"), until the question is asked and answered exactly."""
    passages: Sequence[Passage] = ()
    """The knowledge retrieved so far in this consultation (an LLM diagnoser reads it)."""
    round: int = 1
    """The refinement round under way (1 unless the consultation runs several)."""
    previous: Sequence[tuple[str, float]] = ()
    """The differential at the end of the previous round: what a refinement feeds back."""
    summary: str = ""
    """The working profile rewritten at the last round's end ("" before): free-text roles
    read it instead of the first ``summary_covers`` answers."""
    summary_covers: int = 0

    @property
    def questions_asked(self) -> int:
        return len(self.asked)


class Question(BaseModel):
    """The next thing to ask, with why: what it separates and how much it is expected to tell."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Evidence code the question is about.")
    text: str = Field(description="The question as the patient reads it.")
    kind: str = Field(description="'B' yes/no, 'C' one choice or 0–10 scale, 'M' several choices.")
    choices: list[tuple[str, str | int]] = Field(
        default_factory=list, description="(label, value) options for C and M questions."
    )
    reason: str = Field(description="Why this question now, in one sentence.")
    expected_gain: float = Field(description="Expected information gain in bits.")


class RankedCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    probability: float = Field(ge=0.0, le=1.0)


class FindingEffect(BaseModel):
    """How much one finding moved one condition: log-likelihood ratio against the rest."""

    model_config = ConfigDict(frozen=True)

    code: str
    statement: str = Field(
        description="The finding in plain English with the rates behind it, e.g. 'Do you have a "
        "fever: yes — present in 92 % of Flu patients vs 34 % of Pneumonia'."
    )
    weight: float = Field(description="Natural-log likelihood ratio; > 0 raised the condition.")
    finding: str = Field(default="", description="The answer alone, e.g. 'fever: yes'.")
    present: bool | None = Field(default=None, description="Whether the answer says it is there.")
    this_rate: float | None = Field(
        default=None, description="How often the finding (or this answer) is seen in the condition."
    )
    other_rate: float | None = Field(
        default=None, description="The same rate in the condition it is compared with."
    )
    compared_with: str = Field(default="", description="That condition: runner-up or leader.")
    rest_rate: float | None = Field(
        default=None, description="The rate across the rest of the differential, weighted."
    )


class ConditionExplanation(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    probability: float
    icd10: str = ""
    severity: int
    urgent: bool = Field(
        default=False, description="Severity 1–2 with real probability: must not be missed."
    )
    raised_by: list[FindingEffect]
    lowered_by: list[FindingEffect]
    not_yet_asked: list[str] = Field(
        default_factory=list,
        description="The condition's hallmark findings nobody has asked about yet (HPO).",
    )
    compared_with: str = Field(
        default="", description="The runner-up for the leading condition; the leader for others."
    )
    note: str = Field(default="", description="Why no finding is listed, when none is.")


class StopAsking(BaseModel):
    """A history taker's own reason to end the questioning (an LLM doctor who stops, or whose
    answers never fit), where None would say only that nothing informative is left."""

    model_config = ConfigDict(frozen=True)

    reason: StopReason


@runtime_checkable
class HistoryTaker(Protocol):
    """Chooses the next question, or None when nothing left is worth asking."""

    def next_question(self, view: ConsultationView) -> Question | StopAsking | None: ...


@runtime_checkable
class Summariser(Protocol):
    """Rewrites the working profile at a refinement round's end (MEDDxAgent): the new summary,
    or None to keep the old one and the answers after it."""

    def summarise(self, view: ConsultationView) -> str | None: ...


@runtime_checkable
class Diagnoser(Protocol):
    """Turns what is known into a ranked differential, and explains it."""

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]: ...

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int
    ) -> list[ConditionExplanation]: ...


class Diagnosis(BaseModel):
    """A ranked differential with the diagnoser's reasoning behind it."""

    model_config = ConfigDict(frozen=True)

    ranked: list[RankedCondition]
    rationale: str = Field(default="", description="Empty when the diagnoser gives none.")


@runtime_checkable
class ReasoningDiagnoser(Diagnoser, Protocol):
    """A diagnoser that also says why (an LLM diagnoser): the graph keeps its rationale in the
    trace and the final report."""

    def diagnosis(self, view: ConsultationView) -> Diagnosis: ...


@runtime_checkable
class Retriever(Protocol):
    """Finds knowledge for the leading candidates and the findings that separate them."""

    def retrieve(self, view: ConsultationView) -> list[Passage]: ...
