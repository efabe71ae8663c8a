"""The consultation's Retriever role over any passage source of the knowledge layer.

Sources (``retrieval.knowledge_retriever``, ``retrieval.online``) answer a
:class:`~retrieval.passages.RetrievalQuery`, which knows nothing of the consultation; this
adapter is the one place a :class:`~agent.roles.ConsultationView` becomes such a query: the
``leaders`` leading candidates, best first, and the findings so far.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.roles import ConsultationView, Passage
from retrieval.passages import PassageSource, RetrievalQuery

DEFAULT_LEADERS = 3


def query_of(view: ConsultationView, leaders: int = DEFAULT_LEADERS) -> RetrievalQuery:
    """What to look up for this view: its leading candidates and its findings."""
    return RetrievalQuery(
        leaders=[str(name) for name, _ in view.differential[:leaders]], findings=view.findings
    )


@dataclass(frozen=True)
class ViewRetriever:
    """Implements ``agent.roles.Retriever`` by asking ``source`` about the leaders."""

    source: PassageSource
    leaders: int = DEFAULT_LEADERS

    def retrieve(self, view: ConsultationView) -> list[Passage]:
        return self.source.retrieve(query_of(view, self.leaders))
