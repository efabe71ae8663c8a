"""A person's first message read into findings: by the LLM when one is configured, by the
embedding matcher otherwise (and as the LLM's fallback).

The LLM lists what the message states ("fever", present; "cough", denied); each statement is
then matched onto the knowledge base's questions with the same embedding matcher, so the LLM
never invents evidence codes.
"""

from __future__ import annotations

import logging

from agent.free_text import (
    ClauseMatch,
    FreeTextMatcher,
    Intake,
    ddxplus_matcher,
    findings_from_matches,
    read_intake,
)
from agent.llm.client import LLMClient
from agent.llm.schemas import ParsedFindings
from agent.llm.structured import ask_or_none
from agent.llm_agents import prompts
from retrieval.ddxplus_kb import KnowledgeBase

log = logging.getLogger(__name__)


def parse_message(
    kb: KnowledgeBase,
    message: str,
    client: LLMClient | None,
    matcher: FreeTextMatcher | None = None,
) -> Intake:
    """Findings of a first message; raises DdxError when no present symptom is found."""
    matcher = matcher or ddxplus_matcher(kb)
    if client is None:
        return read_intake(kb, message, matcher)
    parsed = ask_or_none(
        client, prompts.INTAKE_SYSTEM, message, ParsedFindings, step="intake (embedding matcher)"
    )
    if parsed is None:
        return read_intake(kb, message, matcher)
    matches: dict[str, ClauseMatch] = {}
    for item in parsed.findings:
        ranked = matcher.rank(item.statement)
        if ranked and ranked[0][1] >= matcher.threshold:
            label, score = ranked[0]
            if label not in matches or score > matches[label].score:
                matches[label] = ClauseMatch(
                    label=label, present=item.present, score=round(score, 4), clause=item.statement
                )
    found = list(matches.values())
    if not any(m.present for m in found):
        log.warning("intake: the LLM's reading names no known symptom; using the matcher")
        client.count_fallback()
        return read_intake(kb, message, matcher)
    return Intake(findings=findings_from_matches(found), matches=found)
