"""Run-time context of the consultation graph: the agents and knowledge it works with.

The context is not checkpointed: whoever runs the graph passes it again with every call
(``context=...``), so heavy objects (knowledge base, engine, a local model) load once and are
shared by every consultation. Per-consultation settings (question budget, confidence threshold)
live in the state instead, so a resumed consultation keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic

from typing_extensions import TypeVar

from agent.catalogue import DdxPlusCatalogue, FindingCatalogue
from agent.report import DoctorFinder
from agent.roles import Diagnoser, HistoryTaker, Retriever
from retrieval.ddxplus_kb import KnowledgeBase

KnowledgeT = TypeVar("KnowledgeT", covariant=True, default=KnowledgeBase)
"""The knowledge base the roles work over: DDXPlus by default, or the HPO one."""


@dataclass(frozen=True)
class ConsultContext(Generic[KnowledgeT]):
    kb: KnowledgeT
    history_taker: HistoryTaker
    diagnoser: Diagnoser
    retriever: Retriever | None = None
    """None until a retrieval backend is configured; the driver then never routes to retrieve."""
    diagnose_each_answer: bool = True
    """Update the differential after every answer (cheap for the embedded engine); an LLM
    diagnoser sets False and the driver diagnoses only before retrieval and at the end."""
    urgent_threshold: float = 0.05
    """A severity-1/2 condition at or above this probability is flagged as urgent."""
    explain_top_k: int = 5
    leaders_for_retrieval: int = 3
    findings_catalogue: FindingCatalogue | None = None
    """How the graph asks about and reads findings; None: the DDXPlus evidences of ``kb``."""
    doctor_finder: DoctorFinder | None = None
    """Recommends doctors for the leading diagnosis in the final report (a doctor directory is
    configured); None: the report names no doctors."""

    @property
    def catalogue(self) -> FindingCatalogue:
        if self.findings_catalogue is not None:
            return self.findings_catalogue
        if not isinstance(self.kb, KnowledgeBase):
            raise TypeError("a context over another knowledge base needs a findings_catalogue")
        return DdxPlusCatalogue(self.kb)


def embedded_context(
    kb: KnowledgeBase, model_path: Path | None = None, retriever: Retriever | None = None
) -> ConsultContext:
    """The default context: the Bayesian engine in every role, no weights needed; with a
    ``retriever`` (e.g. the built-in DDXPlus index) the report also cites knowledge."""
    from agent.engine.bayes import BayesEngine
    from agent.engine.likelihood import LikelihoodModel, structural_model
    from agent.engine.roles import BayesDiagnoser, InformationGainHistoryTaker

    model = LikelihoodModel.load(model_path, kb) if model_path else structural_model(kb)
    diagnoser = BayesDiagnoser(BayesEngine(kb, model))
    return ConsultContext(
        kb=kb,
        history_taker=InformationGainHistoryTaker(diagnoser),
        diagnoser=diagnoser,
        retriever=retriever,
    )
