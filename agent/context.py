"""Run-time context of the consultation graph: the agents and knowledge it works with.

The context is not checkpointed: whoever runs the graph passes it again with every call
(``context=...``), so heavy objects (knowledge base, engine, a local model) load once and are
shared by every consultation. Per-consultation settings (question budget, confidence threshold)
live in the state instead, so a resumed consultation keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal

from typing_extensions import TypeVar

if TYPE_CHECKING:
    from agent.reasoners.ddxplus.roles import QuestionPolicy

from agent.catalogue import DdxPlusCatalogue, FindingCatalogue
from agent.report import DifferentialLister, DoctorFinder
from agent.roles import Diagnoser, HistoryTaker, Retriever, Summariser
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import FindingValue

DEFAULT_URGENT_THRESHOLD = 0.05
"""Without a fitted model's own threshold (the structural model)."""

KnowledgeT = TypeVar("KnowledgeT", covariant=True, default=KnowledgeBase)
"""The knowledge base the roles work over: DDXPlus by default, or the HPO one."""


@dataclass(frozen=True)
class ConsultContext(Generic[KnowledgeT]):
    kb: KnowledgeT
    history_taker: HistoryTaker
    diagnoser: Diagnoser
    retriever: Retriever | None = None
    """None until a retrieval backend is configured; the driver then never routes to retrieve."""
    list_taker: HistoryTaker | None = None
    """Asks what the differential list still needs once the leader reaches the confidence
    threshold or ``history_taker`` has nothing left to ask; None: stop there."""
    differential_lister: DifferentialLister | None = None
    """Builds the report's differential list ("consider"); None: the report has none."""
    diagnose_each_answer: bool = True
    """Update the differential after every answer (cheap for the embedded engine); an LLM
    diagnoser sets False and the driver diagnoses only before retrieval and at the end."""
    diagnosis_at: Literal["each answer", "round end"] = "each answer"
    """When the driver diagnoses: after every answer, or only at each refinement round's end
    (a free-text LLM consultation: MEDDxAgent's diagnose-after-the-history)."""
    confidence_stop: bool = True
    """Whether the leader's probability may end the questioning (False when the diagnoser
    ranks without probabilities, as an LLM over free text does)."""
    summariser: Summariser | None = None
    """Rewrites the working profile at each round's end when there are several rounds."""
    urgent_threshold: float = DEFAULT_URGENT_THRESHOLD
    """A severity-1/2 condition at or above this probability is flagged as urgent (the fitted
    model carries the threshold chosen for it on the train/validate samples)."""
    explain_top_k: int = 5
    leaders_for_retrieval: int = 3
    findings_catalogue: FindingCatalogue | None = None
    """How the graph asks about and reads findings; None: the DDXPlus evidences of ``kb``."""
    doctor_finder: DoctorFinder | None = None
    """Recommends doctors for the leading diagnosis in the final report (a doctor directory is
    configured); None: the report names no doctors."""
    model_origin: str = ""
    """Which likelihood model the engine roles use (``ddx kb info`` says the same)."""
    patient: Callable[[str], FindingValue] | None = None
    """A simulated patient who answers each asked code inside the graph (batch runs set it per
    consultation): the same nodes run, but the consultation goes to its report in one graph
    call instead of an interrupt, a checkpoint and a resume per question. None: :func:`ask`
    interrupts and whoever runs the graph (chat, the app) resumes it with the answer."""

    @property
    def catalogue(self) -> FindingCatalogue:
        if self.findings_catalogue is not None:
            return self.findings_catalogue
        if not isinstance(self.kb, KnowledgeBase):
            raise TypeError("a context over another knowledge base needs a findings_catalogue")
        return DdxPlusCatalogue(self.kb)


def embedded_context(
    kb: KnowledgeBase,
    model_path: Path | str | None = None,
    retriever: Retriever | None = None,
    *,
    policy: QuestionPolicy | None = None,
    list_questions: bool = True,
) -> ConsultContext:
    """The default context: the Bayesian engine in every role, no weights needed; with a
    ``retriever`` (e.g. the built-in DDXPlus index) the report also cites knowledge.

    ``model_path``: None for the shipped model, "structural" for the model without data, or a
    model file from `ddx kb fit`. ``policy`` and ``list_questions`` are for comparisons
    (BENCHMARKS.md); the defaults are the chosen ones.
    """
    from agent.reasoners.ddxplus.bayes import BayesEngine
    from agent.reasoners.ddxplus.list_questions import EngineDifferentialList, ListHistoryTaker
    from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
    from agent.reasoners.ddxplus.shipped import load_engine_model

    loaded = load_engine_model(kb, model_path)
    diagnoser = BayesDiagnoser(BayesEngine(kb, loaded.model.likelihood))
    history_taker = InformationGainHistoryTaker(diagnoser, policy)
    lister = list_taker = None
    if loaded.model.differential is not None:
        lister = EngineDifferentialList(diagnoser, loaded.model.differential)
        list_taker = ListHistoryTaker(lister, history_taker) if list_questions else None
    urgent = loaded.model.decisions.urgent_threshold
    return ConsultContext(
        kb=kb,
        history_taker=history_taker,
        diagnoser=diagnoser,
        retriever=retriever,
        list_taker=list_taker,
        differential_lister=lister,
        model_origin=loaded.origin + (f" ({loaded.note})" if loaded.note else ""),
        urgent_threshold=urgent if urgent is not None else DEFAULT_URGENT_THRESHOLD,
    )
