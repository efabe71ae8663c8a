"""The driver's rules, in one place: when questioning stops, and how the question budget is
split into refinement rounds.

MEDDxAgent's driver takes the history in rounds (1–3): each round asks its share of the budget,
then the differential is refined — diagnosed again with the previous round's differential fed
back (and, for free text, the working profile rewritten). One round is a plain consultation.
The graph's driver (``agent.consult.graph``) is the only caller that decides with these rules;
the fine-tuning teacher only words the reasons the graph gives (:data:`TEACHER_WORDING`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from agent.roles import StopReason

STOP_REASONS: tuple[StopReason, ...] = get_args(StopReason)


def round_budgets(questions: int, rounds: int) -> list[int]:
    """The question budget split over ``rounds`` refinement rounds, earlier rounds taking the
    remainder (10 over 3 → 4, 3, 3)."""
    base, extra = divmod(questions, rounds)
    return [base + (1 if i < extra else 0) for i in range(rounds)]


def round_ends_at(questions: int, rounds: int, round_number: int) -> int:
    """How many questions have been asked when round ``round_number`` (1-based) is over."""
    return sum(round_budgets(questions, rounds)[:round_number])


def budget_stop(asked: int, max_questions: int, stop_requested: bool) -> StopReason | None:
    """The stops that need no question chosen: a person's "finish now", the spent budget."""
    if stop_requested:
        return "finished on request"
    if asked >= max_questions:
        return "question budget reached"
    return None


def is_confident(differential: Sequence[Sequence[Any]], threshold: float) -> bool:
    """The leader (``[name, p]`` pairs, most likely first) reached the confidence threshold:
    no more diagnostic questions."""
    return bool(differential) and float(differential[0][1]) >= threshold


def no_question_reason(confident: bool) -> StopReason:
    """Why questioning ended when the history taker (and the list taker) had nothing to ask."""
    return "confident" if confident else "no informative question left"


TEACHER_WORDING: dict[StopReason, str] = {
    "question budget reached": "The question budget is used up.",
    "confident": "The leading diagnosis is already very likely ({top:.0%}).",
    "no informative question left": "No remaining question would change the differential.",
}
"""The reason of the teacher's final ``NextStep(action="stop")``, worded for the model it
trains (``{top}``: the leader's probability)."""


def teacher_stop_text(reason: str, top: float) -> str:
    """The teacher's words for a stop reason the graph gave."""
    for known, wording in TEACHER_WORDING.items():
        if known == reason:
            return wording.format(top=top)
    return ""


def round_over(asked: int, max_questions: int, rounds: int, round_number: int) -> bool:
    """Round ``round_number``'s share of the budget is spent and another round follows."""
    return round_number < rounds and asked >= round_ends_at(max_questions, rounds, round_number)


def refines_at_close(rounds: int, diagnosis_at: str) -> bool:
    """Whether the questioning's end goes through a last refinement (several rounds, or a
    consultation that diagnoses only at round ends) before the report."""
    return rounds > 1 or diagnosis_at == "round end"
