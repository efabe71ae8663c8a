"""One free-text case's retrieval, shared by its LLM doctor and its LLM diagnoser.

A free-text case (iCraft-MD) has no knowledge base to phrase queries from: the lookup is about
the case's options (multiple choice) or, in open mode, the leaders of the last differential
(the opening complaint alone before there is one). Each set of leaders is looked up once; the
ids of what the diagnoser read are kept for the case's result, so a run shows what informed it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.llm.client import LLMClient
from agent.reasoners.llm.retrieval import evidence_for, excerpts
from retrieval.passages import Passage, PassageSource, RetrievalQuery

OPEN_LEADERS = 3
"""Open mode: how many of the last differential's leaders are looked up."""


class CaseKnowledge:
    """The case's passages: ``source`` None means no retrieval (empty texts, nothing read)."""

    def __init__(
        self,
        source: PassageSource | None,
        opening: str,
        candidates: Sequence[str] | None,
        summariser: LLMClient | None = None,
    ) -> None:
        self.source = source
        self.opening = opening
        self.candidates = list(candidates) if candidates else None
        self.summariser = summariser
        self.read: list[str] = []
        self._found: dict[tuple[str, ...], list[Passage]] = {}

    def passages(self, names: Sequence[str]) -> tuple[list[str], list[Passage]]:
        leaders = self.candidates or list(names[:OPEN_LEADERS])
        if self.source is None:
            return leaders, []
        key = tuple(leaders)
        if key not in self._found:
            query = RetrievalQuery(leaders=leaders, text=self.opening)
            self._found[key] = self.source.retrieve(query)
        return leaders, self._found[key]

    def excerpts(self, names: Sequence[str]) -> str:
        """What the doctor reads while taking the history."""
        return excerpts(self.passages(names)[1])

    def evidence(self, names: Sequence[str]) -> str:
        """What the diagnoser reads (a summary first when a summariser is set)."""
        leaders, passages = self.passages(names)
        self.read += [p.doc_id for p in passages if p.doc_id not in self.read]
        return evidence_for(passages, leaders, self.summariser)
