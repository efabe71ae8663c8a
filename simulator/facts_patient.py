"""A free-text patient (iCraft-MD): an LLM answers the doctor's own questions from the case's
numbered facts, inside the consultation graph like every simulated patient.

The graph gives a simulated patient the code of the question asked; for free text that code
carries the question (:mod:`retrieval.free_text_findings`), which the LLM answers in the first
person from the facts only, never naming the diagnosis (:class:`~simulator.llm_patient.LLMPatient`).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.llm.client import LLMClient
from retrieval.free_text_findings import question_of
from simulator.llm_patient import LLMPatient, icraftmd_profile


class FactsPatient:
    """Answers each asked question from a case's facts; ``hidden``: names never to say."""

    def __init__(self, client: LLMClient, facts: Sequence[str], hidden: Sequence[str] = ()) -> None:
        self.llm = LLMPatient(client, icraftmd_profile(facts), hidden=hidden)

    def answer(self, code: str) -> str:
        """The reply to the question ``code`` stands for, in the patient's words."""
        return self.llm.reply(question_of(code))
