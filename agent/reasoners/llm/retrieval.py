"""Retrieval with an LLM on top of the knowledge retriever: the model writes the queries,
the index searches and cites as before; :func:`evidence_for` turns what came back into the
"relevant medical knowledge" an LLM diagnoser reads (condensed by :func:`summarise_passages`
when a summariser is given, the passages' opening lines otherwise).

The model replaces only :meth:`KnowledgeRetriever.queries` (the documented extension point);
when its answers never fit, the retriever's own queries (leaders and separating findings) run
instead, logged and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agent.llm.base import LLMError, LLMUnavailableError, Message
from agent.llm.client import LLMClient
from agent.llm.schemas import SearchQueries, Summary
from agent.llm.structured import ask_or_none, generate_structured
from agent.reasoners.llm import prompts
from agent.reasoners.llm.render import findings_lines
from agent.roles import Passage
from retrieval.knowledge_retriever import KnowledgeRetriever
from retrieval.passages import RetrievalQuery

log = logging.getLogger(__name__)

MAX_PASSAGE_CHARS = 800
EXCERPT_CHARS = 400
"""Characters of each passage a prompt shows when no summary is made."""
MAX_EVIDENCE_PASSAGES = 6


class LLMQueryRetriever(KnowledgeRetriever):
    """A knowledge retriever whose queries an LLM writes."""

    def __init__(self, client: LLMClient, base: KnowledgeRetriever) -> None:
        super().__init__(base.index, base.kb, per_query=base.per_query, method=base.method)
        self.client = client
        self._base = base

    def queries(self, query: RetrievalQuery) -> list[str]:
        known = findings_lines(self.kb, query.findings) if self.kb is not None else ""
        leaders = ", ".join(query.leaders) or "none yet"
        turn = prompts.QUERY_TURN.format(known=known, leaders=leaders)
        written = ask_or_none(
            self.client,
            prompts.QUERY_SYSTEM,
            turn,
            SearchQueries,
            step="retrieval queries (the retriever's own)",
        )
        if written is None:
            return self._base.queries(query)
        queries = [q.strip() for q in written.queries if q.strip()]
        return queries or self._base.queries(query)


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


def excerpts(passages: Sequence[Passage], chars: int = EXCERPT_CHARS) -> str:
    """Each passage as a cited line: ``[doc id] title: the opening of its text``."""
    lines = []
    for p in passages[:MAX_EVIDENCE_PASSAGES]:
        text = " ".join(p.text.split())
        cut = text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"
        lines.append(f"[{p.doc_id}] {p.title}: {cut}")
    return "\n".join(lines)


def evidence_for(
    passages: Sequence[Passage], leaders: Sequence[str], summariser: LLMClient | None = None
) -> str:
    """The knowledge a diagnoser's prompt carries ("" without passages): the summariser's
    summary, then the cited excerpts it was made from (so the model can quote the source);
    only the excerpts without a summariser or when its answers never fit."""
    if not passages:
        return ""
    cited = excerpts(passages)
    if summariser is None:
        return cited
    try:
        summary = summarise_passages(summariser, leaders, passages[:MAX_EVIDENCE_PASSAGES])
    except LLMUnavailableError:
        raise
    except LLMError as exc:
        log.warning("retrieval summary: %s; the prompt carries the excerpts only", exc)
        summariser.count_fallback()
        return cited
    return f"{summary.strip()}\n\nSources:\n{cited}" if summary.strip() else cited
