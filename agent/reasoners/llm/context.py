"""The consultation context with LLM roles: same graph, same protocols, other agents.

:func:`llm_context` takes a built context (the embedded one, with whatever retriever and doctor
finder it has) and swaps in the LLM roles; ``kb`` roles keep the engine. An LLM diagnoser
re-diagnoses only when the driver asks (before retrieval and at the end), except in hybrid mode,
where the engine's posterior is updated after every answer exactly as in the embedded context,
so the stopping rule (confidence threshold) behaves the same.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agent.context import ConsultContext
from agent.errors import SettingsError
from agent.llm.client import LLMClient
from agent.llm.factory import RoleClients
from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
from agent.reasoners.llm.case_knowledge import CaseKnowledge
from agent.reasoners.llm.diagnosis import LLMDiagnoser
from agent.reasoners.llm.free_text import (
    FreeTextCatalogue,
    FreeTextDiagnoser,
    FreeTextHistoryTaker,
    ProfileSummariser,
)
from agent.reasoners.llm.history import LLMHistoryTaker
from agent.reasoners.llm.knn import SolvedCasePool
from agent.retriever import ViewRetriever
from agent.roles import Retriever
from agent.settings import Strategy
from retrieval.knowledge_retriever import KnowledgeRetriever


def llm_context(
    base: ConsultContext[Any],
    clients: RoleClients,
    *,
    strategy: Strategy = "standard",
    examples: SolvedCasePool | None = None,
    summarise: bool = True,
) -> ConsultContext[Any]:
    """``summarise``: the diagnoser's model condenses the retrieved passages before it reads
    them (MEDDxAgent's retrieval agent); False: it reads their cited excerpts."""
    if clients.doctor is None and clients.diagnoser is None:
        return base
    if not isinstance(base.diagnoser, BayesDiagnoser):
        return _shortlist_context(base, clients, strategy=strategy, summarise=summarise)
    if not isinstance(base.history_taker, InformationGainHistoryTaker):
        raise TypeError("LLM roles sit on the embedded DDXPlus engine (hints and fallback)")
    kb = base.diagnoser.kb
    history_taker = (
        LLMHistoryTaker(clients.doctor, kb, base.history_taker, hybrid=strategy == "hybrid")
        if clients.doctor is not None
        else base.history_taker
    )
    diagnoser = (
        LLMDiagnoser(
            clients.diagnoser,
            kb,
            base.diagnoser,
            strategy=strategy,
            examples=examples,
            summariser=clients.diagnoser if summarise else None,
        )
        if clients.diagnoser is not None
        else base.diagnoser
    )
    return dataclasses.replace(
        base,
        history_taker=history_taker,
        retriever=_with_llm_queries(base.retriever, clients),
        diagnoser=diagnoser,
        diagnose_each_answer=clients.diagnoser is None or strategy == "hybrid",
    )


SHORTLIST = 20
"""Candidates an LLM re-ranks when the knowledge base has too many conditions to list."""


def _shortlist_context(
    base: ConsultContext[Any], clients: RoleClients, *, strategy: Strategy, summarise: bool
) -> ConsultContext[Any]:
    """Another reasoner (the HPO phenotype one): the LLM diagnoser re-ranks its
    :data:`SHORTLIST` leading diseases, reading the findings as the catalogue phrases them;
    the reasoner keeps asking the questions and explaining. An LLM doctor is refused: its
    free-text questions map onto DDXPlus questions only."""
    if clients.doctor is not None:
        raise SettingsError(
            "An LLM doctor (--doctor) asks DDXPlus questions only; over this knowledge base "
            "keep --doctor kb and give --diagnoser BACKEND (it re-ranks the reasoner's "
            f"{SHORTLIST} leading diagnoses)."
        )
    assert clients.diagnoser is not None
    diagnoser = LLMDiagnoser(
        clients.diagnoser,
        None,
        base.diagnoser,
        strategy=strategy,
        summariser=clients.diagnoser if summarise else None,
        catalogue=base.catalogue,
        shortlist=SHORTLIST,
    )
    return dataclasses.replace(base, diagnoser=diagnoser, diagnose_each_answer=strategy == "hybrid")


def _with_llm_queries(retriever: Retriever | None, clients: RoleClients) -> Retriever | None:
    """The built-in index's retriever with the LLM doctor writing its queries (other
    sources, e.g. the online ones, keep theirs: they send condition names only)."""
    if clients.doctor is None or not isinstance(retriever, ViewRetriever):
        return retriever
    if not isinstance(retriever.source, KnowledgeRetriever):
        return retriever
    from agent.reasoners.llm.retrieval import LLMQueryRetriever

    source = LLMQueryRetriever(clients.doctor, retriever.source)
    return dataclasses.replace(retriever, source=source)


def free_text_context(
    *,
    doctor: LLMClient,
    diagnoser: FreeTextDiagnoser,
    knowledge: CaseKnowledge | None = None,
) -> ConsultContext[None]:
    """One free-text case's context: the LLM doctor, the case's diagnoser, the profile
    rewritten by the doctor's model, diagnoses at round ends, no confidence stop (the
    ranking has no probabilities)."""
    return ConsultContext(
        kb=None,
        history_taker=FreeTextHistoryTaker(doctor, knowledge),
        diagnoser=diagnoser,
        findings_catalogue=FreeTextCatalogue(),
        diagnose_each_answer=False,
        diagnosis_at="round end",
        confidence_stop=False,
        summariser=ProfileSummariser(doctor),
        explain_top_k=0,
    )
