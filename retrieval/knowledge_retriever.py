"""The retrieval agent of the embedded mode: knowledge for the leading candidates.

It implements ``agent.roles.Retriever``. For each leading candidate it writes one query — the
condition's name plus the findings of this patient that separate the leaders (present findings
the knowledge base links to some leaders but not to all) — searches the index, and returns the
best passages with their citations. :meth:`KnowledgeRetriever.queries` is the one step an LLM
backend replaces (it writes up to three queries itself); the search and the citations stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.roles import ConsultationView, Passage
from retrieval.ddxplus_corpus import statement
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import is_present
from retrieval.index import Hit, KnowledgeIndex, Method

MAX_SEPARATING_FINDINGS = 4


class KnowledgeRetriever:
    """Searches one knowledge index for the leaders of the differential."""

    def __init__(
        self,
        index: KnowledgeIndex,
        kb: KnowledgeBase | None = None,
        *,
        leaders: int = 3,
        per_query: int = 1,
        method: Method | None = None,
    ) -> None:
        self.index = index
        self.kb = kb
        self.leaders = leaders
        self.per_query = per_query
        self.method: Method = method or index.best_method

    def separating_findings(self, view: ConsultationView, leaders: Sequence[str]) -> list[str]:
        """Present findings linked to some leaders but not all, in plain English."""
        if self.kb is None:
            return []
        known = [self.kb.conditions[name] for name in leaders if name in self.kb.conditions]
        result = []
        for code, value in view.findings.items():
            evidence = self.kb.evidences.get(code)
            if evidence is None or evidence.parent is not None or not is_present(evidence, value):
                continue
            linked = sum(code in condition.evidences for condition in known)
            if 0 < linked < len(known):
                result.append(statement(evidence.question))
        return result[:MAX_SEPARATING_FINDINGS]

    def queries(self, view: ConsultationView) -> list[str]:
        """One query per leading candidate: its name and the findings that separate the
        leaders. Replace this method to let an LLM write the queries."""
        leaders = [str(name) for name, _ in view.differential[: self.leaders]]
        findings = self.separating_findings(view, leaders)
        suffix = f": {'; '.join(findings)}" if findings else ""
        return [f"{name}{suffix}" for name in leaders]

    def search(self, query: str) -> list[Hit]:
        return self.index.search(query, self.per_query, self.method)

    def retrieve(self, view: ConsultationView) -> list[Passage]:
        """The best passages for this step's queries, each document once, with citations."""
        passages: list[Passage] = []
        seen: set[str] = set()
        for query in self.queries(view):
            for hit in self.search(query):
                document = hit.document
                if document.id in seen:
                    continue
                seen.add(document.id)
                passages.append(
                    Passage(
                        doc_id=document.id,
                        title=document.title or document.parent_id,
                        text=document.text,
                        source=document.citation(),
                        score=round(hit.score, 6),
                    )
                )
        return passages
