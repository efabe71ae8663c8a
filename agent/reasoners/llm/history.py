"""History taking by an LLM: one free-text question at a time, or stop.

:func:`next_step` is the model call (used by the graph's history taker below and by the
KB-free iCraft-MD loop). :class:`LLMHistoryTaker` puts it behind the ``HistoryTaker`` protocol
for DDXPlus: the model's question is mapped onto the knowledge base's question it asks (so the
answer can be recorded as a finding); hybrid mode shows the engine's most informative questions
as hints and accepts 'defer' (ask the engine's first suggestion as it is). When the model's
answers never fit, or its question matches nothing askable, the engine's question is asked and
the fallback is logged and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from agent.free_text import FreeTextMatcher, LabelledText, TextEncoder, default_encoder
from agent.llm.base import LLMError, LLMUnavailableError, Message
from agent.llm.client import LLMClient
from agent.llm.schemas import NextStep
from agent.llm.structured import generate_structured
from agent.reasoners.ddxplus.roles import InformationGainHistoryTaker
from agent.reasoners.llm import prompts
from agent.reasoners.llm.render import known_lines, patient_line, ranking_text
from agent.reasoners.llm.retrieval import excerpts
from agent.roles import ConsultationView, Question
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from retrieval.findings import choices

log = logging.getLogger(__name__)

QUESTION_MATCH_THRESHOLD = 0.6
"""Similarity an LLM question needs with a knowledge-base question to count as asking it."""


def next_step(
    client: LLMClient,
    *,
    patient: str,
    known: str,
    left: int,
    hints: Sequence[str] = (),
    previous: str = "",
    evidence: str = "",
) -> NextStep:
    """The doctor's next step (raises StructuredOutputError when no answer fits); ``evidence``:
    retrieved knowledge about the leading candidates, to ask what tells them apart."""
    hint_block = (
        prompts.HINTS_BLOCK.format(hints="\n".join(f"{i}. {h}" for i, h in enumerate(hints, 1)))
        if hints
        else ""
    )
    turn = prompts.DOCTOR_TURN.format(
        patient=patient,
        known=known,
        previous=prompts.PREVIOUS_BLOCK.format(ranking=previous) if previous else "",
        evidence=prompts.EVIDENCE_BLOCK.format(summary=evidence) if evidence else "",
        hints=hint_block,
        left=left,
    )
    messages = [
        Message(role="system", content=prompts.DOCTOR_SYSTEM),
        Message(role="user", content=turn),
    ]
    return generate_structured(client, messages, NextStep)


class LLMHistoryTaker:
    """HistoryTaker over DDXPlus: the LLM asks, the engine is the hint-giver and fallback."""

    def __init__(
        self,
        client: LLMClient,
        kb: KnowledgeBase,
        engine: InformationGainHistoryTaker,
        *,
        hybrid: bool = False,
        hint_count: int = 3,
        encoder: TextEncoder | None = None,
    ) -> None:
        self.client = client
        self.kb = kb
        self.engine = engine
        self.hybrid = hybrid
        self.hint_count = hint_count
        self._encoder = encoder
        self._matcher: FreeTextMatcher | None = None

    def _question_matcher(self) -> FreeTextMatcher:
        if self._matcher is None:
            labels = [LabelledText(label=c, text=e.question) for c, e in self.kb.evidences.items()]
            self._matcher = FreeTextMatcher(labels, self._encoder or default_encoder())
        return self._matcher

    def _hints(self, view: ConsultationView) -> list[tuple[str, float]]:
        codes = self.engine.candidates(view.findings, view.asked)
        if not codes:
            return []
        gains = self.engine.engine.expected_gain(self.engine.diagnoser.posterior(view), codes)
        order = np.argsort(-gains, kind="stable")[: self.hint_count]
        return [(codes[i], float(gains[i])) for i in order]

    def next_question(self, view: ConsultationView) -> Question | None:
        engine_question = self.engine.next_question(view)
        hints = self._hints(view) if self.hybrid else []
        try:
            step = next_step(
                self.client,
                patient=patient_line(view.age, view.sex),
                known=known_lines(self.kb, view),
                left=view.max_questions - view.questions_asked,
                hints=[self.kb.evidences[code].question for code, _ in hints],
                previous=ranking_text(list(view.differential), 5) if view.differential else "",
                evidence=excerpts(view.passages),
            )
        except LLMUnavailableError:
            raise
        except LLMError as exc:
            log.warning("doctor: %s; asking the engine's question instead", exc)
            self.client.count_fallback()
            return engine_question
        if step.action == "defer":
            return engine_question
        if step.action == "stop":
            return None
        return self._as_kb_question(view, step, engine_question)

    def _as_kb_question(
        self, view: ConsultationView, step: NextStep, fallback: Question | None
    ) -> Question | None:
        # The closest question of the whole knowledge base: when it is already answered (the
        # model repeats itself) or not open yet (its parent was not answered yes), the engine's
        # question is asked instead of a loosely related one.
        ranked = self._question_matcher().rank(step.question)
        askable = set(self.engine.candidates(view.findings, view.asked))
        if ranked[0][1] < QUESTION_MATCH_THRESHOLD or ranked[0][0] not in askable:
            log.warning("doctor: the question is not an open one; asking the engine's question")
            self.client.count_fallback()
            return fallback
        code = ranked[0][0]
        ev = self.kb.evidences[code]
        return Question(
            code=code,
            text=step.question if ev.kind is EvidenceKind.BINARY else ev.question,
            kind=ev.kind.value,
            choices=[(label, value) for label, value in choices(ev)],
            reason=step.reason or "Asked by the LLM doctor.",
            expected_gain=0.0,
        )
