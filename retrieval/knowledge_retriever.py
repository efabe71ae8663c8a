"""The retrieval agent of the embedded mode: knowledge for the leading candidates.

It is a :class:`~retrieval.passages.PassageSource` (the consultation adapts it to its
``Retriever`` role). For each leading candidate it writes one query — the condition's name plus
the findings of this patient that separate the leaders (present findings the knowledge base
links to some leaders but not to all) — searches the index, and returns the best passages with
their citations, each marked with the candidate it is about.
:meth:`KnowledgeRetriever.queries` is the one step an LLM backend replaces (it writes up to
three queries itself); the search and the citations stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.ddxplus_corpus import statement
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import is_present
from retrieval.index import Hit, KnowledgeIndex, Method
from retrieval.passages import Passage, RetrievalQuery, named_candidate, passage_of

MAX_SEPARATING_FINDINGS = 4


class KnowledgeRetriever:
    """Searches one knowledge index for the leaders of the differential. ``kb``: the DDXPlus
    knowledge base whose evidences the query's findings are (None: leaders' names only)."""

    def __init__(
        self,
        index: KnowledgeIndex,
        kb: KnowledgeBase | None = None,
        *,
        per_query: int = 1,
        method: Method | None = None,
    ) -> None:
        self.index = index
        self.kb = kb
        self.per_query = per_query
        self.method: Method = method or index.best_method

    def separating_findings(self, query: RetrievalQuery, leaders: Sequence[str]) -> list[str]:
        """Present findings linked to some leaders but not all, in plain English."""
        if self.kb is None:
            return []
        known = [self.kb.conditions[name] for name in leaders if name in self.kb.conditions]
        result = []
        for code, value in query.findings.items():
            evidence = self.kb.evidences.get(code)
            if evidence is None or evidence.parent is not None or not is_present(evidence, value):
                continue
            linked = sum(code in condition.evidences for condition in known)
            if 0 < linked < len(known):
                result.append(statement(evidence.question))
        return result[:MAX_SEPARATING_FINDINGS]

    def queries(self, query: RetrievalQuery) -> list[str]:
        """One query per leading candidate: its name and the findings that separate the
        leaders (the query's free text when there are no leaders yet). Replace this method
        to let an LLM write the queries."""
        leaders = list(query.leaders)
        if not leaders:
            return [query.text] if query.text.strip() else []
        findings = self.separating_findings(query, leaders)
        suffix = f": {'; '.join(findings)}" if findings else ""
        return [f"{name}{suffix}" for name in leaders]

    def search(self, query: str) -> list[Hit]:
        return self.index.search(query, self.per_query, self.method)

    def retrieve(self, query: RetrievalQuery) -> list[Passage]:
        """The best passages for this step's queries, each document once, with citations."""
        passages: list[Passage] = []
        seen: set[str] = set()
        for text in self.queries(query):
            about = named_candidate(text, query.leaders)
            for hit in self.search(text):
                if hit.document.id not in seen:
                    seen.add(hit.document.id)
                    passages.append(passage_of(hit.document, hit.score, about))
        return passages
