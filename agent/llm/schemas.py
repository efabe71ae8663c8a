"""Everything an LLM must return, as pydantic models with field descriptions.

These are the contract between the prompts and the code (and the targets a fine-tuned model
learns to produce): the JSON schema of each goes to the server as ``response_format`` and into
the prompt, and an answer is accepted only when it validates.

``DEFERRING`` holds, for the schemas where that is meaningful, the answer that hands the step
back to the embedded engine: the ``fake`` backend gives it, and hybrid mode accepts it from a
real model too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NextStep(BaseModel):
    """History taking: the next question to put to the patient, or stop."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["ask", "stop", "defer"] = Field(
        description="'ask' a question, 'stop' when enough is known, or 'defer' to let the "
        "engine's most informative suggestion be asked (hybrid mode only)."
    )
    question: str = Field(default="", description="With 'ask': one short question in plain words.")
    reason: str = Field(default="", description="Why this question (or why stop), one sentence.")

    @model_validator(mode="after")
    def _question_when_asking(self) -> NextStep:
        if self.action == "ask" and not self.question.strip():
            raise ValueError("action 'ask' needs a non-empty 'question'")
        return self


class StatedFinding(BaseModel):
    model_config = ConfigDict(extra="ignore")

    statement: str = Field(
        min_length=1, description="One symptom or history item in a few words, e.g. 'fever'."
    )
    present: bool = Field(description="False when the patient denies it ('no cough').")


class ParsedFindings(BaseModel):
    """What a patient's free-text message states, one item per symptom or history fact."""

    model_config = ConfigDict(extra="ignore")

    findings: list[StatedFinding] = Field(description="Every symptom the message mentions.")


class RankedDiagnosis(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, description="A diagnosis from the list given.")
    reason: str = Field(default="", description="The findings that support it, briefly.")


class Differential(BaseModel):
    """A ranked differential diagnosis, most likely first, with the reasoning behind it."""

    model_config = ConfigDict(extra="ignore")

    reasoning: str = Field(
        default="", description="Step-by-step reasoning (chain-of-thought strategy)."
    )
    keep_engine_ranking: bool = Field(
        default=False,
        description="Hybrid mode: true to keep the engine's ranking as given.",
    )
    diagnoses: list[RankedDiagnosis] = Field(
        default_factory=list, description="Most likely first; names from the list given."
    )
    rationale: str = Field(default="", description="One or two sentences for the clinician.")

    @model_validator(mode="after")
    def _ranked_or_deferred(self) -> Differential:
        if not self.keep_engine_ranking and not self.diagnoses:
            raise ValueError("give at least one diagnosis in 'diagnoses'")
        return self


class SearchQueries(BaseModel):
    """Queries for the knowledge retriever: what would separate the leading candidates."""

    model_config = ConfigDict(extra="ignore")

    queries: list[str] = Field(min_length=1, max_length=5, description="1 to 5 short queries.")


class Summary(BaseModel):
    """A short summary: retrieved passages for the diagnoser, or the working patient profile."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, description="A few sentences, facts only.")


class Verdict(BaseModel):
    """The judge: does a predicted diagnosis name the reference diagnosis (open answers)?"""

    model_config = ConfigDict(extra="ignore")

    same: bool = Field(description="True when both name the same disease.")
    reason: str = Field(default="", description="One short sentence.")


SCHEMAS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (NextStep, ParsedFindings, Differential, SearchQueries, Summary, Verdict)
}

DEFERRING: dict[str, BaseModel] = {
    "NextStep": NextStep(action="defer", reason="The engine's suggestion is the best question."),
    "Differential": Differential(keep_engine_ranking=True, rationale="The engine's ranking."),
}
