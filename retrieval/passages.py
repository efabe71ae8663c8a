"""What retrieval takes and gives: a query for the leading candidates, and cited passages.

These types belong to the knowledge layer so that every source (the built-in indexes, a user's
index, PubMed and Wikipedia) can be written, tested and benchmarked without the consultation
core. The core adapts them: its ``Retriever`` role (``agent.retriever.ViewRetriever``) turns
what it sees of a consultation into a :class:`RetrievalQuery`, and the graph stores the
:class:`Passage` list it gets back, cites it in the report and shows it to an LLM diagnoser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from retrieval.documents import Document
from retrieval.findings import FindingValue


class Passage(BaseModel):
    """A retrieved piece of knowledge with its citation."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str
    text: str
    source: str
    score: float
    about: str = ""
    """The candidate diagnosis the query named ("" when it named none of them): the report
    cites the passage under that condition."""


@dataclass(frozen=True)
class RetrievalQuery:
    """What to look up: the leading candidates, best first, and what is known of the patient.

    ``findings`` are finding codes with their values (DDXPlus evidences or HPO terms); a
    source that knows the knowledge base uses them to write sharper queries, others ignore
    them (the online sources never send them: no patient data leaves the machine)."""

    leaders: Sequence[str]
    findings: Mapping[str, FindingValue] = field(default_factory=dict)
    text: str = ""
    """What is known in free text (free-text cases have no finding codes): a local index
    searches it when there are no leaders yet; online sources never send it."""


@runtime_checkable
class PassageSource(Protocol):
    """Anything that answers a query with cited passages."""

    def retrieve(self, query: RetrievalQuery) -> list[Passage]: ...


def named_candidate(text: str, leaders: Sequence[str]) -> str:
    """The first leader whose name the query text contains (case-insensitive), or ""."""
    lowered = text.lower()
    return next((name for name in leaders if name.lower() in lowered), "")


def passage_of(document: Document, score: float, about: str = "") -> Passage:
    """A hit as a passage: the document's text, its title (the whole document's id for a
    titleless chunk) and its citation."""
    return Passage(
        doc_id=document.id,
        title=document.title or document.parent_id,
        text=document.text,
        source=document.citation(),
        score=round(score, 6),
        about=about,
    )


class CombinedSource:
    """Several sources in turn (e.g. the built-in index, then the online sources)."""

    def __init__(self, sources: Sequence[PassageSource]) -> None:
        self.sources = list(sources)

    def retrieve(self, query: RetrievalQuery) -> list[Passage]:
        passages: list[Passage] = []
        for source in self.sources:
            passages.extend(source.retrieve(query))
        return passages
