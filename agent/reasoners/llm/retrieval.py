"""Retrieval with an LLM on top of the knowledge retriever: the model writes the queries,
the index searches and cites as before, and :func:`summarise_passages` condenses what came back
for a diagnoser that reads evidence.

The model replaces only :meth:`KnowledgeRetriever.queries` (the documented extension point);
when its answers never fit, the retriever's own queries (leaders and separating findings) run
instead, logged and counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.llm.base import Message
from agent.llm.client import LLMClient
from agent.llm.schemas import SearchQueries, Summary
from agent.llm.structured import ask_or_none, generate_structured
from agent.reasoners.llm import prompts
from agent.reasoners.llm.render import known_lines
from agent.roles import ConsultationView, Passage
from retrieval.knowledge_retriever import KnowledgeRetriever

MAX_PASSAGE_CHARS = 800


class LLMQueryRetriever(KnowledgeRetriever):
    """A knowledge retriever whose queries an LLM writes."""

    def __init__(self, client: LLMClient, base: KnowledgeRetriever) -> None:
        super().__init__(
            base.index, base.kb, leaders=base.leaders, per_query=base.per_query, method=base.method
        )
        self.client = client
        self._base = base

    def queries(self, view: ConsultationView) -> list[str]:
        leaders = [str(name) for name, _ in view.differential[: self.leaders]]
        known = known_lines(self.kb, view) if self.kb is not None else ""
        turn = prompts.QUERY_TURN.format(known=known, leaders=", ".join(leaders) or "none yet")
        written = ask_or_none(
            self.client,
            prompts.QUERY_SYSTEM,
            turn,
            SearchQueries,
            step="retrieval queries (the retriever's own)",
        )
        if written is None:
            return self._base.queries(view)
        queries = [q.strip() for q in written.queries if q.strip()]
        return queries or self._base.queries(view)


def summarise_passages(
    client: LLMClient, leaders: Sequence[str], passages: Sequence[Passage]
) -> str:
    """A few sentences that help tell the leaders apart ("" when there is nothing to read).

    Raises StructuredOutputError when the model's answers never fit: the caller decides whether
    to go on without the summary.
    """
    if not passages:
        return ""
    text = "\n\n".join(f"[{p.doc_id}] {p.title}: {p.text[:MAX_PASSAGE_CHARS]}" for p in passages)
    turn = prompts.SUMMARY_TURN.format(leaders=", ".join(leaders), passages=text)
    summary = generate_structured(
        client,
        [
            Message(role="system", content=prompts.SUMMARY_SYSTEM),
            Message(role="user", content=turn),
        ],
        Summary,
    )
    return summary.summary
