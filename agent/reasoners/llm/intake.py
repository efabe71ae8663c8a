"""A person's first message read into findings: by the LLM when one is configured, by the
intake reader otherwise (and as the LLM's fallback).

The LLM lists what the message states ("fever", present; "cough", denied); each statement is
then read by the same intake reader (:mod:`agent.intake.reader`), so the LLM never invents
evidence codes. The LLM's reading comes first; the reader's own readings of the message follow
as alternatives, for the person to pick from.
"""

from __future__ import annotations

import logging

from agent.intake.models import IntakeReading
from agent.intake.reader import IntakeReader
from agent.intake.shared import intake_reader
from agent.llm.client import LLMClient
from agent.llm.schemas import ParsedFindings
from agent.llm.structured import ask_or_none
from agent.reasoners.llm import prompts
from retrieval.ddxplus_kb import KnowledgeBase

log = logging.getLogger(__name__)


def parse_message(
    kb: KnowledgeBase,
    message: str,
    client: LLMClient | None,
    reader: IntakeReader | None = None,
) -> IntakeReading:
    """The readings of a first message, best first (none when nothing was understood)."""
    reader = reader or intake_reader(kb)
    own = reader.read(message)
    if client is None:
        return own
    parsed = ask_or_none(
        client, prompts.INTAKE_SYSTEM, message, ParsedFindings, step="intake (intake reader)"
    )
    if parsed is None:
        return own
    parts = [reader.read_statement(item.statement, item.present) for item in parsed.findings]
    llm = reader.merge([part for part in parts if part is not None])
    if llm is None or not llm.states_a_symptom:
        log.warning("intake: the LLM's reading names no known symptom; using the reader's")
        client.count_fallback()
        return own
    others = tuple(r for r in own.readings if r.findings != llm.findings)
    return IntakeReading(text=message, readings=(llm, *others))
