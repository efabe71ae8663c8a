"""LLM roles over free text (iCraft-MD), behind the graph's role protocols.

A free-text consultation has no knowledge base: the doctor asks in its own words, the patient
answers in theirs, and the diagnoser names diagnoses (among the case's options, or freely).
The graph runs it like any other: the driver diagnoses at each refinement round's end
(``diagnosis_at="round end"``), rewrites the working profile between rounds (MEDDxAgent) with
:class:`ProfileSummariser`, feeds the previous round's differential back, and stops when the
doctor stops (or the budget is spent). What the roles read of the consultation is
:func:`known_text`: the working profile (the opening statement until it is first rewritten)
followed by the exchanges since.

The roles of one case are built for that case (``free_text_context`` in
``agent.reasoners.llm.context``, through ``agent.assembly.free_text_case``): its options, its
id (a few-shot pool never offers the case itself) and the failure of its last diagnosis, which
the benchmark reports rather than hides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from agent.llm.base import LLMError, LLMUnavailableError
from agent.llm.client import LLMClient
from agent.llm.schemas import Summary
from agent.llm.structured import ask_or_none
from agent.reasoners.llm import prompts
from agent.reasoners.llm.case_knowledge import CaseKnowledge
from agent.reasoners.llm.diagnosis import FEWSHOT_K, llm_differential, rank_probabilities
from agent.reasoners.llm.history import next_step
from agent.reasoners.llm.knn import SolvedCasePool, examples_text
from agent.roles import (
    ConditionExplanation,
    ConsultationView,
    Diagnosis,
    Question,
    RankedCondition,
    StopAsking,
)
from agent.settings import Strategy
from retrieval.findings import FindingValue, InvalidAnswerError
from retrieval.free_text_findings import OPENING, is_question_code, question_code, question_of

log = logging.getLogger(__name__)

PREVIOUS_NAMES = 5
"""Diagnoses of the previous round fed back to the diagnoser."""


def opening_of(view: ConsultationView) -> str:
    return str(view.findings.get(OPENING) or "")


def exchange_lines(view: ConsultationView) -> list[str]:
    """The exchanges the working profile does not cover yet, one line each."""
    return [
        f"- Doctor: {question_of(code)} Patient: {view.findings.get(code)}"
        for code in view.asked[view.summary_covers :]
    ]


def known_text(view: ConsultationView) -> str:
    """What is known: the working profile, then the exchanges since it was written."""
    profile = view.summary or f"- {opening_of(view)}"
    lines = exchange_lines(view)
    return "\n".join([profile, *lines]) if profile else "\n".join(lines) or "- nothing yet"


class FreeTextCatalogue:
    """Findings are the opening statement and the questions asked; answers are plain text."""

    def knows(self, code: str) -> bool:
        return code == OPENING or is_question_code(code)

    def question_text(self, code: str) -> str:
        return question_of(code)

    def normalize(self, code: str, value: object) -> FindingValue:
        if not isinstance(value, str):
            raise InvalidAnswerError("A free-text question is answered in words.")
        return value

    def parse_text(self, code: str, text: str) -> FindingValue:
        if not text.strip():
            raise InvalidAnswerError("Please answer in words (or say you don't know).")
        return text

    def phrase_answer(self, code: str, value: FindingValue) -> str:
        return "I don't know." if value is None else str(value)

    def is_present(self, code: str, value: FindingValue) -> bool | None:
        return None

    def is_urgent(self, condition: str) -> bool:
        return False


@dataclass(frozen=True)
class FreeTextHistoryTaker:
    """The LLM doctor asks one question at a time in its own words, or stops."""

    client: LLMClient
    knowledge: CaseKnowledge | None = None
    """The case's retrieval: the doctor reads excerpts about the current leaders."""

    def next_question(self, view: ConsultationView) -> Question | StopAsking | None:
        names = [name for name, _ in view.differential]
        try:
            step = next_step(
                self.client,
                patient=opening_of(view),
                known=known_text(view),
                left=view.max_questions - view.questions_asked,
                evidence=self.knowledge.excerpts(names) if self.knowledge else "",
            )
        except LLMUnavailableError:
            raise
        except LLMError as exc:
            # No engine plays the doctor for free text: questioning ends here, reported.
            log.warning("doctor failed: %s", exc)
            self.client.count_fallback()
            return StopAsking(reason="doctor gave no valid question")
        if step.action != "ask":
            return StopAsking(reason="doctor stopped")
        return Question(
            code=question_code(view.questions_asked + 1, step.question),
            text=step.question,
            kind="T",
            reason=step.reason,
            expected_gain=0.0,
        )


@dataclass(frozen=True)
class ProfileSummariser:
    """Rewrites the working profile from the exchanges since its last version (MEDDxAgent);
    None when the model's answers never fit (the old profile and the exchanges stay)."""

    client: LLMClient

    def summarise(self, view: ConsultationView) -> str | None:
        profile = view.summary or f"- {opening_of(view)}"
        transcript = "\n".join(exchange_lines(view)) or "- nothing yet"
        turn = prompts.PROFILE_TURN.format(profile=profile, transcript=transcript)
        summary = ask_or_none(
            self.client, prompts.PROFILE_SYSTEM, turn, Summary, step="profile rewrite"
        )
        return summary.summary if summary is not None else None


@dataclass
class FreeTextDiagnoser:
    """The LLM names the differential (among ``candidates`` when there are any), the previous
    round's fed back. A diagnosis whose answers never fit keeps the last differential and its
    rationale, and is remembered in :attr:`failure` (the case's report says so)."""

    client: LLMClient
    strategy: Strategy = "standard"
    candidates: list[str] | None = None
    examples: SolvedCasePool | None = None
    case_id: str | None = None
    knowledge: CaseKnowledge | None = None
    """The case's retrieval: the diagnoser reads the passages about the current leaders."""
    failure: str | None = None
    _rationale: str = field(default="", repr=False)

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        return self.diagnosis(view).ranked

    def diagnosis(self, view: ConsultationView) -> Diagnosis:
        known = known_text(view)
        examples = ""
        if self.strategy == "fewshot-knn" and self.examples is not None:
            nearest = self.examples.nearest(known, FEWSHOT_K, exclude=self.case_id)
            examples = examples_text(nearest)
        try:
            answer = llm_differential(
                self.client,
                strategy=self.strategy,
                patient=opening_of(view),
                known=known,
                candidates=self.candidates,
                previous=", ".join(name for name, _ in view.previous[:PREVIOUS_NAMES]),
                examples=examples,
                evidence=self.knowledge.evidence([n for n, _ in view.differential])
                if self.knowledge
                else "",
            )
        except LLMUnavailableError:
            raise
        except LLMError as exc:
            log.warning("case %s: diagnosis failed: %s", self.case_id, exc)
            self.client.count_fallback()
            self.failure = f"diagnosis round {view.round}: {exc}"
            kept = [RankedCondition(name=n, probability=p) for n, p in view.differential]
            return Diagnosis(ranked=kept, rationale=self._rationale)
        self.failure, self._rationale = None, answer.rationale
        ranked = rank_probabilities(answer.names, answer.names)
        return Diagnosis(ranked=ranked, rationale=answer.rationale)

    def explain(
        self, view: ConsultationView, differential: Any, top_k: int
    ) -> list[ConditionExplanation]:
        return []  # no likelihoods to explain by: the rationale is the explanation
