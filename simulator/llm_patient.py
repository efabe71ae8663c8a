"""A patient played by an LLM over a profile: a DDXPlus record rendered as text, or the
numbered facts of an iCraft-MD case.

The model answers in the first person from the profile only, says "I don't know" for anything
the profile does not state, and never names the diagnosis: a reply that mentions it is replaced
by "I don't know." (and logged), so a talkative model cannot leak the answer into a benchmark.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from agent.llm.base import Message
from agent.llm.client import LLMClient
from agent.llm.structured import generate_text
from retrieval.answers import read_yes_no
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from retrieval.findings import FindingValue, absent_value
from retrieval.fuzzy import normalise_name
from simulator.ddxplus_patient import SimulatedPatient, phrase_answer
from simulator.prompts import PATIENT_SYSTEM
from simulator.records import PatientRecord

log = logging.getLogger(__name__)

UNKNOWN = "I don't know."
PATIENT_MAX_TOKENS = 96


class LLMPatient:
    """Answers a doctor's free-text questions from a profile."""

    def __init__(self, client: LLMClient, profile: str, hidden: Sequence[str] = ()) -> None:
        self.client = client
        self.profile = profile
        self._hidden = [normalise_name(name) for name in hidden if normalise_name(name)]
        self.leaks_blocked = 0

    def reply(self, question: str) -> str:
        messages = [
            Message(role="system", content=PATIENT_SYSTEM.format(profile=self.profile)),
            Message(role="user", content=question),
        ]
        said = generate_text(self.client, messages, max_tokens=PATIENT_MAX_TOKENS)
        if self._reveals_diagnosis(said):
            log.info("patient: a reply naming the diagnosis was replaced")
            self.leaks_blocked += 1
            return UNKNOWN
        return said

    def _reveals_diagnosis(self, text: str) -> bool:
        words = f" {normalise_name(text)} "
        return any(f" {name} " in words for name in self._hidden)


_FACT_NUMBER = re.compile(r"^\d+\.\s*")


def icraftmd_profile(facts: Sequence[str]) -> str:
    return "\n".join("- " + _FACT_NUMBER.sub("", fact).strip() for fact in facts)


def ddxplus_profile(kb: KnowledgeBase, record: PatientRecord) -> str:
    """The record as facts; everything else is absent, which the profile says explicitly."""
    lines = [f"- You are {record.age} years old, {'male' if record.sex == 'M' else 'female'}."]
    for code, value in record.evidences.items():
        lines.append(f"- {kb.evidences[code].question} {phrase_answer(kb, code, value)}")
    lines.append("- You have no other symptom and no other history than those above: answer no.")
    return "\n".join(lines)


class LLMDdxPlusPatient(SimulatedPatient):
    """A DDXPlus patient whose yes/no answers come from the LLM role-playing the record.

    Questions with choices (where, how intense) are answered from the record: their values
    have no free-text reading yet, and the record is what the LLM would be paraphrasing.
    """

    def __init__(self, kb: KnowledgeBase, record: PatientRecord, client: LLMClient) -> None:
        super().__init__(kb, record)
        self.llm = LLMPatient(client, ddxplus_profile(kb, record), hidden=[record.pathology])

    def answer(self, code: str) -> FindingValue:
        ev = self.kb.evidence(code)
        if ev.kind is not EvidenceKind.BINARY:
            return super().answer(code)
        said = read_yes_no(self.llm.reply(ev.question))
        return absent_value(ev) if said is False else said
